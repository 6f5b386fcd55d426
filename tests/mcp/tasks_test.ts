import assert from "node:assert/strict";
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
  for (let i = 0; i < 600; i++) {
    const task = await server.legacyClient().experimental.tasks.getTask(taskId);
    if (task.status !== "working") return task.status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Task ${taskId} never ended`);
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
    const taskId = await startTask(
      server,
      "import time\nfor n in range(600): time.sleep(0.1)\ntask_ran_on = True",
      60_000,
    );
    // Wait until the code runs (n exists) before cancelling.
    for (let i = 0; i < 100; i++) {
      const { json } = await call("python_status", {});
      if (json.busy === true) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
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
      const times: number[] = [];
      const start = Date.now();
      const { json } = await call("python_exec", {
        code: "import time\ntime.sleep(8)\n'slept'",
      }, {
        onprogress: (_p: Progress) => times.push(Date.now()),
        resetTimeoutOnProgress: true,
      });
      const end = Date.now();
      assert.equal(json.result, "'slept'");
      assert.ok(times.length >= 1, "no progress notification");
      const marks = [start, ...times, end];
      const gaps = marks.slice(1).map((m, i) => m - marks[i]!);
      // 5 s plus slack for a loaded machine; the old 5 s interval that only
      // fired after 5 s of silence allowed gaps of up to 10 s.
      assert.ok(
        Math.max(...gaps) <= 6_500,
        `gaps between notifications: ${gaps.join(", ")} ms`,
      );
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
    while (true) {
      const { message } = await request("tasks/get", { taskId });
      assert.equal(message.error, undefined, JSON.stringify(message.error));
      if (message.result?.status !== "working") return message.result!;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
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
