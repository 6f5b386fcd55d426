/**
 * A live connection to one kernel's channels: shell, control, iopub and
 * heartbeat. One reader loop per socket; replies and iopub messages are
 * routed by `parent_header.msg_id` to the request that is waiting for them.
 *
 * @module
 */

import { connect, type ZmtpSocket } from "../zmtp/mod.ts";

/**
 * Opens one ZeroMQ socket to an endpoint. The default is our ZMTP 3
 * transport's `connect`; another transport (npm:zeromq once Deno's bug is
 * fixed, or a test peer) can be injected here.
 */
export type SocketFactory = typeof connect;
import type { JupyterMessage, Logger } from "./messages.ts";
import {
  createHeader,
  createMessageSigner,
  decodeMessage,
  encodeMessage,
  type MessageSigner,
  type OversizedMessage,
} from "./wire.ts";

/** The fields of a Jupyter connection file we use. */
export interface ConnectionInfo {
  ip: string;
  transport: "tcp" | "ipc";
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: "hmac-sha256";
  kernel_name?: string;
}

/** Builds a ZeroMQ endpoint for one channel. */
export function endpointOf(info: ConnectionInfo, port: number): string {
  return info.transport === "ipc"
    ? `ipc://${info.ip}-${port}`
    : `tcp://${info.ip}:${port}`;
}

/** Handlers of one outstanding request. */
export interface RequestHandlers {
  /** Called with the shell/control reply. */
  onReply?: (msg: JupyterMessage) => void;
  /** Called with every iopub message whose parent is this request. */
  onIopub?: (msg: JupyterMessage) => void;
  /** Called when a message for this request was too large to decode. */
  onOversize?: (lost: OversizedMessage) => void;
}

/** An outstanding request; `release()` stops routing late messages to it. */
export interface PendingRequest {
  /** The request's msg_id. */
  msgId: string;
  /** Stops delivering messages for this request. Idempotent. */
  release(): void;
}

/** Options for {@linkcode KernelConnection.open}. */
export interface OpenConnectionOptions {
  /** Aborts connecting. */
  signal?: AbortSignal;
  /** Where dropped messages are reported. */
  logger: Logger;
  /** Opens the channel sockets (default: our ZMTP transport). */
  connect?: SocketFactory;
}

/** The four channel sockets of one kernel and the routing between them. */
export class KernelConnection {
  readonly #signer: MessageSigner;
  readonly #session = crypto.randomUUID();
  readonly #shell: ZmtpSocket;
  readonly #control: ZmtpSocket;
  readonly #iopub: ZmtpSocket;
  readonly #hb: ZmtpSocket;
  readonly #pending = new Map<string, RequestHandlers>();
  readonly #logger: Logger;
  #badSignatures = 0;
  #closed = false;
  #anyIopub: (() => void) | null = null;

  private constructor(
    signer: MessageSigner,
    sockets: [ZmtpSocket, ZmtpSocket, ZmtpSocket, ZmtpSocket],
    logger: Logger,
  ) {
    this.#signer = signer;
    [this.#shell, this.#control, this.#iopub, this.#hb] = sockets;
    this.#logger = logger;
    this.#readLoop(this.#shell, "shell");
    this.#readLoop(this.#control, "control");
    this.#readLoop(this.#iopub, "iopub");
  }

  /**
   * Connects every channel (retrying while the kernel binds) and subscribes
   * to iopub.
   *
   * @param info The connection file's contents.
   * @param options Abort signal and logger.
   * @returns The open connection.
   */
  static async open(
    info: ConnectionInfo,
    options: OpenConnectionOptions,
  ): Promise<KernelConnection> {
    // The kernel binds ~1 s after spawn; retry refused connects briskly
    // (a refused loopback connect costs next to nothing).
    const retry = {
      signal: options.signal,
      retryDelayMs: 2,
      maxRetryDelayMs: 10,
    };
    const open = options.connect ?? connect;
    const sockets = await Promise.allSettled([
      open("DEALER", endpointOf(info, info.shell_port), retry),
      open("DEALER", endpointOf(info, info.control_port), retry),
      open("SUB", endpointOf(info, info.iopub_port), retry),
      open("REQ", endpointOf(info, info.hb_port), retry),
    ]);
    const failed = sockets.find((s) => s.status === "rejected");
    if (failed) {
      for (const s of sockets) if (s.status === "fulfilled") s.value.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    const [shell, control, iopub, hb] = sockets.map((s) =>
      (s as PromiseFulfilledResult<ZmtpSocket>).value
    ) as [ZmtpSocket, ZmtpSocket, ZmtpSocket, ZmtpSocket];
    await iopub.subscribe();
    return new KernelConnection(
      await createMessageSigner(info.key),
      [shell, control, iopub, hb],
      options.logger,
    );
  }

  /** Incoming messages dropped because their HMAC did not verify. */
  get badSignatures(): number {
    return this.#badSignatures;
  }

  /** The client session id used in headers. */
  get session(): string {
    return this.#session;
  }

  async #readLoop(socket: ZmtpSocket, channel: string): Promise<void> {
    try {
      for await (const frames of socket) {
        const decoded = decodeMessage(frames, this.#signer);
        if (!decoded.ok) {
          if (decoded.reason === "too-large") {
            const lost = decoded.oversized;
            this.#logger.warn(
              `Dropped a ${channel} ${lost.msgType} message of ${lost.bytes} bytes: too large to decode`,
            );
            const handlers = lost.parentId
              ? this.#pending.get(lost.parentId)
              : undefined;
            handlers?.onOversize?.(lost);
            continue;
          }
          if (decoded.reason === "bad-signature") this.#badSignatures++;
          this.#logger.warn(
            `Dropped a ${channel} message: ${decoded.reason}`,
          );
          continue;
        }
        this.#route(decoded.message, channel);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#logger.debug(`${channel} reader ended: ${error}`);
      }
    }
  }

