/**
 * The 2025-era sessions of the HTTP service: each has its own server
 * object, transport, kernel registry and namespace; requests in flight and
 * the last activity are tracked both ways; a session ends once, when the
 * client deletes it, when it was idle for the TTL with no work running, or
 * when the service closes, and its kernels are shut down then.
 *
 * @module
 */

import type {
  JSONRPCMessage,
  RequestId,
  Server,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import type { Logger } from "../kernel/mod.ts";
import type { McpNamespace } from "./server.ts";
import type { McpKernelRegistry } from "./tools.ts";

/** Default idle time before a session ends: 1800 s. */
export const DEFAULT_SESSION_TTL_MS = 1_800_000;

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

/** One MCP session (2025 era), open or being opened. */
export interface Session {
  /** Its id, once `initialize` was answered. */
  id: string | undefined;
  /** The user whose token opened it. */
  user: string;
  /** Its server object. */
  server: Server;
  /** Its transport. */
  transport: WebStandardStreamableHTTPServerTransport;
  /** Its kernels. */
  registry: SessionRegistry;
  /** Its tools' state and tasks. */
  namespace: McpNamespace;
  /** Last message either way (ms since the epoch). */
  lastSeen: number;
  /** Requests of the client not answered yet. */
  inflight: Set<RequestId>;
  /** The idle timer. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Set once the session is ending: resolves when it ended. */
  ended: Promise<void> | undefined;
}

/** Options of {@linkcode SessionBook}. */
export interface SessionBookOptions {
  /** Idle milliseconds before a session ends. */
  ttlMs: number;
  /** Diagnostics. */
  logger: Logger;
  /** Shuts a session's kernels down when it ends. */
  shutdownRegistry: (registry: SessionRegistry) => Promise<void>;
}

/** The open sessions and those being opened. */
export class SessionBook {
  readonly #options: SessionBookOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #opening = new Set<Session>();

  /**
   * Creates an empty book.
   *
   * @param options TTL, logger and how kernels are shut down.
   */
  constructor(options: SessionBookOptions) {
    this.#options = options;
  }

  /** Number of open sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Number of open sessions and of sessions being opened. */
  get total(): number {
    return this.#sessions.size + this.#opening.size;
  }

  /**
   * An open session.
   *
   * @param id Its id.
   * @returns The session, or undefined.
   */
  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /**
   * The open sessions.
   *
   * @returns An iterator over them.
   */
  values(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /**
   * Notes a session being opened (its `initialize` not answered yet).
   *
   * @param session The session.
   */
  opening(session: Session): void {
    this.#opening.add(session);
  }

  /**
   * Forgets a session being opened (it is open or ended now).
   *
   * @param session The session.
   */
  opened(session: Session): void {
    this.#opening.delete(session);
  }

  /**
   * Registers a session under the id its transport gave it and starts its
   * idle timer.
   *
   * @param session The session.
   * @param id Its new id.
   */
  initialized(session: Session, id: string): void {
    session.id = id;
    this.#sessions.set(id, session);
    this.#arm(session, this.#options.ttlMs);
    this.#options.logger.info(`Session ${id} opened`);
  }

  /**
   * Counts requests in flight and notes activity, both ways, by wrapping
   * the transport's `onmessage` and `send`.
   *
   * @param session The session, its server connected.
   */
  track(session: Session): void {
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
    const { ttlMs, logger } = this.#options;
    clearTimeout(session.timer);
    session.timer = setTimeout(() => {
      const idle = Date.now() - session.lastSeen;
      if (session.inflight.size > 0) return this.#arm(session, ttlMs);
      // A background job (running, or its result not yet polled) or an
      // MCP task keeps the session: idle expiry never ends running work.
      const job = session.namespace.context.jobs.holding();
      if (job || session.namespace.tasks.busy()) {
        logger.info(
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
        return this.#arm(session, ttlMs);
      }
      if (idle < ttlMs) return this.#arm(session, ttlMs - idle);
      void this.end(session, `idle for ${Math.round(idle / 1000)} s`);
    }, ms);
  }

  /**
   * Ends a session once: closes its streams, shuts its kernels down.
   *
   * @param session The session.
   * @param reason Why, for the log.
   * @returns When it ended (the same promise on every call).
   */
  end(session: Session, reason: string): Promise<void> {
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
      await this.#options.shutdownRegistry(session.registry).catch((error) =>
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
   * Ends every session, open or being opened.
   *
   * @param reason Why, for the log.
   * @returns When all ended.
   */
  async endAll(reason: string): Promise<void> {
    await Promise.all(
      [...this.#sessions.values(), ...this.#opening].map((session) =>
        this.end(session, reason)
      ),
    );
  }
}
