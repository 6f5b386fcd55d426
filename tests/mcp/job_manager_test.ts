import assert from "node:assert/strict";
import { startKernel } from "../../src/kernel/mod.ts";
import { JOB_RETENTION_MS, JobManager } from "../../src/mcp/mod.ts";
import { kernelDiedMessage, timeoutMessage } from "../../src/mcp/messages.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";

Deno.test("JobManager keeps ended jobs for one hour", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jobs_" });
  await using kernel = await startKernel({ ...testLaunch(), cwd });
  try {
    let now = 1_000_000;
    const jobs = new JobManager(
      { timeout: timeoutMessage, kernelDied: kernelDiedMessage },
      { now: () => now },
    );
    const job = jobs.start({
      kernelId: "k",
      kernel,
      code: "print('x')",
      timeoutSeconds: 30,
    });
    // A running job is never swept, however long it runs.
    now += 10 * JOB_RETENTION_MS;
    assert.equal(jobs.get(job.id), job);
    await job.done;
    assert.equal(job.status, "completed");
    now += JOB_RETENTION_MS;
    assert.equal(jobs.get(job.id), job, "kept for the full hour");
    now += 1;
    assert.equal(jobs.get(job.id), undefined, "gone after an hour");
    assert.equal(await jobs.poll(job.id, 0), undefined);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
