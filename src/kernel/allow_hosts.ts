/**
 * The host allow list of a sandbox's network filter (SPEC §12
 * `--allow-host`): entries `HOST` (ports 80 and 443) or `HOST:PORT`, with
 * IPv6 literals in brackets. Names are compared exactly (lower case, no
 * trailing dot): a request names what it reaches, so `127.1` is not
 * `127.0.0.1` and a name is allowed whatever it resolves to.
 *
 * @module
 */

/** One allowed host, with its ports (null: 80 and 443). */
export interface AllowedHost {
  /** Lower-case name or IP literal (IPv6 without brackets). */
  host: string;
  /** The one allowed port, or null for 80 and 443. */
  port: number | null;
}

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV6 = /^[0-9a-f:.]+$/;

/** Ports an entry without a port allows. */
export const DEFAULT_ALLOWED_PORTS: readonly number[] = [80, 443];

/**
 * Normalizes a host name or IP literal as it appears in a request, or
 * returns null when it is not a valid host.
 *
 * @param host Name, IPv4 literal, or IPv6 literal with or without brackets.
 * @returns The lower-case host without brackets or trailing dot, or null.
 */
export function normalizeHost(host: string): string | null {
  let h = host.toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) {
    h = h.slice(1, -1);
    return IPV6.test(h) && h.includes(":") ? h : null;
  }
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h.length > 0 && h.length <= 253 && NAME.test(h) ? h : null;
}

/**
 * Splits `host:port`, `[v6]:port`, `host` or `[v6]` into host and port.
 *
 * @param text The authority.
 * @returns Host (unnormalized) and port (null when absent), or null when malformed.
 */
export function splitHostPort(
  text: string,
): { host: string; port: number | null } | null {
  const v6 = text.match(/^(\[[^\]]*\])(?::(\d{1,5}))?$/);
  const plain = text.match(/^([^:[\]]+)(?::(\d{1,5}))?$/);
  const m = v6 ?? plain;
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host: m[1]!, port };
}

/**
 * Parses `--allow-host` values or `CODER_SANDBOX_ALLOW_HOSTS` (entries
 * separated by commas or white space; empty entries ignored).
 *
 * @param values One or more comma-separated lists.
 * @returns The entries, duplicates removed.
 * @throws {RangeError} Naming the first malformed entry.
 * @example
 * ```ts
 * import { parseAllowHosts } from "./allow_hosts.ts";
 * parseAllowHosts("pypi.org,files.pythonhosted.org,127.0.0.1:8080");
 * ```
 */
export function parseAllowHosts(
  values: string | readonly string[],
): AllowedHost[] {
  const list = typeof values === "string" ? [values] : values;
  const out: AllowedHost[] = [];
  const seen = new Set<string>();
  for (const raw of list.flatMap((v) => v.split(/[\s,]+/))) {
    if (raw === "") continue;
    const parts = splitHostPort(raw);
    const host = parts ? normalizeHost(parts.host) : null;
    if (!parts || host === null) {
      throw new RangeError(
        `Not a host or host:port: "${raw}" (examples: pypi.org, 127.0.0.1:8080, [::1]:8080)`,
      );
    }
    const key = `${host} ${parts.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ host, port: parts.port });
  }
  return out;
}

/**
 * Whether an allow list lets a request reach `host:port`.
 *
 * @param allow The allow list.
 * @param host The request's host, normalized by {@linkcode normalizeHost}.
 * @param port The request's port.
 * @returns True when an entry names exactly this host and allows the port.
 */
export function isAllowed(
  allow: readonly AllowedHost[],
  host: string,
  port: number,
): boolean {
  return allow.some((entry) =>
    entry.host === host &&
    (entry.port === null
      ? DEFAULT_ALLOWED_PORTS.includes(port)
      : entry.port === port)
  );
}

/**
 * Shows a host and port as a request would name it (`[v6]:port`).
 *
 * @param host Normalized host.
 * @param port Port.
 * @returns `host:port`.
 */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
