/**
 * The ipython_mcp tools: each tool's zod schema (arguments and output), its
 * description for the model and its handler, side by side.
 *
 * Handlers never throw to the protocol layer: bad arguments, kernel errors
 * and our own failures become `isError` answers holding SPEC's JSON text.
 *
 * @module
 */

import { join } from "node:path";
import { z } from "zod";
import {
  buildNotebook,
  DEFAULT_KERNEL_ID,
  ExecutionTimeoutError,
  HOST_FILES,
  InvalidPackageSpecError,
  KernelDiedError,
  type KernelHandle,
  KernelLimitError,
  KernelNotFoundError,
  type KernelRegistry,
  type Logger,
  validatePackageSpec,
} from "../kernel/mod.ts";
import {
  EMPTY_SUBMISSION,
  errorAnswer,
  execNotFoundMessage,
  type FileToSave,
  INTERRUPT_SENT,
  jsonAnswer,
  kernelDiedMessage,
  type KernelLimitFacts,
  kernelLimitMessage,
  NO_SESSION_TO_INTERRUPT,
  OUTPUT_DIR_NAME,
  packageNameOf,
  resetNotFoundMessage,
  resourceLink,
  restartedDuringCallMessage,
  sessionStartedMessage,
  type ShapedExec,
  shapeExecResult,
  statusPackages,
  syntaxErrorMessage,
  timeoutMessage,
  type ToolAnswer,
} from "./format.ts";
import { type Job, JobManager } from "./jobs.ts";
import { NotebookHistory } from "./notebook.ts";
import { type OutputStore, workingDirStore } from "./output_store.ts";
import { safePathIn } from "./resources.ts";
import { withOutputList } from "./outputs.ts";

/** Default python_exec timeout in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** Largest python_exec timeout in seconds; larger values are capped. */
export const MAX_TIMEOUT_SECONDS = 300;
/** Default timeout of a background job in seconds. */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 3600;
/** Largest background job timeout in seconds; larger values are capped. */
export const MAX_JOB_TIMEOUT_SECONDS = 86_400;
/** Default python_job wait in seconds. */
export const DEFAULT_JOB_WAIT_SECONDS = 10;
/** Largest python_job wait in seconds; larger values are capped. */
export const MAX_JOB_WAIT_SECONDS = 60;

/** The part of {@linkcode KernelRegistry} the tools use. */
export type McpKernelRegistry = Pick<
  KernelRegistry,
  | "has"
  | "died"
  | "get"
  | "ensureDefault"
  | "create"
  | "restart"
  | "interrupt"
  | "list"
  | "checkSyntax"
  | "backend"
>;

/** What every tool handler gets from the server. */
export interface ToolContext {
  /** The kernels. */
  registry: McpKernelRegistry;
  /** Diagnostics (stderr). */
  logger: Logger;
  /** Working directory: kernel cwd, parent of `.ipython_mcp/`. */
  cwd: string;
  /** Background jobs of this server. */
  jobs: JobManager;
  /** Executed cells per kernel, for python_export. */
  history: NotebookHistory;
  /** Kernels python_reset replaced (their in-flight calls are told so). */
  replaced: WeakSet<KernelHandle>;
  /** Where saved outputs go and are served from. */
  outputs: OutputStore;
  /** Masks every known secret in a text (answers, saved outputs, notebooks). */
  mask: (text: string) => string;
  /**
   * Set when several namespaces share one working directory (HTTP
   * sessions of a user): the default notebook is then
   * `.ipython_mcp/<kernel_id>-<tag>.ipynb`, so one session never
   * overwrites another's. Unset: `.ipython_mcp/<kernel_id>.ipynb`.
   */
  exportTag?: string;
  /**
   * Which kernel limit applies when a start is refused (HTTP: the user's
   * share or the server's); unset: the server's (`CODER_MAX_KERNELS`),
   * every kernel the caller's own.
   */
  kernelLimit?: () => KernelLimitFacts;
  /**
   * When a call last named each kernel (ms since the epoch), as argument or
   * in its answer: how long a kernel of a namespace many clients share
   * (stateless requests) has gone unused.
   */
  lastCall: Map<string, number>;
}

