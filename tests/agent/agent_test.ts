import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type AgentEvent,
  createCodingAgent,
  getFinalResponse,
  runAgent,
  solveTask,
} from "../../src/agent/mod.ts";
import { startKernel } from "../../src/kernel/mod.ts";
import {
  type ChatMessage,
  createChatClient,
  LlmResponseError,
  parseModelConfig,
} from "../../src/llm/mod.ts";
import { testEnv, testPython } from "../_helpers/agent_env.ts";
import {
  errorEnvelope,
  type FakeReply,
  type RecordedRequest,
  startFakeOpenAI,
  textReply,
  toolCallsReply,
} from "../_helpers/fake_openai.ts";
import { waitUntil } from "../_helpers/wait.ts";

const KEY = "sk-agent-test-key";

function llmFor(baseURL: string) {
  return createChatClient({
    config: parseModelConfig("fake", { path: "fake/model", base_url: baseURL }),
    apiKey: KEY,
    maxRetries: 0,
  });
}

function messagesOf(request: RecordedRequest): ChatMessage[] {
  return request.body.messages as ChatMessage[];
}

function toolResults(request: RecordedRequest): Record<string, unknown>[] {
  return messagesOf(request)
    .filter((m) => m.role === "tool")
    .map((m) => JSON.parse(m.content));
}

/** The replay records of log format 2 (tested in replay_test.ts). */
const REPLAY_RECORDS = new Set([
  "session",
  "llm_response",
  "tool_result",
  "clean_room",
]);

/** The log's SPEC §4 records (format 2's replay records left out). */
async function readLog(path: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").map((line) =>
    JSON.parse(line)
  ).filter((event) => !REPLAY_RECORDS.has(event.event));
}

