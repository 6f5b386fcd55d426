/**
 * The python_exec tool: runs code in a kernel, in the call or as a
 * background job.
 *
 * @module
 */

import {
  DEFAULT_KERNEL_ID,
  ExecutionTimeoutError,
  KernelDiedError,
  type KernelHandle,
  KernelNotFoundError,
} from "../../kernel/mod.ts";
import { type ShapedExec, shapeExecResult } from "../exec_result.ts";
import {
  execNotFoundMessage,
  kernelDiedMessage,
  restartedDuringCallMessage,
  timeoutMessage,
} from "../messages.ts";
import { errorAnswer, jsonAnswer } from "../tool_answer.ts";
import { z } from "zod";
import type { McpTool } from "./context.ts";
import { defineTool, describeError } from "./define.ts";
import { kernelIdSchema } from "./arguments.ts";
import {
  answerExec,
  executionFields,
  failureFields,
  jobStatusSchema,
  textLimits,
} from "./execution.ts";
import { busyAnswer, notLiveMessage } from "./busy.ts";

/** Default python_exec timeout in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** Largest python_exec timeout in seconds; larger values are capped. */
export const MAX_TIMEOUT_SECONDS = 300;
/** Default timeout of a background job in seconds. */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 3600;
/** Largest background job timeout in seconds; larger values are capped. */
export const MAX_JOB_TIMEOUT_SECONDS = 86_400;

/** The python_exec tool. */
export const pythonExec: McpTool = defineTool({
  name: "python_exec",
  title: "Run Python code",
  description:
    `Run Python code in a persistent IPython kernel and get its output.

State persists between calls: variables, imports, functions and classes defined in one call are available in the next, so build work up in small steps instead of re-running everything. Returns JSON {success, kernel_id, stdout, result, stderr, error}: print() output is in stdout, the value of the last expression in result, an exception as error ("Name: message" plus traceback). Empty fields are left out. Plots and images (matplotlib, IPython.display) come back as image content after the JSON while the whole answer stays under 1 MiB; SVG images, images over 1 MB and images beyond the 8th are saved to files listed in images_saved (also given as resource links).

Sessions: without kernel_id the default session is used and starts automatically on first use. For parallel agents or separate experiments, call python_reset() once to get your own kernel_id and pass it to every python_exec, python_status and python_interrupt call.

Timeout: default 30 s, maximum 300 s. Raise it for heavy imports (torch, tensorflow, large pandas/scipy stacks can take 10-60 s on first import), big downloads or long computations. On timeout the code is interrupted but variables are kept; partial output is returned.

Long work: for anything that may take more than about a minute (training, big downloads, long simulations), pass background=true. The call then returns at once with {success, kernel_id, job_id, status: "running"} and the code runs on (timeout default 3600 s, maximum 86400 s). Poll it with python_job(job_id), which waits up to 60 s and returns the output printed since the previous poll; repeat until status is no longer "running". While a job runs, its kernel accepts no other python_exec or python_reset (use another kernel for other work); python_interrupt stops the job and keeps variables.

Files are read and written relative to the working directory (python_status shows it as cwd). A text field over 100 KB is cut and ends with "[stdout truncated at 100KB; full text: PATH]"; read the file at PATH if you need the rest, or print less. input() is not supported.`,
  schema: z.object({
    code: z.string().describe(
      "Python source to run (may span many lines; IPython magics allowed).",
    ),
    timeout: z.number().positive().optional().describe(
      "Seconds before the code is interrupted (default 30, capped at 300; with background=true default 3600, capped at 86400). Raise for heavy imports or long computations.",
    ),
    kernel_id: kernelIdSchema.describe(
      'Kernel to run in, as returned by python_reset(). Omit for the default session ("_default").',
    ),
    background: z.boolean().default(false).describe(
      "Run as a background job and return a job_id at once; poll with python_job. Use for work that may take more than a minute.",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    ...executionFields,
    job_id: z.string().optional(),
    status: jobStatusSchema.optional(),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
  async handler({ code, timeout, kernel_id, background }, context, extra) {
    const id = kernel_id ?? DEFAULT_KERNEL_ID;
    const seconds = background
      ? Math.min(
        timeout ?? DEFAULT_JOB_TIMEOUT_SECONDS,
        MAX_JOB_TIMEOUT_SECONDS,
      )
      : Math.min(timeout ?? DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS);
    const { registry } = context;
    if (id !== DEFAULT_KERNEL_ID && !registry.has(id)) {
      return errorAnswer(notLiveMessage(context, id, execNotFoundMessage), {
        kernel_id: id,
      });
    }
    const busy = busyAnswer(context, id);
    if (busy) return busy;
    if (code.trim() === "") {
      return jsonAnswer({ success: true, kernel_id: id });
    }
    let kernel: KernelHandle;
    try {
      kernel = id === DEFAULT_KERNEL_ID
        ? await registry.ensureDefault()
        : registry.get(id);
    } catch (error) {
      if (error instanceof KernelNotFoundError) {
        return errorAnswer(notLiveMessage(context, id, execNotFoundMessage), {
          kernel_id: id,
        });
      }
      context.logger.warn(`Cannot start kernel ${id}: ${error}`);
      return errorAnswer(describeError(error, context), { kernel_id: id });
    }
    // A job may have started on this kernel while it was starting (both
    // calls waited for the same fresh kernel): never queue behind it.
    const again = busyAnswer(context, id);
    if (again) return again;
    if (background) {
      // A job started now would wait behind a running call: say so instead.
      if (kernel.busy) {
        return errorAnswer(
          `Kernel ${id} is busy running another python_exec call, so a background job would have to wait. ` +
            `Wait for that call, stop it with python_interrupt(kernel_id="${id}"), or use another kernel: python_reset() creates one.`,
          { kernel_id: id },
        );
      }
      const job = context.jobs.start({
        kernelId: id,
        kernel,
        code,
        timeoutSeconds: seconds,
        onEnd: (result) => context.history.record(kernel, code, result),
      });
      return jsonAnswer({
        success: true,
        kernel_id: id,
        job_id: job.id,
        status: "running",
      });
    }
    const pathFor = context.outputs.pathFactory();
    const limits = textLimits(extra);
    const onStdout = extra.onStdout;
    let shaped: ShapedExec;
    try {
      const result = await kernel.execute(code, {
        timeoutMs: seconds * 1000,
        ...(extra.signal ? { signal: extra.signal } : {}),
        ...(onStdout
          ? {
            onOutput: (chunk) => {
              if (chunk.name === "stdout") onStdout(chunk.text);
            },
          }
          : {}),
      });
      context.history.record(kernel, code, result);
      shaped = shapeExecResult(result, { kernelId: id, pathFor, ...limits });
    } catch (error) {
      if (error instanceof ExecutionTimeoutError) {
        context.history.record(kernel, code, error.partial);
        shaped = shapeExecResult(error.partial, {
          kernelId: id,
          pathFor,
          ...limits,
          failure: timeoutMessage(seconds, error.kernelAlive),
        });
      } else if (error instanceof KernelDiedError) {
        shaped = shapeExecResult(error.partial, {
          kernelId: id,
          pathFor,
          ...limits,
          failure: context.replaced.has(kernel)
            ? restartedDuringCallMessage(id)
            : kernelDiedMessage(id, error.exit),
        });
      } else {
        return errorAnswer(describeError(error, context), { kernel_id: id });
      }
    }
    return await answerExec(shaped, context);
  },
});
