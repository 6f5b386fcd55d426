/**
 * ipython_mcp over Streamable HTTP, both MCP eras on one endpoint: a request
 * handler for `Deno.serve` that checks the bearer token, the Host and Origin
 * headers (DNS rebinding) and the body size, then routes each request by era.
 * 2025 requests (no per-request envelope) go to their MCP session: every
 * session has its own server object, its own kernel registry and a bounded
 * event store for `Last-Event-ID` resumption; only an `initialize` request
 * opens one; a session ends when the client deletes it, when it was idle for
 * the TTL, or when the service closes, and its kernels are shut down then.
 * 2026-07-28 requests (stateless) are served by the SDK's per-request
 * handler on the caller's namespace (its kernels, jobs and tasks).
 *
 * @module
 */

import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  type JSONRPCMessage,
  type McpHttpHandler,
  type RequestId,
  type Server,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "../kernel/mod.ts";
import { BoundedEventStore, type EventStoreLimits } from "./http_events.ts";
import {
  createIpythonMcpServer,
  createNamespace,
  evictedMessage,
  type McpNamespace,
} from "./server.ts";
import type { KernelLimitFacts } from "./format.ts";
import type { OutputStore } from "./output_store.ts";
import type { McpKernelRegistry } from "./tools.ts";

/** Protocol versions served: the 2026 revision and the 2025 ones. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [
  "2026-07-28",
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
];

/** Path the MCP endpoint is served at. */
export const MCP_HTTP_PATH = "/mcp";

/** Default cap on a request body (bytes): 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Default idle time before a session ends: 1800 s. */
export const DEFAULT_SESSION_TTL_MS = 1_800_000;

/** Default idle time after which a client counts as gone: 60 s. */
export const DEFAULT_RECLAIM_AFTER_MS = 60_000;

/** Default most sessions open at once. */
export const DEFAULT_MAX_SESSIONS = 100;

/** The kernels of one session, as the service uses them. */
export type SessionRegistry = McpKernelRegistry & {
  /** Working directory of the kernels. */
  readonly cwd: string;
  /** Shuts every kernel of the registry down. */
  shutdownAll(): Promise<void>;
  /** Shuts one kernel down. */
  shutdown(id: string): Promise<void>;
  /** The registry's kernel limit. */
  readonly maxKernels: number;
};

/** Options of {@linkcode McpHttpService}. */
export interface McpHttpServiceOptions {
  /**
   * The bearer token every request must carry (one user, named
   * {@linkcode DEFAULT_USER}); or use {@linkcode users}.
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

/** A count of kernel slots against a limit (a `KernelSlots`). */
export interface SlotCount {
  /** Most slots held at once. */
  readonly limit: number;
  /** Slots held now. */
  readonly used: number;
}

/** The user of a single `token`. */
export const DEFAULT_USER = "default";

/** One user of the HTTP server and their bearer token. */
export interface McpUser {
  /** User name (letters, digits, `.`, `_`, `-`). */
  name: string;
  /** Bearer token. */
  token: string;
}

/** The address the server listens on. */
export interface ListenAddress {
  /** Host name or IP the socket is bound to. */
  hostname: string;
  /** TCP port (the real one when 0 was asked for). */
  port: number;
}

/** One open MCP session (2025 era). */
interface Session {
  id: string | undefined;
  user: string;
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
  registry: SessionRegistry;
  namespace: McpNamespace;
  lastSeen: number;
  inflight: Set<RequestId>;
  timer: ReturnType<typeof setTimeout> | undefined;
  ended: Promise<void> | undefined;
}

/** Kernels the service may shut down to free their slots. */
interface Reclaimable {
  /** Their user. */
  user: string;
  /** When a call last used them (ms since the epoch). */
  lastUsed: number;
  /** Who holds them, for the log. */
  owner: string;
  registry: SessionRegistry;
  namespace: McpNamespace;
  ids: string[];
}

/**
 * Whether a host name is a loopback address (`127.0.0.0/8`, `::1`,
 * `localhost`).
 *
 * @param hostname Host name or IP literal (IPv6 with or without brackets).
 * @returns True for loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host === "localhost" || host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Whether a host is a wildcard bind (`0.0.0.0`, `::`).
 *
 * @param hostname Host name or IP literal.
 * @returns True for a wildcard address.
 */
export function isWildcardHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  return host === "0.0.0.0" || host === "::";
}

