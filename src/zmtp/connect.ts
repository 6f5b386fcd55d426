/**
 * Opening ZMTP sockets: endpoints, the connect-retry loop and the
 * greeting/READY handshake that yields a {@linkcode ZmtpSocket}.
 *
 * @module
 */

import { delay as wait } from "../base/mod.ts";
import { ZmtpError, ZmtpProtocolError } from "./errors.ts";
import {
  encodeCommandBody,
  encodeMessage,
  type Frame,
  FrameDecoder,
  parseCommand,
} from "./frame.ts";
import {
  checkGreetingPrefix,
  encodeGreeting,
  encodeReady,
  GREETING_SIZE,
  parseGreeting,
  parseMetadata,
} from "./greeting.ts";
import { Socket, type SocketType, type ZmtpSocket } from "./socket.ts";
import {
  closeQuietly,
  errorData,
  errorMessage,
  parseErrorReason,
  readChunk,
  textDecoder,
  writeAll,
} from "./wire_io.ts";

/** Options of {@linkcode connect}. */
export interface ConnectOptions {
  /** Aborts the connect-retry loop and the handshake (rejects with `signal.reason`). */
  signal?: AbortSignal;
  /** Initial delay between refused connects in ms (default 10, doubling up to `maxRetryDelayMs`). */
  retryDelayMs?: number;
  /** Ceiling of the retry delay in ms (default 200). */
  maxRetryDelayMs?: number;
  /** Largest incoming frame body accepted (default 2 GiB - 1). */
  maxFrameSize?: number;
}

/** Options of {@linkcode openSocket}. */
export interface OpenSocketOptions {
  /** Value of the greeting's as-server octet (default false). */
  asServer?: boolean;
  /** Aborts the handshake (closes the connection, rejects with `signal.reason`). */
  signal?: AbortSignal;
  /** Largest incoming frame body accepted (default 2 GiB - 1). */
  maxFrameSize?: number;
}

const DEFAULT_RETRY_DELAY_MS = 10;
const DEFAULT_MAX_RETRY_DELAY_MS = 200;
const READ_BUFFER_SIZE = 128 * 1024;

const COMPATIBLE_PEERS: Readonly<Record<SocketType, readonly string[]>> = {
  DEALER: ["ROUTER", "DEALER", "REP"],
  ROUTER: ["DEALER", "REQ", "ROUTER"],
  REQ: ["REP", "ROUTER"],
  REP: ["REQ", "DEALER"],
  PUB: ["SUB", "XSUB"],
  SUB: ["PUB", "XPUB"],
};

/** A parsed endpoint. */
export type Endpoint =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "ipc"; path: string };

/**
 * Parses a ZeroMQ endpoint string.
 *
 * @param endpoint `"tcp://HOST:PORT"` (HOST may be `[v6]`) or `"ipc:///PATH"`.
 * @returns The transport and its address.
 * @throws {TypeError} When the endpoint has another form.
 *
 * @example
 * ```ts
 * import {
  parseEndpoint,
} from "./socket.ts";
 * const endpoint = parseEndpoint("tcp://127.0.0.1:5555");
 * console.assert(endpoint.transport === "tcp" && endpoint.port === 5555);
 * ```
 */
export function parseEndpoint(endpoint: string): Endpoint {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/\[\]]+):(\d{1,5})$/.exec(endpoint);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port > 0 && port < 65536) {
      return {
        transport: "tcp",
        hostname: tcp[1]!.replace(/^\[(.*)\]$/, "$1"),
        port,
      };
    }
  }
  const ipc = /^ipc:\/\/(.+)$/.exec(endpoint);
  if (ipc) return { transport: "ipc", path: ipc[1]! };
  throw new TypeError(
    `Cannot parse ZMTP endpoint "${endpoint}": expected "tcp://HOST:PORT" or "ipc:///PATH"`,
  );
}

/**
 * Connects a socket of `type` to `endpoint`, retrying refused connections
 * (and, for ipc, a socket file that does not exist yet) with exponential
 * backoff until `options.signal` aborts, then performs the ZMTP handshake.
 * Without a signal it retries forever.
 *
 * @param type Our socket type.
 * @param endpoint `"tcp://127.0.0.1:PORT"` or `"ipc:///path/to/sock"`.
 * @param options Abort signal and backoff.
 * @returns The open socket.
 * @throws {TypeError} On a malformed endpoint.
 * @throws {ZmtpError} When connecting fails for another reason than refusal.
 * @throws {ZmtpProtocolError} When the handshake fails or the peer's type is incompatible.
 * @throws {DOMException} `signal.reason` when the signal aborts.
 *
 * @example Talking to a kernel's shell channel
 * ```ts
 * import {
  connect,
} from "./socket.ts";
 * await using shell = await connect("DEALER", "tcp://127.0.0.1:5555", {
 *   signal: AbortSignal.timeout(10_000),
 * });
 * await shell.send([new TextEncoder().encode("hello")]);
 * for await (const message of shell) {
 *   console.log(message.length);
 *   break;
 * }
 * ```
 */
