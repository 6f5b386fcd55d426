/**
 * Pure Jupyter wire format: frames <-> messages, HMAC-SHA256 signing and
 * verification. No sockets here, so it is unit-tested without a kernel.
 *
 * @module
 */

import type { JupyterMessage, MessageHeader } from "./messages.ts";

/** The synchronous HMAC functions of `node:crypto` a signer uses. */
export interface HmacFunctions {
  /** `node:crypto` `createHmac`. */
  createHmac: typeof import("node:crypto").createHmac;
  /** `node:crypto` `timingSafeEqual`. */
  timingSafeEqual: typeof import("node:crypto").timingSafeEqual;
}

/**
 * Loads `node:crypto`'s HMAC functions. Loading that module costs ~8 ms
 * (measured), so it happens when the first connection opens, while the
 * kernel process starts, not when the server starts.
 *
 * @returns The functions.
 */
export async function loadHmac(): Promise<HmacFunctions> {
  const { createHmac, timingSafeEqual } = await import("node:crypto");
  return { createHmac, timingSafeEqual };
}

/**
 * Creates a signer for a connection's key, loading the HMAC functions.
 *
 * @param key The connection file's key (HMAC-SHA256).
 * @returns The signer.
 * @example Signing frames
 * ```ts
 * import { createMessageSigner } from "./wire.ts";
 * const signer = await createMessageSigner("secret");
 * signer.sign([new Uint8Array([1])]);
 * ```
 */
export async function createMessageSigner(
  key: string,
): Promise<MessageSigner> {
  return new MessageSigner(key, await loadHmac());
}

/** The delimiter between routing identities and the message. */
export const DELIMITER: Uint8Array = new TextEncoder().encode("<IDS|MSG>");

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Signs and verifies message frames with a connection's HMAC key. */
export class MessageSigner {
  readonly #key: Uint8Array;
  readonly #hmac: HmacFunctions;

  /**
   * Creates a signer; {@linkcode createMessageSigner} loads `hmac` for you.
   *
   * @param key The connection file's key (HMAC-SHA256).
   * @param hmac Synchronous HMAC functions (from `node:crypto`).
   */
  constructor(key: string, hmac: HmacFunctions) {
    this.#key = encoder.encode(key);
    this.#hmac = hmac;
  }

