/**
 * Small servers on 127.0.0.1 for network-filter tests: an HTTP server that
 * records what it was asked, and a raw client for a proxy's unix socket.
 *
 * @module
 */

/** A running HTTP server on 127.0.0.1. */
export interface HttpTarget extends AsyncDisposable {
  /** Its port. */
  port: number;
  /** `METHOD path host` of every request, in order. */
  requests: string[];
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Serves `handler` (default: "hello from PORT") on 127.0.0.1, recording requests.
 *
 * @param handler Answers one request.
 * @returns The server.
 */
export function serveTarget(
  handler?: (request: Request) => Response | Promise<Response>,
): HttpTarget {
  const requests: string[] = [];
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request): Response | Promise<Response> => {
      const url = new URL(request.url);
      requests.push(
        `${request.method} ${url.pathname} ${request.headers.get("host")}`,
      );
      return handler
        ? handler(request)
        : new Response(`hello from ${server.addr.port}`);
    },
  );
  return {
    port: server.addr.port,
    requests,
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/**
 * Sends raw bytes to a unix socket and reads until the peer closes (or
 * `until` matches what arrived), then closes.
 *
 * @param path Socket path.
 * @param data What to send (several writes when an array).
 * @param until Stops reading once the text so far matches.
 * @returns Everything read.
 */
export async function rawExchange(
  path: string,
  data: string | readonly (string | Uint8Array)[],
  until?: RegExp,
): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    for (const part of typeof data === "string" ? [data] : data) {
      const bytes = typeof part === "string"
        ? new TextEncoder().encode(part)
        : part;
      try {
        let off = 0;
        while (off < bytes.length) {
          off += await conn.write(bytes.subarray(off));
        }
      } catch {
        break; // the proxy closed early: read its answer
      }
    }
    let text = "";
    const buf = new Uint8Array(65536);
    while (!until || !until.test(text)) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}
