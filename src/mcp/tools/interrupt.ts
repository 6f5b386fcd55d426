/**
 * The python_interrupt tool: Ctrl+C for a kernel's running code or job.
 *
 * @module
 */

import { DEFAULT_KERNEL_ID, KernelNotFoundError } from "../../kernel/mod.ts";
import { INTERRUPT_SENT, NO_SESSION_TO_INTERRUPT } from "../messages.ts";
import { errorAnswer, jsonAnswer } from "../tool_answer.ts";
import { z } from "zod";
import type { McpTool } from "./context.ts";
import { defineTool } from "./define.ts";
import { kernelIdSchema } from "./arguments.ts";
import { failureFields } from "./execution.ts";
import { notLiveMessage } from "./busy.ts";

/** The python_interrupt tool. */
export const pythonInterrupt: McpTool = defineTool({
  name: "python_interrupt",
  title: "Interrupt running code",
  description:
    `Interrupt code that is running in a kernel, like pressing Ctrl+C (a KeyboardInterrupt in the running code).

The running python_exec call then returns with a KeyboardInterrupt error; variables and imports are kept. A background job running on the kernel ends with status "interrupted" (see python_job). Use it when a call hangs or takes far longer than expected. For work that is expected to take long, give python_exec a larger timeout or run it with background=true instead.`,
  schema: z.object({
    kernel_id: kernelIdSchema.describe(
      "Kernel to interrupt. Omit for the default session.",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    kernel_id: z.string().optional(),
    message: z.string().optional(),
    job_id: z.string().optional(),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler({ kernel_id }, context) {
    const id = kernel_id ?? DEFAULT_KERNEL_ID;
    if (!context.registry.has(id)) {
      return errorAnswer(
        notLiveMessage(context, id, () => NO_SESSION_TO_INTERRUPT),
        { kernel_id: id },
      );
    }
    const job = context.jobs.markInterrupted(id);
    try {
      await context.registry.interrupt(id);
    } catch (error) {
      if (error instanceof KernelNotFoundError) {
        return errorAnswer(NO_SESSION_TO_INTERRUPT, { kernel_id: id });
      }
      throw error;
    }
    return jsonAnswer({
      success: true,
      kernel_id: id,
      message: INTERRUPT_SENT,
      ...(job ? { job_id: job.id } : {}),
    });
  },
});
