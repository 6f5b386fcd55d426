/**
 * Answers for calls on a kernel that runs a background job or has no live
 * kernel.
 *
 * @module
 */

import { errorAnswer, type ToolAnswer } from "../tool_answer.ts";
import type { Job } from "../jobs.ts";
import type { ToolContext } from "./context.ts";

/**
 * The error for a call that would wait behind, or disturb, a running job.
 *
 * @param job The running job.
 * @param elapsed Seconds it has run.
 * @returns What runs and what to do.
 */
function busyWithJobMessage(job: Job, elapsed: number): string {
  return `Kernel ${job.kernelId} is running background job ${job.id} (started ${elapsed}s ago). ` +
    `Poll it with python_job(job_id="${job.id}"), stop it with python_interrupt(kernel_id="${job.kernelId}") ` +
    `(variables are kept), or use another kernel: python_reset() creates one.`;
}

/**
 * Why an id has no live kernel: its death (SPEC §13: reason, state lost,
 * call python_reset), else the tool's "not found" text.
 */
export function notLiveMessage(
  context: ToolContext,
  id: string,
  notFound: (id: string) => string,
): string {
  return context.registry.died(id)?.message ?? notFound(id);
}

/**
 * The answer for a call on a kernel that runs a background job (SPEC §8:
 * never wait behind it), or null when none runs.
 *
 * @param context The tool context.
 * @param kernelId The kernel.
 * @returns The error answer, or null.
 */
export function busyAnswer(
  context: ToolContext,
  kernelId: string,
): ToolAnswer | null {
  const job = context.jobs.runningOn(kernelId);
  if (!job) return null;
  return errorAnswer(
    busyWithJobMessage(job, context.jobs.elapsedSeconds(job)),
    { kernel_id: kernelId, job_id: job.id, status: "running" },
  );
}