export async function connect(
  type: SocketType,
  endpoint: string,
  options: ConnectOptions = {},
): Promise<ZmtpSocket> {
  const target = parseEndpoint(endpoint);
  const { signal } = options;
  let delay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const maxDelay = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  let conn: Deno.Conn;
  for (;;) {
    signal?.throwIfAborted();
    try {
      conn = target.transport === "tcp"
        ? await Deno.connect({ hostname: target.hostname, port: target.port })
        : await Deno.connect({ transport: "unix", path: target.path });
      break;
    } catch (error) {
      const retryable = error instanceof Deno.errors.ConnectionRefused ||
        error instanceof Deno.errors.NotFound;
      if (!retryable) {
        throw new ZmtpError(
          `Cannot connect ZMTP ${type} socket to "${endpoint}": ${
            errorMessage(error)
          }`,
          { cause: error },
        );
      }
    }
    await wait(delay, signal ? { signal } : {});
    delay = Math.min(delay * 2, maxDelay);
  }
  if (signal?.aborted) {
    conn.close();
    throw signal.reason;
  }
  return await openSocket(conn, type, {
    ...(signal ? { signal } : {}),
    ...(options.maxFrameSize !== undefined
      ? { maxFrameSize: options.maxFrameSize }
      : {}),
  });
}

/**
 * Performs the greeting and NULL handshake on an established connection and
 * returns the socket. Used for accepted connections (test peers acting as a
 * PUB or ROUTER on `Deno.listen`) and by {@linkcode connect}. Sets
 * TCP_NODELAY on TCP connections. The connection is closed on failure.
 *
 * @param conn A fresh connection; the socket owns it from now on.
 * @param type Our socket type.
 * @param options As-server flag, abort signal, frame size limit.
 * @returns The open socket.
 * @throws {ZmtpProtocolError} On a bad greeting, another mechanism than NULL,
 *   a missing READY, an ERROR from the peer, or an incompatible peer socket type.
 * @throws {ZmtpClosedError} When the peer closes during the handshake.
 * @throws {DOMException} `signal.reason` when the signal aborts.
 *
 * @example A one-connection PUB server
 * ```ts
 * import {
  openSocket,
} from "./socket.ts";
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * await using pub = await openSocket(await listener.accept(), "PUB", { asServer: true });
 * for await (const subscription of pub) {
 *   if (subscription[0]?.[0] === 1) break; // the SUB subscribed
 * }
 * await pub.send([new TextEncoder().encode("news")]);
 * ```
 */
export async function openSocket(
  conn: Deno.Conn,
  type: SocketType,
  options: OpenSocketOptions = {},
): Promise<ZmtpSocket> {
  if (!(type in COMPATIBLE_PEERS)) {
    conn.close();
    throw new TypeError(
      `Cannot open ZMTP socket: unknown socket type "${type}"`,
    );
  }
  const { signal } = options;
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") {
      (conn as Deno.TcpConn).setNoDelay(true);
    }
    const decoder = new FrameDecoder(
      options.maxFrameSize !== undefined
        ? { maxFrameSize: options.maxFrameSize }
        : {},
    );
    const buffer = new Uint8Array(READ_BUFFER_SIZE);
    await writeAll(
      conn,
      encodeGreeting({ asServer: options.asServer ?? false }),
    );

    // Peer greeting: libzmq sends it in pieces, so accumulate 64 octets.
    const greeting = new Uint8Array(GREETING_SIZE);
    let filled = 0;
    const pending: Frame[] = [];
    while (filled < GREETING_SIZE) {
      const chunk = await readChunk(conn, buffer, "greeting");
      const take = Math.min(GREETING_SIZE - filled, chunk.length);
      greeting.set(chunk.subarray(0, take), filled);
      filled += take;
      checkGreetingPrefix(greeting.subarray(0, filled));
      if (take < chunk.length) {
        pending.push(...decoder.push(chunk.subarray(take)));
      }
    }
    const peerGreeting = parseGreeting(greeting);
    if (peerGreeting.mechanism !== "NULL") {
      throw new ZmtpProtocolError(
        `Cannot open ZMTP ${type} socket: peer uses security mechanism "${peerGreeting.mechanism}", only "NULL" is supported`,
      );
    }
    await writeAll(
      conn,
      encodeMessage([encodeReady({ "Socket-Type": type })], { command: true }),
    );

    // Peer READY.
    while (pending.length === 0) {
      pending.push(...decoder.push(await readChunk(conn, buffer, "READY")));
    }
    const first = pending.shift()!;
    const peerType = parsePeerReady(type, first);
    if (!COMPATIBLE_PEERS[type].includes(peerType)) {
      const reason = `incompatible socket type ${peerType}`;
      await writeAll(
        conn,
        encodeMessage([encodeCommandBody("ERROR", errorData(reason))], {
          command: true,
        }),
      ).catch(() => {});
      throw new ZmtpProtocolError(
        `Cannot open ZMTP ${type} socket: peer socket type "${peerType}" is incompatible (expected ${
          COMPATIBLE_PEERS[type].join(", ")
        })`,
      );
    }
    signal?.throwIfAborted();
    return new Socket(conn, type, {
      peerType,
      peerMinorVersion: peerGreeting.minor,
      decoder,
      buffer,
      pending,
    });
  } catch (error) {
    closeQuietly(conn);
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function parsePeerReady(type: SocketType, frame: Frame): string {
  if (!frame.command) {
    throw new ZmtpProtocolError(
      `Cannot open ZMTP ${type} socket: expected a READY command from the peer, got a message frame`,
    );
  }
  const { name, data } = parseCommand(frame.body);
  if (name === "ERROR") {
    throw new ZmtpProtocolError(
      `Cannot open ZMTP ${type} socket: peer sent ERROR: ${
        parseErrorReason(data)
      }`,
    );
  }
  if (name !== "READY") {
    throw new ZmtpProtocolError(
      `Cannot open ZMTP ${type} socket: expected a READY command from the peer, got "${name}"`,
    );
  }
  const socketType = parseMetadata(data)["socket-type"];
  if (socketType === undefined) {
    throw new ZmtpProtocolError(
      `Cannot open ZMTP ${type} socket: peer READY has no Socket-Type property`,
    );
  }
  return textDecoder.decode(socketType);
}
