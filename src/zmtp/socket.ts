/**
 * ZMTP 3 sockets (NULL mechanism) over one Deno connection each: the
 * greeting/READY handshake, one event-driven read loop per connection feeding
 * an unbounded queue, and per-socket-type envelopes (REQ/REP delimiters,
 * PUB/SUB subscriptions).
 *
 * @module
 */

import { delay as wait } from "../base/mod.ts";
import { ZmtpClosedError, ZmtpError, ZmtpProtocolError } from "./errors.ts";
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

/** The ZeroMQ socket types this module speaks. */
export type SocketType = "DEALER" | "SUB" | "REQ" | "ROUTER" | "PUB" | "REP";

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

/** Options of {@linkcode ZmtpSocket.receive}. */
export interface ReceiveOptions {
  /** Stops waiting (rejects with `signal.reason`); the socket stays open. */
  signal?: AbortSignal;
}

/**
 * One ZMTP connection with the semantics of a ZeroMQ socket type.
 *
 * Incoming messages are read eagerly into an unbounded queue by a single read
 * loop, so a slow consumer never makes a PUB peer drop messages. Iterate with
 * `for await` (single consumer; leaving the loop does not close the socket).
 *
 * Single-peer semantics: ROUTER adds/consumes no identity frames; REQ adds the
 * empty delimiter on send and strips it on receive (strict send/receive
 * alternation is not enforced); REP strips the envelope of each request and
 * puts it back on the matching reply; SUB filters by its subscriptions; PUB
 * sends only messages matching the peer's subscriptions and yields the
 * subscription messages it receives (`[0x01, ...topic]` subscribe,
 * `[0x00, ...topic]` cancel), like an XPUB, so a test peer can wait for them.
 */
