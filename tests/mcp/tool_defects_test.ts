import assert from "node:assert/strict";
import { join } from "node:path";
import { KernelRegistry, SILENT_LOGGER } from "../../src/kernel/mod.ts";
import {
  callTool,
  createToolContext,
  type ToolContext,
} from "../../src/mcp/tools.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";

type Json = Record<string, unknown>;

/** The JSON object of a tool answer. */
function jsonOf(answer: { structuredContent?: unknown }): Json {
  return answer.structuredContent as Json;
}

/** A tool context on a real kernel registry in a fresh directory. */
async function withContext(
  body: (context: ToolContext, cwd: string) => Promise<void>,
): Promise<void> {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_tool_defects_" });
  const registry = new KernelRegistry({ cwd, launch: testLaunch() });
  try {
    await body(
      createToolContext({ registry, logger: SILENT_LOGGER, cwd }),
      cwd,
    );
  } finally {
    await registry.shutdownAll();
    await Deno.remove(cwd, { recursive: true });
  }
}

/** Python that waits (at most 60 s) until a file exists. */
function waitForFile(path: string): string {
  return `import os, time\nfor _ in range(1200):\n` +
    `    if os.path.exists(${JSON.stringify(path)}): break\n` +
    `    time.sleep(0.05)\n'released'`;
}

Deno.test("a foreground python_exec never queues behind a job started on the same fresh kernel", async () => {
  await withContext(async (context, cwd) => {
    const flag = join(cwd, "release");
    // Both calls wait for the same default kernel to start; the job gets it
    // first. The foreground call must then answer at once, naming the job
    // (it used to queue behind it until the job ended).
    const background = callTool("python_exec", {
      code: waitForFile(flag),
      background: true,
    }, context);
    const foreground = callTool("python_exec", { code: "1 + 1" }, context);
    const started = jsonOf(await background);
    assert.equal(started.status, "running", JSON.stringify(started));
    const answer = await foreground;
    const json = jsonOf(answer);
    assert.equal(answer.isError, true, JSON.stringify(json));
    assert.equal(json.job_id, started.job_id);
    assert.match(
      json.error as string,
      new RegExp(`running background job ${started.job_id}`),
    );
    await Deno.writeTextFile(flag, "");
    const done = jsonOf(
      await callTool(
        "python_job",
        { job_id: started.job_id, wait: 60 },
        context,
      ),
    );
    assert.equal(done.status, "completed", JSON.stringify(done));
    assert.equal(done.result, "'released'");
  });
});

Deno.test('"job not found" names a few recent jobs and the count, not every id', async () => {
  await withContext(async (context) => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const started = jsonOf(
        await callTool(
          "python_exec",
          { code: `${i}`, background: true },
          context,
        ),
      );
      ids.push(started.job_id as string);
      const done = jsonOf(
        await callTool(
          "python_job",
          { job_id: started.job_id, wait: 60 },
          context,
        ),
      );
      assert.equal(done.status, "completed");
    }
    const answer = await callTool(
      "python_job",
      { job_id: "job-00000000" },
      context,
    );
    const message = jsonOf(answer).error as string;
    assert.equal(answer.isError, true);
    assert.match(message, /12 jobs are kept/);
    const named = ids.filter((id) => message.includes(id));
    assert.deepEqual(named, ids.slice(-3), message);
  });
});

Deno.test("bad ids and paths get clear validation errors", async (t) => {
  await withContext(async (context) => {
    const cases: [string, Json, RegExp][] = [
      ["python_exec", { code: "1", kernel_id: "ab\0cdef0" }, /not a kernel id/],
      [
        "python_exec",
        { code: "1", kernel_id: "a".repeat(100_000) },
        /\(100000 characters\) is not a kernel id/,
      ],
      ["python_status", { kernel_id: "DEADBEEF" }, /not a kernel id/],
      ["python_interrupt", { kernel_id: "../x" }, /not a kernel id/],
      ["python_reset", { kernel_id: "nope\0" }, /not a kernel id/],
      ["python_export", { kernel_id: "x".repeat(9) }, /not a kernel id/],
      ["python_job", { job_id: "job-\0" }, /not a job id/],
      ["python_job", { job_id: "j".repeat(50_000) }, /not a job id/],
      ["python_export", { path: "a\0.ipynb" }, /cannot contain a NUL/],
      [
        "python_export",
        { path: `${"d/".repeat(5000)}x.ipynb` },
        /at most 4096 are accepted/,
      ],
    ];
    for (const [tool, args, expected] of cases) {
      await t.step(`${tool} ${JSON.stringify(args).slice(0, 60)}`, async () => {
        const answer = await callTool(tool, args, context);
        const json = jsonOf(answer);
        assert.equal(answer.isError, true, JSON.stringify(json));
        const message = json.error as string;
        assert.match(message, /^Invalid arguments for /);
        assert.match(message, expected);
        assert.ok(message.length < 400, message);
        assert.ok(!message.includes("\0"), message);
      });
    }
    // The ids the server hands out still pass.
    const ok = jsonOf(
      await callTool(
        "python_exec",
        { code: "2", kernel_id: "_default" },
        context,
      ),
    );
    assert.equal(ok.result, "2");
  });
});
