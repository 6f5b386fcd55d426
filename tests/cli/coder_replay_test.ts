/**
 * `coder --replay LOG.jsonl` (in-process, real kernels): a session recorded
 * against the fake model is replayed with no model server and no key; it
 * matches the log, then, after an input file changed, the difference is
 * reported (exit 1). Also the log's format 2 records and bad logs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseReplayLog, ReplayLogError } from "../../src/agent/mod.ts";
import { main } from "../../src/cli/coder.ts";
import { testEnv } from "../_helpers/agent_env.ts";
import {
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";
import { memoryIo } from "../_helpers/memory_io.ts";

const KEY = "sk-replay-test-key-91ab";

async function coder(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const mem = memoryIo({ cwd, env: testEnv(env) });
  const code = await main(args, mem.io);
  return { code, stdout: mem.stdout(), stderr: mem.stderr() };
}

const READ_INPUT = "print(open('data.txt').read().strip())";
const PROGRAM = "print(sum(int(x) for x in open('data.txt').read().split()))";

Deno.test("coder --replay", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "coder_replay_" });
  const home = join(dir, "home");
  const noKeyEnv = { XDG_CONFIG_HOME: join(home, ".config"), HOME: home };
  try {
    await Deno.writeTextFile(join(dir, "data.txt"), "1 2 3\n");
    await t.step(
      "records a session with the model's answers and tool results",
      async () => {
        await using server = startFakeOpenAI({
          replies: [
            toolCallsReply([{
              name: "python_exec",
              args: { code: READ_INPUT },
            }]),
            toolCallsReply([{ name: "save_code", args: { code: PROGRAM } }]),
            textReply("The sum is 6."),
          ],
        });
        const model = await writeFakeModel(dir, server.baseURL);
        const run = await coder(["--model", model, "Sum data.txt"], dir, {
          ...noKeyEnv,
          FAKE_LLM_KEY: KEY,
        });
        assert.equal(run.code, 0, run.stderr);
        const log = (await Deno.readTextFile(join(dir, "log.jsonl"))).trim()
          .split("\n").map((line) => JSON.parse(line));
        assert.deepEqual(log[0], {
          event: "session",
          format: 2,
          model: "fake/model",
          code_file: "solution.py",
          todo: false,
          with_packages: [],
          clean_room: true,
          task_in_prompt: true,
        });
        const answers = log.filter((e) => e.event === "llm_response");
        assert.equal(answers.length, 3);
        assert.equal(answers[2].message.content, "The sum is 6.");
        assert.equal(
          answers[0].message.tool_calls[0].function.arguments,
          JSON.stringify({ code: READ_INPUT }),
        );
        const results = log.filter((e) => e.event === "tool_result");
        assert.deepEqual(results.map((e) => e.tool), [
          "python_exec",
          "save_code",
        ]);
        assert.equal(JSON.parse(results[0].content).stdout, "1 2 3\n");
        assert.equal(JSON.parse(results[1].content).clean_room.stdout, "6\n");
        assert.equal(
          log.filter((e) => e.event === "clean_room").length,
          1,
          "the clean-room run is logged",
        );
        assert.ok(!JSON.stringify(log).includes(KEY));
      },
    );
    await Deno.copyFile(join(dir, "log.jsonl"), join(dir, "recorded.jsonl"));

    await t.step(
      "replays with no model server and no key: same results, exit 0",
      async () => {
        await Deno.remove(join(dir, "solution.py"));
        const run = await coder(["--replay", "recorded.jsonl"], dir, noKeyEnv);
        assert.equal(run.code, 0, run.stderr);
        assert.match(
          run.stderr,
          /Replay matches the log: 2 tool result\(s\) in 1 run\(s\) are the same/,
        );
        // The code ran again: save_code wrote the program once more.
        assert.equal(
          await Deno.readTextFile(join(dir, "solution.py")),
          `${PROGRAM}\n`,
        );
        // The replay left the recorded log alone.
        assert.equal(
          await Deno.readTextFile(join(dir, "log.jsonl")),
          await Deno.readTextFile(join(dir, "recorded.jsonl")),
        );
      },
    );

    await t.step(
      "after an input file changed, reports the difference, exit 1",
      async () => {
        await Deno.writeTextFile(join(dir, "data.txt"), "10 20\n");
        const run = await coder(["--replay", "recorded.jsonl"], dir, noKeyEnv);
        assert.equal(run.code, 1, run.stderr);
        assert.match(
          run.stderr,
          /Replay differs from the log in 2 of 2 tool result/,
        );
        assert.match(run.stderr, /run 1, tool call 1 \(python_exec/);
        assert.match(
          run.stderr,
          /logged:[\s\S]*1 2 3[\s\S]*today:[\s\S]*10 20/,
        );
        assert.match(run.stderr, /run 1, tool call 2 \(save_code/);

        const json = await coder(
          ["--replay", "recorded.jsonl", "--json"],
          dir,
          noKeyEnv,
        );
        assert.equal(json.code, 1);
        const summary = JSON.parse(json.stdout);
        assert.equal(summary.status, "differs");
        assert.equal(summary.differences.length, 2);
        assert.equal(
          JSON.parse(summary.differences[0].logged).stdout,
          "1 2 3\n",
        );
        assert.equal(
          JSON.parse(summary.differences[0].replayed).stdout,
          "10 20\n",
        );
      },
    );

    await t.step(
      "a log without format 2 records is refused with the reason",
      async () => {
        await Deno.writeTextFile(
          join(dir, "old.jsonl"),
          '{"event":"start","task":"x"}\n{"event":"complete","status":"success"}\n',
        );
        const run = await coder(["--replay", "old.jsonl"], dir, noKeyEnv);
        assert.equal(run.code, 1);
        assert.match(
          run.stderr,
          /Cannot replay ".*old\.jsonl": it has no "session" record/,
        );
        const missing = await coder(["--replay", "nope.jsonl"], dir, noKeyEnv);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /Cannot read the log ".*nope\.jsonl"/);
        const withTask = await coder(
          ["--replay", "old.jsonl", "x"],
          dir,
          noKeyEnv,
        );
        assert.equal(withTask.code, 2);
        assert.match(withTask.stderr, /--replay takes no task/);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("coder --replay of an interactive session replays every turn", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coder_replay_i_" });
  const env = {
    XDG_CONFIG_HOME: join(dir, ".config"),
    HOME: join(dir, "home"),
  };
  try {
    await using server = startFakeOpenAI({
      replies: [
        toolCallsReply([{ name: "python_exec", args: { code: "n = 20" } }]),
        textReply("Set n."),
        toolCallsReply([{
          name: "python_exec",
          args: { code: "print(n + 1)" },
        }]),
        textReply("21"),
      ],
    });
    const model = await writeFakeModel(dir, server.baseURL);
    const mem = memoryIo({
      cwd: dir,
      env: testEnv({ ...env, FAKE_LLM_KEY: KEY }),
      input: "set n to 20\nprint n + 1\nexit\n",
    });
    assert.equal(await main(["--model", model, "-i"], mem.io), 0, mem.stderr());
    const run = await coder(["--replay", "log.jsonl", "--json"], dir, env);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.status, "same");
    assert.equal(summary.runs, 2);
    assert.equal(summary.tool_calls, 2);
    assert.deepEqual(summary.replayed_status, ["success", "success"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseReplayLog()", async (t) => {
  const session =
    '{"event":"session","format":2,"model":"m","code_file":"p_code.py","todo":false,"with_packages":[],"clean_room":false,"task_in_prompt":true}';
  const answer = (content: string) =>
    JSON.stringify({
      event: "llm_response",
      step: 1,
      message: { role: "assistant", content },
      finish_reason: "stop",
      usage: null,
    });
  await t.step("splits an interactive log into runs", () => {
    const plan = parseReplayLog(
      [
        session,
        '{"event":"start","task":"the task"}',
        answer("one"),
        '{"event":"complete","status":"success"}',
        '{"event":"start","task":"second turn"}',
        answer("two"),
        '{"event":"complete","status":"success"}',
      ].join("\n"),
      "log",
    );
    assert.equal(plan.task, "the task");
    assert.equal(plan.runs.length, 2);
    assert.match(plan.runs[0]!.input, /Complete the task/);
    assert.equal(plan.runs[1]!.input, "second turn");
    assert.equal(plan.runs[1]!.answers[0]!.message.content, "two");
  });
  await t.step("names a line that is not JSON", () => {
    assert.throws(
      () => parseReplayLog(`${session}\n{"event":`, "x.jsonl"),
      (error: unknown) =>
        error instanceof ReplayLogError &&
        /line 2 is not JSON/.test(error.message),
    );
  });
  await t.step("refuses a log with no model answers", () => {
    assert.throws(
      () => parseReplayLog(`${session}\n{"event":"start","task":"t"}`, "x"),
      /records no model answers/,
    );
  });
});