Deno.test("runAgent() with a shared kernel", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "agent_test_" });
  await using kernel = await startKernel({
    cwd: dir,
    env: testEnv(),
    python: testPython(),
  });

  async function run(
    replies: FakeReply[],
    options: {
      todo?: boolean;
      stepLimit?: number;
      projectPackages?: string[];
      execTimeoutMs?: number;
    } = {},
  ) {
    const server = startFakeOpenAI({ replies });
    const events: AgentEvent[] = [];
    const agent = await createCodingAgent({
      workingDirectory: dir,
      llm: llmFor(server.baseURL),
      kernel,
      retryDelayMs: 1,
      onEvent: (event) => events.push(event),
      ...options,
    });
    return { server, agent, events };
  }

  try {
    await t.step(
      "runs tool calls in order on a persistent kernel and ends at the answer",
      async () => {
        const { server, agent, events } = await run([
          toolCallsReply([
            { name: "python_exec", args: { code: "x = 41" } },
            { name: "python_exec", args: { code: "print(x + 1)" } },
          ]),
          textReply("The answer is **42**."),
        ]);
        await using _server = server;
        const result = await runAgent(agent, "compute");
        assert.equal(result.status, "success");
        assert.equal(result.finalResponse, "The answer is **42**.");
        assert.equal(
          getFinalResponse(result.messages),
          "The answer is **42**.",
        );
        const [first, second] = toolResults(server.requests[1]!);
        assert.equal(first?.success, true);
        assert.equal(second?.stdout, "42\n");
        assert.deepEqual(result.stats.tool_usage, { python_exec: 2 });
        assert.deepEqual(result.stats.token_consumption, {
          input_tokens: 20,
          output_tokens: 10,
          total_tokens: 30,
        });
        assert.equal(result.stats.step_limit_reached, false);
        assert.equal(result.stats.cost_usd, undefined);
        const request = server.requests[0]!;
        assert.equal(request.body.tool_choice, "auto");
        const names = (request.body.tools as { function: { name: string } }[])
          .map((tool) => tool.function.name);
        assert.deepEqual(names, ["python_exec", "save_code"]);
        assert.deepEqual(
          events.filter((e) => e.type === "tool_call").map((e) =>
            e.type === "tool_call" && e.args?.code
          ),
          ["x = 41", "print(x + 1)"],
        );
      },
    );

    await t.step("writes the JSON Lines log with the SPEC events", async () => {
      const log = await readLog(join(dir, "log.jsonl"));
      assert.deepEqual(log.map((e) => e.event), [
        "start",
        "python_exec",
        "tool_response",
        "python_exec",
        "tool_response",
        "statistics",
        "complete",
      ]);
      assert.deepEqual(log[0], { event: "start", task: "compute" });
      assert.deepEqual(log[1], {
        event: "python_exec",
        code_length: 6,
        code: "x = 41",
      });
      assert.deepEqual(log[2], {
        event: "tool_response",
        success: true,
        error: null,
      });
      assert.deepEqual(log[5]?.tool_usage, { python_exec: 2 });
      assert.deepEqual(log[6], { event: "complete", status: "success" });
    });

    await t.step(
      "save_code with a syntax error writes nothing and reports the line",
      async () => {
        const file = join(dir, "solution.py");
        await Deno.remove(file).catch(() => {});
        const { server, agent } = await run([
          toolCallsReply([{
            name: "save_code",
            args: { code: "x = 1\ndef f(:\n    pass\n" },
          }]),
          toolCallsReply([{
            name: "save_code",
            args: { code: "print('ok')" },
          }]),
          textReply("saved"),
        ]);
        await using _server = server;
        const result = await runAgent(agent, "save");
        const [bad] = toolResults(server.requests[1]!);
        assert.equal(bad?.success, false);
        assert.match(String(bad?.error), /Syntax error at line 2/);
        assert.match(String(bad?.error), /Nothing was saved/);
        const [, good] = toolResults(server.requests[2]!);
        assert.equal(good?.success, true);
        assert.equal(await Deno.readTextFile(file), "print('ok')\n");
        assert.deepEqual(
          agent.filesWritten.sort(),
          [join(dir, "log.jsonl"), join(dir, "solution.ipynb"), file].sort(),
        );
        assert.equal(result.stats.tool_usage.save_code, 2);
      },
    );

    await t.step("a syntax error alone leaves no file behind", async () => {
      const file = join(dir, "solution.py");
      await Deno.remove(file);
      const { server, agent } = await run([
        toolCallsReply([{ name: "save_code", args: { code: "for\n" } }]),
        textReply("gave up"),
      ]);
      await using _server = server;
      await runAgent(agent, "save");
      await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
    });

    await t.step(
      "unknown tools, bad JSON and bad arguments reach the model as errors",
      async () => {
        const { server, agent } = await run([
          toolCallsReply([
            { name: "rm_rf", args: { path: "/" } },
            { name: "python_exec", args: '{"code": "print(1)"' },
            { name: "python_exec", args: { code: 5 } },
            { name: "python_exec", args: "[1]" },
            { name: "save_code", args: {} },
          ]),
          textReply("sorry"),
        ]);
        await using _server = server;
        const result = await runAgent(agent, "misbehave");
        const results = toolResults(server.requests[1]!);
        assert.equal(results.length, 5);
        assert.ok(results.every((r) => r.success === false));
        assert.match(
          String(results[0]?.error),
          /Unknown tool "rm_rf".*python_exec, save_code/,
        );
        assert.match(
          String(results[1]?.error),
          /Invalid JSON in the arguments of python_exec/,
        );
        assert.match(
          String(results[2]?.error),
          /^Invalid arguments for python_exec: code: .*expected string, received number/,
        );
        assert.match(String(results[3]?.error), /must be a JSON object/);
        assert.match(
          String(results[4]?.error),
          /^Invalid arguments for save_code: code: missing \(expected string\)/,
        );
        assert.equal(result.status, "success");
        const log = await readLog(join(dir, "log.jsonl"));
        assert.ok(
          log.some((e) => e.event === "tool_call" && e.tool === "rm_rf"),
        );
      },
    );

    await t.step("Python exceptions come back with the traceback", async () => {
      const { server, agent } = await run([
        toolCallsReply([{ name: "python_exec", args: { code: "1/0" } }]),
        textReply("oops"),
      ]);
      await using _server = server;
      await runAgent(agent, "divide");
      const [result] = toolResults(server.requests[1]!);
      assert.equal(result?.success, false);
      assert.match(String(result?.error), /ZeroDivisionError/);
    });

    await t.step(
      "a python_exec past its deadline is interrupted and state is kept",
      async () => {
        const { server, agent } = await run([
          toolCallsReply([
            { name: "python_exec", args: { code: "kept = 'yes'" } },
            {
              name: "python_exec",
              args: {
                code: "import time\nprint('start', flush=True)\ntime.sleep(30)",
              },
            },
            { name: "python_exec", args: { code: "print(kept)" } },
          ]),
          textReply("ok"),
        ], { execTimeoutMs: 700 });
        await using _server = server;
        await runAgent(agent, "sleep");
        const [, slow, after] = toolResults(server.requests[1]!);
        assert.equal(slow?.success, false);
        assert.match(
          String(slow?.error),
          /timed out after 1s.*state is preserved/,
        );
        assert.equal(slow?.stdout, "start\n");
        assert.equal(after?.stdout, "yes\n");
      },
    );

    await t.step(
      "an aborted run rejects with the signal's reason",
      async () => {
        const controller = new AbortController();
        const { server, agent } = await run([
          () => {
            controller.abort(new DOMException("stop", "AbortError"));
            return textReply("too late");
          },
        ]);
        await using _server = server;
        await assert.rejects(
          runAgent(agent, "abort me", { signal: controller.signal }),
          (error: unknown) =>
            error instanceof DOMException && error.name === "AbortError",
        );
        assert.equal(agent.running, false);
      },
    );

    await t.step(
      "an error envelope is retried and the run then succeeds",
      async () => {
        const { server, agent, events } = await run([
          errorEnvelope(),
          errorEnvelope(),
          textReply("finally"),
        ]);
        await using _server = server;
        const result = await runAgent(agent, "retry");
        assert.equal(result.finalResponse, "finally");
        assert.equal(server.requests.length, 3);
        assert.equal(events.filter((e) => e.type === "retry").length, 2);
        assert.equal(result.stats.llm_calls, 3);
      },
    );

    await t.step(
      "a persistent error envelope fails after 3 retries",
      async () => {
        const { server, agent } = await run(
          Array(6).fill(errorEnvelope("still broken")),
        );
        await using _server = server;
        await assert.rejects(runAgent(agent, "doomed"), (error: unknown) => {
          assert.ok(error instanceof LlmResponseError);
          assert.match(error.message, /still broken/);
          return true;
        });
        assert.equal(server.requests.length, 4);
        const log = await readLog(join(dir, "log.jsonl"));
        assert.equal(log.at(-1)?.status, "error");
      },
    );

    await t.step(
      "finish_reason length without tool calls asks to continue",
      async () => {
        const { server, agent } = await run([
          textReply("The first half", "length"),
          textReply("and the rest."),
        ]);
        await using _server = server;
        const result = await runAgent(agent, "long answer");
        assert.equal(result.finalResponse, "and the rest.");
        const last = messagesOf(server.requests[1]!).at(-1)!;
        assert.equal(last.role, "user");
        assert.match(String(last.content), /cut off.*concise/s);
      },
    );

    await t.step(
      "the step limit stops the run and marks step_limit_reached",
      async () => {
        const loop = toolCallsReply([{
          name: "python_exec",
          args: { code: "pass" },
        }]);
        const { server, agent } = await run([loop, loop, loop], {
          stepLimit: 2,
        });
        await using _server = server;
        const result = await runAgent(agent, "loop forever");
        assert.equal(result.status, "step_limit_reached");
        assert.equal(result.stats.step_limit_reached, true);
        assert.equal(server.requests.length, 2);
        const log = await readLog(join(dir, "log.jsonl"));
        assert.deepEqual(log.at(-1), {
          event: "complete",
          status: "step_limit_reached",
        });
      },
    );

    await t.step(
      "todo_write validates the list and the model sees the errors",
      async () => {
        const { server, agent } = await run([
          toolCallsReply([{
            name: "todo_write",
            args: {
              todos: [
                {
                  id: "1",
                  content: "plan",
                  status: "in_progress",
                  priority: "high",
                },
                {
                  id: "2",
                  content: "code",
                  status: "in_progress",
                  priority: "low",
                },
              ],
            },
          }]),
          toolCallsReply([{
            name: "todo_write",
            args: {
              todos: [{
                id: "1",
                content: "plan",
                status: "doing",
                priority: "high",
              }],
            },
          }]),
          toolCallsReply([{
            name: "todo_write",
            args: {
              todos: [
                {
                  id: "1",
                  content: "plan",
                  status: "completed",
                  priority: "high",
                },
                {
                  id: "2",
                  content: "code",
                  status: "in_progress",
                  priority: "medium",
                },
              ],
            },
          }]),
          textReply("done"),
        ], { todo: true });
        await using _server = server;
        await runAgent(agent, "plan it");
        const tools =
          (server.requests[0]!.body.tools as { function: { name: string } }[])
            .map((tool) => tool.function.name);
        assert.deepEqual(tools, ["python_exec", "save_code", "todo_write"]);
        const system = messagesOf(server.requests[0]!)[0]!;
        assert.match(String(system.content), /todo_write/);
        assert.match(
          String(toolResults(server.requests[1]!)[0]?.error),
          /Only one task may be in_progress/,
        );
        assert.match(
          String(toolResults(server.requests[2]!)[1]?.error),
          /todos\[0\]\.status: must be one of pending, in_progress, completed/,
        );
        assert.equal(toolResults(server.requests[3]!)[2]?.success, true);
        assert.deepEqual(agent.todos.map((todo) => todo.status), [
          "completed",
          "in_progress",
        ]);
        const log = await readLog(join(dir, "log.jsonl"));
        const todoEvent = log.filter((e) => e.event === "todo").at(-1);
        assert.deepEqual(todoEvent, {
          event: "todo",
          action: "update",
          count: 2,
          tasks: [{ content: "plan", status: "completed" }, {
            content: "code",
            status: "in_progress",
          }],
        });
      },
    );

    await t.step("without todo the todo_write tool is unknown", async () => {
      const { server, agent } = await run([
        toolCallsReply([{ name: "todo_write", args: { todos: [] } }]),
        textReply("ok"),
      ]);
      await using _server = server;
      await runAgent(agent, "x");
      assert.match(
        String(toolResults(server.requests[1]!)[0]?.error),
        /Unknown tool "todo_write"/,
      );
    });

    await t.step(
      "cost_usd is recorded when the provider reports it",
      async () => {
        const { server, agent } = await run([
          toolCallsReply([{ name: "python_exec", args: { code: "1" } }], {
            prompt_tokens: 100,
            completion_tokens: 20,
            cost: 0.25,
          }),
          textReply("done", "stop", {
            prompt_tokens: 50,
            completion_tokens: 10,
            cost: 0.125,
          }),
        ]);
        await using _server = server;
        const { stats } = await runAgent(agent, "pay");
        assert.equal(stats.cost_usd, 0.375);
        assert.equal(stats.token_consumption.total_tokens, 180);
      },
    );

    await t.step(
      "unavailable project packages are named in the system prompt",
      async () => {
        const { server, agent } = await run([textReply("ok")], {
          projectPackages: ["json", "surely_missing_pkg_xyz"],
        });
        await using _server = server;
        await runAgent(agent, "x");
        const system = String(messagesOf(server.requests[0]!)[0]!.content);
        assert.match(system, /NOT available[\s\S]*`surely_missing_pkg_xyz`/);
        assert.match(system, /Available in the kernel[\s\S]*`json`/);
      },
    );

    await t.step("a second turn continues the same conversation", async () => {
      const { server, agent } = await run([
        toolCallsReply([{
          name: "python_exec",
          args: { code: "turn_value = 7" },
        }]),
        textReply("set"),
        toolCallsReply([{
          name: "python_exec",
          args: { code: "turn_value * 6" },
        }]),
        textReply("42"),
      ]);
      await using _server = server;
      await runAgent(agent, "set a value");
      const second = await runAgent(agent, "use it");
      assert.equal(second.finalResponse, "42");
      assert.equal(toolResults(server.requests[3]!)[1]?.result, "42");
      const users = messagesOf(server.requests[3]!).filter((m) =>
        m.role === "user"
      );
      assert.deepEqual(users.map((m) => m.content), ["set a value", "use it"]);
      const log = await readLog(join(dir, "log.jsonl"));
      assert.equal(log.filter((e) => e.event === "start").length, 2);
    });
  } finally {
    await kernel.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createCodingAgent() agents own separate kernels", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent_pair_" });
  await using server = startFakeOpenAI({
    replies: [
      (req) =>
        toolCallsReply([{
          name: "python_exec",
          args: {
            code: `x = ${JSON.stringify(String(messagesOf(req)[1]!.content))}`,
          },
        }]),
      (req) =>
        toolCallsReply([{
          name: "python_exec",
          args: {
            code: `x = ${JSON.stringify(String(messagesOf(req)[1]!.content))}`,
          },
        }]),
      textReply("set"),
      textReply("set"),
      toolCallsReply([{
        name: "python_exec",
        args: { code: "print(globals().get('x'))" },
      }]),
      toolCallsReply([{
        name: "python_exec",
        args: { code: "print(globals().get('x'))" },
      }]),
      textReply("read"),
      textReply("read"),
    ],
  });
  const make = () =>
    createCodingAgent({
      workingDirectory: dir,
      llm: llmFor(server.baseURL),
      launch: { env: testEnv(), python: testPython() },
      saveLog: false,
    });
  const [a, b] = await Promise.all([make(), make()]);
  try {
    assert.notEqual(a.kernel.pid, b.kernel.pid);
    await Promise.all([runAgent(a, "alpha"), runAgent(b, "beta")]);
    const [ra, rb] = await Promise.all([
      runAgent(a, "read"),
      runAgent(b, "read"),
    ]);
    const seen = (messages: ChatMessage[]) =>
      messages.filter((m) => m.role === "tool").map((m) =>
        JSON.parse(m.content).stdout
      ).at(-1);
    assert.deepEqual([seen(ra.messages), seen(rb.messages)].sort(), [
      "alpha\n",
      "beta\n",
    ]);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(a.kernel.alive, false);
  assert.equal(b.kernel.alive, false);
});

