import assert from "node:assert/strict";
import { join } from "node:path";
import { startKernel } from "../../src/kernel/mod.ts";
import { KernelConnection } from "../../src/kernel/connection.ts";
import { SILENT_LOGGER } from "../../src/kernel/messages.ts";
import {
  KERNEL_LAUNCH_ARGS,
  resolvePython,
  spawnKernel,
} from "../../src/kernel/launcher.ts";
import { testEnv, testLaunch } from "../_helpers/kernel_env.ts";

/** Which of debugpy and jedi are loaded, and which are installed. */
const PROBE = "import sys, importlib.util as u\n" +
  "names = ('debugpy', 'jedi')\n" +
  "print([n for n in names if sys.modules.get(n)], " +
  "[n for n in names if u.find_spec(n)])";

Deno.test("kernel launch code (debugpy and jedi skipped)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "launch_code_" });
  try {
    await Deno.writeTextFile(join(dir, "helper_mod.py"), "VALUE = 42\n");
    const kernel = await startKernel({ ...testLaunch(), cwd: dir });
    try {
      await t.step(
        "neither is loaded at start, though installed, and user code imports both",
        async () => {
          const probe = await kernel.execute(PROBE);
          assert.equal(probe.stdout, "[] ['debugpy', 'jedi']\n");
          const imported = await kernel.execute(
            "import debugpy, jedi\nprint(bool(debugpy.__version__), bool(jedi.__version__))",
          );
          assert.equal(imported.error, null, imported.error?.traceback);
          assert.equal(imported.stdout, "True True\n");
        },
      );

      await t.step(
        "the working dir comes first on sys.path, as with -m, and its modules import",
        async () => {
          const result = await kernel.execute(
            "import os, sys, helper_mod\nprint(sys.path[0] == os.getcwd(), helper_mod.VALUE)",
          );
          assert.equal(result.stdout, "True 42\n");
        },
      );
    } finally {
      await kernel.shutdown();
    }

    await t.step("the kernel writes nothing to stderr at start", async () => {
      const python = await resolvePython(testLaunch());
      const spawned = await spawnKernel(
        {
          command: python,
          args: [...KERNEL_LAUNCH_ARGS],
          description: python,
          installs: false,
        },
        dir,
        testLaunch(),
      );
      try {
        // Ready: everything ipykernel logs while it sets up is written.
        const conn = await KernelConnection.open(spawned.info, {
          signal: AbortSignal.timeout(30_000),
          logger: SILENT_LOGGER,
        });
        try {
          const reply = await conn.request(
            "shell",
            "kernel_info_request",
            {},
            AbortSignal.timeout(30_000),
          );
          assert.equal(reply.header.msg_type, "kernel_info_reply");
        } finally {
          conn.close();
        }
      } finally {
        Deno.kill(-spawned.child.pid, "SIGKILL");
        await spawned.child.status;
        await spawned.drained;
        await Deno.remove(spawned.runtimeDir, { recursive: true }).catch(
          () => {},
        );
      }
      assert.equal(spawned.stderrTail(), "");
    });

    await t.step(
      "an ipykernel that cannot start without debugpy is started the usual way",
      async () => {
        const hooks = join(dir, "hooks");
        await Deno.mkdir(hooks);
        await Deno.writeTextFile(
          join(hooks, "sitecustomize.py"),
          [
            "import sys",
            "class NeedsDebugpy:",
            "    def find_spec(self, name, path=None, target=None):",
            "        if name == 'ipykernel.debugger' and 'debugpy' in sys.modules and sys.modules['debugpy'] is None:",
            "            raise RuntimeError('this ipykernel needs debugpy')",
            "sys.meta_path.insert(0, NeedsDebugpy())",
            "",
          ].join("\n"),
        );
        const usual = await startKernel({
          ...testLaunch({ env: { ...testEnv(), PYTHONPATH: hooks } }),
          cwd: dir,
        });
        try {
          // The same probe, now without the skip: debugpy is loaded.
          const probe = await usual.execute(PROBE);
          assert.match(probe.stdout, /^\['debugpy'/);
          assert.equal((await usual.execute("1 + 1")).result, "2");
        } finally {
          await usual.shutdown();
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
