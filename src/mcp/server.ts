/**
 * The ipython_mcp server object: tool listing, tool calls (plain or as MCP
 * tasks), progress notifications and saved outputs as resources, over any
 * MCP transport. Reads no environment; the CLI
 * passes the registry, logger and working directory in.
 *
 * @module
 */

import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type ProgressToken,
  type ReadResourceRequest,
  ReadResourceRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  deserializeMessage,
  serializeMessage,
} from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../kernel/mod.ts";
import {
  callTool,
  createToolContext,
  type McpKernelRegistry,
  type ToolContext,
  TOOLS,
} from "./tools.ts";
import { ResourcePathError } from "./resources.ts";
import type { OutputStore } from "./output_store.ts";
import { KernelTaskStore } from "./tasks.ts";

/** Name the server reports in `initialize`. */
export const SERVER_NAME = "ipython_mcp";

/** Instructions sent to clients in `initialize` (shown to models). */
export const SERVER_INSTRUCTIONS =
  `Persistent Python (IPython) kernels. Run code with python_exec; variables persist between calls. ` +
  `The default session starts on first use. Parallel agents: call python_reset() once for your own kernel_id ` +
  `and pass it to every call. Use python_status to see variables and the working directory, ` +
  `python_interrupt to stop runaway code, submit_code to syntax-check final code without running it. ` +
  `Work that may take more than a minute: python_exec(background=true) returns a job_id at once; poll it with python_job. ` +
  `python_export writes the session as a Jupyter notebook.`;

/** Options of {@linkcode createIpythonMcpServer}. */
export interface IpythonMcpServerOptions {
  /** The kernels the tools use; the caller owns and shuts them down. */
  registry: McpKernelRegistry & { readonly cwd: string };
  /** Diagnostics; must not write to stdout. */
  logger: Logger;
  /** Working directory reported as `cwd`; default `registry.cwd`. */
  cwd?: string;
  /** Version reported in `initialize`; default "0.0.0". */
  version?: string;
  /** Milliseconds between progress notifications; default 100. */
  progressIntervalMs?: number;
  /** Longest gap between progress notifications in ms; default 5000. */
  heartbeatMs?: number;
  /** Where saved outputs go; default the working directory's `.ipython_mcp/`. */
  outputs?: OutputStore;
  /** Masks every known secret in answers and saved outputs; default none. */
  mask?: (text: string) => string;
}

/** An ipython_mcp server and what it owns besides the kernels. */
export type IpythonMcpServer = Server & {
  /** Tool state (jobs, cell history). */
  readonly toolContext: ToolContext;
  /** MCP task store. */
  readonly taskStore: KernelTaskStore;
};

/** Sends one `notifications/progress`. */
export type SendProgress = (params: {
  progressToken: ProgressToken;
  progress: number;
  message?: string;
}) => Promise<void>;

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

/**
 * Creates the ipython_mcp server with its tools, MCP task support for
 * python_exec and saved outputs as resources. Connect it to a transport with
 * `server.connect(transport)`; the caller shuts the registry down when the
 * transport closes (which also ends running jobs).
 *
 * @param options Registry, logger, working directory, version.
 * @returns The SDK server (not yet connected).
 * @example Serving on a transport
 * ```ts ignore
 * import { KernelRegistry } from "../kernel/mod.ts";
 * import { createIpythonMcpServer } from "./server.ts";
 * const registry = new KernelRegistry({ cwd: "/tmp/work", launch: { env: {} } });
 * const server = createIpythonMcpServer({ registry, logger: console });
 * await server.connect(transport);
 * ```
 */
