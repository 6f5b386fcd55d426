/**
 * The five ipython_mcp tools: each tool's zod schema, its description for
 * the model and its handler, side by side.
 *
 * Handlers never throw to the protocol layer: bad arguments, kernel errors
 * and our own failures become `isError` answers holding SPEC's JSON text.
 *
 * @module
 */

import { join } from "node:path";
import { z } from "zod";
import {
  DEFAULT_KERNEL_ID,
  ExecutionTimeoutError,
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
  kernelLimitMessage,
  NO_SESSION_TO_INTERRUPT,
  OUTPUT_DIR_NAME,
  packageNameOf,
  resetNotFoundMessage,
  sessionStartedMessage,
  type ShapedExec,
  shapeExecResult,
  statusPackages,
  syntaxErrorMessage,
  timeoutMessage,
  type ToolAnswer,
} from "./format.ts";

/** Default python_exec timeout in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** Largest python_exec timeout in seconds; larger values are capped. */
export const MAX_TIMEOUT_SECONDS = 300;

/** The part of {@linkcode KernelRegistry} the tools use. */
export type McpKernelRegistry = Pick<
  KernelRegistry,
  | "has"
  | "get"
  | "ensureDefault"
  | "create"
  | "restart"
  | "interrupt"
  | "list"
  | "checkSyntax"
>;

/** What every tool handler gets from the server. */
export interface ToolContext {
  /** The kernels. */
  registry: McpKernelRegistry;
  /** Diagnostics (stderr). */
  logger: Logger;
  /** Working directory: kernel cwd, parent of `.ipython_mcp/`. */
  cwd: string;
}

/** Per-call extras from the protocol layer. */
export interface ToolCallExtra {
  /** Aborted when the client cancels the request. */
  signal?: AbortSignal;
  /** Receives stdout chunks while code runs (progress notifications). */
  onStdout?: (text: string) => void;
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
  annotations: Record<string, unknown>;
  /** Builds the failure answer (submit_code answers `{ok: false}`). */
  failure?: (message: string) => ToolAnswer;
  handler: (
    args: z.output<S>,
    context: ToolContext,
    extra: ToolCallExtra,
  ) => Promise<ToolAnswer>;
}

function describeError(error: unknown): string {
  if (error instanceof KernelLimitError) return kernelLimitMessage(error.limit);
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

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: "input" }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return json;
}

function defineTool<S extends z.ZodType>(
  definition: ToolDefinition<S>,
): McpTool {
  const failure = definition.failure ?? ((message) => errorAnswer(message));
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: jsonSchemaOf(definition.schema),
    annotations: { title: definition.title, ...definition.annotations },
    async call(args, context, extra = {}) {
      const parsed = definition.schema.safeParse(args ?? {});
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
        return failure(describeError(error));
      }
    },
  };
}

/** Optional kernel id; null and "" count as omitted (some clients send them). */
const kernelIdSchema = z.preprocess(
  (value) => (value === null || value === "" ? undefined : value),
  z.string().optional(),
);

function outputPathFactory(cwd: string): (kind: string, ext: string) => string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const batch = crypto.randomUUID().slice(0, 8);
  let n = 0;
  return (kind, ext) =>
    join(cwd, OUTPUT_DIR_NAME, `${kind}-${stamp}-${batch}-${++n}.${ext}`);
}

