/**
 * What python_exec and python_job share: saving an answer's files, the
 * requested text limits, and the output schema fields of an execution.
 *
 * @module
 */

import type { ShapedExec } from "../exec_result.ts";
import {
  type FileToSave,
  jsonAnswer,
  type ToolAnswer,
} from "../tool_answer.ts";
import { z } from "zod";
import { withOutputList } from "../outputs.ts";
import type { ToolCallExtra, ToolContext } from "./context.ts";

async function saveFiles(
  files: readonly FileToSave[],
  context: ToolContext,
): Promise<string | null> {
  if (files.length === 0) return null;
  try {
    await context.outputs.save(files.map((file) => ({
      path: file.path,
      data: typeof file.data === "string" ? context.mask(file.data) : file.data,
    })));
    return null;
  } catch (error) {
    const message = `Could not save output under ${context.outputs.dir}: ${
      error instanceof Error ? error.message : error
    }`;
    context.logger.error(message);
    return message;
  }
}

/**
 * Saves a shaped execution's files, then answers it (inline images with
 * their saved copies' URIs in `outputs`).
 *
 * @param shaped The shaped result.
 * @param context The tool context.
 * @returns The answer.
 */
export async function answerExec(
  shaped: ShapedExec,
  context: ToolContext,
): Promise<ToolAnswer> {
  const saveError = await saveFiles(shaped.files, context);
  if (saveError) shaped.payload.save_error = saveError;
  return withOutputList(
    jsonAnswer(shaped.payload, !shaped.success, shaped.images),
    shaped.inlineSaved,
  );
}

/** The shaping limits a call asked for (`anthropic/maxResultSizeChars`). */
export function textLimits(extra: ToolCallExtra): { limitBytes?: number } {
  return extra.textLimitBytes === undefined
    ? {}
    : { limitBytes: extra.textLimitBytes };
}

/** Fields every answer may carry when it fails. */
export const failureFields = {
  success: z.boolean().optional(),
  error: z.string().optional(),
};

/** Output fields of an execution (python_exec and python_job). */
export const executionFields = {
  kernel_id: z.string().optional(),
  stdout: z.string().optional(),
  result: z.string().optional(),
  stderr: z.string().optional(),
  images_saved: z.array(z.string()).optional(),
  images_dropped: z.array(z.string()).optional(),
  dropped_bytes: z.object({ stdout: z.number(), stderr: z.number() })
    .optional(),
  save_error: z.string().optional(),
  outputs: z.array(z.object({
    type: z.enum(["image", "file"]),
    mime_type: z.string(),
    uri: z.string().optional(),
    name: z.string().optional(),
    content_index: z.number().optional(),
  })).optional(),
};

/** The status of a background job. */
export const jobStatusSchema = z.enum([
  "running",
  "completed",
  "failed",
  "timed_out",
  "interrupted",
  "kernel_died",
]);
