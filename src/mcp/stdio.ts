/**
 * MCP transport over Web Streams (stdin/stdout): newline-delimited
 * JSON-RPC. Unlike the SDK's stdio transport it answers a line that is not
 * JSON with -32700 (SPEC §9), notices the end of input and keeps count of
 * requests not yet answered, so a server can answer what it was asked before
 * it exits. It can start reading before a server object is connected
 * ({@linkcode WebStreamServerTransport.listen}): the connection's opening
 * message is then answered at once when it is a handshake the server's
 * identity suffices for, and every message is held, in order, until the
 * server connects. It imports nothing of the SDK at run time.
 *
 * @module
 */

import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/server";

type RequestId = string | number;

/**
 * MCP transport over Web Streams. At the end of input it calls `oninputend`
 * when set (the output stays open until {@linkcode close}), else it closes.
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
 *
 * Tagged internal for the documentation only: it implements the MCP SDK's
 * `Transport`, whose types are the SDK's to document.
 *
 * @internal
 */
export class WebStreamServerTransport implements Transport {
  #readable: ReadableStream<Uint8Array>;
  #writable: WritableStream<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #encoder = new TextEncoder();
  #closed = false;
  #started = false;
  #listening = false;
  #seenFirst = false;
  #held: JSONRPCMessage[] = [];
  #answeredEarly = new Map<RequestId, string>();
  #first = Promise.withResolvers<JSONRPCMessage | undefined>();
  #inflight = new Set<RequestId>();
  #drainWaiters: (() => void)[] = [];
  #closedSignal = Promise.withResolvers<void>();

  /** Called once when the transport closes. */
  onclose?: () => void;
  /** Called at the end of input; when unset, the transport closes itself. */
  oninputend?: () => void;
  /** Called for unreadable lines and stream errors. */
  onerror?: (error: Error) => void;
  /** Called for each incoming message. */
  onmessage?: (message: JSONRPCMessage) => void;
  /** Sees each incoming message as it is read (before delivery). */
  onincoming?: (message: JSONRPCMessage) => void;
  /**
   * Consulted for the connection's first message when it is a request: an
   * answer returned is written at once, and the server object's own answer
   * to that id is later dropped (reported through `onerror` when it
   * differs).
   */
  answerOpening?: (
    message: JSONRPCMessage,
  ) => Record<string, unknown> | undefined;

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

  /** Resolves once the transport closed (whoever closed it). */
  get closed(): Promise<void> {
    return this.#closedSignal.promise;
  }

  /**
   * Resolves with the connection's first message once it is read (undefined
   * when the input ends or the transport closes before one).
   */
  get firstMessage(): Promise<JSONRPCMessage | undefined> {
    return this.#first.promise;
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
    if (!this.#listening) this.listen();
    // What arrived before the server connected, in order.
    for (const message of this.#held.splice(0)) this.onmessage?.(message);
    return Promise.resolve();
  }

  /**
   * Starts reading before a server object is connected: malformed lines and
   * unsupported versions are answered at once, the opening message too when
   * {@linkcode answerOpening} answers it, and every other message is held
   * until {@linkcode start}.
   *
   * @throws {Error} When already reading.
   */
  listen(): void {
    if (this.#listening) {
      throw new Error("WebStreamServerTransport already reading");
    }
    this.#listening = true;
    this.#reader = this.#readable.getReader();
    this.#writer = this.#writable.getWriter();
    this.#readLoop(this.#reader);
  }

  #settle(id: RequestId | undefined): void {
    if (id === undefined || !this.#inflight.delete(id)) return;
    if (this.#inflight.size > 0) return;
    const waiters = this.#drainWaiters.splice(0);
    for (const wake of waiters) wake();
  }

  #receive(message: JSONRPCMessage): void {
    const first = !this.#seenFirst;
    this.#seenFirst = true;
    if (first) this.#first.resolve(message);
    this.onincoming?.(message);
    const unsupported = unsupportedVersionOf(message);
    if (unsupported !== undefined && "id" in message) {
      void this.#reply({
        jsonrpc: "2.0",
        id: message.id,
        error: {
          code: -32022,
          message: `Unsupported protocol version ${unsupported}; supported: ${
            SUPPORTED_VERSIONS.join(", ")
          }`,
          data: { supported: SUPPORTED_VERSIONS, requested: unsupported },
        },
      });
      return;
    }
    if (first && "method" in message && "id" in message) {
      const answer = this.answerOpening?.(message);
      if (answer !== undefined) {
        this.#answeredEarly.set(message.id as RequestId, canonical(answer));
        void this.#reply(answer);
      }
    }
    if ("method" in message) {
      if ("id" in message) {
        if (!this.#answeredEarly.has(message.id as RequestId)) {
          this.#inflight.add(message.id as RequestId);
        }
      } else if (message.method === "notifications/cancelled") {
        const id = (message.params as { requestId?: RequestId })?.requestId;
        queueMicrotask(() => this.#settle(id));
      }
    }
    if (this.#started) this.onmessage?.(message);
    else this.#held.push(message);
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
          const message = parseMessage(line);
          if (message === undefined) {
            this.onerror?.(new Error(`Unreadable line: ${line.slice(0, 80)}`));
            await this.#answerMalformed(line);
            continue;
          }
          this.#receive(message);
        }
      }
    } catch (error) {
      if (!this.#closed) this.onerror?.(toError(error));
    }
    this.#first.resolve(undefined);
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
    await this.#reply(malformedLineReply(line));
  }