Deno.test("CodingAgent replaces a kernel that died", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent_died_" });
  await using server = startFakeOpenAI({
    replies: [
      toolCallsReply([
        { name: "python_exec", args: { code: "doomed = 1" } },
        { name: "python_exec", args: { code: "import os\nos._exit(3)" } },
        { name: "python_exec", args: { code: "print('doomed' in globals())" } },
      ]),
      textReply("recovered"),
    ],
  });
  const agent = await createCodingAgent({
    workingDirectory: dir,
    llm: llmFor(server.baseURL),
    launch: { env: testEnv(), python: testPython() },
    saveLog: false,
  });
  const firstPid = agent.kernel.pid;
  try {
    const result = await runAgent(agent, "crash");
    const [, died, after] = toolResults(server.requests[1]!);
    assert.equal(died?.success, false);
    assert.match(String(died?.error), /kernel died.*fresh kernel/s);
    assert.equal(after?.stdout, "False\n");
    assert.notEqual(agent.kernel.pid, firstPid);
    assert.equal(result.finalResponse, "recovered");
  } finally {
    await agent.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(agent.kernel.alive, false);
});

Deno.test("solveTask() writes NAME_code.py and NAME.jsonl and closes its kernel", async () => {
  const dir = await Deno.makeTempDir({ prefix: "solve_task_" });
  await using server = startFakeOpenAI({
    replies: [
      toolCallsReply([{ name: "save_code", args: { code: "print('hi')" } }]),
      textReply("Saved."),
    ],
  });
  const events: AgentEvent[] = [];
  try {
    const result = await solveTask("Say hi", {
      workingDirectory: join(dir, "nested", "out"),
      llm: llmFor(server.baseURL),
      launch: { env: testEnv(), python: testPython() },
      taskBasename: "problem",
      onEvent: (event) => events.push(event),
    });
    const out = join(dir, "nested", "out");
    assert.equal(result.logPath, join(out, "problem.jsonl"));
    assert.equal(
      await Deno.readTextFile(join(out, "problem_code.py")),
      "print('hi')\n",
    );
    assert.equal(result.finalResponse, "Saved.");
    const system = String(messagesOf(server.requests[0]!)[0]!.content);
    assert.match(system, /<task>\nSay hi\n<\/task>/);
    const log = await readLog(join(out, "problem.jsonl"));
    assert.deepEqual(log[0], { event: "start", task: "Say hi" });
    assert.match(
      String(
        (server.requests[0]!.body.tools as {
          function: { description: string };
        }[])[1]!
          .function.description,
      ),
      /problem_code\.py/,
    );
    const started = events.find((e) => e.type === "kernel_started");
    assert.ok(started && started.type === "kernel_started");
    const alive = await Deno.stat(`/proc/${started.pid}`).then(
      () => true,
      () => false,
    );
    assert.equal(alive, false, "the kernel process is gone after solveTask()");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Answers like OpenAI-compatible APIs do: HTTP 400 when an assistant message's
 * tool calls are not all followed by tool messages.
 */
function strictHistory(reply: Record<string, unknown>): FakeReply {
  return (request) => {
    const messages = messagesOf(request);
    for (const [i, message] of messages.entries()) {
      if (message.role !== "assistant" || !message.tool_calls) continue;
      const answered = new Set<string>();
      for (const next of messages.slice(i + 1)) {
        if (next.role !== "tool") break;
        answered.add(next.tool_call_id);
      }
      const missing = message.tool_calls.filter((c) => !answered.has(c.id));
      if (missing.length > 0) {
        return {
          status: 400,
          body: {
            error: {
              message:
                `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: ${
                  missing.map((c) => c.id).join(", ")
                }`,
            },
          },
        };
      }
    }
    return reply;
  };
}

Deno.test("runAgent() after an aborted run answers the cancelled tool calls", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent_abort_" });
  await using server = startFakeOpenAI({
    replies: [
      toolCallsReply([
        {
          id: "call_sleep",
          name: "python_exec",
          args: {
            code: "open('started', 'w').close()\nimport time\ntime.sleep(600)",
          },
        },
        { id: "call_after", name: "python_exec", args: { code: "x = 1" } },
      ]),
      strictHistory(textReply("second turn answered")),
    ],
  });
  const agent = await createCodingAgent({
    workingDirectory: dir,
    llm: llmFor(server.baseURL),
    launch: { env: testEnv(), python: testPython() },
    saveLog: false,
  });
  try {
    const abort = new AbortController();
    const started = (async () => {
      await waitUntil(
        "the cell's 'started' file",
        () => Deno.stat(join(dir, "started")).catch(() => null),
      );
      abort.abort(new DOMException("stopped by the test", "AbortError"));
    })();
    await assert.rejects(
      runAgent(agent, "sleep", { signal: abort.signal }),
      (error: unknown) =>
        error instanceof DOMException && error.name === "AbortError",
    );
    await started;

    const second = await runAgent(agent, "next");
    assert.equal(second.finalResponse, "second turn answered");
    const sent = messagesOf(server.requests[1]!);
    const answers = sent.filter((m) => m.role === "tool");
    assert.deepEqual(answers.map((m) => m.tool_call_id), [
      "call_sleep",
      "call_after",
    ]);
    for (const answer of answers) {
      const result = JSON.parse(answer.content);
      assert.equal(result.success, false);
      assert.match(result.error, /^Cancelled: the run was stopped/);
    }
    // The answers sit right after the assistant message, before the new turn.
    assert.deepEqual(sent.slice(-4).map((m) => m.role), [
      "assistant",
      "tool",
      "tool",
      "user",
    ]);
    // The kernel was interrupted, not lost: it still runs code.
    assert.equal(agent.kernel.alive, true);
  } finally {
    await agent.close();
    await Deno.remove(dir, { recursive: true });
  }
});