export function createIpythonMcpServer(
  options: IpythonMcpServerOptions,
): IpythonMcpServer {
  const { registry, logger } = options;
  const context = createToolContext({
    registry,
    logger,
    cwd: options.cwd ?? registry.cwd,
    ...(options.outputs ? { outputs: options.outputs } : {}),
    ...(options.mask ? { mask: options.mask } : {}),
  });
  const intervalMs = options.progressIntervalMs ?? 100;
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const taskStore = new KernelTaskStore();
  const server = new Server(
    { name: SERVER_NAME, version: options.version ?? "0.0.0" },
    {
      capabilities: {
        tools: {},
        resources: {},
        tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
      },
      instructions: SERVER_INSTRUCTIONS,
      taskStore,
    },
  );
  server.onclose = () => taskStore.close();

  server.setRequestHandler(ListToolsRequestSchema, () => ({
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
  }));

  server.setRequestHandler(
    CallToolRequestSchema,
    // Explicit parameter types: the SDK's zod-compat inference gives up here.
    async (
      request: CallToolRequest,
      extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
    ) => {
      const { name, arguments: args } = request.params;
      const token = request.params._meta?.progressToken;
      logger.debug(`tools/call ${name}`);
      const taskParams = request.params.task;
      if (taskParams && !extra.taskStore) {
        throw new McpError(ErrorCode.InternalError, "Tasks are not available");
      }
      if (taskParams && name !== "python_exec") {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Tool "${name}" cannot run as a task; only python_exec supports tasks. Call it without "task".`,
        );
      }
      const task = taskParams && extra.taskStore
        ? await extra.taskStore.createTask({
          ...(taskParams.ttl === undefined ? {} : { ttl: taskParams.ttl }),
          pollInterval: 1000,
        })
        : undefined;
      const signal = task ? taskStore.signalOf(task.taskId) : extra.signal;
      const progress = token === undefined ? undefined : new ProgressReporter(
        (params) =>
          extra.sendNotification({ method: "notifications/progress", params }),
        token,
        { intervalMs, heartbeatMs, logger, ...(task ? {} : { signal }) },
      );
      const run = async (): Promise<CallToolResult> => {
        try {
          return await callTool(name, args ?? {}, context, {
            signal,
            ...(progress ? { onStdout: progress.push } : {}),
          }) as CallToolResult;
        } finally {
          await progress?.close();
        }
      };
      if (!task || !extra.taskStore) return await run();
      const store = extra.taskStore;
      run().then(
        (result) =>
          store.storeTaskResult(
            task.taskId,
            result.isError ? "failed" : "completed",
            result,
          ),
        (error) => store.updateTaskStatus(task.taskId, "failed", String(error)),
      ).catch((error) => {
        // The task was cancelled (terminal) before the result came.
        logger.debug(`Task ${task.taskId} result not stored: ${error}`);
      });
      return { task };
    },
  );

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: await context.outputs.list(),
  }));

  server.setRequestHandler(
    ReadResourceRequestSchema,
    async (request: ReadResourceRequest) => {
      try {
        return {
          contents: [await context.outputs.read(request.params.uri)],
        };
      } catch (error) {
        if (error instanceof ResourcePathError) {
          throw new McpError(ErrorCode.InvalidParams, error.message);
        }
        throw error;
      }
    },
  );

  return Object.assign(server, { toolContext: context, taskStore });
}

/**
 * MCP transport over Web Streams: newline-delimited JSON-RPC, as the stdio
 * transport frames it. Unlike the SDK's Node-stream `StdioServerTransport`,
 * it notices the end of input (stdin EOF) and keeps count of requests not
 * yet answered, so a server can answer what it was asked before it exits.
 *
 * At the end of input it calls `oninputend` when set (the output stays open
 * until {@linkcode close}), else it closes.
 *
 * @example Serving on the process streams
 * ```ts ignore
 * const transport = new WebStreamServerTransport(Deno.stdin.readable, Deno.stdout.writable);
 * transport.oninputend = async () => {
 *   await transport.drained(AbortSignal.timeout(1000));
 *   await transport.close();
 * };
 * await server.connect(transport);
 * ```
 */
export class WebStreamServerTransport implements Transport {
  #readable: ReadableStream<Uint8Array>;
  #writable: WritableStream<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #encoder = new TextEncoder();
  #closed = false;
  #started = false;
  #inflight = new Set<string | number>();
  #drainWaiters: (() => void)[] = [];

  /** Called once when the transport closes. */
  onclose?: () => void;
  /** Called at the end of input; when unset, the transport closes itself. */
  oninputend?: () => void;
  /** Called for unreadable lines and stream errors. */
  onerror?: (error: Error) => void;
  /** Called for each incoming message. */
  onmessage?: (message: JSONRPCMessage) => void;

  /**
   * @param readable Incoming bytes (stdin).
   * @param writable Outgoing bytes (stdout); nothing else may write to it.
   */
  constructor(
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
  ) {
    this.#readable = readable;
    this.#writable = writable;
  }

  /** Requests received and not answered yet. */
  get pendingRequests(): number {
    return this.#inflight.size;
  }

  /**
   * Waits until every received request is answered (or cancelled).
   *
   * @param signal Stops the wait early (e.g. `AbortSignal.timeout(ms)`).
   * @returns When nothing is pending or the signal aborts.
   */
  drained(signal?: AbortSignal): Promise<void> {
    if (this.#inflight.size === 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#drainWaiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * Starts reading messages.
   *
   * @returns When reading has begun.
   * @throws {Error} When already started.
   */
  start(): Promise<void> {
    if (this.#started) {
      return Promise.reject(
        new Error("WebStreamServerTransport already started"),
      );
    }
    this.#started = true;
    this.#reader = this.#readable.getReader();
    this.#writer = this.#writable.getWriter();
    this.#readLoop(this.#reader);
    return Promise.resolve();
  }

  #settle(id: string | number | undefined): void {
    if (id === undefined || !this.#inflight.delete(id)) return;
    if (this.#inflight.size > 0) return;
    const waiters = this.#drainWaiters.splice(0);
    for (const wake of waiters) wake();
  }

  #receive(message: JSONRPCMessage): void {
    if ("method" in message) {
      if ("id" in message) {
        this.#inflight.add(message.id);
      } else if (message.method === "notifications/cancelled") {
        const id = (message.params as { requestId?: string | number })
          ?.requestId;
        queueMicrotask(() => this.#settle(id));
      }
    }
    this.onmessage?.(message);
  }

  async #readLoop(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          if (line.trim() === "") continue;
          let message: JSONRPCMessage;
          try {
            message = deserializeMessage(line);
          } catch (error) {
            this.onerror?.(toError(error));
            await this.#answerMalformed(line);
            continue;
          }
          this.#receive(message);
        }
      }
    } catch (error) {
      if (!this.#closed) this.onerror?.(toError(error));
    }
    if (this.#closed) return;
    if (this.oninputend) this.oninputend();
    else await this.close();
  }

  /**
   * Answers a line that is not a JSON-RPC message (JSON-RPC 2.0 §5.1): -32700
   * when it is not JSON, -32600 when it is JSON but no valid message (with
   * the request's id when it has a usable one). Reading goes on.
   */
  async #answerMalformed(line: string): Promise<void> {
    if (this.#closed || !this.#writer) return;
    const reply = malformedLineReply(line);
    try {
      await this.#writer.write(this.#encoder.encode(serializeMessage(reply)));
    } catch (error) {
      this.onerror?.(toError(error));
    }
  }

  /**
   * Writes one message as a JSON line.
   *
   * @param message The JSON-RPC message.
   * @throws {Error} When the transport is closed or the write fails.
   */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed || !this.#writer) {
      throw new Error("WebStreamServerTransport is not open");
    }
    try {
      await this.#writer.write(
        this.#encoder.encode(serializeMessage(message)),
      );
    } finally {
      if (!("method" in message) && "id" in message) this.#settle(message.id);
    }
  }

  /** Stops reading, flushes and closes the output, then calls `onclose`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader?.cancel().catch(() => {});
    await this.#writer?.close().catch(() => {});
    const waiters = this.#drainWaiters.splice(0);
    for (const wake of waiters) wake();
    this.onclose?.();
  }
}

/**
 * The JSON-RPC error reply to a line that is not a valid message.
 *
 * @param line The line as received.
 * @returns A -32700 (not JSON) or -32600 (not a message) error response.
 */
function malformedLineReply(line: string): JSONRPCMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32700, message: "Parse error: the line is not JSON" },
    } as unknown as JSONRPCMessage;
  }
  const id = (parsed as { id?: unknown } | null)?.id;
  return {
    jsonrpc: "2.0",
    id: typeof id === "string" || typeof id === "number" ? id : null,
    error: {
      code: -32600,
      message: "Invalid Request: the line is not a JSON-RPC 2.0 message",
    },
  } as unknown as JSONRPCMessage;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