/**
 * Creates the per-server state the tools share (jobs, cell history).
 *
 * @param base Registry, logger, cwd; optionally the output store (default:
 *   the working directory's `.ipython_mcp/`) and the secret masker (default:
 *   none).
 * @returns The full tool context.
 */
export function createToolContext(
  base:
    & Pick<ToolContext, "registry" | "logger" | "cwd">
    & Partial<
      Pick<ToolContext, "outputs" | "mask" | "exportTag" | "kernelLimit">
    >,
): ToolContext {
  return {
    outputs: workingDirStore(base.cwd),
    mask: (text) => text,
    ...base,
    jobs: new JobManager({
      timeout: timeoutMessage,
      kernelDied: kernelDiedMessage,
    }),
    history: new NotebookHistory(),
    replaced: new WeakSet(),
    lastCall: new Map(),
  };
}

/** Per-call extras from the protocol layer. */
export interface ToolCallExtra {
  /** Aborted when the client cancels the request. */
  signal?: AbortSignal;
  /** Receives stdout chunks while code runs (progress notifications). */
  onStdout?: (text: string) => void;
  /**
   * Inline size of each text field (the client's
   * `anthropic/maxResultSizeChars`); default {@linkcode TEXT_LIMIT_BYTES}.
   */
  textLimitBytes?: number;
}

/** A tool as the server lists and calls it. */
export interface McpTool {
  /** Tool name (SPEC §2). */
  readonly name: string;
  /** Short human title. */
  readonly title: string;
  /** Documentation for the model: what it does and when to use it. */
  readonly description: string;
  /** JSON Schema of the arguments. */
  readonly inputSchema: Record<string, unknown>;
  /** JSON Schema of the answer's JSON object (`structuredContent`). */
  readonly outputSchema: Record<string, unknown>;
  /** MCP behaviour hints. */
  readonly annotations: Record<string, unknown>;
  /**
   * Validates the arguments and runs the handler; never throws.
   *
   * @param args Raw arguments from the client.
   * @param context Registry, logger, cwd.
   * @param extra Cancellation and progress.
   * @returns The answer (failures have `isError: true`).
   */
  call(
    args: unknown,
    context: ToolContext,
    extra?: ToolCallExtra,
  ): Promise<ToolAnswer>;
}

interface ToolDefinition<S extends z.ZodType> {
  name: string;
  title: string;
  description: string;
  schema: S;
  output: z.ZodType;
  annotations: Record<string, unknown>;
  /** Builds the failure answer (submit_code answers `{ok: false}`). */
  failure?: (message: string) => ToolAnswer;
  handler: (
    args: z.output<S>,
    context: ToolContext,
    extra: ToolCallExtra,
  ) => Promise<ToolAnswer>;
}

function describeError(error: unknown, context: ToolContext): string {
  if (error instanceof KernelLimitError) {
    return kernelLimitMessage(
      context.kernelLimit?.() ?? { scope: "server", limit: error.limit },
      context.registry.list().map((kernel) => kernel.id),
    );
  }
  // KernelStartError messages already say what was tried and quote stderr.
  if (error instanceof DOMException && error.name === "AbortError") {
    return "The request was cancelled by the client; the code was interrupted.";
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "arguments";
    return `${path}: ${issue.message}`;
  }).join("; ");
}

function jsonSchemaOf(
  schema: z.ZodType,
  io: "input" | "output" = "input",
): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return portableSchema(json) as Record<string, unknown>;
}

/**
 * A schema in the form strict checkers (the MCP Inspector's `--strict`)
 * accept without warnings, same meaning: `additionalProperties: {}` (zod's
 * loose objects) is dropped, and a `type` array (zod's nullable scalars,
 * `["string", "null"]`) becomes `anyOf` branches of one `type` each.
 */
function portableSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(portableSchema);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (
      key === "additionalProperties" && typeof inner === "object" &&
      inner !== null && Object.keys(inner).length === 0
    ) continue;
    if (key === "type" && Array.isArray(inner)) {
      out.anyOf = inner.map((type) => ({ type }));
      continue;
    }
    out[key] = portableSchema(inner);
  }
  return out;
}

/**
 * Numeric strings become numbers for the arguments the schema declares as
 * numbers (`"timeout": "60"`); everything else is left as sent.
 */
function coerceNumbers(
  args: unknown,
  inputSchema: Record<string, unknown>,
): unknown {
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return args;
  }
  const properties = (inputSchema.properties ?? {}) as Record<
    string,
    { type?: unknown }
  >;
  const out: Record<string, unknown> = { ...args };
  for (const [key, value] of Object.entries(out)) {
    const type = properties[key]?.type;
    if (
      (type === "number" || type === "integer") && typeof value === "string" &&
      /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)
    ) {
      out[key] = Number(value);
    }
  }
  return out;
}

function defineTool<S extends z.ZodType>(
  definition: ToolDefinition<S>,
): McpTool {
  const failure = definition.failure ?? ((message) => errorAnswer(message));
  const inputSchema = jsonSchemaOf(definition.schema);
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema,
    outputSchema: jsonSchemaOf(definition.output, "output"),
    annotations: { title: definition.title, ...definition.annotations },
    async call(args, context, extra = {}) {
      const parsed = definition.schema.safeParse(
        coerceNumbers(args ?? {}, inputSchema),
      );
      if (!parsed.success) {
        return failure(
          `Invalid arguments for ${definition.name}: ${
            formatIssues(parsed.error)
          }`,
        );
      }
      try {
        return await definition.handler(parsed.data, context, extra);
      } catch (error) {
        context.logger.warn(
          `${definition.name} failed: ${
            error instanceof Error ? error.stack ?? error.message : error
          }`,
        );
        return failure(describeError(error, context));
      }
    },
  };
}

/** Longest path argument accepted (characters). */
export const MAX_PATH_ARGUMENT_CHARS = 4096;

/** What a kernel id looks like: `_default` or 8 lowercase hex digits. */
const KERNEL_ID_PATTERN = /^(_default|[0-9a-f]{8})$/;
/** What a job id looks like: `job-` and 8 lowercase hex digits. */
const JOB_ID_PATTERN = /^job-[0-9a-f]{8}$/;

/** A short, printable quote of a bad argument (NUL and controls escaped). */
function quoteArgument(value: string): string {
  const head = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return JSON.stringify(head) +
    (value.length > 40 ? ` (${value.length} characters)` : "");
}

/** Optional kernel id; null and "" count as omitted (some clients send them). */
const kernelIdSchema = z.preprocess(
  (value) => (value === null || value === "" ? undefined : value),
  z.string().refine((value) => KERNEL_ID_PATTERN.test(value), {
    error: (issue) =>
      `${
        quoteArgument(String(issue.input))
      } is not a kernel id: give "_default" or the 8 lowercase hex digits python_reset() returned`,
  }).optional(),
);

/** A job id as python_exec(background=true) returns it. */
const jobIdSchema = z.string().refine((value) => JOB_ID_PATTERN.test(value), {
  error: (issue) =>
    `${
      quoteArgument(String(issue.input))
    } is not a job id: give the "job-" id (8 lowercase hex digits) python_exec(background=true) returned`,
});

/** A relative file path argument: short, no NUL. */
const pathArgumentSchema = z.string().refine(
  (value) => !value.includes("\0"),
  { error: "a path cannot contain a NUL character" },
).refine((value) => value.length <= MAX_PATH_ARGUMENT_CHARS, {
  error: (issue) =>
    `the path is ${
      String(issue.input).length
    } characters long; at most ${MAX_PATH_ARGUMENT_CHARS} are accepted`,
});

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

