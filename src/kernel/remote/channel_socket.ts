/**
 * The channels websocket of a kernel on a Jupyter server: the `ws` client
 * (loaded on first use), the handshake offering the v1 subprotocol, the
 * pong after each batch of frames, and clear errors for a rejected token, a
 * refused handshake or a kernel deleted while the server holds the
 * handshake.
 *
 * @module
 */

import { V1_SUBPROTOCOL } from "./protocol.ts";
import { type GatewayClient, GatewayError, TOKEN_HINT } from "./rest.ts";

/** Handshake deadline (the server waits for the kernel's kernel_info). */
const CONNECT_TIMEOUT_MS = 60_000;
/** Largest message the client accepts (the server caps its own at 10 MiB). */
const MAX_PAYLOAD = 256 * 1024 * 1024;
/** The server accepted the socket without selecting the offered subprotocol. */
export class NoSubprotocolError extends Error {}

/** The part of the `ws` client we use (the package ships no types). */
export interface WsSocket {
  readonly readyState: number;
  readonly protocol: string;
  // deno-lint-ignore no-explicit-any
  on(event: string, listener: (...args: any[]) => void): void;
  send(data: Uint8Array | string): void;
  pong(): void;
  close(): void;
  terminate(): void;
}

/** The `ws` constructor, as far as we use it. */
interface WsConstructor {
  new (url: string, protocols: string[], options: {
    headers: Record<string, string>;
    perMessageDeflate: boolean;
    maxPayload: number;
    handshakeTimeout: number;
  }): WsSocket;
  readonly OPEN: number;
}

/**
 * Loads `ws` on first use: local and sandboxed runs never pay for it (it
 * costs ~30 ms of module loading, measured, at every server start).
 */
function loadWebSocket(): Promise<WsConstructor> {
  return import("ws").then((mod) => mod.default as unknown as WsConstructor);
}

/** What {@linkcode openChannelSocket} needs. */
export interface ChannelSocketOptions {
  /** The REST client (channels URL, auth headers, kernel lookups). */
  client: GatewayClient;
  /** Server-side kernel id. */
  kernelId: string;
  /** Jupyter session id (the same on reconnects: the server replays). */
  session: string;
  /** Offer the v1 subprotocol. */
  offerV1: boolean;
  /** Aborts the handshake. */
  signal: AbortSignal;
  /** Receives every frame (binary for v1, text for JSON). */
  onFrame(data: Uint8Array | string): void;
  /** Called when the socket closes (also during the handshake). */
  onClose(ws: WsSocket): void;
}

/**
 * Opens a kernel's channels socket.
 *
 * @param options Client, ids, subprotocol offer and callbacks.
 * @returns The open socket (`protocol` says whether v1 was selected).
 * @throws {NoSubprotocolError} v1 was offered and the server selected none.
 * @throws {GatewayError} Refused, unreachable, or the kernel is gone.
 */
export async function openChannelSocket(
  options: ChannelSocketOptions,
): Promise<WsSocket> {
  const { client, kernelId, signal } = options;
  const location = client.location;
  const WebSocket = await loadWebSocket();
  const url = client.channelsUrl(kernelId, options.session);
  const { promise, resolve, reject } = Promise.withResolvers<WsSocket>();
  const ws = new WebSocket(url, options.offerV1 ? [V1_SUBPROTOCOL] : [], {
    headers: client.headers(),
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD,
    handshakeTimeout: CONNECT_TIMEOUT_MS,
  });
  // The server holds the handshake until the kernel answers kernel_info
  // (up to a minute): a kernel deleted or culled meanwhile shows only as
  // a 404 on the REST side.
  const poll = setInterval(() => {
    client.get(kernelId, AbortSignal.timeout(5_000)).then(
      (model) => {
        if (model) return;
        ws.terminate();
        reject(
          new GatewayError(
            `The kernel no longer exists on ${location} (deleted or culled by the server)`,
            404,
          ),
        );
      },
      () => {},
    );
  }, 1_000);
  const onAbort = () => {
    ws.terminate();
    reject(signal.reason);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  promise.finally(() => clearInterval(poll)).catch(() => {});
  let pongDue = false;
  ws.on("message", (data: Uint8Array, isBinary: boolean) => {
    // One pong per batch of frames: it carries the ACK the server's
    // Nagle-delayed second write waits for.
    if (!pongDue) {
      pongDue = true;
      queueMicrotask(() => {
        pongDue = false;
        if (ws.readyState === WebSocket.OPEN) ws.pong();
      });
    }
    options.onFrame(isBinary ? data : new TextDecoder().decode(data));
  });
  ws.on(
    "unexpected-response",
    (_req: unknown, res: { statusCode?: number }) => {
      const status = res.statusCode ?? 0;
      const rejected = status === 401 || status === 403;
      reject(
        new GatewayError(
          rejected
            ? `Cannot connect to the kernel's channels at ${location}: the token was rejected (${status}); ${
              options.client.renderHint(TOKEN_HINT)
            }`
            : `Cannot connect to the kernel's channels at ${location}: the server answered ${status}`,
          status,
          rejected ? { hints: [TOKEN_HINT] } : {},
        ),
      );
      ws.terminate();
    },
  );
  ws.on("error", (error: Error) => {
    // `ws` refuses a handshake without the subprotocol it offered.
    if (/no subprotocol/i.test(error.message)) {
      reject(new NoSubprotocolError(error.message));
      return;
    }
    reject(
      new GatewayError(
        `Cannot connect to the kernel's channels at ${location}: ${error.message}`,
        null,
      ),
    );
  });
  ws.on("open", () => {
    signal.removeEventListener("abort", onAbort);
    resolve(ws);
  });
  ws.on("close", () => {
    signal.removeEventListener("abort", onAbort);
    reject(
      new GatewayError(
        `The kernel's channels at ${location} closed during the handshake`,
        null,
      ),
    );
    options.onClose(ws);
  });
  return promise;
}
