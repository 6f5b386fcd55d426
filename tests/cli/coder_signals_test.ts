import assert from "node:assert/strict";
import { join } from "node:path";
import { testEnv } from "../_helpers/agent_env.ts";
import { spawnCoder } from "../_helpers/coder_process.ts";
import {
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";
import {
  kernelPidsOf,
  killAll,
  pidAlive,
  waitGone,
} from "../_helpers/processes.ts";
import { readIfExists, waitUntil } from "../_helpers/wait.ts";

/**
 * Code the fake model runs: the kernel starts a child process that ignores
 * SIGINT (so an interrupt of the kernel's group does not end it; only the
 * group kill of a shutdown does), the child writes its pid once it is set
 * up, and the kernel sleeps.
 */
const LONG_RUN = `
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", """
import os, signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
open("child.tmp", "w").write(str(os.getpid()))
os.rename("child.tmp", "child.pid")
time.sleep(600)
"""])
time.sleep(600)
`;

/**
 * Starts coder on a task whose first tool call runs LONG_RUN, waits until the
 * kernel's child runs, sends `signals` back to back, and checks the outcome.
 */
async function stopWith(
  signals: Deno.Signal[],
  expected: { codes: number[]; forced?: boolean },
  code: string = LONG_RUN,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "coder_signals_" });
  await using server = startFakeOpenAI({
    replies: [
      toolCallsReply([{ name: "python_exec", args: { code } }]),
      textReply("never reached"),
    ],
  });
  const model = await writeFakeModel(dir, server.baseURL);
  await using coder = spawnCoder(["--model", model, "--json", "sleep"], {
    cwd: dir,
    env: testEnv({
      XDG_CONFIG_HOME: join(dir, ".config"),
      FAKE_LLM_KEY: "sk-signals-test",
    }),
  });
  let child = 0;
  try {
    child = Number(
      await waitUntil(
        "the kernel child's pid file",
        () => readIfExists(join(dir, "child.pid")),
      ),
    );
    assert.ok(pidAlive(child));
    for (const [i, signal] of signals.entries()) {
      // A pause past the duplicate window (1 s) makes a repeat a new request:
      // crossing that window is what this case tests, so it is a real idle.
      if (expected.forced && i > 0) {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      }
      coder.kill(signal);
    }
    const { status, stdout, stderr } = await coder.done;

    assert.equal(status.signal, null, `coder died of ${status.signal}`);
    assert.ok(
      expected.codes.includes(status.code),
      `exit ${status.code}\n${stderr}`,
    );

    const log = (await Deno.readTextFile(join(dir, "log.jsonl"))).trim()
      .split("\n").map((line) => JSON.parse(line))
      // format 2's replay records are tested in coder_replay_test.ts
      .filter((e) => !["session", "llm_response"].includes(e.event));
    assert.deepEqual(log.slice(0, 2).map((e) => e.event), [
      "start",
      "python_exec",
    ]);
    assert.deepEqual(log.at(-1), { event: "complete", status: "interrupted" });

    const summary = JSON.parse(stdout.trim());
    assert.equal(summary.status, "interrupted");
    assert.equal(summary.log_path, join(dir, "log.jsonl"));
    assert.deepEqual(summary.stats.tool_usage, { python_exec: 1 });
    assert.equal(server.requests.length, 1);

    // The kernel and its child (found by JPY_PARENT_PID even when reparented).
    assert.deepEqual(await waitGone(kernelPidsOf(coder.pid)), []);
    assert.equal(pidAlive(child), false, "the kernel's child was left behind");
  } finally {
    killAll([...kernelPidsOf(coder.pid), ...(child ? [child] : [])]);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("coder stopped by signals writes its log and leaves no process", async (t) => {
  await t.step("SIGTERM is handled like Ctrl-C (exit 143)", async () => {
    await stopWith(["SIGTERM"], { codes: [143] });
  });

  await t.step(
    "two SIGINTs at once (Ctrl-C under deno task) count as one (exit 130)",
    async () => {
      await stopWith(["SIGINT", "SIGINT"], { codes: [130] });
    },
  );

  await t.step(
    "a second, different stop request stops at once, still writing the log",
    async () => {
      // Distinct signals sent back to back may arrive in either order.
      await stopWith(["SIGTERM", "SIGINT"], { codes: [130, 143] });
    },
  );

  await t.step(
    "a second Ctrl-C after the window stops a kernel that ignores the interrupt",
    async () => {
      // The kernel ignores SIGINT, so the interrupt of the first Ctrl-C does
      // not end the execution; the second one must not wait for it.
      const stubborn =
        `import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n${LONG_RUN}`;
      await stopWith(
        ["SIGINT", "SIGINT"],
        { codes: [130], forced: true },
        stubborn,
      );
    },
  );
});
