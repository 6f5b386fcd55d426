import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DEFAULT_KERNEL_ID,
  InvalidPackageSpecError,
  type KernelBackend,
  KernelDiedError,
  KernelLimitError,
  KernelNotFoundError,
  KernelRegistry,
  KernelSlots,
  LocalBackend,
} from "../../src/kernel/mod.ts";
import { testEnv, testLaunch } from "../_helpers/kernel_env.ts";
import {
  kernelChildren,
  kernelPidsOf,
  pidAlive,
  pidsWithMark,
  waitGone,
} from "../_helpers/processes.ts";
import { readIfExists, waitUntil } from "../_helpers/wait.ts";

Deno.test("KernelRegistry", async (t) => {
  const cwd = await Deno.makeTempDir();
  const registry = new KernelRegistry({
    cwd,
    launch: testLaunch(),
    maxKernels: 3,
  });
  try {
    await t.step(
      "ensureDefault() starts one kernel for concurrent first calls",
      async () => {
        const [a, b] = await Promise.all([
          registry.ensureDefault(),
          registry.ensureDefault(),
        ]);
        assert.equal(a, b);
        assert.equal(registry.size, 1);
        assert.equal(registry.get(DEFAULT_KERNEL_ID), a);
      },
    );

    await t.step(
      "create() returns 8-hex ids and isolated kernels that run concurrently",
      async () => {
        const [one, two] = await Promise.all([
          registry.create(),
          registry.create(),
        ]);
        assert.match(one.id, /^[0-9a-f]{8}$/);
        assert.match(two.id, /^[0-9a-f]{8}$/);
        assert.notEqual(one.id, two.id);
        // A rendezvous, not a clock: each cell marks that it runs, then waits
        // (in the kernel, up to 60 s) for the other's mark. Only cells that
        // run at the same time both meet.
        const meet = (mine: string, other: string) =>
          `import os, time\nopen(${
            JSON.stringify(join(cwd, mine))
          }, "w").close()\n` +
          `for _ in range(3000):\n    if os.path.exists(${
            JSON.stringify(join(cwd, other))
          }):\n        print("met")\n        break\n    time.sleep(0.02)\n` +
          `else:\n    print("alone")`;
        const [r1, r2] = await Promise.all([
          one.kernel.execute(meet("one.ran", "two.ran")),
          two.kernel.execute(meet("two.ran", "one.ran")),
        ]);
        assert.deepEqual([r1.stdout, r2.stdout], ["met\n", "met\n"]);
        await one.kernel.execute("only_in_one = 1");
        const other = await two.kernel.execute("only_in_one");
        assert.equal(other.error?.ename, "NameError");
      },
    );

    await t.step(
      "create() past the limit is refused with a clear error",
      async () => {
        assert.equal(registry.size, 3);
        await assert.rejects(registry.create(), KernelLimitError);
        const refused: KernelLimitError = await registry.create().then(
          () => assert.fail("a fourth kernel started"),
          (error) => error,
        );
        assert.match(
          refused.message,
          /limit of 3 live kernels is reached; shut one down first or raise maxKernels$/,
        );
        assert.deepEqual(refused.hints, [
          { option: "maxKernels", advice: "raise" },
        ]);
      },
    );

    await t.step("restart() keeps the id and clears state", async () => {
      const [info] = registry.list().filter((k) => k.id !== DEFAULT_KERNEL_ID);
      const id = info!.id;
      await registry.get(id).execute("survivor = 1");
      const oldPid = registry.get(id).pid!;
      const fresh = await registry.restart(id);
      assert.equal(registry.get(id), fresh);
      assert.notEqual(fresh.pid, oldPid);
      assert.equal(fresh.cwd, cwd);
      assert.equal((await fresh.execute("survivor")).error?.ename, "NameError");
      assert.deepEqual(await waitGone([oldPid]), []);
    });

    await t.step(
      "restart() and get() of unknown ids throw KernelNotFoundError",
      async () => {
        await assert.rejects(registry.restart("deadbeef"), KernelNotFoundError);
        assert.throws(
          () => registry.get("deadbeef"),
          /Kernel deadbeef not found/,
        );
      },
    );

    await t.step(
      "a kernel that dies is dropped from the registry",
      async () => {
        const [info] = registry.list().filter((k) =>
          k.id !== DEFAULT_KERNEL_ID
        );
        const kernel = registry.get(info!.id);
        await assert.rejects(
          kernel.execute("import os; os._exit(1)"),
          KernelDiedError,
        );
        await kernel.exited;
        assert.equal(registry.has(info!.id), false);
        assert.throws(() => registry.get(info!.id), KernelNotFoundError);
        assert.equal(registry.size, 2);
      },
    );

    await t.step(
      "create() refuses invalid package specs before spawning",
      async () => {
        const before = kernelPidsOf(Deno.pid).length;
        await assert.rejects(
          registry.create({ packages: ["numpy; rm -rf /"] }),
          InvalidPackageSpecError,
        );
        assert.equal(kernelPidsOf(Deno.pid).length, before);
      },
    );

    await t.step("shutdown() removes one kernel and its process", async () => {
      const { id, kernel } = await registry.create();
      await registry.shutdown(id);
      assert.equal(registry.has(id), false);
      assert.equal(pidAlive(kernel.pid!), false);
    });

    await t.step("list() and info() describe live kernels", () => {
      const list = registry.list();
      assert.ok(list.some((k) => k.id === DEFAULT_KERNEL_ID));
      const info = registry.info(DEFAULT_KERNEL_ID);
      assert.equal(info.cwd, cwd);
      assert.equal(typeof info.pid, "number");
      assert.deepEqual(info.packages, []);
    });

    await t.step("checkSyntax() parses without running code", async () => {
      assert.deepEqual(await registry.checkSyntax("x = 1\n"), { ok: true });
      const bad = await registry.checkSyntax("x = 1\ndef f(:\n    pass\n");
      assert.equal(bad.ok, false);
      assert.equal(bad.ok === false && bad.line, 2);
      const untouched = await registry.get(DEFAULT_KERNEL_ID).execute(
        "'x' in globals()",
      );
      assert.equal(untouched.result, "False");
    });
  } finally {
    const pids = kernelPidsOf(Deno.pid);
    await registry.shutdownAll();
    assert.deepEqual(
      await waitGone(pids),
      [],
      "shutdownAll() left python processes",
    );
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("KernelRegistry pool", async (t) => {
  const cwd = await Deno.makeTempDir();
  // Other test files start kernels in this process too: count only ours.
  const mark = crypto.randomUUID();
  const registry = new KernelRegistry({
    cwd,
    launch: testLaunch({ env: { ...testEnv(), CODER_TEST_MARK: mark } }),
    poolSize: 1,
  });
  try {
    await t.step(
      "warm() starts a spare that create() hands out, then refills",
      async () => {
        registry.warm();
        assert.equal(registry.processes, 1, "warm() starts one spare");
        const { kernel } = await registry.create();
        assert.equal((await kernel.execute("1+1")).result, "2");
        // One in use plus one new spare, starting.
        assert.equal(registry.processes, 2);
        assert.equal(registry.size, 1, "spares do not count as live kernels");
      },
    );
  } finally {
    const pids = pidsWithMark(mark);
    await registry.shutdownAll();
    assert.deepEqual(await waitGone(pids), []);
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("KernelRegistry slots", async (t) => {
  const cwd = await Deno.makeTempDir();
  const ours = () => kernelChildren(Deno.pid);
  try {
    await t.step(
      "maxKernels 2 with poolSize 6: never more than 2 processes; a spare is evicted before a start is refused",
      async () => {
        const registry = new KernelRegistry({
          cwd,
          launch: testLaunch(),
          maxKernels: 2,
          poolSize: 6,
        });
        let most = 0;
        const sampler = setInterval(() => {
          most = Math.max(most, ours().length);
        }, 10);
        try {
          registry.warm();
          assert.equal(registry.processes, 2, "spares fill the free slots");
          await registry.ensureDefault();
          const { kernel } = await registry.create();
          assert.equal((await kernel.execute("1 + 1")).result, "2");
          await assert.rejects(registry.create(), KernelLimitError);
          assert.equal(registry.processes, 2);
        } finally {
          clearInterval(sampler);
          await registry.shutdownAll();
        }
        assert.ok(most <= 2, `saw ${most} kernel processes`);
        assert.deepEqual(await waitGone(ours()), []);
      },
    );

    await t.step(
      "a spare is shut down to make room for a package kernel, never exceeding the limit",
      async () => {
        // Starts package kernels as plain ones: no index to install from here.
        const local = new LocalBackend(testLaunch());
        const plain: KernelBackend = {
          kind: "local",
          capabilities: local.capabilities,
          location: null,
          start: (request) => local.start({ ...request, packages: [] }),
        };
        const registry = new KernelRegistry({
          cwd,
          launch: testLaunch(),
          backend: plain,
          maxKernels: 2,
          poolSize: 1,
        });
        let most = 0;
        const sampler = setInterval(() => {
          most = Math.max(most, ours().length);
        }, 10);
        try {
          registry.warm();
          await registry.ensureDefault();
          assert.equal(registry.processes, 2, "default plus a new spare");
          const { kernel } = await registry.create({ packages: ["six"] });
          assert.equal((await kernel.execute("2 * 21")).result, "42");
          assert.equal(registry.processes, 2, "the spare made room");
          await assert.rejects(registry.create(), KernelLimitError);
        } finally {
          clearInterval(sampler);
          await registry.shutdownAll();
        }
        assert.ok(most <= 2, `saw ${most} kernel processes`);
      },
    );

    await t.step(
      "registries sharing KernelSlots share one limit",
      async () => {
        const slots = new KernelSlots(1);
        const a = new KernelRegistry({ cwd, launch: testLaunch(), slots });
        const b = new KernelRegistry({ cwd, launch: testLaunch(), slots });
        try {
          await a.ensureDefault();
          await assert.rejects(b.ensureDefault(), KernelLimitError);
          await a.shutdownAll();
          assert.equal(slots.used, 0, "a slot outlived its kernel");
          await b.ensureDefault();
          assert.equal(slots.used, 1);
        } finally {
          await a.shutdownAll();
          await b.shutdownAll();
        }
      },
    );

    await t.step(
      "shutdownAll() while a spare kernel starts aborts the start and leaves no process",
      async () => {
        const registry = new KernelRegistry({
          cwd,
          launch: testLaunch(),
          poolSize: 1,
        });
        registry.warm();
        // Wait for the spare's process to exist, but not to be ready.
        const starting = await waitUntil("the spare kernel's process", ours, {
          until: (pids) => pids.length > 0,
          intervalMs: 2,
        });
        assert.equal(starting.length, 1, "no spare was starting");
        await registry.shutdownAll();
        assert.deepEqual(ours(), []);
        assert.deepEqual(await waitGone(starting), []);
        assert.equal(registry.processes, 0);
      },
    );

    await t.step(
      "restart() ends the old kernel with reason 'restarted'",
      async () => {
        const registry = new KernelRegistry({ cwd, launch: testLaunch() });
        try {
          const old = await registry.ensureDefault();
          const running = old.execute("import time; time.sleep(30)");
          await registry.restart(DEFAULT_KERNEL_ID);
          assert.equal((await old.exited).reason, "restarted");
          const error = await running.then(() => null, (e) => e);
          assert.ok(error instanceof KernelDiedError);
          assert.equal(error.exit.reason, "restarted");
        } finally {
          await registry.shutdownAll();
        }
      },
    );

    await t.step(
      "ensureDefault({ packages }) starts one kernel with them",
      async () => {
        let starts = 0;
        const local = new LocalBackend(testLaunch());
        const counting: KernelBackend = {
          kind: "local",
          capabilities: local.capabilities,
          location: null,
          start(request) {
            starts++;
            assert.deepEqual(request.packages, ["six"]);
            return local.start({ ...request, packages: [] });
          },
        };
        const registry = new KernelRegistry({
          cwd,
          launch: testLaunch(),
          backend: counting,
        });
        try {
          await registry.ensureDefault({ packages: ["six"] });
          assert.equal(starts, 1);
        } finally {
          await registry.shutdownAll();
        }
      },
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("KernelRegistry.shutdownAll() ends warm()'s interpreter lookup before it returns", async () => {
  // Nothing the registry started may outlive it: the lookup writes the
  // interpreter cache, which must not land after the owner cleaned up. The
  // interpreter is a stand-in whose probe never ends by itself, so the
  // order is checked, not a clock: when shutdownAll() returns, the probe
  // process is gone and no cache entry was written.
  const cacheDir = await Deno.makeTempDir({ prefix: "registry_cache_" });
  const probing = join(cacheDir, "probing");
  const python = join(cacheDir, "python3");
  await Deno.writeTextFile(
    python,
    `#!/bin/sh\necho $$ > '${probing}'\ni=0\n` +
      `while [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done\n`,
  );
  await Deno.chmod(python, 0o755);
  let pid = 0;
  try {
    const registry = new KernelRegistry({
      cwd: cacheDir,
      launch: testLaunch({ cacheDir, python }),
      poolSize: 0,
    });
    registry.warm();
    pid = Number(
      await waitUntil(
        "the interpreter probe to run",
        async () => (await readIfExists(probing))?.trim(),
      ),
    );
    await registry.shutdownAll();
    assert.equal(pidAlive(pid), false, "the probe outlived shutdownAll()");
    const written = await Array.fromAsync(
      Deno.readDir(join(cacheDir, "interpreters")),
    ).catch(() => []);
    assert.deepEqual(written, [], "an aborted lookup wrote the cache");
  } finally {
    if (pid > 0 && pidAlive(pid)) Deno.kill(pid, "SIGKILL");
    await Deno.remove(cacheDir, { recursive: true });
  }
});
