/**
 * The filtering HTTP proxy a sandbox reaches the network through (SPEC §12
 * `--allow-host`). It runs outside the sandbox, in this process, on a unix
 * socket that is the sandbox's only way out (a relay inside forwards its
 * loopback port to it, see `sandbox_net.ts`). It serves `CONNECT host:port`
 * (HTTPS) and plain HTTP requests in absolute form (`GET http://host/...`),
 * each only to a host of the allow list, and answers everything else with a
 * 4xx naming the host and how to allow it.
 *
 * Attacks it is built against: a Host header that names another host than
 * the request URI (refused), userinfo in URLs (refused), origin-form requests
 * (refused: nothing to check), a second request smuggled on a kept-alive
 * connection (the upstream is told `Connection: close` and only ever is the
 * checked host), endless or huge request heads (closed after 16 s; 431
 * past 32 KiB), idle tunnels (closed after 5 minutes without a byte), and
 * connection floods (64 at a time, then 503).
 *
 * @module
 */

import { describeHint } from "./errors.ts";
import {
  type AllowedHost,
  formatHostPort,
  isAllowed,
  normalizeHost,
  splitHostPort,
} from "./allow_hosts.ts";

/** Limits of one proxy (defaults in parentheses). */
export interface ProxyLimits {
  /** Largest request head in bytes (32 KiB). */
  headBytes?: number;
  /** Time to send the whole request head in ms (16 000). */
  headTimeoutMs?: number;
  /** A connection with no byte in either direction for this long is closed, in ms (300 000). */
  idleTimeoutMs?: number;
  /** Time to connect to the upstream host in ms (15 000). */
  connectTimeoutMs?: number;
  /** Connections served at a time (64). */
  maxConnections?: number;
}

/** Options of {@linkcode startFilteringProxy}. */
export interface FilteringProxyOptions {
  /** Unix socket path to listen on (its directory should be private). */
  path: string;
  /** Hosts that may be reached. */
  allow: readonly AllowedHost[];
  /**
   * How a refused host can be allowed, for the 403 answer (default:
   * `describeHint` of adding HOST to `allowHosts`).
   */
  hint?: (host: string) => string;
  /** Called for each refused request (for logs), with `host:port` when known. */
  onRefused?: (target: string, why: string) => void;
  /** Caps and timeouts. */
  limits?: ProxyLimits;
}

/** A running proxy. */
export interface FilteringProxy extends AsyncDisposable {
  /** The unix socket path it listens on. */
  readonly path: string;
  /** Stops listening, closes every connection, removes the socket file. Idempotent. */
  close(): Promise<void>;
}

const CRLF2 = new Uint8Array([13, 10, 13, 10]);
const HOP_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "upgrade",
]);

/** A refusal: status, reason phrase and body. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly body: string,
    readonly target?: string,
  ) {
    super(body);
  }
}

function defaultHint(host: string): string {
  return describeHint({ option: "allowHosts", advice: "add", value: host });
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** A parsed request head. */
interface Head {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  /** Bytes read after the head (start of a body or of a TLS handshake). */
  rest: Uint8Array;
}

/**
 * Starts a filtering proxy on a unix socket.
 *
 * @param options Socket path, allow list, limits.
 * @returns The running proxy.
 * @example
 * ```ts
 * import { startFilteringProxy } from "./proxy.ts";
 * import { parseAllowHosts } from "./allow_hosts.ts";
 * const dir = await Deno.makeTempDir();
 * await using proxy = startFilteringProxy({
 *   path: `${dir}/proxy.sock`,
 *   allow: parseAllowHosts("pypi.org"),
 * });
 * ```
 */
export function startFilteringProxy(
  options: FilteringProxyOptions,
): FilteringProxy {
  return new FilterProxy(options);
}

class FilterProxy implements FilteringProxy {
  readonly path: string;
  readonly #options: FilteringProxyOptions;
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  #clients = 0;
  readonly #tasks = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  readonly #limits: Required<ProxyLimits>;
  #closed: Promise<void> | null = null;

