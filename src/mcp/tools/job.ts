/**
 * The python_job tool: polls a background job for its new output.
 *
 * @module
 */

import { shapeExecResult } from "../exec_result.ts";
import { errorAnswer } from "../tool_answer.ts";
import { z } from "zod";
import type { Job } from "../jobs.ts";
import type { McpTool } from "./context.ts";
import { defineTool } from "./define.ts";
import { jobIdSchema } from "./arguments.ts";
import {
  answerExec,
  executionFields,
  failureFields,
  jobStatusSchema,
  textLimits,
} from "./execution.ts";

/** Default python_job wait in seconds. */
export const DEFAULT_JOB_WAIT_SECONDS = 10;
/** Largest python_job wait in seconds; larger values are capped. */
export const MAX_JOB_WAIT_SECONDS = 60;

/** Most job ids a "not found" answer names. */
const KNOWN_JOBS_NAMED = 3;

/**
 * "Job not found", naming the few most recent jobs and how many there are
 * (never every id: a long-lived namespace may keep thousands).
 */
function jobNotFoundMessage(jobId: string, jobs: readonly Job[]): string {
  const head =
    `Job "${jobId}" not found: no background job has this id (jobs are kept for 1 hour after they end). `;
  if (jobs.length === 0) {
    return head +
      "There are no jobs; start one with python_exec(background=true).";
  }
  const recent = jobs.slice(-KNOWN_JOBS_NAMED).reverse().map((job) => job.id);
  return head +
    (jobs.length <= KNOWN_JOBS_NAMED
      ? `Known jobs: ${recent.join(", ")}.`
      : `${jobs.length} jobs are kept; the most recent: ${recent.join(", ")}.`);
}

/** The python_job tool. */
export const pythonJob: McpTool = defineTool({
  name: "python_job",
  title: "Poll a background job",
  description:
    `Check on a background job started with python_exec(background=true) and get its new output.

Waits until the job ends or \`wait\` seconds pass (default 10, maximum 60), then returns JSON {job_id, kernel_id, status, elapsed_seconds, stdout, stderr, result, error}. status is one of running, completed, failed, timed_out, interrupted, kernel_died. stdout and stderr hold only what was printed since your previous python_job call, so keep what you need; result, error and images come when the job has ended. While status is "running", call python_job again (print progress in your code to see how far it got). To stop a job, call python_interrupt with its kernel_id; variables are kept. Jobs are kept for 1 hour after they end.`,
  schema: z.object({
    job_id: jobIdSchema.describe(
      'Job id returned by python_exec(background=true), e.g. "job-1a2b3c4d".',
    ),
    wait: z.number().optional().describe(
      "Seconds to wait for the job to end before answering (default 10, maximum 60; 0 answers at once).",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    ...executionFields,
    job_id: z.string().optional(),
    status: jobStatusSchema.optional(),
    elapsed_seconds: z.number().optional(),
  }),
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  async handler({ job_id, wait }, context, extra) {
    const seconds = wait ?? DEFAULT_JOB_WAIT_SECONDS;
    if (!Number.isFinite(seconds) || seconds < 0) {
      return errorAnswer(
        `Invalid wait ${seconds}: give a number of seconds from 0 to ${MAX_JOB_WAIT_SECONDS}.`,
        { job_id },
      );
    }
    if (!context.jobs.get(job_id)) {
      return errorAnswer(jobNotFoundMessage(job_id, context.jobs.list()), {
        job_id,
      });
    }
    const poll = await context.jobs.poll(
      job_id,
      Math.min(seconds, MAX_JOB_WAIT_SECONDS) * 1000,
      extra.signal,
    );
    if (!poll) return errorAnswer(`Job "${job_id}" not found.`, { job_id });
    const { job } = poll;
    const ended = job.status !== "running";
    const shaped = shapeExecResult({
      status: "ok",
      stdout: poll.stdout,
      stderr: poll.stderr,
      result: ended ? job.result?.result ?? null : null,
      images: ended ? job.result?.images ?? [] : [],
      error: ended ? job.result?.error ?? null : null,
      executionCount: null,
      droppedBytes: poll.dropped,
    }, {
      kernelId: job.kernelId,
      pathFor: context.outputs.pathFactory(),
      ...textLimits(extra),
      ...(ended && job.failure !== null ? { failure: job.failure } : {}),
    });
    const { success: _success, kernel_id: _kernel, ...fields } = shaped.payload;
    shaped.payload = {
      job_id: job.id,
      kernel_id: job.kernelId,
      status: job.status,
      elapsed_seconds: context.jobs.elapsedSeconds(job),
      ...fields,
    };
    shaped.success = true;
    return await answerExec(shaped, context);
  },
});
