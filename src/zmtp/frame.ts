/**
 * Pure ZMTP 3 framing: encoding whole multipart messages and commands, and an
 * incremental decoder for a byte stream (RFC 23 / RFC 37 "frames").
 *
 * Wire layout of one frame: a flags byte (bit 0 MORE, bit 1 LONG, bit 2
 * COMMAND), then the body size as 1 octet (short) or 8 octets big-endian
 * (long), then the body.
 *
 * @module
 */

import { ZmtpProtocolError } from "./errors.ts";

/** Flag bit: more frames of the same message follow. */
export const FLAG_MORE = 0x01;
/** Flag bit: the size field is 8 octets instead of 1. */
export const FLAG_LONG = 0x02;
/** Flag bit: the frame is a command, not message data. */
export const FLAG_COMMAND = 0x04;

/** Largest body a short frame can carry. */
export const MAX_SHORT_FRAME = 255;

/** Default ceiling on a single incoming frame body (2 GiB - 1). */
export const DEFAULT_MAX_FRAME_SIZE = 0x7fff_ffff;

/** One decoded frame. */
export interface Frame {
  /** More frames of the same message follow (always false for commands). */
  readonly more: boolean;
  /** The frame is a command (READY, ERROR, PING, SUBSCRIBE, ...). */
  readonly command: boolean;
  /** The frame body; a fresh copy owned by the caller. */
  readonly body: Uint8Array;
}

/** Options of {@linkcode encodeMessage}. */
export interface EncodeMessageOptions {
  /** Encode a single command frame instead of message frames. */
  command?: boolean;
}

/** A parsed command frame body. */
export interface Command {
  /** Command name, e.g. "READY". */
  readonly name: string;
  /** Command data after the name. */
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a whole multipart message (or one command) into one buffer, so it
 * can be written with a single `write` call. Bodies up to 255 octets use short
 * frames, larger ones long frames; every frame but the last carries MORE.
 *
 * @param frames The message frames in order (at least one). For a command,
 *   exactly one frame holding the command body (see {@linkcode encodeCommandBody}).
 * @param options `command: true` sets the COMMAND flag.
 * @returns The encoded octets.
 * @throws {RangeError} When `frames` is empty, or a command has more than one frame.
 *
 * @example Two-frame message
 * ```ts
 * import { encodeMessage } from "./frame.ts";
 * const bytes = encodeMessage([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * // [MORE, 1, 1, 0, 2, 2, 3]
 * console.assert(bytes.length === 7);
 * ```
 */
export function encodeMessage(
  frames: readonly Uint8Array[],
  options: EncodeMessageOptions = {},
): Uint8Array {
  const command = options.command ?? false;
  if (frames.length === 0) {
    throw new RangeError("Cannot encode a ZMTP message: it has no frames");
  }
  if (command && frames.length !== 1) {
    throw new RangeError(
      `Cannot encode a ZMTP command: expected 1 frame, got ${frames.length}`,
    );
  }
  let total = 0;
  for (const frame of frames) {
    total += frame.length + (frame.length > MAX_SHORT_FRAME ? 9 : 2);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  const last = frames.length - 1;
  frames.forEach((frame, index) => {
    let flags = command ? FLAG_COMMAND : (index < last ? FLAG_MORE : 0);
    if (frame.length > MAX_SHORT_FRAME) {
      flags |= FLAG_LONG;
      out[offset] = flags;
      view.setBigUint64(offset + 1, BigInt(frame.length));
      offset += 9;
    } else {
      out[offset] = flags;
      out[offset + 1] = frame.length;
      offset += 2;
    }
    out.set(frame, offset);
    offset += frame.length;
  });
  return out;
}

/**
 * Builds a command body: name length (1 octet), ASCII name, then data.
 *
 * @param name Command name, 1 to 255 ASCII characters (e.g. "READY").
 * @param data Command data.
 * @returns The command body, ready for `encodeMessage([body], { command: true })`.
 * @throws {RangeError} When the name is empty or longer than 255 octets.
 *
 * @example
 * ```ts
 * import { encodeCommandBody } from "./frame.ts";
 * const body = encodeCommandBody("PING", new Uint8Array([0, 0]));
 * console.assert(body[0] === 4);
 * ```
 */
export function encodeCommandBody(
  name: string,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const nameBytes = encoder.encode(name);
  if (nameBytes.length === 0 || nameBytes.length > 255) {
    throw new RangeError(
      `Cannot encode ZMTP command "${name}": name must be 1-255 octets`,
    );
  }
  const body = new Uint8Array(1 + nameBytes.length + data.length);
  body[0] = nameBytes.length;
  body.set(nameBytes, 1);
  body.set(data, 1 + nameBytes.length);
  return body;
}

/**
 * Splits a command frame body into its name and data.
 *
 * @param body The body of a frame that had the COMMAND flag.
 * @returns The command name and data (data is a view into `body`).
 * @throws {ZmtpProtocolError} When the body is shorter than its name length says.
 *
 * @example
 * ```ts
 * import { encodeCommandBody, parseCommand } from "./frame.ts";
 * const { name } = parseCommand(encodeCommandBody("READY"));
 * console.assert(name === "READY");
 * ```
 */
export function parseCommand(body: Uint8Array): Command {
  const nameLength = body[0];
  if (
    nameLength === undefined || nameLength === 0 || body.length < 1 + nameLength
  ) {
    throw new ZmtpProtocolError(
      `Cannot parse ZMTP command: body of ${body.length} octets is too short for its name`,
    );
  }
  return {
    name: decoder.decode(body.subarray(1, 1 + nameLength)),
    data: body.subarray(1 + nameLength),
  };
}

/** Options of {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest frame body accepted; larger sizes throw ZmtpProtocolError. Default 2 GiB - 1. */
  maxFrameSize?: number;
}

/**
 * Incremental frame decoder. Feed it the byte stream in chunks of any size;
 * it returns every frame completed by each chunk. Each body is allocated once
 * at its final size when the header is known and filled as chunks arrive, so a
 * multi-megabyte frame costs one copy and no quadratic re-concatenation.
 * Chunks are not retained: the caller may reuse its read buffer.
 *
 * @example Decoding a stream split in two
 * ```ts
 * import { encodeMessage, FrameDecoder } from "./frame.ts";
 * const bytes = encodeMessage([new Uint8Array([7, 8, 9])]);
 * const frames = new FrameDecoder();
 * console.assert(frames.push(bytes.subarray(0, 3)).length === 0);
 * const [frame] = frames.push(bytes.subarray(3));
 * console.assert(frame?.body.length === 3);
 * ```
 */
export class FrameDecoder {
  readonly #maxFrameSize: number;
  // header state
  readonly #header = new Uint8Array(9);
  #headerFilled = 0;
  #headerSize = 2; // 2 until the flags byte says LONG, then 9
  // body state (null while reading a header)
  #body: Uint8Array | null = null;
  #bodyFilled = 0;
  #flags = 0;

