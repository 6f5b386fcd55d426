/**
 * The checks every HTTP request passes before MCP sees it: the listen
 * address (`[HOST:]PORT`), the Host and Origin headers against the bound
 * address (DNS rebinding), and the body size cap; plus the JSON-RPC error
 * response the service refuses with.
 *
 * @module
 */

import { describeMcpHint, type McpHintRenderer } from "./hints.ts";

/** Path the MCP endpoint is served at. */
export const MCP_HTTP_PATH = "/mcp";

/** Default cap on a request body (bytes): 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The address the server listens on. */
export interface ListenAddress {
  /** Host name or IP the socket is bound to. */
  hostname: string;
  /** TCP port (the real one when 0 was asked for). */
  port: number;
}

/** Options of {@linkcode parseListenAddress}. */
export interface ParseListenAddressOptions {
  /**
   * Names where the value came from in the error (the CLI: `--http`);
   * default {@linkcode describeMcpHint}: `listenAddress`.
   */
  renderHint?: McpHintRenderer;
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
 * @param options How the error names the value's origin.
 * @returns Host (default 127.0.0.1, IPv6 without brackets) and port.
 * @throws {TypeError} When the value is not of that form or the port is
 *   not 0-65535.
 * @example Parsing
 * ```ts
 * import { parseListenAddress } from "./http_guards.ts";
 * parseListenAddress("8000"); // { hostname: "127.0.0.1", port: 8000 }
 * parseListenAddress("[::1]:0"); // { hostname: "::1", port: 0 }
 * ```
 */
export function parseListenAddress(
  value: string,
  options: ParseListenAddressOptions = {},
): ListenAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(
    value.trim(),
  );
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port > 65_535) {
    const name = (options.renderHint ?? describeMcpHint)({
      option: "listenAddress",
      advice: "name",
    });
    throw new TypeError(
      `Cannot use ${name} "${value}": expected [HOST:]PORT with a port from 0 to 65535`,
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

/**
 * The Host and Origin check (DNS rebinding): a request must name the bound
 * address (or, for a loopback bind, any loopback name; for a wildcard bind,
 * any IP literal) with the bound port.
 */
export class HostGuard {
  readonly #extraHostnames: readonly string[];
  #address: ListenAddress | undefined;
  readonly #allowed = new Set<string>();

  /**
   * Creates the guard; nothing is allowed until {@linkcode listening}.
   *
   * @param extraHostnames Host names accepted besides the bound address.
   */
  constructor(extraHostnames: readonly string[] = []) {
    this.#extraHostnames = extraHostnames;
  }

  /**
   * Sets the bound address the headers are checked against.
   *
   * @param address The address `Deno.serve` reported.
   */
  listening(address: ListenAddress): void {
    this.#address = { hostname: address.hostname, port: address.port };
    const { hostname, port } = address;
    const names = isLoopbackHost(hostname)
      ? ["127.0.0.1", "localhost", "::1", hostname]
      : [hostname];
    for (const name of [...names, ...this.#extraHostnames]) {
      this.#allowed.add(hostHeader(name, port).toLowerCase());
    }
  }

  /**
   * Whether a Host header value (`name:port`) names this server.
   *
   * @param host The header's value, or null when absent.
   * @returns True when allowed.
   */
  hostAllowed(host: string | null): boolean {
    const address = this.#address;
    if (!host || !address) return false;
    const value = host.toLowerCase();
    if (this.#allowed.has(value)) return true;
    if (!isWildcardHost(address.hostname)) return false;
    // A wildcard bind answers on every interface: accept any IP literal
    // (a DNS-rebinding page can only use a name) with the bound port.
    const at = value.lastIndexOf(":");
    return at > 0 && value.slice(at + 1) === String(address.port) &&
      isIpLiteral(value.slice(0, at));
  }

  /**
   * Whether an Origin header value names this server (http or https).
   *
   * @param origin The header's value.
   * @returns True when allowed.
   */
  originAllowed(origin: string): boolean {
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
    return this.hostAllowed(`${url.hostname}:${port}`);
  }
}

/**
 * A JSON-RPC error response without an id (the request never reached MCP).
 *
 * @param status HTTP status.
 * @param code JSON-RPC error code.
 * @param message The error message.
 * @param headers Extra response headers.
 * @returns The response.
 */
export function jsonError(
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

/**
 * Reads a request body up to `cap` bytes.
 *
 * @param request The request.
 * @param cap Largest body in bytes.
 * @returns The body text; null when it is larger (the body is cancelled).
 */
export async function readCapped(
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
