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
