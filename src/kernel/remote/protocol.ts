/**
 * The two wire formats of a Jupyter Server's kernel channels websocket: the
 * `v1.kernel.websocket.jupyter.org` binary framing (offset table, channel
 * name, then header, parent header, metadata, content and buffers as JSON
 * bytes) and the older JSON protocol (one JSON text per message with a
 * `channel` field).
 *
 * @module
 */

import type { JupyterMessage, MessageHeader } from "../messages.ts";

/** The subprotocol offered first; without it the server speaks JSON. */
export const V1_SUBPROTOCOL = "v1.kernel.websocket.jupyter.org";

/** A message as it travels on the channels websocket. */
export interface ChannelMessage extends JupyterMessage {
  /** `shell`, `iopub`, `control` or `stdin`. */
  channel: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Builds a request message.
 *
 * @param channel Target channel.
 * @param msgType Jupyter message type.
 * @param content Message content.
 * @param session The client's session id.
 * @returns The message.
 */
export function makeMessage(
  channel: string,
  msgType: string,
  content: unknown,
  session: string,
): ChannelMessage {
  const header: MessageHeader = {
    msg_id: crypto.randomUUID(),
    msg_type: msgType,
    session,
    username: "coder",
    date: new Date().toISOString(),
    version: "5.3",
  };
  return {
    channel,
    header,
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
}

/**
 * Serializes a message for the negotiated protocol.
 *
 * @param message The message.
 * @param v1 True for the v1 binary framing.
 * @returns Bytes (v1) or text (JSON).
 */
export function encodeMessage(
  message: ChannelMessage,
  v1: boolean,
): Uint8Array | string {
  if (!v1) {
    return JSON.stringify({
      channel: message.channel,
      header: message.header,
      parent_header: message.parent_header,
      metadata: message.metadata,
      content: message.content,
      buffers: [],
    });
  }
  const parts = [
    encoder.encode(message.channel),
    encoder.encode(JSON.stringify(message.header)),
    encoder.encode(JSON.stringify(message.parent_header)),
    encoder.encode(JSON.stringify(message.metadata)),
    encoder.encode(JSON.stringify(message.content)),
  ];
  const count = parts.length + 1;
  const headerSize = 8 * (count + 1);
  const total = headerSize + parts.reduce((n, p) => n + p.length, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(count), true);
  let offset = headerSize;
  view.setBigUint64(8, BigInt(offset), true);
  parts.forEach((part, i) => {
    bytes.set(part, offset);
    offset += part.length;
    view.setBigUint64(8 * (i + 2), BigInt(offset), true);
  });
  return bytes;
}

/**
 * Parses a message received in either protocol.
 *
 * @param data Websocket payload.
 * @param v1 True when the v1 framing was negotiated.
 * @returns The message, or null for a payload we cannot read.
 */
export function decodeMessage(
  data: Uint8Array | string,
  v1: boolean,
): ChannelMessage | null {
  try {
    if (typeof data === "string" || !v1) {
      const text = typeof data === "string" ? data : decoder.decode(data);
      const parsed = JSON.parse(text);
      return {
        channel: parsed.channel ?? "",
        header: parsed.header ?? {},
        parent_header: parsed.parent_header ?? {},
        metadata: parsed.metadata ?? {},
        content: parsed.content ?? {},
        buffers: [],
      };
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const count = Number(view.getBigUint64(0, true));
    if (count < 6 || 8 * (count + 1) > data.byteLength) return null;
    const offsets: number[] = [];
    for (let i = 0; i < count; i++) {
      offsets.push(Number(view.getBigUint64(8 * (i + 1), true)));
    }
    const part = (i: number) =>
      decoder.decode(data.subarray(offsets[i]!, offsets[i + 1]!));
    return {
      channel: part(0),
      header: JSON.parse(part(1)),
      parent_header: JSON.parse(part(2)),
      metadata: JSON.parse(part(3)),
      content: JSON.parse(part(4)),
      buffers: [],
    };
  } catch {
    return null;
  }
}