  constructor(options: FilteringProxyOptions) {
    this.path = options.path;
    this.#options = options;
    const l = options.limits ?? {};
    this.#limits = {
      headBytes: l.headBytes ?? 32 * 1024,
      headTimeoutMs: l.headTimeoutMs ?? 16_000,
      idleTimeoutMs: l.idleTimeoutMs ?? 300_000,
      connectTimeoutMs: l.connectTimeoutMs ?? 15_000,
      maxConnections: l.maxConnections ?? 64,
    };
    this.#listener = Deno.listen({ transport: "unix", path: options.path });
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#clients >= this.#limits.maxConnections) {
          const refuse = this.#answer(
            conn,
            new Refusal(
              503,
              "Too many connections",
              `The sandbox's proxy serves ${this.#limits.maxConnections} connections at a time.`,
            ),
          ).finally(() => conn.close());
          refuse.catch(() => {});
          continue;
        }
        this.#conns.add(conn);
        this.#clients++;
        const task = this.#serve(conn).catch(() => {}).finally(() => {
          this.#clients--;
          this.#conns.delete(conn);
          this.#tasks.delete(task);
          try {
            conn.close();
          } catch {
            // closed already
          }
        });
        this.#tasks.add(task);
      }
    } catch {
      // listener closed
    }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    let head: Head;
    try {
      head = await this.#readHead(client);
    } catch (error) {
      if (error instanceof Refusal) await this.#answer(client, error);
      return;
    }
    let upstream: Deno.Conn;
    let first: Uint8Array;
    try {
      const target = head.method === "CONNECT"
        ? this.#connectTarget(head)
        : this.#httpTarget(head);
      upstream = await this.#dial(target.host, target.port);
      first = target.forward;
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      this.#options.onRefused?.(
        error.target ?? head.target.slice(0, 200),
        error.reason,
      );
      await this.#answer(client, error);
      return;
    }
    this.#conns.add(upstream);
    try {
      if (head.method === "CONNECT") {
        await writeAll(
          client,
          new TextEncoder().encode(
            "HTTP/1.1 200 Connection established\r\n\r\n",
          ),
        );
      }
      if (first.length > 0) await writeAll(upstream, first);
      await this.#pipe(client, upstream);
    } finally {
      this.#conns.delete(upstream);
      try {
        upstream.close();
      } catch {
        // closed already
      }
    }
  }

  /** Reads the request head within the size and time caps. */
  async #readHead(conn: Deno.Conn): Promise<Head> {
    const { headBytes, headTimeoutMs } = this.#limits;
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(8192);
    const timer = setTimeout(() => {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }, headTimeoutMs);
    try {
      while (true) {
        const end = indexOf(buf, CRLF2);
        if (end >= 0) {
          return parseHead(
            new TextDecoder("latin1").decode(buf.subarray(0, end)),
            buf.slice(end + 4),
          );
        }
        if (buf.length > headBytes) {
          throw new Refusal(
            431,
            "Request Header Fields Too Large",
            `The request head is larger than ${headBytes} bytes.`,
          );
        }
        let n: number | null;
        try {
          n = await conn.read(chunk);
        } catch {
          n = null;
        }
        if (n === null) throw new Error("closed before the request head");
        const next = new Uint8Array(buf.length + n);
        next.set(buf);
        next.set(chunk.subarray(0, n), buf.length);
        buf = next;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #check(host: string, port: number): void {
    if (isAllowed(this.#options.allow, host, port)) return;
    const shown = formatHostPort(host, port);
    const entry = port === 80 || port === 443 ? host : shown;
    const hint = (this.#options.hint ?? defaultHint)(entry);
    throw new Refusal(
      403,
      `Forbidden: ${shown} is not an allowed host (${hint})`,
      `The sandbox's network filter refused ${shown}: only allowed hosts can be reached. To allow it, ${hint}.\n`,
      shown,
    );
  }

  #connectTarget(
    head: Head,
  ): { host: string; port: number; forward: Uint8Array } {
    const parts = splitHostPort(head.target);
    const host = parts ? normalizeHost(parts.host) : null;
    if (!parts || parts.port === null || host === null) {
      throw new Refusal(
        400,
        "Bad CONNECT target",
        `CONNECT needs host:port, not "${head.target.slice(0, 200)}".\n`,
      );
    }
    this.#check(host, parts.port);
    return { host, port: parts.port, forward: head.rest };
  }

  #httpTarget(
    head: Head,
  ): { host: string; port: number; forward: Uint8Array } {
    if (!/^http:\/\//i.test(head.target)) {
      throw new Refusal(
        400,
        "Absolute http URL required",
        "This is a proxy: send requests as GET http://host/path (absolute form); HTTPS goes through CONNECT.\n",
      );
    }
    // Parsed by hand, not by URL (which rewrites 127.1 to 127.0.0.1 and
    // a backslash to a slash): the host checked is the text the client sent.
    const m = head.target.match(/^http:\/\/([^/?#]*)([/?][^#]*)?$/i);
    const authority = m?.[1] ?? "";
    if (authority.includes("@")) {
      throw new Refusal(
        400,
        "No user information in URLs",
        "The proxy refuses URLs with user information (user:password@host).\n",
      );
    }
    const parts = splitHostPort(authority);
    const host = parts ? normalizeHost(parts.host) : null;
    if (!m || !parts || host === null || /[\\\s]/.test(m[2] ?? "")) {
      throw new Refusal(
        400,
        "Bad request URL",
        `Not an http URL with a valid host: "${head.target.slice(0, 200)}".\n`,
      );
    }
    const port = parts.port ?? 80;
    const path = m[2]?.startsWith("/") ? m[2] : `/${m[2] ?? ""}`;
    const hosts = head.headers.filter(([k]) => k.toLowerCase() === "host");
    for (const [, value] of hosts) {
      const given = splitHostPort(value.trim());
      const named = given ? normalizeHost(given.host) : null;
      if (named !== host || (given!.port ?? 80) !== port) {
        throw new Refusal(
          400,
          "Host header does not match the request URL",
          `The Host header "${
            value.slice(0, 200)
          }" names another host than the request URL (${
            formatHostPort(host, port)
          }).\n`,
        );
      }
    }
    this.#check(host, port);
    const named = new Set(
      head.headers.filter(([k]) => k.toLowerCase() === "connection")
        .flatMap(([, v]) => v.split(",").map((s) => s.trim().toLowerCase())),
    );
    const lines = [
      `${head.method} ${path} ${head.version}`,
      `Host: ${parts.port === null ? authority : formatHostPort(host, port)}`,
      ...head.headers.filter(([k]) => {
        const key = k.toLowerCase();
        return key !== "host" && !HOP_HEADERS.has(key) && !named.has(key);
      }).map(([k, v]) => `${k}: ${v}`),
      "Connection: close",
      "",
      "",
    ];
    const text = new TextEncoder().encode(lines.join("\r\n"));
    const forward = new Uint8Array(text.length + head.rest.length);
    forward.set(text);
    forward.set(head.rest, text.length);
    return { host, port, forward };
  }

  async #dial(host: string, port: number): Promise<Deno.Conn> {
    const timeout = AbortSignal.timeout(this.#limits.connectTimeoutMs);
    try {
      return await Deno.connect({ hostname: host, port, signal: timeout });
    } catch (error) {
      const why = timeout.aborted
        ? `no answer within ${this.#limits.connectTimeoutMs / 1000} s`
        : (error as Error).message;
      throw new Refusal(
        502,
        "Bad Gateway",
        `Cannot connect to ${formatHostPort(host, port)}: ${why}.\n`,
      );
    }
  }

  /** Copies both ways until both sides ended, or nothing moved for the idle timeout. */
  async #pipe(a: Deno.Conn, b: Deno.Conn): Promise<void> {
    let last = Date.now();
    const idle = this.#limits.idleTimeoutMs;
    const watch = setInterval(() => {
      if (Date.now() - last < idle) return;
      for (const c of [a, b]) {
        try {
          c.close();
        } catch {
          // closed already
        }
      }
    }, Math.min(idle, 1000));
    const copy = async (from: Deno.Conn, to: Deno.Conn) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buf);
          if (n === null) break;
          last = Date.now();
          await writeAll(to, buf.subarray(0, n));
        }
        await to.closeWrite();
      } catch {
        for (const c of [a, b]) {
          try {
            c.close();
          } catch {
            // closed already
          }
        }
      }
    };
    try {
      await Promise.all([copy(a, b), copy(b, a)]);
    } finally {
      clearInterval(watch);
    }
  }

  async #answer(conn: Deno.Conn, refusal: Refusal): Promise<void> {
    const body = new TextEncoder().encode(refusal.body);
    const reason = refusal.reason.replace(/[^\x20-\x7e]/g, "?");
    const head = `HTTP/1.1 ${refusal.status} ${reason}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    try {
      await writeAll(conn, new TextEncoder().encode(head));
      await writeAll(conn, body);
    } catch {
      // the client left
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        this.#listener.close();
      } catch {
        // closed already
      }
      await this.#loop;
      for (const conn of this.#conns) {
        try {
          conn.close();
        } catch {
          // closed already
        }
      }
      await Promise.all(this.#tasks);
      await Deno.remove(this.path).catch(() => {});
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Parses a request head (request line and header lines). */
function parseHead(text: string, rest: Uint8Array): Head {
  const lines = text.split("\r\n");
  const m = lines[0]!.match(/^([A-Z]+) (\S+) (HTTP\/1\.[01])$/);
  if (!m) {
    throw new Refusal(
      400,
      "Bad request line",
      `Not an HTTP/1 request line: "${lines[0]!.slice(0, 200)}".\n`,
    );
  }
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const h = line.match(/^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/);
    if (!h) {
      throw new Refusal(
        400,
        "Bad header line",
        `Not a header line: "${line.slice(0, 200)}".\n`,
      );
    }
    headers.push([h[1]!, h[2]!]);
  }
  return { method: m[1]!, target: m[2]!, version: m[3]!, headers, rest };
}