/**
 * Parses the `--http [HOST:]PORT` value.
 *
 * @param value `PORT`, `HOST:PORT` or `[IPV6]:PORT`.
 * @returns Host (default 127.0.0.1, IPv6 without brackets) and port.
 * @throws {TypeError} When the value is not of that form or the port is
 *   not 0-65535.
 * @example Parsing
 * ```ts
 * import { parseListenAddress } from "./http.ts";
 * parseListenAddress("8000"); // { hostname: "127.0.0.1", port: 8000 }
 * parseListenAddress("[::1]:0"); // { hostname: "::1", port: 0 }
 * ```
 */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(
    value.trim(),
  );
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port > 65_535) {
    throw new TypeError(
      `Cannot use --http "${value}": expected [HOST:]PORT with a port from 0 to 65535`,
    );
  }
  const hostname = (match[1] ?? "127.0.0.1").replace(/^\[(.*)\]$/, "$1");
  return { hostname, port };
}

/** `host:port` as in a Host header (IPv6 in brackets). */
function hostHeader(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

function isIpLiteral(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ||
    /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/.test(host);
}

function jsonError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }),
    { status, headers: { "content-type": "application/json", ...headers } },
  );
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/**
 * Puts the whole supported list (both eras) into a -32022 answer, where the
 * SDK's per-request handler names only the 2026 revision.
 */
async function withSupportedVersions(response: Response): Promise<Response> {
  if (
    response.status !== 400 ||
    !response.headers.get("content-type")?.includes("application/json")
  ) {
    return response;
  }
  const text = await response.text();
  let body: { error?: { code?: number; data?: Record<string, unknown> } };
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, response);
  }
  if (body.error?.code === -32022) {
    body.error.data = {
      ...body.error.data,
      supported: [...SUPPORTED_PROTOCOL_VERSIONS],
    };
  }
  return new Response(JSON.stringify(body), {
    status: response.status,
    headers: response.headers,
  });
}

