import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";
import {
  type McpServerHarness,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import { modernRequest, startHttpServer } from "../_helpers/mcp_http.ts";
import { waitUntil } from "../_helpers/wait.ts";

async function startTask(
  server: McpServerHarness,
  code: string,
  ttl: number,
): Promise<string> {
  const created = await server.legacyClient().request({
    method: "tools/call",
    params: { name: "python_exec", arguments: { code }, task: { ttl } },
  }, CreateTaskResultSchema);
  assert.equal(created.task.status, "working");
  return created.task.taskId;
}

async function waitForTask(
  server: McpServerHarness,
  taskId: string,
): Promise<string> {
  const task = await waitUntil(
    `task ${taskId} to end`,
    () => server.legacyClient().experimental.tasks.getTask(taskId),
    { until: (task) => task.status !== "working", intervalMs: 100 },
  );
  return task.status;
}

Deno.test("ipython_mcp MCP tasks and progress", async (t) => {
  await using server = await startMcpServer();
  const { call } = server;

  await t.step("python_exec is listed with optional task support", async () => {
    const { tools } = await server.listTools();
    const exec = tools.find((tool: { name: string }) =>
      tool.name === "python_exec"
    );
    assert.deepEqual(exec?.execution, { taskSupport: "optional" });
  });

  await t.step(
    "a task-augmented call is polled to completion, outliving a short TTL",
    async () => {
      // The TTL (1.5 s) is shorter than the run (4 s): the task must stay.
      const taskId = await startTask(
        server,
        "import time\ntime.sleep(4)\nprint('task done')\n6*7",
        1500,
      );
      assert.equal(await waitForTask(server, taskId), "completed");
      const result = await server.legacyClient().experimental.tasks
        .getTaskResult(
          taskId,
          CallToolResultSchema,
        );
      const first = result.content[0];
      assert.ok(first?.type === "text");
      const json = JSON.parse(first.text);
      assert.equal(json.stdout, "task done\n");
      assert.equal(json.result, "42");
      assert.deepEqual(result.structuredContent, json);
    },
  );

  await t.step("a cancelled task really stops its code", async () => {
    const marker = join(server.cwd, "task_loops");
    const taskId = await startTask(
      server,
      "import time\nfor n in range(600):\n" +
        "    if n == 0: open('task_loops', 'w').close()\n" +
        "    time.sleep(0.1)\ntask_ran_on = True",
      60_000,
    );
    // Wait until the code runs (n exists: the loop wrote its marker).
    await waitUntil(
      "the task's loop marker",
      () => Deno.stat(marker).then(() => true, () => false),
    );
    const cancelled = await server.legacyClient().experimental.tasks.cancelTask(
      taskId,
    );
    assert.equal(cancelled.status, "cancelled");
    // Were the code still running, this call would wait behind it and time out.
    const { json } = await call("python_exec", {
      code: "'task_ran_on' in dir(), n < 599",
      timeout: 30,
    });
    assert.equal(json.result, "(False, True)");
    assert.equal(
      (await server.legacyClient().experimental.tasks.getTask(taskId)).status,
      "cancelled",
    );
  });

  await t.step(
    "an 8 s silent call gets a progress notification at least every 5 s",
    async () => {
      // The kernel's silence is the subject. Only that heartbeats come while
      // the cell is silent is checked here; their spacing (at most 5 s) is a
      // timing target, measured by the benchmark.
      const progress: Progress[] = [];
      const { json } = await call("python_exec", {
        code: "import time\ntime.sleep(8)\n'slept'",
      }, {
        onprogress: (p: Progress) => progress.push(p),
        resetTimeoutOnProgress: true,
      });
      assert.equal(json.result, "'slept'");
      assert.ok(progress.length >= 1, "no progress notification");
    },
  );
});

const TASKS: Record<string, unknown> = {
  extensions: { "io.modelcontextprotocol/tasks": {} },
};

Deno.test("ipython_mcp io.modelcontextprotocol/tasks (2026-07-28 over HTTP)", async (t) => {
  await using server = await startHttpServer({
    env: { CODER_MCP_TOKEN: "tasks-token-0123456789abcdef" },
  });
  const request = (
    method: string,
    params: Record<string, unknown> = {},
    capabilities: Record<string, unknown> = TASKS,
  ) =>
    modernRequest(server.url, server.token, method, params, { capabilities });
  const exec = (code: string, capabilities = TASKS) =>
    request("tools/call", {
      name: "python_exec",
      arguments: { code, timeout: 60 },
    }, capabilities);
  const pollUntilEnded = async (taskId: string) => {
    const { message } = await waitUntil(
      `task ${taskId} to end`,
      async () => {
        const answer = await request("tasks/get", { taskId });
        assert.equal(
          answer.message.error,
          undefined,
          JSON.stringify(answer.message.error),
        );
        return answer;
      },
      {
        until: ({ message }) => message.result?.status !== "working",
        intervalMs: 200,
      },
    );
    return message.result!;
  };

  await t.step("server/discover offers the extension", async () => {
    const { message } = await request("server/discover");
    const capabilities = message.result?.capabilities as {
      extensions?: Record<string, unknown>;
    };
    assert.deepEqual(
      capabilities.extensions?.["io.modelcontextprotocol/tasks"],
      {},
    );
  });

  await t.step("a quick call is answered directly", async () => {
    // The kernel's start alone may outlast the grace time: start it first.
    assert.equal((await exec("pass", {})).message.result?.isError, undefined);
    const { message } = await exec("x = 6\nx * 7");
    assert.equal(message.result?.resultType, "complete");
    assert.equal(
      (message.result?.structuredContent as { result: string }).result,
      "42",
    );
  });

  await t.step(
    "a long call becomes a task, polled to its inlined result",
    async () => {
      const { message } = await exec(
        "import time\ntime.sleep(3)\nprint('task done')\nx + 1",
      );
      const created = message.result!;
      assert.equal(created.resultType, "task");
      assert.equal(created.status, "working");
      assert.equal(typeof created.taskId, "string");
      assert.equal(typeof created.ttlMs, "number");
      const ended = await pollUntilEnded(created.taskId as string);
      assert.equal(ended.status, "completed");
      assert.equal(ended.resultType, "complete");
      const result = ended.result as {
        resultType: string;
        structuredContent: { stdout: string; result: string };
      };
      assert.equal(result.resultType, "complete");
      assert.equal(result.structuredContent.stdout, "task done\n");
      assert.equal(result.structuredContent.result, "7");
    },
  );

  await t.step("a client without the extension never gets a task", async () => {
    const { message } = await exec("import time\ntime.sleep(2)\n'direct'", {});
    assert.equal(message.result?.resultType, "complete");
    assert.equal(
      (message.result?.structuredContent as { result: string }).result,
      "'direct'",
    );
    const asked = await request("tasks/get", { taskId: "x" }, {});
    assert.equal(asked.message.error?.code, -32021);
  });

  await t.step("tasks/cancel interrupts the kernel, state kept", async () => {
    const { message } = await exec(
      "import time\nfor n in range(600): time.sleep(0.1)\nran_on = True",
    );
    const taskId = message.result?.taskId as string;
    assert.equal(message.result?.resultType, "task");
    const cancelled = await request("tasks/cancel", { taskId });
    assert.equal(cancelled.message.result?.status, "cancelled");
    // Were the code still running, this call would wait behind it.
    const after = await exec("'ran_on' in dir(), n < 599, x", {});
    assert.equal(
      (after.message.result?.structuredContent as { result: string }).result,
      "(False, True, 6)",
    );
    assert.equal((await pollUntilEnded(taskId)).status, "cancelled");
  });

  await t.step("an unknown task id is invalid params", async () => {
    const { message } = await request("tasks/get", { taskId: "nope" });
    assert.equal(message.error?.code, -32602);
    assert.match(message.error?.message ?? "", /not found/);
  });

  await t.step(
    "an unsupported version gets -32022 with both eras",
    async () => {
      const { message } = await modernRequest(
        server.url,
        server.token,
        "tools/list",
        {},
        { version: "2099-01-01" },
      );
      assert.equal(message.error?.code, -32022);
      const supported = message.error?.data?.supported as string[];
      assert.ok(supported.includes("2026-07-28"), String(supported));
      assert.ok(supported.includes("2025-11-25"), String(supported));
    },
  );
});
