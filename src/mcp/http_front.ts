/**
 * The TCP front of `ipython_mcp --http` (SPEC §13): accepts connections on
 * the public address and pipes their bytes, unchanged, to `Deno.serve` on a
 * loopback port of its own (which answers 403 to any connection but the
 * front's), so what `Deno.serve` does not bound is bounded here:
 * a connection must finish its first request's headers within the header
 * timeout, is closed after the idle timeout without a byte either way, and
 * beyond the connection cap gets 503 at once. Running out of file
 * descriptors only slows accepting down and drops the connections that
 * cannot be served; the server never exits for it (the inner server is
 * started again when its accept loop dies of EMFILE).
 *
 * @module
 */

import type { Logger } from "../kernel/mod.ts";

/** Limits of {@linkcode serveGuarded}. */
export interface ConnectionLimits {
  /** Milliseconds for a connection to send its first request's headers (default 10 s). */
  headerTimeoutMs?: number;
  /** Milliseconds without a byte either way before a connection is closed (default 600 s). */
  idleTimeoutMs?: number;
  /** Most open connections (default 256); more get 503 and are closed. */
  maxConnections?: number;
}

/** Default header timeout: 10 s. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
/**
 * Default idle timeout: 600 s, above the longest silent call (python_exec's
 * 300 s cap plus a kernel start).
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
/** Default connection cap. */
export const DEFAULT_MAX_CONNECTIONS = 256;

/** A server started by {@linkcode serveGuarded}. */
export interface GuardedServer extends AsyncDisposable {
  /** The public address (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** The inner server's loopback address (serves only the front). */
  readonly innerAddr: Deno.NetAddr;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting, closes every connection and the inner server. */
  shutdown(): Promise<void>;
}

const END_OF_HEADERS = new Uint8Array([13, 10, 13, 10]);
const BUSY = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n" +
    "connection: close\r\ncontent-length: 31\r\n\r\ntoo many connections; try later",
);

function hasEndOfHeaders(window: Uint8Array): boolean {
  outer: for (let i = 0; i + 4 <= window.length; i++) {
    for (let j = 0; j < 4; j++) {
      if (window[i + j] !== END_OF_HEADERS[j]) continue outer;
    }
    return true;
  }
  return false;
}

/**
 * Serves `handler` on `hostname:port` behind the connection guard.
 *
 * @param options Address, limits, logger, and `onError` for `Deno.serve`.
 * @param handler The request handler.
 * @returns The running server.
 * @throws {Deno.errors.NotCapable} Without the listen permission.
 * @example Serving on loopback
 * ```ts ignore
 * const server = serveGuarded({ hostname: "127.0.0.1", port: 0, logger }, handler);
 * await server.shutdown();
 * ```
 */
