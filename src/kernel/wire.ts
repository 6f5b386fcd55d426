/**
 * Pure Jupyter wire format: frames <-> messages, HMAC-SHA256 signing and
 * verification. No sockets here, so it is unit-tested without a kernel.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import type { JupyterMessage, MessageHeader } from "./messages.ts";

/** The delimiter between routing identities and the message. */
export const DELIMITER: Uint8Array = new TextEncoder().encode("<IDS|MSG>");

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Signs and verifies message frames with a connection's HMAC key. */
export class MessageSigner {
  readonly #key: Uint8Array;

  /** @param key The connection file's key (HMAC-SHA256). */
  constructor(key: string) {
    this.#key = encoder.encode(key);
  }

  /**
   * Computes the hex signature of the four signed frames.
   *
   * @param parts header, parent_header, metadata, content frames.
   * @returns Lowercase hex digest (empty when the key is empty).
   */
  sign(parts: readonly Uint8Array[]): string {
    if (this.#key.length === 0) return "";
    const hmac = createHmac("sha256", this.#key);
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
      timingSafeEqual(expected, signature);
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
export type DecodeFailure = "no-delimiter" | "bad-signature" | "bad-json";

/** Outcome of decoding frames. */
export type DecodeResult =
  | { ok: true; message: JupyterMessage }
  | { ok: false; reason: DecodeFailure };

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
 * @returns The message, or why it was dropped.
 */
export function decodeMessage(
  frames: readonly Uint8Array[],
  signer: MessageSigner,
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