async function answerExec(
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
function textLimits(extra: ToolCallExtra): { limitBytes?: number } {
  return extra.textLimitBytes === undefined
    ? {}
    : { limitBytes: extra.textLimitBytes };
}

/** Fields every answer may carry when it fails. */
const failureFields = {
  success: z.boolean().optional(),
  error: z.string().optional(),
};

/** Output fields of an execution (python_exec and python_job). */
const executionFields = {
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

const jobStatusSchema = z.enum([
  "running",
  "completed",
  "failed",
  "timed_out",
  "interrupted",
  "kernel_died",
]);

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
function notLiveMessage(
  context: ToolContext,
  id: string,
  notFound: (id: string) => string,
): string {
  return context.registry.died(id)?.message ?? notFound(id);
}

function busyAnswer(context: ToolContext, kernelId: string): ToolAnswer | null {
  const job = context.jobs.runningOn(kernelId);
  if (!job) return null;
  return errorAnswer(
    busyWithJobMessage(job, context.jobs.elapsedSeconds(job)),
    { kernel_id: kernelId, job_id: job.id, status: "running" },
  );
}

const pythonExec = defineTool({
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

const pythonJob = defineTool({
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

const pythonReset = defineTool({
  name: "python_reset",
  title: "Start or restart a Python kernel",
  description: `Start a fresh Python kernel, optionally with extra packages.

Without kernel_id: creates a NEW, isolated kernel and returns its kernel_id. Use this when several agents work in parallel: each agent calls python_reset() once, keeps the returned kernel_id and passes it to python_exec, python_status and python_interrupt. Kernels never share variables.

With kernel_id: restarts that kernel with the same id; all its variables are cleared. To clear the default session (used when python_exec gets no kernel_id), call python_reset(kernel_id="_default").

packages: pip requirement specs to make available, e.g. ["numpy", "pandas>=2", "scikit-learn[alldeps]"]. Installing can take a minute the first time. Only a name with optional [extras] and version constraints is accepted (no options, URLs or paths). When restarting without packages, the kernel keeps the packages it had. The answer lists the installed versions, e.g. "Session started. Packages: numpy 2.1.0".`,
  schema: z.object({
    packages: z.array(z.string()).default([]).describe(
      'Package specs to install/make available, e.g. ["numpy", "pandas>=2"].',
    ),
    kernel_id: kernelIdSchema.describe(
      "Kernel to restart. Omit to create a new kernel and get its id.",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    kernel_id: z.string().optional(),
    message: z.string().optional(),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
  async handler({ packages, kernel_id }, context) {
    const { registry } = context;
    if (kernel_id !== undefined) {
      const busy = busyAnswer(context, kernel_id);
      if (busy) return busy;
    }
    let specs: string[];
    try {
      specs = packages.map(validatePackageSpec);
    } catch (error) {
      if (error instanceof InvalidPackageSpecError) {
        return errorAnswer(
          `${error.message}. Give only a package name with optional [extras] and version constraint, e.g. "numpy" or "pandas>=2".`,
          kernel_id ? { kernel_id } : {},
        );
      }
      throw error;
    }
    const options = specs.length > 0 ? { packages: specs } : {};
    let id: string;
    let kernel: KernelHandle;
    if (kernel_id === undefined) {
      ({ id, kernel } = await registry.create(options));
    } else if (registry.has(kernel_id)) {
      id = kernel_id;
      context.replaced.add(registry.get(kernel_id));
      kernel = await registry.restart(kernel_id, options);
    } else if (registry.died(kernel_id)) {
      // A kernel that died answers so until it is started again here.
      id = kernel_id;
      kernel = await registry.restart(kernel_id, options);
    } else if (kernel_id === DEFAULT_KERNEL_ID) {
      id = kernel_id;
      kernel = await registry.ensureDefault(options);
    } else {
      return errorAnswer(resetNotFoundMessage(kernel_id), {
        kernel_id,
      });
    }
    const names = kernel.packages.map(packageNameOf);
    const versions = names.length > 0
      ? await kernel.packageVersions(names)
      : {};
    return jsonAnswer({
      success: true,
      kernel_id: id,
      message: sessionStartedMessage(names, versions),
    });
  },
});

const pythonStatus = defineTool({
  name: "python_status",
  title: "Show kernel state",
  description:
    `Show a kernel's state without changing anything (never starts a kernel).

Returns JSON {kernel_id, active, all_kernels, python_version, packages, variables, cwd, backend, location, jobs}: whether the kernel is running, the ids of all live kernels, its Python version, up to 20 installed packages ("name version"), the names of user-defined variables, the working directory that relative file paths use, where kernels run (backend local, sandbox or remote; location: the gateway URL of remote kernels, where cwd is kernel_cwd on the server), and every background job (job_id, kernel_id, status, elapsed_seconds). Call it to recall what is already defined before writing more code, or to find where files go. While the kernel is busy running code, variables and packages are not read (busy: true).`,
  schema: z.object({
    kernel_id: kernelIdSchema.describe(
      "Kernel to inspect. Omit for the default session.",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    kernel_id: z.string().optional(),
    active: z.boolean().optional(),
    busy: z.boolean().optional(),
    all_kernels: z.array(z.string()).optional(),
    python_version: z.string().nullable().optional(),
    packages: z.array(z.string()).nullable().optional(),
    variables: z.array(z.string()).nullable().optional(),
    cwd: z.string().optional(),
    backend: z.enum(["local", "sandbox", "remote"]).optional(),
    location: z.string().nullable().optional(),
    kernel_cwd: z.string().optional(),
    note: z.string().optional(),
    jobs: z.array(z.looseObject({
      job_id: z.string(),
      kernel_id: z.string(),
      status: jobStatusSchema,
      elapsed_seconds: z.number(),
    })).optional(),
  }),
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler({ kernel_id }, context) {
    const { registry, cwd } = context;
    const id = kernel_id ?? DEFAULT_KERNEL_ID;
    const allKernels = registry.list().map((info) => info.id);
    const jobs = context.jobs.list().map((job) => ({
      job_id: job.id,
      kernel_id: job.kernelId,
      status: job.status,
      elapsed_seconds: context.jobs.elapsedSeconds(job),
    }));
    const inactive = {
      success: true,
      kernel_id: id,
      active: false,
      all_kernels: allKernels,
      python_version: null,
      packages: [],
      variables: [],
      cwd,
      backend: registry.backend.kind,
      location: registry.backend.location,
      jobs,
    };
    if (!registry.has(id)) {
      const gone = registry.died(id);
      return jsonAnswer(gone ? { ...inactive, note: gone.message } : inactive);
    }
    let kernel: KernelHandle;
    try {
      kernel = registry.get(id);
    } catch (error) {
      if (error instanceof KernelNotFoundError) return jsonAnswer(inactive);
      throw error;
    }
    if (kernel.busy) {
      return jsonAnswer({
        ...inactive,
        active: true,
        busy: true,
        packages: null,
        variables: null,
        note:
          "The kernel is running code; variables and packages are read when it is idle. Use python_interrupt to stop it.",
      });
    }
    const state = await kernel.inspect();
    return jsonAnswer({
      success: true,
      kernel_id: id,
      active: true,
      all_kernels: allKernels,
      python_version: state.pythonVersion,
      packages: statusPackages(
        state.packages,
        kernel.packages.map(packageNameOf),
      ),
      variables: state.variables,
      cwd,
      jobs,
      backend: kernel.backend,
      location: kernel.location,
      ...(kernel.capabilities.sharedFiles ? {} : { kernel_cwd: kernel.cwd }),
    });
  },
});

const pythonInterrupt = defineTool({
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

function submitFailure(message: string): ToolAnswer {
  return jsonAnswer({ ok: false, error: message }, true);
}

const submitCode = defineTool({
  name: "submit_code",
  title: "Submit final code (syntax check)",
  description:
    `Submit final Python code for a syntax check. The code is only parsed: it is never run, never written to disk, and no kernel's state is touched.

Returns {"ok": true} when it parses, or {"ok": false, "error": "Syntax error at line N: MESSAGE"}; fix that line and submit again. Use python_exec to actually run code.`,
  schema: z.object({
    code: z.string().describe("The complete Python source to check."),
  }),
  output: z.looseObject({ ok: z.boolean(), error: z.string().optional() }),
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  failure: submitFailure,
  async handler({ code }, context) {
    if (code.trim() === "") return submitFailure(EMPTY_SUBMISSION);
    const check = await context.registry.checkSyntax(code);
    if (check.ok) return jsonAnswer({ ok: true });
    return submitFailure(syntaxErrorMessage(check.line, check.message));
  },
});

/**
 * The notebook path python_export writes when given none.
 *
 * @param kernelId Registry id.
 * @param tag The namespace's tag, when the working directory is shared.
 * @returns `.ipython_mcp/<kernel_id>[-<tag>].ipynb`.
 */
export function defaultExportPath(kernelId: string, tag?: string): string {
  return join(
    OUTPUT_DIR_NAME,
    `${kernelId}${tag === undefined ? "" : `-${tag}`}.ipynb`,
  );
}

function exportPathError(path: string, reason: string): string {
  return `Cannot export to "${path}": ${reason}. Give a path relative to the working directory, e.g. "analysis.ipynb", or omit path for .ipython_mcp/<kernel_id>.ipynb.`;
}

const pythonExport = defineTool({
  name: "python_export",
  title: "Export a kernel's session as a notebook",
  description:
    `Write a Jupyter notebook (.ipynb, nbformat 4.5) of every cell a kernel ran since its last start or reset, with outputs (printed text, results, errors, images).

Returns JSON {path, cells} and a resource link to the file. Use it to hand the work to a person, or to keep a record of an analysis. path is relative to the working directory (default .ipython_mcp/<kernel_id>.ipynb); paths outside the working directory are refused. Background jobs appear once they have ended.`,
  schema: z.object({
    kernel_id: kernelIdSchema.describe(
      "Kernel whose cells to export. Omit for the default session.",
    ),
    path: z.preprocess(
      (value) => (value === null || value === "" ? undefined : value),
      pathArgumentSchema.optional(),
    ).describe(
      "Where to write, relative to the working directory (default .ipython_mcp/<kernel_id>.ipynb).",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    kernel_id: z.string().optional(),
    path: z.string().optional(),
    cells: z.number().optional(),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler({ kernel_id, path }, context) {
    const id = kernel_id ?? DEFAULT_KERNEL_ID;
    if (!context.registry.has(id)) {
      return errorAnswer(
        `Kernel ${id} not found, so there is nothing to export. Run code with python_exec first, or pass the kernel_id python_reset() returned.`,
        { kernel_id: id },
      );
    }
    const kernel = context.registry.get(id);
    const wanted = path ?? defaultExportPath(id, context.exportTag);
    if (!wanted.endsWith(".ipynb")) {
      return errorAnswer(
        exportPathError(wanted, 'the file name must end with ".ipynb"'),
        { kernel_id: id },
      );
    }
    const cells = context.history.cells(kernel);
    const text = context.mask(
      JSON.stringify(buildNotebook(cells), null, 1) + "\n",
    );
    const workspace = context.registry.backend.workspace ?? HOST_FILES;
    let target: string;
    let link = "";
    try {
      if (!workspace.confined) await safePathIn(context.cwd, wanted);
      target = await workspace.writeFile(context.cwd, wanted, text);
      if (context.outputs.private) {
        // A confined kernel may swap the written file at once: the link
        // points at the server's own copy.
        link = context.outputs.pathFactory()("notebook", "ipynb");
        await context.outputs.save([{ path: link, data: text }]);
      }
    } catch (error) {
      // Outside the cwd, through a link, or the write failed.
      return errorAnswer(
        exportPathError(
          wanted,
          error instanceof Error ? error.message : String(error),
        ),
        { kernel_id: id },
      );
    }
    return jsonAnswer(
      {
        success: true,
        kernel_id: id,
        path: target,
        cells: cells.length,
        ...(link ? { copy: link } : {}),
      },
      false,
      [resourceLink(link || target)],
    );
  },
});

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