/** Reads a body up to `cap` bytes; null when it is larger. */
async function readCapped(
  request: Request,
  cap: number,
): Promise<string | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > cap) {
    await request.body?.cancel().catch(() => {});
    return null;
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
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
  readonly #users: { name: string; digest: Uint8Array }[];
  readonly #sessions = new Map<string, Session>();
  readonly #opening = new Set<Session>();
  readonly #ttlMs: number;
  readonly #maxBody: number;
  readonly #maxSessions: number;
  #address: ListenAddress | undefined;
  #allowedHosts = new Set<string>();
  #closed = false;
  #modernHandler: McpHttpHandler | undefined;
  readonly #modern = new Map<
    string,
    { registry: SessionRegistry; namespace: McpNamespace }
  >();

  /**
   * Creates the service; serve its {@linkcode McpHttpService.handle} with
   * `serveGuarded` or `Deno.serve`.
   *
   * @param options Token, registry factory, logger and limits.
   */
  constructor(options: McpHttpServiceOptions) {
    const users = [
      ...(options.token === undefined
        ? []
        : [{ name: DEFAULT_USER, token: options.token }]),
      ...(options.users ?? []),
    ];
    if (users.length === 0 || users.some((user) => user.token === "")) {
      throw new TypeError("Cannot serve MCP over HTTP: a token is empty");
    }
    this.#options = options;
    this.#users = users.map((user) => ({
      name: user.name,
      digest: sha256(user.token),
    }));
    this.#ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
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
    this.#address = { hostname: address.hostname, port: address.port };
    const { hostname, port } = address;
    const names = isLoopbackHost(hostname)
      ? ["127.0.0.1", "localhost", "::1", hostname]
      : [hostname];
    for (const name of [...names, ...(this.#options.extraHostnames ?? [])]) {
      this.#allowedHosts.add(hostHeader(name, port).toLowerCase());
    }
  }

  /** Whether a Host header value (`name:port`) names this server. */
  #hostAllowed(host: string | null): boolean {
    const address = this.#address;
    if (!host || !address) return false;
    const value = host.toLowerCase();
    if (this.#allowedHosts.has(value)) return true;
    if (!isWildcardHost(address.hostname)) return false;
    // A wildcard bind answers on every interface: accept any IP literal
    // (a DNS-rebinding page can only use a name) with the bound port.
    const at = value.lastIndexOf(":");
    return at > 0 && value.slice(at + 1) === String(address.port) &&
      isIpLiteral(value.slice(0, at));
  }

  /** The user whose token the header carries, or undefined. */
  #authorized(header: string | null): string | undefined {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
    const digest = sha256(match?.[1] ?? "");
    // Equal-length digests compared in constant time, every user's: the
    // time taken tells nothing about how much of a token was right, nor
    // whose it was.
    let user: string | undefined;
    for (const candidate of this.#users) {
      if (timingSafeEqual(digest, candidate.digest)) user = candidate.name;
    }
    return match === null ? undefined : user;
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
    if (!this.#hostAllowed(request.headers.get("host"))) {
      return jsonError(
        403,
        -32000,
        "Forbidden: the Host header does not name this server",
      );
    }
    const origin = request.headers.get("origin");
    if (origin !== null && !this.#originAllowed(origin)) {
      return jsonError(403, -32000, "Forbidden: the Origin is not allowed");
    }
    const user = this.#authorized(request.headers.get("authorization"));
    if (user === undefined) {
      return jsonError(
        401,
        -32000,
        "Unauthorized: send Authorization: Bearer <CODER_MCP_TOKEN>",
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
      return await this.#serveModern(forward, body, user);
    }
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
    if (this.#sessions.size + this.#opening.size >= this.#maxSessions) {
      return jsonError(
        503,
        -32000,
        `Service Unavailable: ${this.#maxSessions} sessions are open`,
      );
    }
    return await this.#open(forward, body, user);
  };

  /**
   * The limit that refused a start of `user`'s: their share when it is
   * full and smaller than the server's limit, else the server's.
   */
  #limitFacts(user: string, registry: SessionRegistry): KernelLimitFacts {
    const slots = this.#options.kernelSlots?.(user);
    const reclaimAfterSeconds = Math.round(
      (this.#options.reclaimAfterMs ?? DEFAULT_RECLAIM_AFTER_MS) / 1000,
    );
    const named = this.#users.length > 1 ? { user } : {};
    if (
      slots && slots.user.limit < slots.server.limit &&
      slots.user.used >= slots.user.limit
    ) {
      return {
        scope: "user",
        limit: slots.user.limit,
        ...named,
        reclaimAfterSeconds,
      };
    }
    return {
      scope: "server",
      limit: slots?.server.limit ?? registry.maxKernels,
      reclaimAfterSeconds,
    };
  }

  /** The output store and masker of a namespace in `cwd`. */
  #storeOptions(
    cwd: string,
  ): { outputs?: OutputStore; mask?: (text: string) => string } {
    const { outputsFor, mask } = this.#options;
    return {
      ...(outputsFor ? { outputs: outputsFor(cwd) } : {}),
      ...(mask ? { mask } : {}),
    };
  }

  /** A user's namespace of stateless (2026) requests, made on first use. */
  #modernNamespace(user: string): McpNamespace {
    let space = this.#modern.get(user);
    if (!space) {
      const registry = this.#options.createRegistry(user);
      space = {
        registry,
        namespace: createNamespace({
          registry,
          logger: this.#options.logger,
          cwd: registry.cwd,
          exportTag: shortTag(),
          kernelLimit: () => this.#limitFacts(user, registry),
          ...this.#storeOptions(registry.cwd),
        }),
      };
      this.#modern.set(user, space);
    }
    return space.namespace;
  }

  /** Serves one 2026-07-28 request (stateless, per-request server). */
  async #serveModern(
    request: Request,
    body: unknown,
    user: string,
  ): Promise<Response> {
    this.#modernHandler ??= createMcpHandler(
      (context) =>
        createIpythonMcpServer({
          namespace: this.#modernNamespace(
            context.authInfo?.clientId ?? DEFAULT_USER,
          ),
          logger: this.#options.logger,
          ...(this.#options.version ? { version: this.#options.version } : {}),
        }),
      {
        legacy: "reject",
        maxRequestBodySize: this.#maxBody,
        onerror: (error) =>
          this.#options.logger.debug(`HTTP (2026): ${error.message}`),
      },
    );
    const response = await this.#modernHandler.fetch(request, {
      authInfo: { token: "", clientId: user, scopes: [] },
      ...(body === undefined ? {} : { parsedBody: body }),
    });
    return await withSupportedVersions(response);
  }

  #originAllowed(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    const port = url.port === ""
      ? (url.protocol === "https:" ? "443" : "80")
      : url.port;
    return this.#hostAllowed(`${url.hostname}:${port}`);
  }

  async #open(
    request: Request,
    body: unknown,
    user: string,
  ): Promise<Response> {
    const { logger } = this.#options;
    const registry = this.#options.createRegistry(user);
    const namespace = createNamespace({
      registry,
      logger,
      cwd: registry.cwd,
      exportTag: shortTag(),
      kernelLimit: () => this.#limitFacts(user, registry),
      ...this.#storeOptions(registry.cwd),
    });
    const server = createIpythonMcpServer({
      namespace,
      logger,
      ...(this.#options.version ? { version: this.#options.version } : {}),
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      eventStore: new BoundedEventStore(this.#options.eventStore),
      enableJsonResponse: this.#options.jsonResponse ?? false,
      maxRequestBodySize: this.#maxBody,
      onsessioninitialized: (id) => {
        session.id = id;
        this.#sessions.set(id, session);
        this.#arm(session, this.#ttlMs);
        logger.info(`Session ${id} opened`);
      },
      onsessionclosed: () => this.#end(session, "deleted by the client"),
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
    this.#opening.add(session);
    try {
      await server.connect(transport);
      this.#track(session);
      server.onclose = () => void this.#end(session, "closed");
      const response = await transport.handleRequest(request, {
        parsedBody: body,
      });
      if (session.id === undefined) await this.#end(session, "not initialized");
      return response;
    } catch (error) {
      await this.#end(session, "failed to open");
      throw error;
    } finally {
      this.#opening.delete(session);
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
  async reclaim(user: string): Promise<boolean> {
    const idleMs = this.#options.reclaimAfterMs ?? DEFAULT_RECLAIM_AFTER_MS;
    const now = Date.now();
    const candidates: Reclaimable[] = [];
    for (const session of this.#sessions.values()) {
      if (
        !session.ended && session.inflight.size === 0 &&
        now - session.lastSeen >= idleMs &&
        session.registry.list().length > 0 &&
        !session.namespace.tasks.busy() &&
        session.namespace.context.jobs.list().every((job) =>
          job.status !== "running"
        )
      ) {
        candidates.push({
          user: session.user,
          lastUsed: session.lastSeen,
          owner: `session ${session.id}`,
          registry: session.registry,
          namespace: session.namespace,
          ids: session.registry.list().map((kernel) => kernel.id),
        });
      }
    }
    for (const [owner, space] of this.#modern) {
      const { context } = space.namespace;
      for (const { id } of space.registry.list()) {
        const lastUsed = context.lastCall.get(id) ?? 0;
        if (now - lastUsed < idleMs || context.jobs.runningOn(id)) continue;
        let busy = true;
        try {
          busy = space.registry.get(id).busy;
        } catch {
          // Gone meanwhile: nothing to free.
        }
        if (busy) continue;
        candidates.push({
          user: owner,
          lastUsed,
          owner: `the stateless requests of ${owner}`,
          registry: space.registry,
          namespace: space.namespace,
          ids: [id],
        });
      }
    }
    candidates.sort((a, b) =>
      Number(b.user === user) - Number(a.user === user) ||
      a.lastUsed - b.lastUsed
    );
    const victim = candidates[0];
    if (!victim) return false;
    for (const id of victim.ids) {
      victim.namespace.evicted.set(id, evictedMessage(id));
      victim.namespace.context.lastCall.delete(id);
      await victim.registry.shutdown(id).catch(() => {});
    }
    this.#options.logger.info(
      `Shut down kernels ${victim.ids.join(", ")} of ${victim.owner} (idle ${
        Math.round((now - victim.lastUsed) / 1000)
      } s) to free slots for ${user}`,
    );
    return true;
  }

  /** Counts requests in flight and notes activity, both ways. */
  #track(session: Session): void {
    const { transport } = session;
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra) => {
      session.lastSeen = Date.now();
      const m = message as {
        id?: RequestId;
        method?: string;
        params?: { requestId?: RequestId };
      };
      if (m.method !== undefined && m.id !== undefined) {
        session.inflight.add(m.id);
      } else if (m.method === "notifications/cancelled") {
        const id = m.params?.requestId;
        if (id !== undefined) session.inflight.delete(id);
      }
      deliver?.(message, extra);
    };
    const send = transport.send.bind(transport);
    transport.send = (message: JSONRPCMessage, options) => {
      session.lastSeen = Date.now();
      const m = message as { id?: RequestId; method?: string };
      if (m.method === undefined && m.id !== undefined) {
        session.inflight.delete(m.id);
      }
      return send(message, options);
    };
  }

  #arm(session: Session, ms: number): void {
    clearTimeout(session.timer);
    session.timer = setTimeout(() => {
      const idle = Date.now() - session.lastSeen;
      if (session.inflight.size > 0) return this.#arm(session, this.#ttlMs);
      // A background job (running, or its result not yet polled) or an
      // MCP task keeps the session: idle expiry never ends running work.
      const job = session.namespace.context.jobs.holding();
      if (job || session.namespace.tasks.busy()) {
        this.#options.logger.info(
          `Session ${session.id} idle for ${
            Math.round(idle / 1000)
          } s but kept: ${
            job
              ? `background job ${job.id} ${
                job.status === "running" ? "runs" : "has an unread result"
              }`
              : "an MCP task runs"
          }`,
        );
        return this.#arm(session, this.#ttlMs);
      }
      if (idle < this.#ttlMs) return this.#arm(session, this.#ttlMs - idle);
      void this.#end(session, `idle for ${Math.round(idle / 1000)} s`);
    }, ms);
  }

  /** Ends a session once: closes its streams, shuts its kernels down. */
  #end(session: Session, reason: string): Promise<void> {
    if (session.ended) return session.ended;
    const done = Promise.withResolvers<void>();
    session.ended = done.promise;
    // Closing the transport calls back here (server.onclose): the promise
    // above is already set, so that call just waits.
    (async () => {
      clearTimeout(session.timer);
      if (session.id !== undefined) this.#sessions.delete(session.id);
      session.namespace.tasks.close();
      await session.transport.close().catch(() => {});
      await session.server.close().catch(() => {});
      const shutdown = this.#options.shutdownRegistry ??
        ((registry: SessionRegistry) => registry.shutdownAll());
      await shutdown(session.registry).catch((error) =>
        this.#options.logger.error(
          `Shutting down the kernels of session ${session.id} failed: ${error}`,
        )
      );
      if (session.id !== undefined) {
        this.#options.logger.info(`Session ${session.id} ended (${reason})`);
      }
    })().then(done.resolve, done.resolve);
    return session.ended;
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
    await this.#end(session, "closed by the server");
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
    const spaces = [...this.#modern.values()];
    await Promise.all([
      ...[...this.#sessions.values(), ...this.#opening].map((session) =>
        this.#end(session, "server shutting down")
      ),
      this.#modernHandler?.close().catch(() => {}),
      ...spaces.map(async (space) => {
        space.namespace.tasks.close();
        const shutdown = this.#options.shutdownRegistry ??
          ((registry: SessionRegistry) => registry.shutdownAll());
        await shutdown(space.registry).catch((error) =>
          this.#options.logger.error(
            `Shutting down the stateless kernels failed: ${error}`,
          )
        );
      }),
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
