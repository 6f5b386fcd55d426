/**
 * `evaluateTasks()` and `loadEvalTasks()` as a library (fake model, real
 * kernels): an evaluation stopped in the middle records the interrupted
 * run; one over the same directory skips the finished runs (also past a
 * record cut short by a crash) and runs the interrupted one again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type EvalRecord,
  EvalTaskError,
  evaluateTasks,
  loadEvalTasks,
} from "../../src/agent/mod.ts";
import { createChatClient, parseModelConfig } from "../../src/llm/mod.ts";
import { testEnv, testPython } from "../_helpers/agent_env.ts";
import {
  type FakeReplyValue,
  startFakeOpenAI,
  textReply,
  toolCallsReply,
} from "../_helpers/fake_openai.ts";
import { routeByTask, taskOf } from "../_helpers/task_router.ts";

async function collect(
  stream: AsyncIterable<EvalRecord>,
): Promise<EvalRecord[]> {
  const records: EvalRecord[] = [];
  for await (const record of stream) records.push(record);
  return records;
}

Deno.test("evaluateTasks() resumes after an interrupted evaluation", async () => {
  const base = await Deno.makeTempDir({ prefix: "eval_resume_" });
  try {
    for (const name of ["first", "second"]) {
      await Deno.writeTextFile(join(base, `${name}.md`), `TASK-ID ${name}\n`);
    }
    const tasks = await loadEvalTasks([base], { cwd: base });
    assert.deepEqual(tasks.map((task) => task.name), ["first", "second"]);
    const outDir = join(base, "out");
    const stop = new AbortController();
    const solve: FakeReplyValue[] = [
      toolCallsReply([{ name: "save_code", args: { code: "print(1)" } }]),
      textReply("done"),
    ];
    const slow = toolCallsReply([{
      name: "python_exec",
      args: { code: "import time\ntime.sleep(30)" },
    }]);
    const replies = routeByTask({ first: solve, second: [slow] });
    const stopping = replies.map((reply) =>
      typeof reply === "function"
        ? async (request: Parameters<typeof reply>[0], index: number) => {
          const value = await reply(request, index);
          // Stopped while the run waits for this answer.
          if (taskOf(request) === "second") stop.abort();
          return value;
        }
        : reply
    );
    const agentFor = (baseURL: string) => ({
      llm: createChatClient({
        config: parseModelConfig("fake", {
          path: "fake/model",
          base_url: baseURL,
        }),
        apiKey: "k",
        maxRetries: 0,
      }),
      launch: { env: testEnv(), python: testPython() },
      cleanRoom: false,
    });
    {
      await using server = startFakeOpenAI({ replies: stopping });
      const records = await collect(evaluateTasks(tasks, {
        outDir,
        agent: agentFor(server.baseURL),
        signal: stop.signal,
      }));
      assert.deepEqual(records.map((r) => [r.task, r.status]), [
        ["first", "solved"],
        ["second", "interrupted"],
      ]);
    }
    // A crash while writing leaves half a record behind.
    await Deno.writeTextFile(
      join(outDir, "results.jsonl"),
      '{"task":"second","run":1,"sta',
      { append: true },
    );
    {
      await using server = startFakeOpenAI({
        replies: routeByTask({ first: solve, second: solve }),
      });
      const records = await collect(evaluateTasks(tasks, {
        outDir,
        agent: agentFor(server.baseURL),
      }));
      assert.deepEqual(
        records.map((r) => [r.task, r.status, r.resumed ?? false]),
        [["first", "solved", true], ["second", "solved", false]],
      );
      assert.deepEqual(server.requests.map(taskOf), ["second", "second"]);
    }
    const lines = (await Deno.readTextFile(join(outDir, "results.jsonl")))
      .split("\n").filter((line) => line !== "");
    assert.equal(lines.length, 4, "three records and the cut one");
    assert.equal(JSON.parse(lines[3]!).status, "solved");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("loadEvalTasks() refuses bad task lists", async (t) => {
  const base = await Deno.makeTempDir({ prefix: "eval_tasks_" });
  try {
    await Deno.mkdir(join(base, "a"));
    await Deno.mkdir(join(base, "b"));
    await Deno.mkdir(join(base, "empty"));
    await Deno.writeTextFile(join(base, "a", "same.md"), "one");
    await Deno.writeTextFile(join(base, "b", "same.md"), "two");
    await Deno.writeTextFile(join(base, "blank.md"), "  \n");
    const cases: [string[], RegExp][] = [
      [[], /No tasks given/],
      [["a", "b"], /Two tasks are named "same"/],
      [["empty"], /holds no task files/],
      [["blank.md"], /is empty/],
      [["nope"], /Cannot find "nope"/],
    ];
    for (const [paths, pattern] of cases) {
      await t.step(paths.join(" ") || "(none)", async () => {
        await assert.rejects(
          loadEvalTasks(paths, { cwd: base }),
          (error: unknown) =>
            error instanceof EvalTaskError && pattern.test(error.message),
        );
      });
    }
    await t.step("a directory named twice counts once", async () => {
      const tasks = await loadEvalTasks(["a", "a/same.md"], {
        cwd: base,
        validate: "true",
      });
      assert.equal(tasks.length, 1);
      assert.equal(tasks[0]!.validator?.label, "true");
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
