/**
 * Behaviour every backend shares (SPEC §1, §7, §13), run against local,
 * sandboxed and remote kernels: cancellation of a queued call, code no
 * kernel would answer, deadlines whose interrupt lands before the cell
 * starts, restarts that cut a running call, and deaths while idle or busy.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DEFAULT_KERNEL_ID,
  ExecutionTimeoutError,
  KernelDiedError,
  KernelGoneError,
  type KernelHandle,
  KernelRegistry,
} from "../../src/kernel/mod.ts";
import { forEachBackend } from "../_helpers/backends.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

/** Python that waits (in the kernel) until a file exists. */
function waitForFile(path: string): string {
  return `import os, time\nwhile not os.path.exists(${
    JSON.stringify(path)
  }):\n    time.sleep(0.02)\n`;
}

Deno.test("kernel sessions on every backend", async (t) => {
  await forEachBackend(t, async ({ backend, shared, name }, t) => {
    const registry = new KernelRegistry({
      cwd: shared,
      launch: testLaunch(),
      backend,
      maxKernels: 3,
    });
    try {
      const kernel: KernelHandle = await registry.ensureDefault();

      await t.step("a call cancelled while queued never runs", async () => {
        const flag = join(shared, `${name}-release`);
        const first = kernel.execute(waitForFile(flag) + "first = 1");
        const cancel = new AbortController();
        const queued = kernel.execute("queued_ran = True", {
          signal: cancel.signal,
        });
        cancel.abort(new Error("cancelled by the test"));
        await Deno.writeTextFile(flag, "");
        assert.equal((await first).error, null);
        const error = await rejection(queued);
        assert.equal((error as Error).message, "cancelled by the test");
        const check = await kernel.execute("'queued_ran' in globals()");
        assert.equal(check.result, "False");
      });

      await t.step(
        "a NUL byte is refused and a lone surrogate sent as U+FFFD; the kernel stays",
        async () => {
          const nul = await kernel.execute("x = 1\0", { timeoutMs: 10_000 });
          assert.equal(nul.error?.ename, "SyntaxError");
          const lone = await kernel.execute('s = "\ud800"\nlen(s), s', {
            timeoutMs: 10_000,
          });
          assert.equal(lone.result, "(1, '\ufffd')");
          assert.equal(kernel.alive, true);
        },
      );

      await t.step(
        "a deadline whose interrupt lands before the cell's code keeps the kernel and its state",
        async () => {
          // An input transformer runs in ipykernel's own code after
          // execute_input, before the cell: the interrupt lands there.
          await kernel.execute(
            "kept = 41\nimport time\n" +
              "def _slow(lines):\n" +
              "    if lines and lines[0].startswith('# SLOW'):\n" +
              "        time.sleep(120)\n" +
              "    return lines\n" +
              "get_ipython().input_transformers_post.append(_slow)",
          );
          const error = await rejection(
            kernel.execute("# SLOW\nkept = 0", { timeoutMs: 1_000 }),
          );
          assert.ok(error instanceof ExecutionTimeoutError, String(error));
          assert.equal(error.kernelAlive, true);
          assert.equal(kernel.alive, true);
          await kernel.execute(
            "get_ipython().input_transformers_post.remove(_slow)",
          );
          assert.equal((await kernel.execute("kept + 1")).result, "42");
        },
      );

      await t.step(
        "an interrupt due before the code starts is not lost",
        async () => {
          const error = await rejection(
            kernel.execute("import time\ntime.sleep(120)\nlate = 1", {
              timeoutMs: 1,
            }),
          );
          assert.ok(error instanceof ExecutionTimeoutError, String(error));
          assert.equal(error.kernelAlive, true);
          const check = await kernel.execute("'late' in globals(), kept");
          assert.equal(check.result, "(False, 41)");
        },
      );

      await t.step(
        "an interrupt whose first signal is lost is sent again until the code stops",
        async () => {
          // The cell swallows the first SIGINT, as one that reached another
          // thread of the kernel, or came before the cell began, is lost.
          const ready = Promise.withResolvers<void>();
          const running = kernel.execute(
            "import signal, time\n" +
              "def _swallow(*_):\n" +
              "    signal.signal(signal.SIGINT, signal.default_int_handler)\n" +
              "signal.signal(signal.SIGINT, _swallow)\n" +
              "print('ready', flush=True)\n" +
              "time.sleep(120)",
            { timeoutMs: 20_000, onOutput: () => ready.resolve() },
          );
          await ready.promise;
          await kernel.interrupt();
          const result = await running;
          assert.equal(result.error?.ename, "KeyboardInterrupt");
          assert.equal((await kernel.execute("kept")).result, "41");
        },
      );

      await t.step(
        "a restart that cuts a running call answers that it was restarted",
        async () => {
          const flag = join(shared, `${name}-running`);
          const running = kernel.execute(
            `open(${
              JSON.stringify(flag)
            }, "w").close()\nimport time\ntime.sleep(120)`,
          );
          const started = await Promise.race([
            waitFile(flag),
            running.then(() => false, () => false),
          ]);
          assert.ok(started, "the call started");
          const fresh = registry.restart(DEFAULT_KERNEL_ID);
          const error = await rejection(running);
          assert.ok(error instanceof KernelDiedError, String(error));
          assert.equal(error.exit.reason, "restarted");
          assert.equal(error.partial?.error ?? null, null);
          const again = await fresh;
          assert.equal(
            (await again.execute("'kept' in globals()")).result,
            "False",
          );
        },
      );

      await t.step(
        "a kernel that dies while idle is reported on the next call, _default too, until restarted",
        async () => {
          const current = registry.get(DEFAULT_KERNEL_ID);
          await current.execute("x = 1");
          const die = join(shared, `${name}-die`);
          // A thread ends the kernel once the call is over and the file exists.
          await current.execute(
            "import threading\n" +
              "def _later():\n" +
              waitForFile(die).replaceAll("\n", "\n    ").replace(/^/, "    ") +
              "os._exit(3)\n" +
              "threading.Thread(target=_later, daemon=True).start()",
          );
          await Deno.writeTextFile(die, "");
          await current.exited;
          const error = await rejection(registry.ensureDefault());
          assert.ok(error instanceof KernelGoneError, String(error));
          assert.equal(error.idle, true);
          assert.match(
            error.message,
            /^Kernel _default died while idle \(.+\); its state is lost; call python_reset$/,
          );
          assert.throws(() => registry.get(DEFAULT_KERNEL_ID), KernelGoneError);
          const fresh = await registry.restart(DEFAULT_KERNEL_ID);
          assert.equal(
            (await fresh.execute("'x' in globals()")).result,
            "False",
          );
          assert.equal(registry.died(DEFAULT_KERNEL_ID), null);
        },
      );

      await t.step(
        "a kernel that dies during a call answers that it died afterwards",
        async () => {
          const { id, kernel: named } = await registry.create();
          const error = await rejection(
            named.execute("import os\nos._exit(4)"),
          );
          assert.ok(error instanceof KernelDiedError, String(error));
          await named.exited;
          const gone = registry.died(id);
          assert.ok(gone);
          assert.equal(gone.idle, false);
          assert.match(
            gone.message,
            new RegExp(
              `^Kernel ${id} died \\(.+\\); its state is lost; call python_reset$`,
            ),
          );
          assert.throws(() => registry.get(id), KernelGoneError);
          await registry.restart(id);
          assert.equal(registry.has(id), true);
        },
      );
      await t.step(
        "a kernel that ignores the interrupt is stopped, and its id says why",
        async () => {
          const { id, kernel: stubborn } = await registry.create();
          const error = await rejection(
            stubborn.execute(
              "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)",
              { timeoutMs: 500 },
            ),
          );
          assert.ok(error instanceof ExecutionTimeoutError, String(error));
          assert.equal(error.kernelAlive, false);
          await stubborn.exited;
          assert.equal(
            registry.died(id)?.message,
            `Kernel ${id} died (it did not answer an interrupt and was stopped); its state is lost; call python_reset`,
          );
        },
      );
    } finally {
      await registry.shutdownAll();
    }
  });
});

/** Waits (without sleeping on our side) until a file exists: a kernel writes it. */
async function waitFile(path: string): Promise<boolean> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const watcher = Deno.watchFs(dir);
  try {
    if (await exists(path)) return true;
    for await (const _event of watcher) {
      if (await exists(path)) return true;
    }
    return false;
  } finally {
    watcher.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