  #route(msg: JupyterMessage, channel: string): void {
    if (channel === "iopub" && this.#anyIopub) this.#anyIopub();
    const parentId = msg.parent_header?.msg_id;
    if (!parentId) return;
    const handlers = this.#pending.get(parentId);
    if (!handlers) return; // released or foreign: a late message never reaches a waiter
    if (channel === "iopub") handlers.onIopub?.(msg);
    else handlers.onReply?.(msg);
  }

  /**
   * Sends a request and routes its reply and iopub messages to `handlers`
   * until released.
   *
   * @param channel "shell" or "control".
   * @param msgType The request type, e.g. "execute_request".
   * @param content The request content.
   * @param handlers Reply and iopub callbacks.
   * @returns The pending request.
   */
  async send(
    channel: "shell" | "control",
    msgType: string,
    content: unknown,
    handlers: RequestHandlers,
  ): Promise<PendingRequest> {
    const header = createHeader(msgType, this.#session);
    this.#pending.set(header.msg_id, handlers);
    const pending: PendingRequest = {
      msgId: header.msg_id,
      release: () => this.#pending.delete(header.msg_id),
    };
    const frames = encodeMessage(
      { header, parent_header: {}, metadata: {}, content },
      this.#signer,
    );
    const socket = channel === "shell" ? this.#shell : this.#control;
    try {
      await socket.send(frames);
    } catch (error) {
      pending.release();
      throw error;
    }
    return pending;
  }

  /**
   * Sends a request and resolves with its reply.
   *
   * @param channel "shell" or "control".
   * @param msgType The request type.
   * @param content The request content.
   * @param signal Aborts the wait (the request is released).
   * @returns The reply message.
   */
  async request(
    channel: "shell" | "control",
    msgType: string,
    content: unknown,
    signal?: AbortSignal,
  ): Promise<JupyterMessage> {
    const { promise, resolve, reject } = Promise.withResolvers<
      JupyterMessage
    >();
    const pending = await this.send(channel, msgType, content, {
      onReply: resolve,
    });
    const onAbort = () => reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      return await promise;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      pending.release();
    }
  }

  /**
   * Resolves when the iopub subscription is live: probes with
   * kernel_info_request until an iopub message for a probe arrives.
   *
   * @param signal Deadline.
   */
  async waitForIopub(signal: AbortSignal): Promise<void> {
    const seen = Promise.withResolvers<void>();
    this.#anyIopub = seen.resolve;
    const probes: PendingRequest[] = [];
    let done = false;
    const onAbort = () => seen.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      (async () => {
        let delay = 5;
        while (!done && !signal.aborted) {
          probes.push(
            await this.send("shell", "kernel_info_request", {}, {
              onIopub: () => seen.resolve(),
            }),
          );
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 200);
        }
      })().catch(seen.reject);
      await seen.promise;
    } finally {
      done = true;
      this.#anyIopub = null;
      signal.removeEventListener("abort", onAbort);
      // Probe replies still in flight are dropped once released.
      for (const p of probes) p.release();
    }
  }

  /**
   * Sends one heartbeat ping and waits for the echo.
   *
   * @param signal Deadline.
   */
  async heartbeat(signal: AbortSignal): Promise<void> {
    const iterator = this.#hb[Symbol.asyncIterator]();
    await this.#hb.send([new TextEncoder().encode("ping")]);
    const { promise, reject } = Promise.withResolvers<never>();
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const next = await Promise.race([iterator.next(), promise]);
      if (next.done) throw new Error("heartbeat channel closed");
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Closes every socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.clear();
    for (const s of [this.#shell, this.#control, this.#iopub, this.#hb]) {
      s.close();
    }
  }
}
