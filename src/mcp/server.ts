/**
 * The ipython_mcp server object (MCP TypeScript SDK v2): tool listing, tool
 * calls (plain, as 2025-11-25 tasks or as `io.modelcontextprotocol/tasks`
 * tasks), progress notifications and saved outputs as resources. One server
 * object serves one connection, one 2025 session or one stateless 2026
 * request; what must outlive it (kernels, jobs, tasks) lives in its
 * {@linkcode McpNamespace}. Reads no environment.
 *
 * @module
 */

import {
  CLIENT_CAPABILITIES_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import type { Logger } from "../kernel/mod.ts";
import {
  callTool,
  createToolContext,
  type McpKernelRegistry,
  type ToolContext,
  TOOLS,
} from "./tools.ts";
import type { KernelLimitFacts } from "./limit_refusal.ts";
import type { McpHintRenderer } from "./hints.ts";
import { ResourcePathError } from "./resources.ts";
import {
  SERVER_INSTRUCTIONS,
  SERVER_NAME,
  serverCapabilities,
} from "./handshake.ts";
import type { OutputStore } from "./output_store.ts";
import {
  legacyTaskView,
  modernTaskView,
  TaskBook,
  TaskNotFoundError,
  type TaskRecord,
  type TaskResult,
  TASKS_EXTENSION,
} from "./tasks.ts";
import {
  clientSupportsView,
  VIEW_RESOURCE_LISTING,
  VIEW_TOOL,
  VIEW_URI,
  viewContents,
  viewToolAnswer,
  withViewTools,
} from "./view.ts";

export { SERVER_INSTRUCTIONS, SERVER_NAME } from "./handshake.ts";

/** Largest inline size a client may ask for (`anthropic/maxResultSizeChars`). */
export const MAX_RESULT_SIZE_CHARS = 500_000;
/** Smallest inline size a client may ask for. */
export const MIN_RESULT_SIZE_CHARS = 256;

/**
 * The inline text size a call asks for in `_meta["anthropic/maxResultSizeChars"]`
 * (a number or numeric string), clamped to 256..500 000; undefined when
 * absent or not a number.
 *
 * @param meta The request's `_meta`.
 * @returns The limit in characters, or undefined.
 */
export function requestedResultSize(
  meta: Record<string, unknown> | undefined,
): number | undefined {
  const raw = meta?.["anthropic/maxResultSizeChars"];
  const value = typeof raw === "string" && raw.trim() !== ""
    ? Number(raw)
    : raw;
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  return Math.min(
    Math.max(Math.floor(value), MIN_RESULT_SIZE_CHARS),
    MAX_RESULT_SIZE_CHARS,
  );
}

/** How long a 2026 call runs before it becomes a task (when the client takes tasks). */
export const DEFAULT_TASK_GRACE_MS = 1_000;

/** What outlives one server object: the tools' state and the tasks. */
export interface McpNamespace {
  /** Kernels, jobs, cell history, working directory. */
  readonly context: ToolContext;
  /** MCP tasks of both eras. */
  readonly tasks: TaskBook;
  /**
   * Kernels the server shut down to free their slots (id -> what to tell
   * the owner on the next call to it).
   */
  readonly evicted: Map<string, string>;
}

/** Tools that name a kernel by `kernel_id` (default `_default`). */
const KERNEL_TOOLS = new Set([
  "python_exec",
  "python_status",
  "python_interrupt",
  "python_export",
]);

/**
 * The answer owed to a call on a kernel the server shut down to free its
 * slot, or undefined. `_default` is told once (the next call starts a fresh
 * one); another id is told on every call, so it is never a bare "not found".
 */
function evictionNotice(
  namespace: McpNamespace,
  name: string,
  args: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (namespace.evicted.size === 0) return undefined;
  const raw = args?.kernel_id;
  const named = typeof raw === "string" && raw !== "";
  if (name === "python_reset" && !named) return undefined;
  if (name !== "python_reset" && !KERNEL_TOOLS.has(name)) return undefined;
  const id = named ? raw : "_default";
  const message = namespace.evicted.get(id);
  if (message === undefined) return undefined;
  if (id === "_default") {
    namespace.evicted.delete(id);
    if (name === "python_reset") return undefined;
  }
  const payload = { success: false, kernel_id: id, error: message };
  return {
    content: [{ type: "text", text: JSON.stringify(payload) }],
    structuredContent: payload,
    isError: true,
  };
}

/**
 * The message for a kernel shut down to free its slot.
 *
 * @param id The kernel id.
 * @returns What its owner is told.
 */
export function evictedMessage(id: string): string {
  return `Kernel ${id} was shut down while it was idle, because the server's kernel limit was reached; ` +
    `its state is lost; call python_reset${
      id === "_default" ? "" : "()"
    } to start ${
      id === "_default" ? "it again" : "a new kernel and use its kernel_id"
    }.`;
}

/**
 * Creates a namespace over a registry (nothing is spawned).
 *
 * @param base Registry, logger, working directory; optionally the output
 *   store and the secret masker.
 * @returns The namespace.
 */
export function createNamespace(
  base: {
    registry: McpKernelRegistry;
    logger: Logger;
    cwd: string;
    /** Where saved outputs go; default the working directory's `.ipython_mcp/`. */
    outputs?: OutputStore;
    /** Masks every known secret in answers and saved outputs; default none. */
    mask?: (text: string) => string;
    /** Tag of the default notebook name when the cwd is shared (HTTP). */
    exportTag?: string;
    /** Which kernel limit applies when a start is refused (HTTP). */
    kernelLimit?: () => KernelLimitFacts;
    /** Words the settings a refusal names; default option names. */
    renderHint?: McpHintRenderer;
  },
): McpNamespace {
  return {
    context: createToolContext(base),
    tasks: new TaskBook(),
    evicted: new Map(),
  };
}

/** Options of {@linkcode createIpythonMcpServer}. */
export interface IpythonMcpServerOptions {
  /** The kernels, jobs and tasks this server object works on. */
  namespace: McpNamespace;
  /** Diagnostics; must not write to stdout. */
  logger: Logger;
  /** Version reported to clients; default "0.0.0". */
  version?: string;
  /** Milliseconds between progress notifications; default 100. */
  progressIntervalMs?: number;
  /** Longest gap between progress notifications in ms; default 5000. */
  heartbeatMs?: number;
  /** How long a 2026 python_exec runs before it becomes a task; default 1 s. */
  taskGraceMs?: number;
}

/** Sends one `notifications/progress`. */
export type SendProgress = (params: {
  progressToken: ProgressToken;
  progress: number;
  message?: string;
}) => Promise<void>;

/** A client's progress token. */
export type ProgressToken = string | number;
/** Largest message text in one progress notification (characters). */
const MAX_PROGRESS_MESSAGE = 16 * 1024;

/**
 * Batches stdout chunks into throttled progress notifications, and sends a
 * keep-alive progress when a call is silent, so clients that reset their
 * timeout on progress do not drop long calls.
 */
export class ProgressReporter {
  #send: SendProgress;
  #token: ProgressToken;
  #intervalMs: number;
  #logger: Logger;
  #pending = "";
  #omitted = 0;
  #count = 0;
  #closed = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastSent = Date.now();
  #chain: Promise<void> = Promise.resolve();
  #signal: AbortSignal | undefined;

  /**
   * @param send Sends one progress notification.
   * @param token The client's progress token.
   * @param options Throttle interval, keep-alive interval, logger, and the
   *   request's signal (nothing is sent once it aborts).
   */
  constructor(
    send: SendProgress,
    token: ProgressToken,
    options: {
      intervalMs: number;
      heartbeatMs: number;
      logger: Logger;
      signal?: AbortSignal;
    },
  ) {
    this.#send = send;
    this.#signal = options.signal;
    this.#token = token;
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
    // Tick five times per heartbeat, so no gap exceeds heartbeatMs.
    const tick = Math.max(10, Math.floor(options.heartbeatMs / 5));
    const silence = Math.max(0, options.heartbeatMs - tick);
    this.#heartbeat = setInterval(() => {
      if (Date.now() - this.#lastSent >= silence) this.#emit(undefined);
    }, tick);
  }

  /**
   * Queues a stdout chunk; it is sent within the throttle interval.
   *
   * @param text The chunk.
   */
  push = (text: string): void => {
    if (this.#closed || text === "") return;
    const room = MAX_PROGRESS_MESSAGE - this.#pending.length;
    if (text.length <= room) {
      this.#pending += text;
    } else {
      this.#pending += text.slice(0, Math.max(0, room));
      this.#omitted += text.length - Math.max(0, room);
    }
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#intervalMs);
  };

  #flush(): void {
    this.#flushTimer = undefined;
    if (this.#pending === "" && this.#omitted === 0) return;
    const message = this.#omitted > 0
      ? `${this.#pending}\n[${this.#omitted} more characters of output]`
      : this.#pending;
    this.#pending = "";
    this.#omitted = 0;
    this.#emit(message);
  }

  #emit(message: string | undefined): void {
    if (this.#signal?.aborted) return;
    this.#lastSent = Date.now();
    const params = {
      progressToken: this.#token,
      progress: ++this.#count,
      ...(message === undefined ? {} : { message }),
    };
    this.#chain = this.#chain.then(() => this.#send(params)).catch((error) => {
      this.#logger.debug(`Progress notification not sent: ${error}`);
    });
  }

  /**
   * Sends what is pending, stops the timers and waits for the sends.
   *
   * @returns When every notification was handed to the transport.
   */
  async close(): Promise<void> {
    if (this.#closed) return await this.#chain;
    clearInterval(this.#heartbeat);
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flush();
    this.#closed = true;
    await this.#chain;
  }
}

/** Per-request facts of the 2026 revision (absent on 2025 requests). */
interface RequestEra {
  /** Whether the request carries the 2026 envelope. */
  modern: boolean;
  /** Whether the client declared the tasks extension on this request. */
  tasksExtension: boolean;
}

function eraOf(ctx: ServerContext): RequestEra {
  const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
  const modern = typeof envelope[PROTOCOL_VERSION_META_KEY] === "string";
  const capabilities = envelope[CLIENT_CAPABILITIES_META_KEY] as
    | { extensions?: Record<string, unknown> }
    | undefined;
  return {
    modern,
    tasksExtension: modern &&
      capabilities?.extensions?.[TASKS_EXTENSION] !== undefined,
  };
}

const taskIdParams = z.object({ taskId: z.string() }).passthrough();
const listParams = z.object({ cursor: z.string().optional() }).passthrough();

/** Links `target` to abort with `source`; returns the unlink function. */
function follow(source: AbortSignal, target: AbortController): () => void {
  if (source.aborted) {
    target.abort(source.reason);
    return () => {};
  }
  const onAbort = () => target.abort(source.reason);
  source.addEventListener("abort", onAbort, { once: true });
  return () => source.removeEventListener("abort", onAbort);
}

function notFound(error: unknown): never {
  if (error instanceof TaskNotFoundError) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
  }
  throw error;
}

