/**
 * Regression tests for the kernel-layer defects of issue 9, through the
 * real ipython_mcp server. These run with the DEFAULT warm pool
 * (CODER_POOL_SIZE unset) unless a step needs otherwise: a pool of 0 in
 * every test once hid the cancel-while-queued defect.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import {
  descendantsMatching,
  kernelChildren,
  kernelDescendants,
  kernelPidsOf,
  killAll,
  pidAlive,
  waitForExit,
  waitGone,
} from "../_helpers/processes.ts";
import { buildWheel } from "../_helpers/wheel.ts";
import { waitUntil } from "../_helpers/wait.ts";

/** The server's default pool: CODER_POOL_SIZE not set at all. */
const DEFAULT_POOL = { CODER_POOL_SIZE: undefined };

function dirExists(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

Deno.test("ipython_mcp kernel defects (issue 9)", async (t) => {
  await t.step(
    "a python_exec cancelled while queued never runs and never interrupts the running one",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      const marker = join(server.cwd, "queued_ran");
      await server.call("python_exec", { code: "state = 41" });
      const running = server.call("python_exec", {
        code: "import time\nfor _ in range(30):\n    time.sleep(0.1)\n" +
          "print('first finished')",
      }, { onprogress: () => {}, resetTimeoutOnProgress: true });
      // Wait until the first call runs (its kernel reports busy), then queue
      // the second and cancel it.
      for (let i = 0; i < 200; i++) {
        const status = await server.call("python_status");
        if (status.json.busy === true) break;
      }
      const cancel = new AbortController();
      const queued = server.call("python_exec", {
        code: `open(${JSON.stringify(marker)}, "w").close()`,
      }, { signal: cancel.signal });
      const status = await server.call("python_status");
      assert.equal(status.json.busy, true);
      cancel.abort();
      await assert.rejects(queued);
      const first = await running;
      assert.equal(first.json.success, true, JSON.stringify(first.json));
      assert.match(first.json.stdout as string, /first finished/);
      const after = await server.call("python_exec", { code: "state + 1" });
      assert.equal(after.json.result, "42");
      const ran = await Deno.stat(marker).then(() => true, () => false);
      assert.equal(ran, false, "the cancelled call ran");
    },
  );

  await t.step(
    "code with a NUL byte is a clear error at once; a lone surrogate runs; the kernel is kept",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      await server.call("python_exec", { code: "kept = 7" });
      const nul = await server.call("python_exec", { code: "x = 1\0" });
      assert.equal(nul.json.success, false);
      assert.match(JSON.stringify(nul.json), /null bytes/);
      const surrogate = await server.call("python_exec", {
        code: "s = '\ud800'\nprint(len(s), kept)",
      });
      assert.equal(
        surrogate.json.success,
        true,
        JSON.stringify(surrogate.json),
      );
      assert.equal((surrogate.json.stdout as string).trim(), "1 7");
    },
  );

  await t.step(
    "python_status reads state privately: a printing thread or a replaced sys.stdout change nothing",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      await server.call("python_exec", {
        code: "import threading, time, sys, io\nalpha = 1\n" +
          "def _spam():\n    while True:\n        print('noise', flush=True)\n        time.sleep(0.001)\n" +
          "threading.Thread(target=_spam, daemon=True).start()",
      });
      const first = await server.call("python_status");
      assert.equal(first.json.success, true, JSON.stringify(first.json));
      assert.ok((first.json.variables as string[]).includes("alpha"));
      await server.call("python_exec", {
        code: "beta = 2\nsys.stdout = io.StringIO()",
      });
      const second = await server.call("python_status");
      assert.equal(second.json.success, true, JSON.stringify(second.json));
      assert.ok((second.json.variables as string[]).includes("beta"));
      assert.match(String(second.json.python_version), /^3\./);
    },
  );

  await t.step(
    "python_status of a stopped kernel fails within its deadline and leaves the kernel",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      const pid = Number(
        (await server.call("python_exec", {
          code: "kept = 'yes'\nimport os; os.getpid()",
        })).json.result,
      );
      Deno.kill(pid, "SIGSTOP");
      try {
        const status = await server.call("python_status");
        assert.equal(status.result.isError, true);
        assert.match(String(status.json.error), /did not answer/);
        assert.ok(pidAlive(pid), "the stopped kernel was killed");
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      const after = await server.call("python_exec", { code: "kept" });
      assert.equal(after.json.result, "'yes'");
      assert.deepEqual(kernelDescendants(server.pid).includes(pid), true);
    },
  );

  await t.step(
    "a kernel ignoring SIGINT is shut down and reported when its call times out",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      const pid = Number(
        (await server.call("python_exec", { code: "import os; os.getpid()" }))
          .json.result,
      );
      const stuck = await server.call("python_exec", {
        code: "import signal, time\n" +
          "signal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)",
        timeout: 1,
      });
      assert.equal(stuck.json.success, false);
      assert.match(
        String(stuck.json.error),
        /did not respond to the interrupt/,
      );
      assert.deepEqual(await waitGone([pid]), []);
      const status = await server.call("python_status");
      assert.equal(status.json.active, false);
    },
  );

  await t.step(
    "python_reset of a kernel with a call in flight tells that call it was restarted",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      await server.call("python_exec", { code: "1" });
      const inFlight = server.call("python_exec", {
        code: "import time\ntime.sleep(60)",
      });
      for (let i = 0; i < 200; i++) {
        if ((await server.call("python_status")).json.busy === true) break;
      }
      const reset = await server.call("python_reset", {
        kernel_id: "_default",
      });
      assert.equal(reset.json.success, true);
      const answer = await inFlight;
      assert.equal(answer.json.success, false);
      assert.match(String(answer.json.error), /restarted/);
      assert.doesNotMatch(String(answer.json.error), /died/);
    },
  );

  await t.step(
    "python_reset(kernel_id='_default', packages) with no default kernel starts exactly one kernel",
    async () => {
      const wheels = await Deno.makeTempDir({ prefix: "mcp_wheels_" });
      const cache = await Deno.makeTempDir({ prefix: "mcp_cache_" });
      try {
        await buildWheel(wheels, "/usr/bin/python3");
        await using server = await startMcpServer({
          env: {
            CODER_POOL_SIZE: "0",
            CODER_LOG_LEVEL: "info",
            CODER_PYTHON: "/usr/bin/python3",
            PIP_NO_INDEX: "1",
            PIP_FIND_LINKS: wheels,
            XDG_CACHE_HOME: cache,
          },
        });
        const reset = await server.call("python_reset", {
          kernel_id: "_default",
          packages: ["coder-demo-pkg==1.2.3"],
        }, { timeout: 300_000 });
        assert.equal(reset.json.success, true, JSON.stringify(reset.json));
        assert.match(String(reset.json.message), /coder-demo-pkg 1\.2\.3/);
        const ready = server.stderr().match(/Kernel \d+ ready/g) ?? [];
        assert.equal(ready.length, 1, server.stderr());
        const run = await server.call("python_exec", {
          code: "import coder_demo_pkg; coder_demo_pkg.ANSWER",
        });
        assert.equal(run.json.result, "42");
      } finally {
        await Deno.remove(wheels, { recursive: true });
        await Deno.remove(cache, { recursive: true });
      }
    },
  );

  await t.step(
    "CODER_MAX_KERNELS=2 with CODER_POOL_SIZE=6 never runs more than 2 kernel processes",
    async () => {
      await using server = await startMcpServer({
        env: { CODER_MAX_KERNELS: "2", CODER_POOL_SIZE: "6" },
      });
      let most = 0;
      const sample = () => {
        most = Math.max(most, kernelChildren(server.pid).length);
      };
      const sampler = setInterval(sample, 20);
      try {
        await server.call("python_exec", { code: "1" });
        sample();
        const second = await server.call("python_reset");
        assert.equal(second.json.success, true, JSON.stringify(second.json));
        sample();
        const third = await server.call("python_reset");
        assert.equal(third.json.success, false);
        assert.match(String(third.json.error), /limit of 2/);
        sample();
      } finally {
        clearInterval(sampler);
      }
      assert.ok(most <= 2, `saw ${most} kernel processes`);
    },
  );

  await t.step(
    "stdin EOF while a spare kernel starts leaves no kernel and exits promptly",
    async () => {
      // Kernels of this server cannot finish starting until the test
      // releases them (or 120 s pass), so the spare is surely still starting
      // when the client goes away, and a server that waited for it would
      // not exit.
      const slow = await Deno.makeTempDir({ prefix: "mcp_slow_" });
      const release = join(slow, "release");
      await Deno.writeTextFile(
        join(slow, "sitecustomize.py"),
        "import os, sys, time\nif '-f' in sys.orig_argv:\n" +
          "    for _ in range(2400):\n" +
          `        if os.path.exists(${JSON.stringify(release)}): break\n` +
          "        time.sleep(0.05)\n",
      );
      const server = await startMcpServer({
        env: { CODER_POOL_SIZE: "1", PYTHONPATH: slow },
      });
      try {
        // Process creation has no event to await: poll /proc.
        const spares = await waitUntil(
          "the spare kernel's process",
          () => kernelChildren(server.pid),
          { until: (pids) => pids.length > 0, intervalMs: 5 },
        );
        assert.equal(spares.length, 1, "no spare kernel was starting");
        await server.close();
        // The old code waited 3 s for the start, then left it running; a
        // start that never ends makes either a failure, with no clock.
        assert.ok(await waitForExit(server.pid), "server still runs");
        assert.deepEqual(await waitGone(spares), []);
        assert.deepEqual(kernelPidsOf(server.pid), []);
      } finally {
        await Deno.writeTextFile(release, "");
        killAll(kernelPidsOf(server.pid));
        await server[Symbol.asyncDispose]();
        await Deno.remove(slow, { recursive: true });
      }
    },
  );

  await t.step(
    "SIGKILL of the server: the kernel's children die and its connection file is removed",
    async () => {
      const server = await startMcpServer({ env: DEFAULT_POOL });
      let all: number[] = [];
      try {
        const made = await server.call("python_exec", {
          code: "import os, subprocess, json\n" +
            "from ipykernel.connect import get_connection_file\n" +
            "child = subprocess.Popen(['sleep', '300'])\n" +
            "forked = os.fork()\n" +
            "if forked == 0:\n    import time\n    time.sleep(300)\n    os._exit(0)\n" +
            "print(json.dumps([os.getpid(), child.pid, forked, get_connection_file()]))",
        });
        const [kernel, child, forked, file] = JSON.parse(
          made.json.stdout as string,
        ) as [number, number, number, string];
        all = [kernel, child, forked];
        assert.ok(all.every(pidAlive));
        assert.ok(dirExists(join(file, "..")));
        Deno.kill(server.pid, "SIGKILL");
        assert.ok(await waitForExit(server.pid));
        assert.deepEqual(await waitGone(all), []);
        assert.equal(dirExists(join(file, "..")), false);
      } finally {
        killAll(all);
        await server[Symbol.asyncDispose]();
      }
    },
  );

  await t.step(
    "a stale connection-file dir of a dead owner is swept when a kernel starts",
    async () => {
      // A pid that is certainly gone: a finished child's.
      const gone = new Deno.Command("true").spawn();
      await gone.status;
      const tmp = Deno.env.get("TMPDIR") || "/tmp";
      const stale = join(tmp, `coder-kernel-${gone.pid}-stale`);
      await Deno.mkdir(stale);
      await Deno.writeTextFile(join(stale, "kernel.json"), "{}");
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      await server.call("python_exec", { code: "1" });
      // The sweep runs beside the first start, not before it, and cannot
      // be observed from outside: poll until the directory is gone.
      await waitUntil(`the sweep of ${stale}`, () => !dirExists(stale), {
        intervalMs: 100,
      });
    },
  );

  await t.step(
    "print of 600 MB reports the lost output instead of a silent success; kernel kept",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      await server.call("python_exec", { code: "kept = 3" });
      const big = await server.call("python_exec", {
        code: "print('z' * 600_000_000)",
        timeout: 120,
      }, { timeout: 180_000 });
      const text = JSON.stringify(big.json);
      assert.match(text, /dropped|truncated|lost/i, text.slice(0, 500));
      const after = await server.call("python_exec", { code: "kept" });
      assert.equal(after.json.result, "3");
    },
  );

  await t.step(
    "submit_code compiles fully, answers in one line, and caps its checker processes",
    async () => {
      await using server = await startMcpServer({ env: DEFAULT_POOL });
      const cases: [string, RegExp][] = [
        ["return 1", /'return' outside function/],
        ["x = 1\0", /null bytes/],
        ["-".repeat(1_000_000) + "1", /too deeply nested|nested/],
      ];
      for (const [code, expected] of cases) {
        const { json } = await server.call("submit_code", { code });
        assert.equal(json.ok, false);
        assert.match(String(json.error), expected);
        assert.doesNotMatch(String(json.error), /Traceback|\n/);
      }
      let most = 0;
      const sampler = setInterval(() => {
        most = Math.max(
          most,
          descendantsMatching(server.pid, /<submission>/).length,
        );
      }, 5);
      try {
        const answers = await Promise.all(
          Array.from(
            { length: 40 },
            (_, i) => server.call("submit_code", { code: `x${i} = ${i}` }),
          ),
        );
        assert.ok(answers.every((a) => a.json.ok === true));
      } finally {
        clearInterval(sampler);
      }
      assert.ok(most >= 1, "no checker process was seen");
      assert.ok(most <= 4, `saw ${most} checker processes at once`);
    },
  );
});