  /**
   * Creates a decoder.
   *
   * @param options Decoder limits.
   */
  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /** True when no partial frame is buffered (the stream ended on a frame boundary). */
  get idle(): boolean {
    return this.#body === null && this.#headerFilled === 0;
  }

  /**
   * Consumes a chunk of the stream.
   *
   * @param chunk Next octets of the stream (not retained after the call).
   * @returns The frames completed by this chunk, in order (possibly none).
   * @throws {ZmtpProtocolError} On reserved flag bits, a command with MORE,
   *   or a frame larger than `maxFrameSize`; the decoder is unusable afterwards.
   */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      const body = this.#body;
      if (body === null) {
        // Reading the header, one octet at a time (at most 9).
        const octet = chunk[offset++]!;
        this.#header[this.#headerFilled++] = octet;
        if (this.#headerFilled === 1) {
          this.#flags = octet;
          this.#checkFlags(octet);
          this.#headerSize = (octet & FLAG_LONG) !== 0 ? 9 : 2;
        }
        if (this.#headerFilled === this.#headerSize) {
          const size = this.#readSize();
          this.#headerFilled = 0;
          if (size === 0) {
            frames.push(this.#frame(new Uint8Array(0)));
          } else {
            this.#body = new Uint8Array(size);
            this.#bodyFilled = 0;
          }
        }
        continue;
      }
      const take = Math.min(body.length - this.#bodyFilled, length - offset);
      body.set(chunk.subarray(offset, offset + take), this.#bodyFilled);
      this.#bodyFilled += take;
      offset += take;
      if (this.#bodyFilled === body.length) {
        this.#body = null;
        frames.push(this.#frame(body));
      }
    }
    return frames;
  }

  #frame(body: Uint8Array): Frame {
    const command = (this.#flags & FLAG_COMMAND) !== 0;
    return { more: (this.#flags & FLAG_MORE) !== 0, command, body };
  }

  #checkFlags(flags: number): void {
    if ((flags & 0xf8) !== 0) {
      throw new ZmtpProtocolError(
        `Cannot decode ZMTP frame: reserved flag bits set in 0x${
          flags.toString(16).padStart(2, "0")
        }`,
      );
    }
    if ((flags & FLAG_COMMAND) !== 0 && (flags & FLAG_MORE) !== 0) {
      throw new ZmtpProtocolError(
        "Cannot decode ZMTP frame: a command frame has the MORE flag",
      );
    }
  }

  #readSize(): number {
    let size: number;
    if (this.#headerSize === 2) {
      size = this.#header[1]!;
    } else {
      const big = new DataView(this.#header.buffer).getBigUint64(1);
      size = big > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(big);
    }
    if (size > this.#maxFrameSize) {
      throw new ZmtpProtocolError(
        `Cannot decode ZMTP frame: size ${size} exceeds the limit of ${this.#maxFrameSize} octets`,
      );
    }
    return size;
  }
}
