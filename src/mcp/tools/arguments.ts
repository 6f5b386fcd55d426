/**
 * Argument schemas several tools share: kernel ids, job ids, file paths.
 *
 * @module
 */

import { z } from "zod";

/** Longest path argument accepted (characters). */
export const MAX_PATH_ARGUMENT_CHARS = 4096;

/** What a kernel id looks like: `_default` or 8 lowercase hex digits. */
export const KERNEL_ID_PATTERN = /^(_default|[0-9a-f]{8})$/;
/** What a job id looks like: `job-` and 8 lowercase hex digits. */
const JOB_ID_PATTERN = /^job-[0-9a-f]{8}$/;

/** A short, printable quote of a bad argument (NUL and controls escaped). */
function quoteArgument(value: string): string {
  const head = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(head) +
    (value.length > 40 ? ` (${value.length} characters)` : "");
}

/** Optional kernel id; null and "" count as omitted (some clients send them). */
export const kernelIdSchema = z.preprocess(
  (value) => (value === null || value === "" ? undefined : value),
  z.string().refine((value) => KERNEL_ID_PATTERN.test(value), {
    error: (issue) =>
      `${
        quoteArgument(String(issue.input))
      } is not a kernel id: give "_default" or the 8 lowercase hex digits python_reset() returned`,
  }).optional(),
);

/** A job id as python_exec(background=true) returns it. */
export const jobIdSchema = z.string().refine(
  (value) => JOB_ID_PATTERN.test(value),
  {
    error: (issue) =>
      `${
        quoteArgument(String(issue.input))
      } is not a job id: give the "job-" id (8 lowercase hex digits) python_exec(background=true) returned`,
  },
);

/** A relative file path argument: short, no NUL. */
export const pathArgumentSchema = z.string().refine(
  (value) => !value.includes("\0"),
  { error: "a path cannot contain a NUL character" },
).refine((value) => value.length <= MAX_PATH_ARGUMENT_CHARS, {
  error: (issue) =>
    `the path is ${
      String(issue.input).length
    } characters long; at most ${MAX_PATH_ARGUMENT_CHARS} are accepted`,
});
