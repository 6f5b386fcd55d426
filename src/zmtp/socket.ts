/**
 * ZMTP 3 sockets (NULL mechanism) over one Deno connection each: the
 * greeting/READY handshake, one event-driven read loop per connection feeding
 * an unbounded queue, and per-socket-type envelopes (REQ/REP delimiters,
 * PUB/SUB subscriptions).
 *
 * @module
 */

import { ZmtpClosedError, ZmtpError, ZmtpProtocolError } from "./errors.ts";
import {
  encodeCommandBody,
  encodeMessage,
  type Frame,
  type FrameDecoder,
  parseCommand,
} from "./frame.ts";
import {
  closeQuietly,
  errorMessage,
  parseErrorReason,
  prefixed,
  writeAll,
} from "./wire_io.ts";

/** The ZeroMQ socket types this module speaks. */
export type SocketType = "DEALER" | "SUB" | "REQ" | "ROUTER" | "PUB" | "REP";

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

const EMPTY = new Uint8Array(0);

/** What the handshake hands a new socket. */
export interface SocketInit {
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

/** A connected socket after the handshake (made by `connect.ts`). */
export class Socket implements ZmtpSocket {
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
