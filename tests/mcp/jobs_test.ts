import assert from "node:assert/strict";
import {
  type Era,
  ERAS,
  type McpServerHarness,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import { kernelPidsOf, pidAlive, waitForExit } from "../_helpers/processes.ts";
import { waitUntil } from "../_helpers/wait.ts";

type Json = Record<string, unknown>;

/** Polls a job until it ends; returns every answer. */
async function pollUntilDone(
  server: McpServerHarness,
  jobId: string,
  wait = 2,
): Promise<Json[]> {
  const answers: Json[] = [];
  for (let i = 0; i < 200; i++) {
    const { json } = await server.call("python_job", { job_id: jobId, wait });
    answers.push(json);
    if (json.status !== "running") return answers;
  }
  throw new Error(
    `Job ${jobId} did not end: ${JSON.stringify(answers.at(-1))}`,
  );
}

async function newKernel(server: McpServerHarness): Promise<string> {
  const { json } = await server.call("python_reset", {});
  assert.equal(json.success, true, JSON.stringify(json));
  return json.kernel_id as string;
}

for (const era of ERAS) {
  Deno.test(`ipython_mcp background jobs (${era})`, (t) => jobsSuite(t, era));
}

async function jobsSuite(t: Deno.TestContext, era: Era): Promise<void> {
  await using server = await startMcpServer({ era });
  const { call } = server;

  await t.step(
    "a 6 s job is polled to completion with no output repeated or lost",
    async () => {
      const kernel = await newKernel(server);
      const { json: started } = await call("python_exec", {
        kernel_id: kernel,
        background: true,
        code: "import time\nfor i in range(24):\n" +
          "    print(f'line {i}', flush=True)\n    time.sleep(0.25)\n" +
          "total = 24\ntotal",
      });
      assert.equal(started.success, true);
      assert.equal(started.status, "running");
      assert.equal(started.kernel_id, kernel);
      assert.match(started.job_id as string, /^job-[0-9a-f]{8}$/);
      const answers = await pollUntilDone(server, started.job_id as string, 1);
      assert.ok(answers.length >= 3, `only ${answers.length} polls`);
      const last = answers.at(-1)!;
      assert.equal(last.status, "completed");
      assert.equal(last.result, "24");
      assert.equal(last.kernel_id, kernel);
      assert.ok((last.elapsed_seconds as number) >= 5.5);
      const stdout = answers.map((a) => (a.stdout as string | undefined) ?? "")
        .join("");
      const expected = Array.from({ length: 24 }, (_, i) => `line ${i}\n`)
        .join("");
      assert.equal(stdout, expected);
      // Polling an ended job again gives no output twice.
      const { json: again } = await call("python_job", {
        job_id: started.job_id,
        wait: 0,
      });
      assert.equal(again.status, "completed");
      assert.equal(again.stdout, undefined);
    },
  );

  await t.step(
    "calls on a kernel with a running job answer at once with what to do",
    async (step) => {
      const kernel = await newKernel(server);
      const { json: started } = await call("python_exec", {
        kernel_id: kernel,
        background: true,
        code:
          "import time\nbusy_marker = 1\nfor _ in range(600): time.sleep(0.1)",
      });
      const jobId = started.job_id as string;
      for (
        const [name, args] of [
          ["python_exec", { kernel_id: kernel, code: "1" }],
          ["python_exec", { kernel_id: kernel, code: "1", background: true }],
          ["python_reset", { kernel_id: kernel }],
        ] as const
      ) {
        const { result, json } = await call(name, args);
        assert.equal(result.isError, true, name);
        assert.equal(json.job_id, jobId);
        const error = json.error as string;
        assert.match(error, new RegExp(`background job ${jobId}`));
        assert.match(error, /python_job/);
        assert.match(error, /python_interrupt/);
        assert.match(error, /another kernel/);
      }
      // Another kernel still works, and status lists the job.
      assert.equal(
        (await call("python_exec", { code: "3*3" })).json.result,
        "9",
      );
      const { json: status } = await call("python_status", {});
      const jobs = status.jobs as Json[];
      assert.ok(
        jobs.some((job) => job.job_id === jobId && job.status === "running"),
      );
      // The job was neither interrupted nor disturbed.
      const { json: still } = await call("python_job", {
        job_id: jobId,
        wait: 0,
      });
      assert.equal(still.status, "running");

      await step.step("python_interrupt stops it and keeps state", async () => {
        const { json: interrupted } = await call("python_interrupt", {
          kernel_id: kernel,
        });
        assert.equal(interrupted.job_id, jobId);
        const answers = await pollUntilDone(server, jobId, 10);
        const last = answers.at(-1)!;
        assert.equal(last.status, "interrupted");
        assert.match(last.error as string, /KeyboardInterrupt/);
        const { json } = await call("python_exec", {
          kernel_id: kernel,
          code: "busy_marker",
        });
        assert.equal(json.result, "1");
      });
    },
  );

  await t.step("a job past its timeout ends as timed_out", async () => {
    const kernel = await newKernel(server);
    const { json: started } = await call("python_exec", {
      kernel_id: kernel,
      background: true,
      timeout: 1,
      code: "kept = 7\nimport time\ntime.sleep(60)",
    });
    const last = (await pollUntilDone(server, started.job_id as string, 10))
      .at(-1)!;
    assert.equal(last.status, "timed_out");
    assert.match(last.error as string, /timed out after 1s/);
    const { json } = await call("python_exec", {
      kernel_id: kernel,
      code: "kept",
    });
    assert.equal(json.result, "7");
  });

  await t.step("a job whose kernel dies ends as kernel_died", async () => {
    const kernel = await newKernel(server);
    const { json: started } = await call("python_exec", {
      kernel_id: kernel,
      background: true,
      code:
        "print('bye', flush=True)\nimport os, time\ntime.sleep(0.5)\nos._exit(3)",
    });
    const answers = await pollUntilDone(server, started.job_id as string, 10);
    const last = answers.at(-1)!;
    assert.equal(last.status, "kernel_died");
    assert.match(last.error as string, /died/);
    assert.equal(
      answers.map((a) => (a.stdout as string | undefined) ?? "").join(""),
      "bye\n",
    );
  });

  await t.step(
    "a call in flight while python_reset restarts its kernel is told so",
    async () => {
      const kernel = await newKernel(server);
      const running = call("python_exec", {
        kernel_id: kernel,
        code: "import time\nprint('started', flush=True)\ntime.sleep(60)",
      });
      await waitUntil(
        "python_status to report the kernel busy",
        async () => (await call("python_status", { kernel_id: kernel })).json,
        { until: (json) => json.busy === true, intervalMs: 100 },
      );
      const reset = await call("python_reset", { kernel_id: kernel });
      assert.equal(reset.json.success, true);
      const { json } = await running;
      assert.equal(json.success, false);
      assert.match(json.error as string, /restarted by python_reset\(\)/);
      assert.doesNotMatch(json.error as string, /died/);
      const after = await call("python_exec", { kernel_id: kernel, code: "5" });
      assert.equal(after.json.result, "5");
    },
  );

  await t.step("bad job ids and waits get clear errors", async () => {
    const unknown = await call("python_job", { job_id: "job-deadbeef" });
    assert.equal(unknown.result.isError, true);
    assert.match(unknown.json.error as string, /Job "job-deadbeef" not found/);
    const negative = await call("python_job", {
      job_id: "job-deadbeef",
      wait: -5,
    });
    assert.equal(negative.result.isError, true);
    assert.match(negative.json.error as string, /Invalid wait -5/);
    const wrongType = await call("python_job", { job_id: 12 });
    assert.equal(wrongType.result.isError, true);
    assert.equal((await call("python_exec", { code: "1+1" })).json.result, "2");
  });
}

Deno.test("ipython_mcp shutdown kills the kernels of running jobs", async () => {
  await using server = await startMcpServer();
  const { json } = await server.call("python_exec", {
    background: true,
    code: "import time\ntime.sleep(600)",
  });
  assert.equal(json.status, "running");
  const kernels = kernelPidsOf(server.pid);
  assert.equal(kernels.length, 1);
  await server.close();
  await waitForExit(server.pid);
  for (const pid of kernels) {
    await waitForExit(pid);
    assert.equal(pidAlive(pid), false);
  }
});