/**
 * Creates the ipython_mcp server with its tools, tasks for python_exec and
 * saved outputs as resources. Connect it to a transport (or hand it to the
 * SDK's `serveStdio`/`createMcpHandler` from a factory); the owner of the
 * namespace shuts its kernels down.
 *
 * @param options Namespace, logger, version.
 * @returns The SDK server (not yet connected).
 * @example Serving on a transport
 * ```ts ignore
 * import { KernelRegistry } from "../kernel/mod.ts";
 * import { createIpythonMcpServer, createNamespace } from "./server.ts";
 * const registry = new KernelRegistry({ cwd: "/tmp/work", launch: { env: {} } });
 * const namespace = createNamespace({ registry, logger: console, cwd: registry.cwd });
 * const server = createIpythonMcpServer({ namespace, logger: console });
 * await server.connect(transport);
 * ```
 */
export function createIpythonMcpServer(
  options: IpythonMcpServerOptions,
): Server {
  const { logger, namespace } = options;
  const { context, tasks } = namespace;
  const intervalMs = options.progressIntervalMs ?? 100;
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const graceMs = options.taskGraceMs ?? DEFAULT_TASK_GRACE_MS;
  const server = new Server(
    { name: SERVER_NAME, version: options.version ?? "0.0.0" },
    // The same identity stdio answers the opening message with before
    // the SDK has loaded (handshake.ts).
    { capabilities: serverCapabilities(), instructions: SERVER_INSTRUCTIONS },
  );

  // The notebook view (SPEC §14) only for clients that declare MCP Apps.
  const viewOn = (ctx: ServerContext): boolean => {
    const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
    return clientSupportsView(
      typeof envelope[PROTOCOL_VERSION_META_KEY] === "string"
        ? envelope[CLIENT_CAPABILITIES_META_KEY]
        : server.getClientCapabilities(),
    );
  };

  const listTools = () => ({
    tools: TOOLS.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema as {
        type: "object";
        [key: string]: unknown;
      },
      outputSchema: tool.outputSchema as {
        type: "object";
        [key: string]: unknown;
      },
      annotations: tool.annotations,
      ...(tool.name === "python_exec"
        ? { execution: { taskSupport: "optional" as const } }
        : {}),
    })),
  });
  server.setRequestHandler("tools/list", (_request, ctx) => ({
    tools: withViewTools(viewOn(ctx), listTools().tools),
  }));

  server.setRequestHandler("tools/call", async (request, ctx) => {
    const { name, arguments: args } = request.params;
    const meta = request.params._meta as Record<string, unknown> | undefined;
    const token = meta?.progressToken as ProgressToken | undefined;
    const era = eraOf(ctx);
    logger.debug(`tools/call ${name}${era.modern ? " (2026)" : ""}`);
    const notice = evictionNotice(
      namespace,
      name,
      args as Record<string, unknown> | undefined,
    );
    if (notice) return notice as never;
    if (name === VIEW_TOOL) return viewToolAnswer(args, context) as never;
    const legacyTask = era.modern ? undefined : request.params.task as
      | { ttl?: number | null }
      | undefined;
    if (legacyTask && name !== "python_exec") {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Tool "${name}" cannot run as a task; only python_exec supports tasks. Call it without "task".`,
      );
    }
    // The work's own signal: the SDK's request signal also fires after a
    // completed 2026 HTTP call, so it is followed only while the call is
    // answered in this request.
    const work = new AbortController();
    // Open while this request may still carry progress notifications.
    const open = new AbortController();
    const unlinkRequest = legacyTask
      ? () => {}
      : follow(ctx.mcpReq.signal, work);
    const progress = token === undefined ? undefined : new ProgressReporter(
      (params) =>
        ctx.mcpReq.notify({ method: "notifications/progress", params }),
      token,
      { intervalMs, heartbeatMs, logger, signal: open.signal },
    );
    const textLimit = requestedResultSize(meta);
    const running = (async () => {
      try {
        return await callTool(name, args ?? {}, context, {
          signal: work.signal,
          ...(textLimit === undefined ? {} : { textLimitBytes: textLimit }),
          ...(progress ? { onStdout: progress.push } : {}),
        }) as TaskResult;
      } finally {
        await progress?.close();
      }
    })();
    const runAsTask = (record: TaskRecord): void => {
      follow(tasks.signalOf(record.taskId), work);
      running.then(
        (result) => tasks.complete(record.taskId, result),
        (error) => tasks.fail(record.taskId, String(error)),
      );
    };
    try {
      if (legacyTask) {
        // A 2025 session outlives the call: progress goes on while the
        // task runs (SPEC §8).
        const record = tasks.create({ ttlMs: legacyTask.ttl });
        runAsTask(record);
        return { content: [], task: legacyTaskView(record) } as never;
      }
      if (!era.tasksExtension || name !== "python_exec") {
        return await running as never;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), graceMs);
      });
      const first = await Promise.race([running, late]);
      clearTimeout(timer);
      if (first !== "late") return first as never;
      unlinkRequest();
      open.abort();
      const record = tasks.create({});
      runAsTask(record);
      const { result: _none, ...view } = modernTaskView(record);
      return { content: [], ...view, resultType: "task" } as never;
    } finally {
      unlinkRequest();
    }
  });

  const requireExtension = (ctx: ServerContext): void => {
    const era = eraOf(ctx);
    if (era.modern && !era.tasksExtension) {
      throw new ProtocolError(
        -32021 as ProtocolErrorCode,
        "Missing required client capability",
        { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      );
    }
  };

  // tasks/get and tasks/cancel answer the task's view in the caller's era.
  for (
    const [method, act] of [
      ["tasks/get", (id: string) => tasks.get(id)],
      ["tasks/cancel", (id: string) => tasks.cancel(id)],
    ] as const
  ) {
    server.setRequestHandler(
      method,
      { params: taskIdParams },
      (params, ctx) => {
        requireExtension(ctx);
        try {
          const record = act(params.taskId);
          return (eraOf(ctx).modern
            ? modernTaskView(record)
            : legacyTaskView(record)) as never;
        } catch (error) {
          notFound(error);
        }
      },
    );
  }

  server.setRequestHandler(
    "tasks/result",
    { params: taskIdParams },
    async (params) => {
      let record: TaskRecord;
      try {
        record = await tasks.settled(params.taskId);
      } catch (error) {
        notFound(error);
      }
      if (!record.result) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Task ${record.taskId} has no result (${record.status}${
            record.statusMessage ? `: ${record.statusMessage}` : ""
          })`,
        );
      }
      return {
        ...record.result,
        _meta: {
          "io.modelcontextprotocol/related-task": { taskId: record.taskId },
        },
      } as never;
    },
  );

  server.setRequestHandler(
    "tasks/list",
    { params: listParams },
    () => ({ tasks: tasks.list().map(legacyTaskView) }) as never,
  );

  server.setRequestHandler("resources/list", async (_request, ctx) => ({
    resources: [
      ...(viewOn(ctx) ? [VIEW_RESOURCE_LISTING] : []),
      ...await context.outputs.list(),
    ],
  }));

  server.setRequestHandler("resources/read", async (request) => {
    if (request.params.uri === VIEW_URI) {
      return { contents: [viewContents()] } as never;
    }
    try {
      return {
        contents: [await context.outputs.read(request.params.uri)],
      };
    } catch (error) {
      if (error instanceof ResourcePathError) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
      }
      throw error;
    }
  });

  return server;
}
