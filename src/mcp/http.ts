/**
 * ipython_mcp over Streamable HTTP, both MCP eras on one endpoint: a request
 * handler for `Deno.serve` that checks the Host and Origin headers (DNS
 * rebinding, `http_guards.ts`), the bearer token (`http_users.ts`) and the
 * body size, then routes each request by era. 2025 requests (no
 * per-request envelope) go to their MCP session (`http_sessions.ts`): only
 * an `initialize` request opens one, with its own server object, kernel
 * registry and a bounded event store for `Last-Event-ID` resumption.
 * 2026-07-28 requests (stateless) are served by the SDK's per-request
 * handler on the caller's namespace (`http_stateless.ts`). At the kernel
 * limit, slots of clients that went away are reclaimed (`http_reclaim.ts`).
 *
 * @module
 */

import {
  isInitializeRequest,
  isLegacyRequest,
  type Server,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import type { Logger } from "../kernel/mod.ts";
import { BoundedEventStore, type EventStoreLimits } from "./http_events.ts";
import {
  DEFAULT_MAX_BODY_BYTES,
  HostGuard,
  jsonError,
  type ListenAddress,
  MCP_HTTP_PATH,
  readCapped,
} from "./http_guards.ts";
import {
  DEFAULT_RECLAIM_AFTER_MS,
  limitFacts,
  reclaimSlots,
  type SlotCount,
} from "./http_reclaim.ts";
import {
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_TTL_MS,
  type Session,
  SessionBook,
  type SessionRegistry,
} from "./http_sessions.ts";
import { StatelessRequests } from "./http_stateless.ts";
import {
  BearerTokens,
  type McpUser,
  unauthorizedMessage,
} from "./http_users.ts";
import type { McpHintRenderer } from "./hints.ts";
import {
  createIpythonMcpServer,
  createNamespace,
  type McpNamespace,
} from "./server.ts";
import type { OutputStore } from "./output_store.ts";

/** Options of {@linkcode McpHttpService}. */
export interface McpHttpServiceOptions {
  /**
   * The bearer token every request must carry (one user, named
   * `default`: `DEFAULT_USER`); or use {@linkcode users}.
   */
  token?: string;
  /**
   * Users and their tokens (`CODER_MCP_TOKENS_FILE`): each user has their
   * own kernels, jobs, tasks and sessions; another user's are "not found".
   */
  users?: readonly McpUser[];
  /**
   * Creates a kernel registry (nothing is spawned yet): one per 2025
   * session, one for each user's stateless (2026) requests.
   */
  createRegistry: (user: string) => SessionRegistry;
  /**
   * Shuts a session's kernels down when it ends; default
   * `registry.shutdownAll()`.
   */
  shutdownRegistry?: (registry: SessionRegistry) => Promise<void>;
  /** Diagnostics; must not write to stdout. */
  logger: Logger;
  /** Version reported in `initialize`. */
  version?: string;
  /** The store for a working directory's saved outputs; default its `.ipython_mcp/`. */
  outputsFor?: (cwd: string) => OutputStore;
  /** Masks every known secret in answers and saved outputs; default none. */
  mask?: (text: string) => string;
  /**
   * Words the settings the service's messages name (the token in a 401,
   * the limit in a kernel-limit refusal); default `describeMcpHint`
   * (option names). The CLI passes its flags and variables.
   */
  renderHint?: McpHintRenderer;
  /** Idle milliseconds before a session ends (default 1800 s). */
  sessionTtlMs?: number;
  /**
   * Idle milliseconds after which a session counts as abandoned: at the
   * kernel limit its kernels may be shut down for others (default 60 s).
   */
  reclaimAfterMs?: number;
  /**
   * The kernel slots a user's starts draw from: the user's share and the
   * server's (both `limit` and `used`), so a refusal names the limit that
   * applied. Default: the server's limit is named.
   */
  kernelSlots?: (user: string) => { user: SlotCount; server: SlotCount };
  /** Largest request body in bytes (default 4 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Most sessions at once (default 100); more get 503. */
  maxSessions?: number;
  /** Limits of each session's event store. */
  eventStore?: EventStoreLimits;
  /** Answer POSTs with one JSON body instead of an SSE stream (default false). */
  jsonResponse?: boolean;
  /**
   * Host names accepted in `Host` and `Origin` besides the bound address
   * (e.g. the machine's name for a wildcard bind). The port must match.
   */
  extraHostnames?: readonly string[];
}

/**
 * The HTTP side of ipython_mcp: authentication, DNS-rebinding checks, body
 * cap and sessions. Pass {@linkcode handle} to `Deno.serve` and call
 * {@linkcode listening} with the bound address before the first request.
 *
 * @example Serving on loopback
 * ```ts ignore
 * import { KernelRegistry } from "../kernel/mod.ts";
 * import { McpHttpService } from "./http.ts";
 * const service = new McpHttpService({
 *   token: "secret",
 *   logger,
 *   createRegistry: () => new KernelRegistry({ cwd, launch: { env: {} } }),
 * });
 * const server = Deno.serve({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   onListen: (addr) => service.listening(addr),
 * }, service.handle);
 * // ...
 * await service.close();
 * await server.shutdown();
 * ```
 */
export class McpHttpService implements AsyncDisposable {
  readonly #options: McpHttpServiceOptions;
  readonly #tokens: BearerTokens;
  readonly #hosts: HostGuard;
  readonly #sessions: SessionBook;
  readonly #stateless: StatelessRequests;
  readonly #maxBody: number;
  readonly #maxSessions: number;
  #closed = false;

  /**
   * Creates the service; serve its {@linkcode McpHttpService.handle} with
   * `serveGuarded` or `Deno.serve`.
   *
   * @param options Token, registry factory, logger and limits.
   * @throws {TypeError} When no token is given or one is empty.
   */
  constructor(options: McpHttpServiceOptions) {
    this.#tokens = new BearerTokens(options.token, options.users);
    this.#options = options;
    this.#hosts = new HostGuard(options.extraHostnames);
    this.#maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    const shutdownRegistry = options.shutdownRegistry ??
      ((registry: SessionRegistry) => registry.shutdownAll());
    this.#sessions = new SessionBook({
      ttlMs: options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
      logger: options.logger,
      shutdownRegistry,
    });
    this.#stateless = new StatelessRequests({
      createSpace: (user) => {
        const registry = options.createRegistry(user);
        return { registry, namespace: this.#namespace(user, registry) };
      },
      createServer: (namespace) => this.#server(namespace),
      maxBodyBytes: this.#maxBody,
      logger: options.logger,
      shutdownRegistry,
    });
  }

  /** Number of open sessions. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Sets the bound address; `Host` and `Origin` are checked against it.
   *
   * @param address The address `Deno.serve` reported (`onListen`).
   */
  listening(address: ListenAddress): void {
    this.#hosts.listening(address);
  }

  /**
   * Answers one HTTP request.
   *
   * @param request The request.
   * @returns The response (JSON, SSE stream or an error status).
   */
  handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname !== MCP_HTTP_PATH) {
      return jsonError(
        404,
        -32000,
        `Not found: MCP is served at ${MCP_HTTP_PATH}`,
      );
    }
    if (!this.#hosts.hostAllowed(request.headers.get("host"))) {
      return jsonError(
        403,
        -32000,
        "Forbidden: the Host header does not name this server",
      );
    }
    const origin = request.headers.get("origin");
    if (origin !== null && !this.#hosts.originAllowed(origin)) {
      return jsonError(403, -32000, "Forbidden: the Origin is not allowed");
    }
    const user = this.#tokens.userOf(request.headers.get("authorization"));
    if (user === undefined) {
      return jsonError(
        401,
        -32000,
        unauthorizedMessage(this.#options.renderHint, {
          token: this.#options.token !== undefined,
          users: (this.#options.users?.length ?? 0) > 0,
        }),
        { "www-authenticate": 'Bearer realm="ipython_mcp"' },
      );
    }
    if (this.#closed) {
      return jsonError(503, -32000, "Service Unavailable: shutting down");
    }
    let body: unknown = undefined;
    let forward = request;
    if (request.method === "POST") {
      const text = await readCapped(request, this.#maxBody);
      if (text === null) {
        return jsonError(
          413,
          -32000,
          `Payload Too Large: the request body exceeds ${this.#maxBody} bytes`,
        );
      }
      try {
        body = JSON.parse(text);
      } catch {
        return jsonError(400, -32700, "Parse error: Invalid JSON");
      }
      forward = new Request(request.url, {
        method: "POST",
        headers: request.headers,
        body: text,
        signal: request.signal,
      });
    }
    if (!await isLegacyRequest(forward, body)) {
      return await this.#stateless.serve(forward, body, user);
    }
    return await this.#serveLegacy(request, forward, body, user);
  };

  /** Routes a 2025 request to its session, or opens one on `initialize`. */
  async #serveLegacy(
    request: Request,
    forward: Request,
    body: unknown,
    user: string,
  ): Promise<Response> {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId !== null) {
      const session = this.#sessions.get(sessionId);
      if (!session || session.ended || session.user !== user) {
        return jsonError(404, -32001, "Session not found");
      }
      session.lastSeen = Date.now();
      return await session.transport.handleRequest(
        forward,
        body === undefined ? {} : { parsedBody: body },
      );
    }
    if (request.method !== "POST") {
      if (!["GET", "DELETE"].includes(request.method)) {
        return jsonError(405, -32000, "Method not allowed", {
          allow: "GET, POST, DELETE",
        });
      }
      return jsonError(
        400,
        -32000,
        "Bad Request: Mcp-Session-Id header is required",
      );
    }
    if (!isInitializeRequest(body)) {
      return jsonError(
        400,
        -32000,
        "Bad Request: Mcp-Session-Id header is required (only an initialize request starts a session)",
      );
    }
    if (this.#sessions.total >= this.#maxSessions) {
      return jsonError(
        503,
        -32000,
        `Service Unavailable: ${this.#maxSessions} sessions are open`,
      );
    }
    return await this.#open(forward, body, user);
  }

  /** A namespace over `registry` for `user`'s calls (nothing is spawned). */
  #namespace(user: string, registry: SessionRegistry): McpNamespace {
    const { outputsFor, mask, logger, renderHint } = this.#options;
    return createNamespace({
      registry,
      logger,
      cwd: registry.cwd,
      exportTag: shortTag(),
      kernelLimit: () =>
        limitFacts({
          user,
          registry,
          ...(this.#options.kernelSlots
            ? { slots: this.#options.kernelSlots(user) }
            : {}),
          reclaimAfterMs: this.#options.reclaimAfterMs ??
            DEFAULT_RECLAIM_AFTER_MS,
          nameUser: this.#tokens.count > 1,
        }),
      ...(outputsFor ? { outputs: outputsFor(registry.cwd) } : {}),
      ...(mask ? { mask } : {}),
      ...(renderHint ? { renderHint } : {}),
    });
  }

  /** The server object answering on a namespace. */
  #server(namespace: McpNamespace): Server {
    return createIpythonMcpServer({
      namespace,
      logger: this.#options.logger,
      ...(this.#options.version ? { version: this.#options.version } : {}),
    });
  }

  /** Opens a session with its `initialize` request. */
  async #open(
    request: Request,
    body: unknown,
    user: string,
  ): Promise<Response> {
    const { logger } = this.#options;
    const registry = this.#options.createRegistry(user);
    const namespace = this.#namespace(user, registry);
    const server = this.#server(namespace);
    const sessions = this.#sessions;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      eventStore: new BoundedEventStore(this.#options.eventStore),
      enableJsonResponse: this.#options.jsonResponse ?? false,
      maxRequestBodySize: this.#maxBody,
      onsessioninitialized: (id) => sessions.initialized(session, id),
      onsessionclosed: () => sessions.end(session, "deleted by the client"),
    });
    const session: Session = {
      id: undefined,
      user,
      server,
      transport,
      registry,
      namespace,
      lastSeen: Date.now(),
      inflight: new Set(),
      timer: undefined,
      ended: undefined,
    };
    transport.onerror = (error) =>
      logger.debug(`HTTP transport: ${error.message}`);
    sessions.opening(session);
    try {
      await server.connect(transport);
      sessions.track(session);
      server.onclose = () => void sessions.end(session, "closed");
      const response = await transport.handleRequest(request, {
        parsedBody: body,
      });
      if (session.id === undefined) {
        await sessions.end(session, "not initialized");
      }
      return response;
    } catch (error) {
      await sessions.end(session, "failed to open");
      throw error;
    } finally {
      sessions.opened(session);
    }
  }

  /**
   * Frees kernel slots at the limit, least recently used first, the asking
   * user's own first: the kernels of a session whose client went away
   * (idle for the reclaim time, nothing in flight, no running job or
   * task), or one kernel of a user's stateless (2026) namespace that no
   * call named for the reclaim time and that runs no code and no job. Its
   * owner is told on the next call to such a kernel.
   *
   * @param user The user whose kernel start hit the limit.
   * @returns True when kernels were shut down.
   */
  reclaim(user: string): Promise<boolean> {
    return reclaimSlots(user, {
      sessions: this.#sessions.values(),
      stateless: this.#stateless.entries(),
      idleMs: this.#options.reclaimAfterMs ?? DEFAULT_RECLAIM_AFTER_MS,
      logger: this.#options.logger,
    });
  }

  /**
   * Ends one session (as a DELETE would).
   *
   * @param id The session id.
   * @returns When its kernels are shut down; false for an unknown id.
   */
  async closeSession(id: string): Promise<boolean> {
    const session = this.#sessions.get(id);
    if (!session) return false;
    await this.#sessions.end(session, "closed by the server");
    return true;
  }

  /**
   * Refuses new requests and ends every session, shutting all their
   * kernels down.
   *
   * @returns When every session ended.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([
      this.#sessions.endAll("server shutting down"),
      this.#stateless.close(),
    ]);
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A short random tag (8 hex digits) naming one namespace's default files. */
function shortTag(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
