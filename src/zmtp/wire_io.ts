/**
 * Connection helpers shared by the handshake and the sockets: reading a
 * chunk, writing everything, closing quietly, and ZMTP ERROR command bodies.
 *
 * @module
 */

import { ZmtpClosedError } from "./errors.ts";

/** Decodes ERROR reasons and other protocol text. */
export const textDecoder: TextDecoder = new TextDecoder();

export async function readChunk(
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

export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(offset === 0 ? bytes : bytes.subarray(offset));
  }
}

export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

export function errorData(reason: string): Uint8Array {
  const bytes = new TextEncoder().encode(reason).subarray(0, 255);
  return prefixed(bytes.length, bytes);
}

export function parseErrorReason(data: Uint8Array): string {
  const length = data[0] ?? 0;
  return JSON.stringify(textDecoder.decode(data.subarray(1, 1 + length)));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A length-prefixed byte string: the octet, then the bytes. */
export function prefixed(octet: number, topic: Uint8Array): Uint8Array {
  const out = new Uint8Array(topic.length + 1);
  out[0] = octet;
  out.set(topic, 1);
  return out;
}