export function serveGuarded(
  options: {
    hostname: string;
    port: number;
    logger: Logger;
    limits?: ConnectionLimits;
    onError?: (error: unknown) => Response;
  },
  handler: (request: Request) => Promise<Response>,
): GuardedServer {
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
  });
  const ports = new Set<number>();
  const inner = new Inner(
    // Only connections from the front: nobody gets around its limits.
    (request, info) =>
      ports.has(info.remoteAddr.port)
        ? handler(request)
        : Promise.resolve(new Response("Forbidden", { status: 403 })),
    options.logger,
    options.onError,
  );
  try {
    inner.start();
  } catch (error) {
    listener.close();
    throw error;
  }
  const front = new Front(
    listener,
    () => inner.port,
    ports,
    options.logger,
    options.limits,
  );
  const accepting = front.accept();
  const shutdown = async () => {
    front.close();
    await accepting;
    await inner.shutdown();
  };
  return {
    addr: listener.addr as Deno.NetAddr,
    get innerAddr() {
      return inner.addr;
    },
    get connections() {
      return front.open;
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/**
 * The inner `Deno.serve` on a loopback port, started again when it dies
 * (its accept loop ends on EMFILE when descriptors run out).
 */
class Inner {
  readonly #handler: Deno.ServeHandler<Deno.NetAddr>;
  readonly #logger: Logger;
  readonly #onError: ((error: unknown) => Response) | undefined;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #closed = false;

  constructor(
    handler: Deno.ServeHandler<Deno.NetAddr>,
    logger: Logger,
    onError: ((error: unknown) => Response) | undefined,
  ) {
    this.#handler = handler;
    this.#logger = logger;
    this.#onError = onError;
  }

  get addr(): Deno.NetAddr {
    return this.#server!.addr;
  }

  get port(): number {
    return this.#server?.addr.port ?? 0;
  }

  /** Starts the server; throws when it cannot listen. */
  start(): void {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      ...(this.#onError ? { onError: this.#onError } : {}),
    }, this.#handler);
    this.#server = server;
    server.finished.catch((error) => {
      if (this.#closed) return;
      this.#logger.error(`HTTP server stopped (${error}); starting it again`);
      void this.#restart();
    });
  }

  async #restart(): Promise<void> {
    let wait = 50;
    while (!this.#closed) {
      try {
        this.start();
        return;
      } catch (error) {
        this.#logger.warn(`HTTP server cannot restart yet: ${error}`);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 2_000);
      }
    }
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
    await this.#server?.shutdown().catch(() => {});
  }
}

class Front {
  readonly #listener: Deno.Listener;
  readonly #port: () => number;
  readonly #ports: Set<number>;
  readonly #logger: Logger;
  readonly #headerMs: number;
  readonly #idleMs: number;
  readonly #max: number;
  readonly #conns = new Set<Deno.Conn>();
  readonly #piping = new Set<Promise<void>>();
  #closed = false;

  constructor(
    listener: Deno.Listener,
    port: () => number,
    ports: Set<number>,
    logger: Logger,
    limits: ConnectionLimits = {},
  ) {
    this.#listener = listener;
    this.#port = port;
    this.#ports = ports;
    this.#logger = logger;
    this.#headerMs = limits.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
    this.#idleMs = limits.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#max = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  get open(): number {
    return this.#conns.size;
  }

  async accept(): Promise<void> {
    let backoff = 10;
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
        backoff = 10;
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) break;
        // Out of file descriptors (EMFILE) and the like: wait, go on.
        this.#logger.warn(`HTTP accept failed (${error}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 1_000);
        continue;
      }
      if (this.#conns.size >= this.#max) {
        this.#logger.warn(
          `HTTP connection refused: ${this.#max} connections are open`,
        );
        conn.write(BUSY).catch(() => {}).finally(() => close(conn));
        continue;
      }
      this.#conns.add(conn);
      let upstream: Deno.TcpConn;
      try {
        // Connected before the next accept, so the descriptor count above
        // sees it.
        upstream = await Deno.connect({
          hostname: "127.0.0.1",
          port: this.#port(),
        });
      } catch (error) {
        this.#logger.warn(`HTTP connection dropped: ${error}`);
        this.#conns.delete(conn);
        close(conn);
        continue;
      }
      // Small writes (SSE events) go out at once on both hops.
      setNoDelay(conn);
      setNoDelay(upstream);
      const piping = this.#serve(conn, upstream).finally(() => {
        this.#conns.delete(conn);
        this.#piping.delete(piping);
      });
      this.#piping.add(piping);
    }
    await Promise.all(this.#piping);
  }

  async #serve(client: Deno.Conn, upstream: Deno.TcpConn): Promise<void> {
    const localPort = (upstream.localAddr as Deno.NetAddr).port;
    this.#ports.add(localPort);
    let last = Date.now();
    let headersDone = false;
    let window = new Uint8Array(0);
    const started = Date.now();
    const done = Promise.withResolvers<void>();
    const end = () => done.resolve();
    const timer = setInterval(() => {
      const now = Date.now();
      if (!headersDone && now - started > this.#headerMs) end();
      if (now - last > this.#idleMs) end();
    }, Math.max(50, Math.min(this.#headerMs, this.#idleMs) / 4));
    const pump = async (
      from: Deno.Conn,
      to: Deno.Conn,
      watchHeaders: boolean,
    ) => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buffer);
          if (n === null) break;
          last = Date.now();
          const chunk = buffer.subarray(0, n);
          if (watchHeaders && !headersDone) {
            const joined = new Uint8Array(window.length + n);
            joined.set(window);
            joined.set(chunk, window.length);
            headersDone = hasEndOfHeaders(joined);
            window = joined.subarray(Math.max(0, joined.length - 3));
          }
          let at = 0;
          while (at < n) at += await to.write(chunk.subarray(at));
        }
      } catch {
        // Reset or closed by the other side.
      }
      end();
    };
    const both = Promise.all([
      pump(client, upstream, true),
      pump(upstream, client, false),
    ]);
    this.#onClose.add(end);
    await done.promise;
    this.#onClose.delete(end);
    clearInterval(timer);
    close(client);
    close(upstream);
    await both;
    this.#ports.delete(localPort);
  }

  readonly #onClose = new Set<() => void>();

  close(): void {
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const end of this.#onClose) end();
  }
}

function setNoDelay(conn: Deno.Conn): void {
  try {
    (conn as Deno.TcpConn).setNoDelay(true);
  } catch {
    // Not a TCP connection, or already closed.
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
