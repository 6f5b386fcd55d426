import assert from "node:assert/strict";
import {
  ExecutionTimeoutError,
  KernelDiedError,
  startKernel,
} from "../../src/kernel/mod.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";
import { PYTHON_DISPLAY_PNG } from "../_helpers/python_code.ts";
import { pidAlive, waitGone } from "../_helpers/processes.ts";

Deno.test("Kernel", async (t) => {
  const cwd = await Deno.makeTempDir();
  const kernel = await startKernel({ ...testLaunch(), cwd });
  try {
    await t.step("execute() keeps variables across calls", async () => {
      await kernel.execute("counter = 41");
      const result = await kernel.execute("counter += 1\ncounter");
      assert.equal(result.result, "42");
      assert.equal(result.status, "ok");
    });

    await t.step(
      "execute() puts stdout, stderr and the result in their fields",
      async () => {
        const result = await kernel.execute(
          "import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7",
        );
        assert.equal(result.stdout, "out\n");
        assert.equal(result.stderr, "err\n");
        assert.equal(result.result, "42");
        assert.equal(result.error, null);
        assert.ok((result.executionCount ?? 0) > 0);
      },
    );

    await t.step("execute() runs in the working directory", async () => {
      const result = await kernel.execute("import os; print(os.getcwd())");
      assert.equal(result.stdout.trim(), await Deno.realPath(cwd));
    });

    await t.step(
      "execute() returns an exception as ename, evalue and an ANSI-free traceback",
      async () => {
        const result = await kernel.execute(
          "def f():\n    raise ValueError('bad value')\nf()",
        );
        assert.equal(result.status, "error");
        assert.equal(result.error?.ename, "ValueError");
        assert.equal(result.error?.evalue, "bad value");
        assert.match(result.error?.traceback ?? "", /ValueError: bad value/);
        assert.match(result.error?.traceback ?? "", /f\(\)/);
        assert.ok(!(result.error?.traceback ?? "").includes("\x1b"));
      },
    );

    await t.step(
      "execute() yields a PNG from display(Image(...))",
      async () => {
        const result = await kernel.execute(PYTHON_DISPLAY_PNG);
        assert.equal(result.images.length, 1);
        assert.equal(result.images[0]!.mimeType, "image/png");
        const bytes = Uint8Array.from(
          atob(result.images[0]!.data),
          (c) => c.charCodeAt(0),
        );
        assert.deepEqual([...bytes.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      },
    );

    await t.step("execute() streams output chunks to onOutput", async () => {
      const chunks: string[] = [];
      const result = await kernel.execute(
        "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.05)",
        { onOutput: (c) => chunks.push(c.text) },
      );
      assert.equal(chunks.join(""), "0\n1\n2\n");
      assert.equal(result.stdout, "0\n1\n2\n");
    });

    await t.step(
      "execute() right after an error is not lost to ipykernel's abort window",
      async () => {
        // Widen the window in which ipykernel aborts requests after an error
        // (normally one event-loop turn, hit only under load).
        await kernel.execute(
          "get_ipython().kernel.stop_on_error_timeout = 0.1",
        );
        try {
          await kernel.execute("1/0");
          const result = await kernel.execute("after_error = 5\nafter_error");
          assert.equal(result.result, "5");
        } finally {
          await kernel.execute(
            "get_ipython().kernel.stop_on_error_timeout = 0.0",
          );
        }
      },
    );

    await t.step(
      "inspect() right after an error is not lost to ipykernel's abort window",
      async () => {
        // The same widened window as above: a tooling request sent then is
        // aborted by ipykernel and must be sent again.
        await kernel.execute(
          "get_ipython().kernel.stop_on_error_timeout = 0.1",
        );
        try {
          await kernel.execute("1/0");
          const state = await kernel.inspect();
          assert.ok(Array.isArray(state.variables));
        } finally {
          await kernel.execute(
            "get_ipython().kernel.stop_on_error_timeout = 0.0",
          );
        }
      },
    );

    await t.step("input() raises a clear error", async () => {
      const result = await kernel.execute("input('name? ')");
      assert.equal(result.error?.evalue, "Interactive input() not supported");
    });

    await t.step(
      "execute() past its deadline interrupts and keeps state",
      async () => {
        await kernel.execute("before_timeout = 'kept'");
        try {
          await kernel.execute("while True: pass", { timeoutMs: 2_000 });
          assert.fail("expected a timeout");
        } catch (e) {
          assert.ok(e instanceof ExecutionTimeoutError, String(e));
          assert.equal(e.kernelAlive, true);
          assert.equal(e.timeoutMs, 2_000);
        }
        const after = await kernel.execute("before_timeout");
        assert.equal(after.result, "'kept'");
        assert.ok(kernel.alive);
      },
    );

    await t.step("execute() keeps partial output on a timeout", async () => {
      try {
        await kernel.execute(
          "print('partial', flush=True)\nimport time\ntime.sleep(60)",
          { timeoutMs: 1_500 },
        );
        assert.fail("expected a timeout");
      } catch (e) {
        assert.ok(e instanceof ExecutionTimeoutError);
        assert.equal(e.partial.stdout, "partial\n");
      }
    });

    await t.step(
      "interrupt() stops a running execution, state preserved",
      async () => {
        await kernel.execute("kept_value = 7");
        const started = Promise.withResolvers<void>();
        const running = kernel.execute(
          "import time\nprint('sleeping', flush=True)\ntime.sleep(60)",
          { onOutput: () => started.resolve() },
        );
        await started.promise;
        await kernel.interrupt();
        const result = await running;
        assert.equal(result.error?.ename, "KeyboardInterrupt");
        assert.equal((await kernel.execute("kept_value")).result, "7");
      },
    );

    await t.step(
      "execute() bounds kept output and counts what was dropped",
      async () => {
        const small = await startKernel({
          ...testLaunch(),
          cwd,
          outputLimit: 1000,
        });
        try {
          const result = await small.execute("print('x' * 5000)");
          assert.equal(result.stdout.length, 1000);
          assert.equal(result.droppedBytes.stdout, 4001);
        } finally {
          await small.shutdown();
        }
      },
    );

    await t.step(
      "inspect() lists user variables and packages without changing them",
      async () => {
        const state = await kernel.inspect();
        assert.ok(state.variables.includes("counter"));
        assert.ok(!state.variables.some((v) => v.startsWith("_")));
        assert.ok(!state.variables.includes("In"));
        assert.match(state.pythonVersion, /^3\.\d+\.\d+$/);
        assert.ok(
          state.packages.some((p) => p.name.toLowerCase() === "ipykernel"),
        );
        const again = await kernel.inspect();
        assert.deepEqual(again.variables, state.variables);
      },
    );

    await t.step(
      "packageVersions() reports installed and missing packages",
      async () => {
        const versions = await kernel.packageVersions([
          "ipykernel",
          "surely_not_installed_pkg",
        ]);
        assert.match(versions.ipykernel ?? "", /^\d+\./);
        assert.equal(versions.surely_not_installed_pkg, null);
      },
    );

    await t.step(
      "execute() after os._exit(1) reports the death with the exit code",
      async () => {
        const doomed = await startKernel({ ...testLaunch(), cwd });
        try {
          await doomed.execute("import os; os._exit(1)");
          assert.fail("expected KernelDiedError");
        } catch (e) {
          assert.ok(e instanceof KernelDiedError, String(e));
          assert.equal(e.exit.code, 1);
          assert.match(e.message, /exit code 1/);
        }
        assert.equal(doomed.alive, false);
        await assert.rejects(doomed.execute("1"), KernelDiedError);
        assert.deepEqual(await waitGone([doomed.pid]), []);
      },
    );
  } finally {
    await kernel.shutdown();
    await Deno.remove(cwd, { recursive: true });
  }

  await t.step("shutdown() leaves no process behind", () => {
    assert.equal(pidAlive(kernel.pid), false);
  });
});