export interface ZmtpSocket
  extends AsyncIterable<Uint8Array[]>, AsyncDisposable {
  /** Our socket type. */
  readonly type: SocketType;
  /** The peer's Socket-Type from its READY command. */
  readonly peerType: string;
  /** The peer's ZMTP minor version (0 for 3.0, 1 for 3.1). */
  readonly peerMinorVersion: number;
  /** Why the connection ended: undefined while open, after EOF and after `close()`. */
  readonly error: Error | undefined;
  /**
   * Sends one multipart message with a single write.
   *
   * @param frames The frames, at least one (REQ adds the empty delimiter, REP the request envelope).
   * @returns Resolves once written to the connection.
   * @throws {ZmtpClosedError} When the connection is closed or the write fails.
   * @throws {TypeError} On a SUB socket, or on REP without a pending request.
   * @throws {RangeError} When `frames` is empty.
   */
  send(frames: readonly Uint8Array[]): Promise<void>;
  /**
   * Subscribes a SUB socket to messages whose first frame starts with `topic`.
   *
   * @param topic Prefix; default empty = every message.
   * @returns Resolves once the subscription is written.
   * @throws {TypeError} When the socket is not SUB.
   * @throws {ZmtpClosedError} When the connection is closed.
   */
  subscribe(topic?: Uint8Array): Promise<void>;
  /**
   * Cancels one earlier `subscribe(topic)` of a SUB socket.
   *
   * @param topic The prefix given to `subscribe`; default empty.
   * @returns Resolves once the cancel is written.
   * @throws {TypeError} When the socket is not SUB.
   * @throws {ZmtpClosedError} When the connection is closed.
   */
  unsubscribe(topic?: Uint8Array): Promise<void>;
  /**
   * Takes the next whole message.
   *
   * @param options `signal` stops the wait.
   * @returns The message frames.
   * @throws {ZmtpClosedError} When the connection ended and the queue is empty.
   * @throws {TypeError} When another receive or iteration step is already waiting.
   */
  receive(options?: ReceiveOptions): Promise<Uint8Array[]>;
  /**
   * Yields whole messages until the connection ends (after draining what was
   * queued) or `close()` is called (immediately).
   *
   * @returns An iterator; only one `next()` may be pending at a time.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array[]>;
  /** Resolves (never rejects) when the connection has ended and its read loop has stopped. */
  readonly closed: Promise<void>;
  /** Closes the connection; idempotent. Pending and later iteration steps end. */
  close(): void;
  /** Closes and waits for `closed`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_RETRY_DELAY_MS = 10;
const DEFAULT_MAX_RETRY_DELAY_MS = 200;
const READ_BUFFER_SIZE = 128 * 1024;
const EMPTY = new Uint8Array(0);

const COMPATIBLE_PEERS: Readonly<Record<SocketType, readonly string[]>> = {
  DEALER: ["ROUTER", "DEALER", "REP"],
  ROUTER: ["DEALER", "REQ", "ROUTER"],
  REQ: ["REP", "ROUTER"],
  REP: ["REQ", "DEALER"],
  PUB: ["SUB", "XSUB"],
  SUB: ["PUB", "XPUB"],
};

const textDecoder = new TextDecoder();

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
 * import { parseEndpoint } from "./socket.ts";
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
 * import { connect } from "./socket.ts";
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
 * import { openSocket } from "./socket.ts";
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

interface SocketInit {
  peerType: string;
  peerMinorVersion: number;
  decoder: FrameDecoder;
  buffer: Uint8Array;
  pending: Frame[];
}

interface Waiter {
  resolve(message: Uint8Array[] | null): void;
  reject(error: unknown): void;
}

/** FIFO with amortised O(1) shift. */
class Queue<T> {
  #items: T[] = [];
  #head = 0;
  get size(): number {
    return this.#items.length - this.#head;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

class Socket implements ZmtpSocket {
  readonly type: SocketType;
  readonly peerType: string;
  readonly peerMinorVersion: number;
  readonly closed: Promise<void>;
  readonly #conn: Deno.Conn;
  readonly #decoder: FrameDecoder;
  readonly #queue = new Queue<Uint8Array[]>();
  #waiter: Waiter | null = null;
  #partial: Uint8Array[] = [];
  #writeTail: Promise<void> = Promise.resolve();
  #closing = false; // close() was called
  #ended = false; // no more messages will be queued
  #error: Error | undefined;
  /** SUB: our topics. PUB: the peer's topics. */
  readonly #topics: Uint8Array[] = [];
  /** REP: envelopes of requests not yet answered. */
  readonly #envelopes = new Queue<Uint8Array[]>();

  constructor(conn: Deno.Conn, type: SocketType, init: SocketInit) {
    this.#conn = conn;
    this.type = type;
    this.peerType = init.peerType;
    this.peerMinorVersion = init.peerMinorVersion;
    this.#decoder = init.decoder;
    this.closed = this.#readLoop(init.buffer, init.pending);
  }

  get error(): Error | undefined {
    return this.#error;
  }

  async #readLoop(buffer: Uint8Array, pending: Frame[]): Promise<void> {
    try {
      this.#handleFrames(pending);
      while (!this.#ended) {
        const n = await this.#conn.read(buffer);
        if (n === null) {
          if (!this.#decoder.idle || this.#partial.length > 0) {
            this.#error = new ZmtpProtocolError(
              `ZMTP ${this.type} connection ended in the middle of a message`,
            );
          }
          break;
        }
        this.#handleFrames(this.#decoder.push(buffer.subarray(0, n)));
      }
    } catch (error) {
      if (!this.#closing && this.#error === undefined) {
        this.#error = error instanceof Error
          ? error
          : new ZmtpError(String(error));
      }
    } finally {
      this.#end();
      closeQuietly(this.#conn);
    }
  }

  #handleFrames(frames: Frame[]): void {
    for (const frame of frames) {
      if (this.#ended) return;
      if (frame.command) {
        if (this.#partial.length > 0) {
          throw new ZmtpProtocolError(
            "ZMTP peer sent a command inside a multipart message",
          );
        }
        this.#handleCommand(frame.body);
        continue;
      }
      this.#partial.push(frame.body);
      if (!frame.more) {
        const message = this.#partial;
        this.#partial = [];
        this.#deliver(message);
      }
    }
  }

  #handleCommand(body: Uint8Array): void {
    const { name, data } = parseCommand(body);
    switch (name) {
      case "PING": {
        // PING: TTL (2 octets) + context; answer PONG with the context.
        const pong = encodeMessage([
          encodeCommandBody("PONG", data.subarray(2)),
        ], {
          command: true,
        });
        this.#write(pong).catch(() => {});
        return;
      }
      case "ERROR":
        throw new ZmtpProtocolError(
          `ZMTP peer sent ERROR: ${parseErrorReason(data)}`,
        );
      case "SUBSCRIBE":
      case "CANCEL":
        if (this.type === "PUB") {
          const message = new Uint8Array(data.length + 1);
          message[0] = name === "SUBSCRIBE" ? 1 : 0;
          message.set(data, 1);
          this.#deliver([message]);
        }
        return;
      default:
        return; // PONG, unknown commands: ignored
    }
  }

  #deliver(message: Uint8Array[]): void {
    switch (this.type) {
      case "SUB":
        if (!this.#matches(message[0] ?? EMPTY)) return;
        break;
      case "REQ":
        if (message.length === 0 || message[0]!.length !== 0) return; // no delimiter: drop
        message = message.slice(1);
        break;
      case "REP": {
        const delimiter = message.findIndex((frame) => frame.length === 0);
        if (delimiter === -1) return; // malformed request: drop
        this.#envelopes.push(message.slice(0, delimiter + 1));
        message = message.slice(delimiter + 1);
        break;
      }
      case "PUB": {
        const first = message[0];
        if (first === undefined || first.length === 0) return;
        if (first[0] === 1) this.#topics.push(first.slice(1));
        else if (first[0] === 0) removeTopic(this.#topics, first.subarray(1));
        else return;
        break;
      }
    }
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      waiter.resolve(message);
    } else {
      this.#queue.push(message);
    }
  }

  #matches(first: Uint8Array): boolean {
    for (const topic of this.#topics) {
      if (topic.length <= first.length && startsWith(first, topic)) return true;
    }
    return false;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#closing) this.#queue.clear();
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve(null);
  }

  #write(bytes: Uint8Array): Promise<void> {
    const run = this.#writeTail.then(async () => {
      if (this.#closing || this.#ended) {
        throw new ZmtpClosedError(
          `Cannot send on a closed ZMTP ${this.type} socket`,
          this.#error ? { cause: this.#error } : undefined,
        );
      }
      try {
        await writeAll(this.#conn, bytes);
      } catch (error) {
        throw new ZmtpClosedError(
          `Cannot send on ZMTP ${this.type} socket: ${errorMessage(error)}`,
          { cause: error },
        );
      }
    });
    this.#writeTail = run.catch(() => {});
    return run;
  }

  send(frames: readonly Uint8Array[]): Promise<void> {
    if (frames.length === 0) {
      return Promise.reject(
        new RangeError("Cannot send an empty ZMTP message"),
      );
    }
    let wire: readonly Uint8Array[] = frames;
    switch (this.type) {
      case "SUB":
        return Promise.reject(
          new TypeError("Cannot send on a ZMTP SUB socket: use subscribe()"),
        );
      case "REQ":
        wire = [EMPTY, ...frames];
        break;
      case "REP": {
        const envelope = this.#envelopes.shift();
        if (envelope === undefined) {
          return Promise.reject(
            new TypeError(
              "Cannot send on a ZMTP REP socket: no request is waiting for a reply",
            ),
          );
        }
        wire = [...envelope, ...frames];
        break;
      }
      case "PUB":
        if (!this.#peerWants(frames[0]!)) return Promise.resolve();
        break;
    }
    return this.#write(encodeMessage(wire));
  }

  #peerWants(first: Uint8Array): boolean {
    if (this.#closing || this.#ended) return true; // let #write report the closed socket
    return this.#matches(first);
  }

  subscribe(topic: Uint8Array = EMPTY): Promise<void> {
    if (this.type !== "SUB") {
      return Promise.reject(
        new TypeError(
          `Cannot subscribe on a ZMTP ${this.type} socket: only SUB subscribes`,
        ),
      );
    }
    this.#topics.push(topic.slice());
    return this.#write(encodeMessage([prefixed(1, topic)]));
  }

  unsubscribe(topic: Uint8Array = EMPTY): Promise<void> {
    if (this.type !== "SUB") {
      return Promise.reject(
        new TypeError(
          `Cannot unsubscribe on a ZMTP ${this.type} socket: only SUB subscribes`,
        ),
      );
    }
    removeTopic(this.#topics, topic);
    return this.#write(encodeMessage([prefixed(0, topic)]));
  }

  async receive(options: ReceiveOptions = {}): Promise<Uint8Array[]> {
    const message = await this.#take(options.signal);
    if (message === null) {
      throw new ZmtpClosedError(
        `Cannot receive on a closed ZMTP ${this.type} socket`,
        this.#error ? { cause: this.#error } : undefined,
      );
    }
    return message;
  }

  #take(signal?: AbortSignal): Promise<Uint8Array[] | null> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended) return Promise.resolve(null);
    if (this.#waiter) {
      return Promise.reject(
        new TypeError(
          `Cannot receive on ZMTP ${this.type} socket: another receive is already waiting (single consumer)`,
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.#waiter === waiter) this.#waiter = null;
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        resolve: (message) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(message);
        },
        reject,
      };
      this.#waiter = waiter;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array[]> {
    return {
      next: async (): Promise<IteratorResult<Uint8Array[]>> => {
        const message = await this.#take();
        return message === null
          ? { done: true, value: undefined }
          : { done: false, value: message };
      },
      return: (): Promise<IteratorResult<Uint8Array[]>> =>
        Promise.resolve({ done: true, value: undefined }),
    };
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#end();
    closeQuietly(this.#conn);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}

async function readChunk(
  conn: Deno.Conn,
  buffer: Uint8Array,
  what: string,
): Promise<Uint8Array> {
  const n = await conn.read(buffer);
  if (n === null) {
    throw new ZmtpClosedError(
      `Cannot complete ZMTP handshake: peer closed the connection before its ${what}`,
    );
  }
  return buffer.subarray(0, n);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(offset === 0 ? bytes : bytes.subarray(offset));
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function prefixed(octet: number, topic: Uint8Array): Uint8Array {
  const out = new Uint8Array(topic.length + 1);
  out[0] = octet;
  out.set(topic, 1);
  return out;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false;
  }
  return true;
}

function removeTopic(topics: Uint8Array[], topic: Uint8Array): void {
  const index = topics.findIndex((t) =>
    t.length === topic.length && startsWith(t, topic)
  );
  if (index !== -1) topics.splice(index, 1);
}

function errorData(reason: string): Uint8Array {
  const bytes = new TextEncoder().encode(reason).subarray(0, 255);
  return prefixed(bytes.length, bytes);
}

function parseErrorReason(data: Uint8Array): string {
  const length = data[0] ?? 0;
  return JSON.stringify(textDecoder.decode(data.subarray(1, 1 + length)));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