  /** Writes an answer the server object never saw; reading goes on. */
  async #reply(message: Record<string, unknown>): Promise<void> {
    if (this.#closed || !this.#writer) return;
    try {
      await this.#writer.write(
        this.#encoder.encode(JSON.stringify(message) + "\n"),
      );
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
    if (!("method" in message) && "id" in message) {
      const early = this.#answeredEarly.get(message.id as RequestId);
      if (early !== undefined) {
        // Answered before the server object was ready: never twice.
        this.#answeredEarly.delete(message.id as RequestId);
        if (canonical(message) !== early) {
          this.onerror?.(
            new EarlyAnswerMismatchError(
              `The early answer to request ${
                JSON.stringify(message.id)
              } differs from the server's: ${early} vs ${canonical(message)}`,
            ),
          );
        }
        return;
      }
    }
    try {
      await this.#writer.write(
        this.#encoder.encode(JSON.stringify(withSupported(message)) + "\n"),
      );
    } finally {
      if (!("method" in message) && "id" in message) {
        this.#settle(message.id as RequestId);
      }
    }
  }

  /** Stops reading, flushes and closes the output, then calls `onclose`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#first.resolve(undefined);
    await this.#reader?.cancel().catch(() => {});
    await this.#writer?.close().catch(() => {});
    const waiters = this.#drainWaiters.splice(0);
    for (const wake of waiters) wake();
    this.#closedSignal.resolve();
    this.onclose?.();
  }
}

/**
 * Reported through `onerror` when the server object answers a request that
 * was answered early with something else (a defect: the early answer is
 * meant to be the server's own).
 */
export class EarlyAnswerMismatchError extends Error {
  /** @param message What differed. */
  constructor(message: string) {
    super(message);
    this.name = "EarlyAnswerMismatchError";
  }
}

/** Protocol versions served over stdio: the 2026 revision and the 2025 ones. */
const SUPPORTED_VERSIONS = [
  "2026-07-28",
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
];

/** The 2026 envelope's protocol version when it is one not served. */
function unsupportedVersionOf(message: JSONRPCMessage): string | undefined {
  const meta = (message as { params?: { _meta?: Record<string, unknown> } })
    .params?._meta;
  const version = meta?.["io.modelcontextprotocol/protocolVersion"];
  if (typeof version !== "string" || SUPPORTED_VERSIONS.includes(version)) {
    return undefined;
  }
  return version;
}

/**
 * Puts the whole supported list (both eras) into a -32022 answer, where the
 * SDK's stdio entry names only the 2026 revision.
 */
function withSupported(message: JSONRPCMessage): JSONRPCMessage {
  const error = (message as { error?: { code?: number; data?: unknown } })
    .error;
  if (error?.code !== -32022) return message;
  return {
    ...message,
    error: {
      ...error,
      data: {
        ...(error.data as Record<string, unknown> | undefined),
        supported: SUPPORTED_VERSIONS,
      },
    },
  } as JSONRPCMessage;
}

/**
 * Parses one line as a JSON-RPC 2.0 message (request, notification or
 * response); undefined when it is not one.
 */
function parseMessage(line: string): JSONRPCMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return undefined;
  }
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== "2.0") return undefined;
  const idOk = typeof m.id === "string" || typeof m.id === "number";
  if (typeof m.method === "string") {
    if ("id" in m && !idOk) return undefined;
    if (
      "params" in m && (typeof m.params !== "object" || m.params === null)
    ) return undefined;
    return m as unknown as JSONRPCMessage;
  }
  if (idOk && ("result" in m || "error" in m)) {
    return m as unknown as JSONRPCMessage;
  }
  return undefined;
}

/**
 * The JSON-RPC error reply to a line that is not a valid message.
 *
 * @param line The line as received.
 * @returns A -32700 (not JSON) or -32600 (not a message) error response.
 */
function malformedLineReply(line: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32700, message: "Parse error: the line is not JSON" },
    };
  }
  const id = (parsed as { id?: unknown } | null)?.id;
  return {
    jsonrpc: "2.0",
    id: typeof id === "string" || typeof id === "number" ? id : null,
    error: {
      code: -32600,
      message: "Invalid Request: the line is not a JSON-RPC 2.0 message",
    },
  };
}

/** JSON text with object keys sorted, to compare two messages' content. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) => {
    if (typeof field !== "object" || field === null || Array.isArray(field)) {
      return field;
    }
    return Object.fromEntries(
      Object.entries(field as Record<string, unknown>).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0
      ),
    );
  });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
