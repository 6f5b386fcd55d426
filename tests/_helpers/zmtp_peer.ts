/**
 * A one-connection ZMTP server peer on 127.0.0.1 for tests: it listens on a
 * free port, accepts the first connection and performs the handshake with our
 * own `openSocket()`, so tests talk to a real socket over loopback instead of
 * a mock.
 *
 * @module
 */

import { openSocket, type ZmtpSocket } from "../../src/zmtp/mod.ts";

/** Socket types a test peer can take (the server side of the kernel channels). */
export type ZmtpPeerType = "PUB" | "ROUTER" | "REP";

/** Options of {@linkcode startZmtpPeer}. */
export interface ZmtpPeerOptions {
  /** Aborts waiting for the connection and the handshake (`accepted` rejects). */
  signal?: AbortSignal;
}

/** A listening test peer. */
export interface ZmtpPeer extends AsyncDisposable {
  /** `"tcp://127.0.0.1:PORT"`, for `connect()` or a Jupyter connection file. */
  readonly endpoint: string;
  /** The listening port. */
  readonly port: number;
  /**
   * Resolves with the peer's socket once the first client connected and the
   * handshake completed; rejects if the handshake fails (e.g. the client's
   * socket type is incompatible) or the peer is disposed first.
   */
  readonly accepted: Promise<ZmtpSocket>;
  /** Stops listening and closes the accepted socket, if any. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a test peer of `type` on 127.0.0.1, port 0.
 *
 * A PUB peer sends only what matches the client's subscriptions and yields the
 * subscription messages it receives (`[0x01, ...topic]`), so wait for one
 * before publishing. A ROUTER peer adds no identity frames.
 *
 * @param type The peer's socket type.
 * @param options Abort signal for accepting.
 * @returns The listening peer (synchronously); dispose it with `await using`.
 *
 * @example Publishing a forged iopub frame to a SUB client
 * ```ts
 * import { startZmtpPeer } from "./zmtp_peer.ts";
 * import { connect } from "../../src/zmtp/mod.ts";
 * await using peer = startZmtpPeer("PUB");
 * await using sub = await connect("SUB", peer.endpoint);
 * await sub.subscribe();
 * const pub = await peer.accepted;
 * await pub.receive(); // the subscription
 * await pub.send([new TextEncoder().encode("forged")]);
 * ```
 */
export function startZmtpPeer(
  type: ZmtpPeerType,
  options: ZmtpPeerOptions = {},
): ZmtpPeer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let conn: Deno.Conn | undefined;
  let socket: ZmtpSocket | undefined;
  let disposed = false;
  const accepted = (async () => {
    conn = await listener.accept();
    closeQuietly(listener); // one connection only; later connects are refused
    if (disposed) {
      closeQuietly(conn);
      throw new Error("ZMTP test peer was disposed before the handshake");
    }
    socket = await openSocket(conn, type, {
      asServer: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (disposed) socket.close();
    return socket;
  })();
  // The caller may never await `accepted` (e.g. a test that fails early).
  accepted.catch(() => {});
  const onAbort = () => closeQuietly(listener);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    endpoint: `tcp://127.0.0.1:${port}`,
    port,
    accepted,
    async [Symbol.asyncDispose]() {
      disposed = true;
      options.signal?.removeEventListener("abort", onAbort);
      closeQuietly(listener);
      if (conn && !socket) closeQuietly(conn); // unblocks a stuck handshake
      await accepted.catch(() => {});
      if (socket) await socket[Symbol.asyncDispose]();
    },
  };
}

function closeQuietly(resource: Deno.Listener | Deno.Conn): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}
