import assert from "node:assert/strict";
import {
  createLocalBackend,
  createSyntaxChecker,
  KernelRegistry,
  LOCAL_PROCESS_CAPABILITIES,
  REMOTE_CAPABILITIES,
} from "../../src/kernel/mod.ts";
import { createRemoteBackend } from "../../src/kernel/mod.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";
import { descendants, waitGone } from "../_helpers/processes.ts";

Deno.test("backends and kernels state their capabilities; callers never need their kind", () => {
  const local = createLocalBackend(testLaunch());
  assert.deepEqual(local.capabilities, LOCAL_PROCESS_CAPABILITIES);
  const remote = createRemoteBackend({ url: "http://127.0.0.1:9/" });
  assert.deepEqual(remote.capabilities, REMOTE_CAPABILITIES);
  assert.equal(remote.capabilities.sharedFiles, false);
  assert.equal(remote.capabilities.poolable, false);
});

Deno.test("a local kernel's kill() ends its whole process group at once", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "provisioner_" });
  const backend = createLocalBackend(testLaunch());
  const kernel = await backend.start({ cwd, packages: [] });
  try {
    assert.deepEqual(kernel.capabilities, LOCAL_PROCESS_CAPABILITIES);
    // A child process in the kernel's group goes with it.
    const result = await kernel.execute(
      "import subprocess\np = subprocess.Popen(['sleep', '300'])\np.pid",
    );
    const child = Number(result.result);
    assert.ok(descendants(kernel.pid!).includes(child));
    kernel.kill();
    const exit = await kernel.exited;
    assert.equal(exit.signal, "SIGKILL");
    assert.deepEqual(await waitGone([kernel.pid!, child]), []);
    kernel.kill(); // idempotent
  } finally {
    await kernel.shutdown();
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("the registry checks syntax through the checker it is handed", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "provisioner_" });
  const seen: string[] = [];
  const checker = createSyntaxChecker({
    python: () => Promise.resolve("/usr/bin/python3"),
  });
  const registry = new KernelRegistry({
    cwd,
    launch: testLaunch(),
    syntax: {
      check: (code) => {
        seen.push(code);
        return checker.check(code);
      },
    },
  });
  try {
    assert.deepEqual(await registry.checkSyntax("x = 1"), { ok: true });
    const bad = await registry.checkSyntax("def f(:");
    assert.equal(bad.ok, false);
    assert.deepEqual(seen, ["x = 1", "def f(:"]);
    assert.equal(registry.size, 0); // no kernel was started for it
  } finally {
    await registry.shutdownAll();
    await Deno.remove(cwd, { recursive: true });
  }
});
