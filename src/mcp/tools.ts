/**
 * The ipython_mcp tools, in the order they are listed: one file per tool
 * under `tools/` (its zod schema, its description for the model and its
 * handler), and here the call entry point, which masks every answer.
 *
 * Handlers never throw to the protocol layer: bad arguments, kernel errors
 * and our own failures become `isError` answers holding SPEC's JSON text.
 *
 * @module
 */

import { DEFAULT_KERNEL_ID } from "../kernel/mod.ts";
import { errorAnswer, type ToolAnswer } from "./tool_answer.ts";
import { withOutputList } from "./outputs.ts";
import { KERNEL_ID_PATTERN } from "./tools/arguments.ts";
import type { McpTool, ToolCallExtra, ToolContext } from "./tools/context.ts";
import { pythonExec } from "./tools/exec.ts";
import { pythonExport } from "./tools/export.ts";
import { pythonInterrupt } from "./tools/interrupt.ts";
import { pythonJob } from "./tools/job.ts";
import { pythonReset } from "./tools/reset.ts";
import { pythonStatus } from "./tools/status.ts";
import { submitCode } from "./tools/submit.ts";

export {
  createToolContext,
  type McpKernelRegistry,
  type McpTool,
  type ToolCallExtra,
  type ToolContext,
} from "./tools/context.ts";
export { MAX_PATH_ARGUMENT_CHARS } from "./tools/arguments.ts";
export {
  DEFAULT_JOB_TIMEOUT_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_JOB_TIMEOUT_SECONDS,
  MAX_TIMEOUT_SECONDS,
} from "./tools/exec.ts";
export { DEFAULT_JOB_WAIT_SECONDS, MAX_JOB_WAIT_SECONDS } from "./tools/job.ts";
export { defaultExportPath } from "./tools/export.ts";

/** The tools, in the order they are listed. */
export const TOOLS: readonly McpTool[] = [
  pythonExec,
  pythonJob,
  pythonReset,
  pythonStatus,
  pythonInterrupt,
  pythonExport,
  submitCode,
];

/**
 * Calls a tool by name; unknown names and every failure become answers.
 *
 * @param name Tool name from the client.
 * @param args Raw arguments.
 * @param context Registry, logger, cwd.
 * @param extra Cancellation and progress.
 * @returns The answer; `isError: true` on failure.
 * @example Unknown tool
 * ```ts ignore
 * const answer = await callTool("nope", {}, context);
 * answer.isError; // true
 * ```
 */
export async function callTool(
  name: string,
  args: unknown,
  context: ToolContext,
  extra: ToolCallExtra = {},
): Promise<ToolAnswer> {
  const tool = TOOLS.find((t) => t.name === name);
  if (!tool) {
    return errorAnswer(
      `Unknown tool "${name}". Available tools: ${
        TOOLS.map((t) => t.name).join(", ")
      }.`,
    );
  }
  const named = kernelNamed(name, args);
  if (named !== undefined) context.lastCall.set(named, Date.now());
  const onStdout = extra.onStdout;
  const answer = await tool.call(args, context, {
    ...extra,
    ...(onStdout ? { onStdout: (text) => onStdout(context.mask(text)) } : {}),
  });
  const answered = answer.structuredContent.kernel_id;
  for (const id of [named, answered]) {
    if (typeof id === "string" && context.registry.has(id)) {
      context.lastCall.set(id, Date.now());
    }
  }
  if (named !== undefined && !context.registry.has(named)) {
    context.lastCall.delete(named);
  }
  return maskAnswer(withOutputList(answer), context.mask);
}

/** The kernel a call names: its `kernel_id`, else `_default` for the tools that use it. */
function kernelNamed(name: string, args: unknown): string | undefined {
  const raw = (args as { kernel_id?: unknown } | null | undefined)?.kernel_id;
  if (typeof raw === "string" && KERNEL_ID_PATTERN.test(raw)) return raw;
  if (raw !== undefined && raw !== null && raw !== "") return undefined;
  return DEFAULT_KERNEL_TOOLS.has(name) ? DEFAULT_KERNEL_ID : undefined;
}

/** Tools that use `_default` when given no kernel_id. */
const DEFAULT_KERNEL_TOOLS = new Set([
  "python_exec",
  "python_status",
  "python_interrupt",
  "python_export",
]);

/** Every string of a JSON value, masked. */
function maskValue(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === "string") return mask(value);
  if (Array.isArray(value)) return value.map((item) => maskValue(item, mask));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, maskValue(item, mask)]),
    );
  }
  return value;
}

/**
 * An answer with every known secret masked in its text items and
 * structured content (SPEC §12), images and links untouched.
 *
 * @param answer The answer.
 * @param mask The masker.
 * @returns The masked answer.
 */
export function maskAnswer(
  answer: ToolAnswer,
  mask: (text: string) => string,
): ToolAnswer {
  return {
    ...answer,
    content: answer.content.map((item) =>
      item.type === "text" ? { ...item, text: mask(item.text) } : item
    ),
    structuredContent: maskValue(answer.structuredContent, mask) as Record<
      string,
      unknown
    >,
  };
}