  /**
   * Computes the hex signature of the four signed frames.
   *
   * @param parts header, parent_header, metadata, content frames.
   * @returns Lowercase hex digest (empty when the key is empty).
   */
  sign(parts: readonly Uint8Array[]): string {
    if (this.#key.length === 0) return "";
    const hmac = this.#hmac.createHmac("sha256", this.#key);
    for (const part of parts) hmac.update(part);
    return hmac.digest("hex");
  }

  /**
   * Checks a received signature in constant time.
   *
   * @param signature The signature frame.
   * @param parts header, parent_header, metadata, content frames.
   * @returns True when the signature matches.
   */
  verify(signature: Uint8Array, parts: readonly Uint8Array[]): boolean {
    if (this.#key.length === 0) return true;
    const expected = encoder.encode(this.sign(parts));
    return expected.length === signature.length &&
      this.#hmac.timingSafeEqual(expected, signature);
  }
}

/** The parts of a message a caller builds. */
export interface OutgoingMessage {
  header: MessageHeader;
  parent_header: Partial<MessageHeader> | Record<string, never>;
  metadata: Record<string, unknown>;
  content: unknown;
}

/**
 * Serialises and signs a message into frames, starting at the delimiter.
 *
 * @param msg The message.
 * @param signer The connection's signer.
 * @returns Frames ready for a DEALER socket.
 */
export function encodeMessage(
  msg: OutgoingMessage,
  signer: MessageSigner,
): Uint8Array[] {
  const parts = [
    encoder.encode(JSON.stringify(msg.header)),
    encoder.encode(JSON.stringify(msg.parent_header)),
    encoder.encode(JSON.stringify(msg.metadata)),
    encoder.encode(JSON.stringify(msg.content)),
  ];
  return [DELIMITER, encoder.encode(signer.sign(parts)), ...parts];
}

/** Why an incoming message was dropped. */
export type DecodeFailure =
  | "no-delimiter"
  | "bad-signature"
  | "bad-json"
  | "too-large";

/**
 * What is known of a verified message too large to decode (its content
 * would pass V8's string limit): enough to tell its request about the loss.
 */
export interface OversizedMessage {
  /** msg_type from the header. */
  msgType: string;
  /** msg_id of the request it answers, if any. */
  parentId: string | null;
  /** Size of the content frame in bytes. */
  bytes: number;
  /** The stream name of a `stream` message ("stdout"/"stderr"), if found. */
  streamName: "stdout" | "stderr" | null;
}

/** Outcome of decoding frames. */
export type DecodeResult =
  | { ok: true; message: JupyterMessage }
  | { ok: false; reason: Exclude<DecodeFailure, "too-large"> }
  | { ok: false; reason: "too-large"; oversized: OversizedMessage };

/**
 * Content frames above this size are not decoded (a string that long would
 * pass V8's limit of about 2^29 characters); their loss is reported instead.
 */
export const MAX_CONTENT_BYTES = 256 * 1024 * 1024;

function isDelimiter(frame: Uint8Array): boolean {
  if (frame.length !== DELIMITER.length) return false;
  for (let i = 0; i < frame.length; i++) {
    if (frame[i] !== DELIMITER[i]) return false;
  }
  return true;
}

/**
 * Verifies and parses a multipart message (identities or a topic may precede
 * the delimiter).
 *
 * @param frames The frames as received.
 * @param signer The connection's signer.
 * @param maxContentBytes Content frames above this size are reported, not decoded.
 * @returns The message, or why it was dropped.
 */
export function decodeMessage(
  frames: readonly Uint8Array[],
  signer: MessageSigner,
  maxContentBytes: number = MAX_CONTENT_BYTES,
): DecodeResult {
  const at = frames.findIndex(isDelimiter);
  if (at < 0 || frames.length < at + 6) {
    return { ok: false, reason: "no-delimiter" };
  }
  const signature = frames[at + 1]!;
  const parts = frames.slice(at + 2, at + 6);
  if (!signer.verify(signature, parts)) {
    return { ok: false, reason: "bad-signature" };
  }
  if (parts[3]!.length > maxContentBytes) return oversized(parts);
  try {
    const [header, parent, metadata, content] = parts.map((p) =>
      JSON.parse(decoder.decode(p))
    );
    return {
      ok: true,
      message: {
        header,
        parent_header: parent ?? {},
        metadata: metadata ?? {},
        content,
        buffers: frames.slice(at + 6),
      },
    };
  } catch {
    return { ok: false, reason: "bad-json" };
  }
}

function oversized(parts: readonly Uint8Array[]): DecodeResult {
  const content = parts[3]!;
  let msgType = "";
  let parentId: string | null = null;
  try {
    msgType = String(JSON.parse(decoder.decode(parts[0])).msg_type ?? "");
    const parent = JSON.parse(decoder.decode(parts[1]));
    parentId = typeof parent?.msg_id === "string" ? parent.msg_id : null;
  } catch {
    return { ok: false, reason: "bad-json" };
  }
  const head = decoder.decode(content.subarray(0, 64));
  const name = head.match(/"name"\s*:\s*"(stdout|stderr)"/)?.[1];
  return {
    ok: false,
    reason: "too-large",
    oversized: {
      msgType,
      parentId,
      bytes: content.length,
      streamName: name === "stdout" || name === "stderr" ? name : null,
    },
  };
}

/**
 * Builds a v5.3 header.
 *
 * @param msgType The message type, e.g. "execute_request".
 * @param session The client's session id.
 * @returns A header with a fresh msg_id.
 */
export function createHeader(msgType: string, session: string): MessageHeader {
  return {
    msg_id: crypto.randomUUID(),
    msg_type: msgType,
    session,
    username: "coder",
    date: new Date().toISOString(),
    version: "5.3",
  };
}

const ANSI_RE =
  // deno-lint-ignore no-control-regex
  /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * Removes ANSI escape sequences (colours, cursor moves, OSC links).
 *
 * @param text Text from a traceback.
 * @returns The text without escapes.
 */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, "");
}