async function saveFiles(
  files: readonly FileToSave[],
  context: ToolContext,
): Promise<string | null> {
  if (files.length === 0) return null;
  try {
    await Deno.mkdir(join(context.cwd, OUTPUT_DIR_NAME), { recursive: true });
    for (const file of files) {
      if (typeof file.data === "string") {
        await Deno.writeTextFile(file.path, file.data);
      } else {
        await Deno.writeFile(file.path, file.data);
      }
    }
    return null;
  } catch (error) {
    const message = `Could not save output under ${
      join(context.cwd, OUTPUT_DIR_NAME)
    }: ${error instanceof Error ? error.message : error}`;
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
  return jsonAnswer(shaped.payload, !shaped.success, shaped.images);
}

const pythonExec = defineTool({
  name: "python_exec",
  title: "Run Python code",
  description:
    `Run Python code in a persistent IPython kernel and get its output.

State persists between calls: variables, imports, functions and classes defined in one call are available in the next, so build work up in small steps instead of re-running everything. Returns JSON {success, kernel_id, stdout, result, stderr, error}: print() output is in stdout, the value of the last expression in result, an exception as error ("Name: message" plus traceback). Empty fields are left out. Plots and images (matplotlib, IPython.display) come back as image content after the JSON; an image over 1 MB, or beyond the 8th, is saved to a file listed in images_saved.

Sessions: without kernel_id the default session is used and starts automatically on first use. For parallel agents or separate experiments, call python_reset() once to get your own kernel_id and pass it to every python_exec, python_status and python_interrupt call.

Timeout: default 30 s, maximum 300 s. Raise it for heavy imports (torch, tensorflow, large pandas/scipy stacks can take 10-60 s on first import), big downloads or long computations. On timeout the code is interrupted but variables are kept; partial output is returned.

Files are read and written relative to the working directory (python_status shows it as cwd). A text field over 100 KB is cut and ends with "[stdout truncated at 100KB; full text: PATH]"; read the file at PATH if you need the rest, or print less. input() is not supported.`,
  schema: z.object({
    code: z.string().describe(
      "Python source to run (may span many lines; IPython magics allowed).",
    ),
    timeout: z.number().positive().default(DEFAULT_TIMEOUT_SECONDS).describe(
      "Seconds before the code is interrupted (default 30, capped at 300). Raise for heavy imports or long computations.",
    ),
    kernel_id: kernelIdSchema.describe(
      'Kernel to run in, as returned by python_reset(). Omit for the default session ("_default").',
    ),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
  async handler({ code, timeout, kernel_id }, context, extra) {
    const id = kernel_id ?? DEFAULT_KERNEL_ID;
    const seconds = Math.min(timeout, MAX_TIMEOUT_SECONDS);
    const { registry } = context;
    if (id !== DEFAULT_KERNEL_ID && !registry.has(id)) {
      return errorAnswer(execNotFoundMessage(id), { kernel_id: id });
    }
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
        return errorAnswer(execNotFoundMessage(id), { kernel_id: id });
      }
      context.logger.warn(`Cannot start kernel ${id}: ${error}`);
      return errorAnswer(describeError(error), { kernel_id: id });
    }
    const pathFor = outputPathFactory(context.cwd);
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
      shaped = shapeExecResult(result, { kernelId: id, pathFor });
    } catch (error) {
      if (error instanceof ExecutionTimeoutError) {
        shaped = shapeExecResult(error.partial, {
          kernelId: id,
          pathFor,
          failure: timeoutMessage(seconds, error.kernelAlive),
        });
      } else if (error instanceof KernelDiedError) {
        shaped = shapeExecResult(error.partial, {
          kernelId: id,
          pathFor,
          failure: kernelDiedMessage(id, error.exit),
        });
      } else {
        return errorAnswer(describeError(error), { kernel_id: id });
      }
    }
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
  annotations: {
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
  async handler({ packages, kernel_id }, context) {
    const { registry } = context;
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
      kernel = await registry.restart(kernel_id, options);
    } else if (kernel_id === DEFAULT_KERNEL_ID) {
      id = kernel_id;
      kernel = await registry.ensureDefault();
      if (specs.length > 0) kernel = await registry.restart(id, options);
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

Returns JSON {kernel_id, active, all_kernels, python_version, packages, variables, cwd, backend, location}: whether the kernel is running, the ids of all live kernels, its Python version, up to 20 installed packages ("name version"), the names of user-defined variables, the working directory that relative file paths use, and where kernels run (backend local, sandbox or remote; location: the gateway URL of remote kernels, where cwd is kernel_cwd on the server). Call it to recall what is already defined before writing more code, or to find where files go. While the kernel is busy running code, variables and packages are not read (busy: true).`,
  schema: z.object({
    kernel_id: kernelIdSchema.describe(
      "Kernel to inspect. Omit for the default session.",
    ),
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
    const inactive = {
      success: true,
      kernel_id: id,
      active: false,
      all_kernels: allKernels,
      python_version: null,
      packages: [],
      variables: [],
      cwd,
    };
    if (!registry.has(id)) return jsonAnswer(inactive);
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
      backend: kernel.backend,
      location: kernel.location,
      ...(kernel.backend === "remote" ? { kernel_cwd: kernel.cwd } : {}),
    });
  },
});

const pythonInterrupt = defineTool({
  name: "python_interrupt",
  title: "Interrupt running code",
  description:
    `Interrupt code that is running in a kernel, like pressing Ctrl+C (sends SIGINT).

The running python_exec call then returns with a KeyboardInterrupt error; variables and imports are kept. Use it when a call hangs or takes far longer than expected. For work that is expected to take long, give python_exec a larger timeout instead.`,
  schema: z.object({
    kernel_id: kernelIdSchema.describe(
      "Kernel to interrupt. Omit for the default session.",
    ),
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
      return errorAnswer(NO_SESSION_TO_INTERRUPT, { kernel_id: id });
    }
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

/** The tools, in the order they are listed. */
export const TOOLS: readonly McpTool[] = [
  pythonExec,
  pythonReset,
  pythonStatus,
  pythonInterrupt,
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
  return await tool.call(args, context, extra);
}
