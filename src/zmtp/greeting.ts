/**
 * Pure ZMTP 3 greeting and READY metadata codecs (RFC 23 / RFC 37).
 *
 * Greeting (64 octets): signature `0xFF, 8 padding octets, 0x7F`, version
 * major and minor, mechanism name padded with zeros to 20 octets, the
 * as-server octet, and 31 zero filler octets.
 *
 * @module
 */

import { ZmtpProtocolError } from "./errors.ts";
import { encodeCommandBody, parseCommand } from "./frame.ts";

/** Size of a ZMTP 3 greeting in octets. */
export const GREETING_SIZE = 64;

/** Octets of the greeting that identify a ZMTP 3 peer: signature and major version. */
export const GREETING_PREFIX_SIZE = 11;

const MECHANISM_OFFSET = 12;
const MECHANISM_SIZE = 20;
const AS_SERVER_OFFSET = 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The fields of a greeting. */
export interface Greeting {
  /** Major protocol version (3 for ZMTP 3.x). */
  readonly major: number;
  /** Minor protocol version (0 for 3.0, 1 for 3.1). */
  readonly minor: number;
  /** Security mechanism name, e.g. "NULL". */
  readonly mechanism: string;
  /** The as-server flag (meaningful for PLAIN/CURVE; 0 for NULL). */
  readonly asServer: boolean;
}

/** Options of {@linkcode encodeGreeting}. */
export interface EncodeGreetingOptions {
  /** Minor version to announce; default 1 (ZMTP 3.1). */
  minor?: number;
  /** Mechanism name, at most 20 ASCII octets; default "NULL". */
  mechanism?: string;
  /** The as-server octet; default false. */
  asServer?: boolean;
}

/**
 * Encodes a full 64-octet greeting.
 *
 * @param options Version, mechanism and as-server flag.
 * @returns The greeting octets.
 * @throws {RangeError} When the mechanism name is empty or longer than 20 octets.
 *
 * @example
 * ```ts
 * import { encodeGreeting, parseGreeting } from "./greeting.ts";
 * const greeting = parseGreeting(encodeGreeting());
 * console.assert(greeting.mechanism === "NULL" && greeting.minor === 1);
 * ```
 */
export function encodeGreeting(
  options: EncodeGreetingOptions = {},
): Uint8Array {
  const mechanism = encoder.encode(options.mechanism ?? "NULL");
  if (mechanism.length === 0 || mechanism.length > MECHANISM_SIZE) {
    throw new RangeError(
      `Cannot encode ZMTP greeting: mechanism "${options.mechanism}" must be 1-20 octets`,
    );
  }
  const bytes = new Uint8Array(GREETING_SIZE);
  bytes[0] = 0xff;
  bytes[9] = 0x7f;
  bytes[10] = 3;
  bytes[11] = options.minor ?? 1;
  bytes.set(mechanism, MECHANISM_OFFSET);
  bytes[AS_SERVER_OFFSET] = options.asServer ? 1 : 0;
  return bytes;
}

/**
 * Checks the first octets of a peer greeting as soon as they arrive, so a
 * non-ZMTP or pre-3.0 peer is rejected without waiting for 64 octets.
 *
 * @param bytes The greeting octets received so far (any length).
 * @throws {ZmtpProtocolError} On a bad signature or a major version below 3.
 *
 * @example
 * ```ts
 * import { checkGreetingPrefix } from "./greeting.ts";
 * checkGreetingPrefix(new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3]));
 * ```
 */
export function checkGreetingPrefix(bytes: Uint8Array): void {
  if (bytes.length >= 1 && bytes[0] !== 0xff) {
    throw new ZmtpProtocolError(
      `Cannot parse ZMTP greeting: bad signature (first octet 0x${
        hex(bytes[0]!)
      }, expected 0xff)`,
    );
  }
  if (bytes.length >= 10 && (bytes[9]! & 0x01) !== 1) {
    throw new ZmtpProtocolError(
      `Cannot parse ZMTP greeting: bad signature (octet 9 is 0x${
        hex(bytes[9]!)
      }, expected 0x7f)`,
    );
  }
  if (bytes.length >= 11 && bytes[10]! < 3) {
    throw new ZmtpProtocolError(
      `Cannot parse ZMTP greeting: peer speaks ZMTP major version ${
        bytes[10]
      }, need 3 or later`,
    );
  }
}

/**
 * Parses a 64-octet greeting.
 *
 * @param bytes At least 64 octets; only the first 64 are read.
 * @returns The greeting fields.
 * @throws {ZmtpProtocolError} On a short buffer, bad signature or major version below 3.
 *
 * @example
 * ```ts
 * import { encodeGreeting, parseGreeting } from "./greeting.ts";
 * console.assert(parseGreeting(encodeGreeting({ asServer: true })).asServer);
 * ```
 */
export function parseGreeting(bytes: Uint8Array): Greeting {
  if (bytes.length < GREETING_SIZE) {
    throw new ZmtpProtocolError(
      `Cannot parse ZMTP greeting: got ${bytes.length} octets, need ${GREETING_SIZE}`,
    );
  }
  checkGreetingPrefix(bytes);
  const mechanismBytes = bytes.subarray(
    MECHANISM_OFFSET,
    MECHANISM_OFFSET + MECHANISM_SIZE,
  );
  const end = mechanismBytes.indexOf(0);
  return {
    major: bytes[10]!,
    minor: bytes[11]!,
    mechanism: decoder.decode(
      end === -1 ? mechanismBytes : mechanismBytes.subarray(0, end),
    ),
    asServer: bytes[AS_SERVER_OFFSET] === 1,
  };
}

/** Metadata properties, e.g. `{ "Socket-Type": "DEALER" }`; values are octets or UTF-8 text. */
export type Properties = Readonly<Record<string, string | Uint8Array>>;

/**
 * Encodes metadata properties: each is a name length (1 octet), the name, a
 * value length (4 octets big-endian) and the value.
 *
 * @param properties Property names (1-255 octets) and values.
 * @returns The encoded metadata.
 * @throws {RangeError} When a name is empty or longer than 255 octets.
 *
 * @example
 * ```ts
 * import { encodeMetadata } from "./greeting.ts";
 * console.assert(encodeMetadata({ A: "b" }).length === 1 + 1 + 4 + 1);
 * ```
 */
export function encodeMetadata(properties: Properties): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [name, value] of Object.entries(properties)) {
    const nameBytes = encoder.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > 255) {
      throw new RangeError(
        `Cannot encode ZMTP property "${name}": name must be 1-255 octets`,
      );
    }
    const valueBytes = typeof value === "string"
      ? encoder.encode(value)
      : value;
    const part = new Uint8Array(1 + nameBytes.length + 4 + valueBytes.length);
    part[0] = nameBytes.length;
    part.set(nameBytes, 1);
    new DataView(part.buffer).setUint32(
      1 + nameBytes.length,
      valueBytes.length,
    );
    part.set(valueBytes, 1 + nameBytes.length + 4);
    parts.push(part);
    total += part.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Parses metadata properties. Names are case-insensitive in ZMTP, so the
 * returned keys are lower-cased (e.g. `"socket-type"`).
 *
 * @param data Encoded metadata.
 * @returns Lower-cased property names mapped to their values (views into `data`).
 * @throws {ZmtpProtocolError} When a length runs past the end of `data`.
 *
 * @example
 * ```ts
 * import { encodeMetadata, parseMetadata } from "./greeting.ts";
 * const props = parseMetadata(encodeMetadata({ "Socket-Type": "PUB" }));
 * console.assert(new TextDecoder().decode(props["socket-type"]) === "PUB");
 * ```
 */
export function parseMetadata(data: Uint8Array): Record<string, Uint8Array> {
  const properties: Record<string, Uint8Array> = {};
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  while (offset < data.length) {
    const nameLength = data[offset]!;
    const valueOffset = offset + 1 + nameLength + 4;
    if (nameLength === 0 || valueOffset > data.length) {
      throw new ZmtpProtocolError(
        `Cannot parse ZMTP metadata: property at offset ${offset} is truncated`,
      );
    }
    const name = decoder.decode(
      data.subarray(offset + 1, offset + 1 + nameLength),
    );
    const valueLength = view.getUint32(offset + 1 + nameLength);
    if (valueOffset + valueLength > data.length) {
      throw new ZmtpProtocolError(
        `Cannot parse ZMTP metadata: value of "${name}" is truncated`,
      );
    }
    properties[name.toLowerCase()] = data.subarray(
      valueOffset,
      valueOffset + valueLength,
    );
    offset = valueOffset + valueLength;
  }
  return properties;
}

/**
 * Encodes a READY command body (name "READY" followed by metadata).
 *
 * @param properties At least `Socket-Type`; optionally `Identity` and others.
 * @returns The command body, for `encodeMessage([body], { command: true })`.
 *
 * @example
 * ```ts
 * import { encodeReady, parseReady } from "./greeting.ts";
 * const props = parseReady(encodeReady({ "Socket-Type": "DEALER" }));
 * console.assert(new TextDecoder().decode(props["socket-type"]) === "DEALER");
 * ```
 */
export function encodeReady(properties: Properties): Uint8Array {
  return encodeCommandBody("READY", encodeMetadata(properties));
}

/**
 * Parses a READY command body.
 *
 * @param body A command frame body.
 * @returns Lower-cased property names mapped to their values.
 * @throws {ZmtpProtocolError} When the command is not READY or its metadata is malformed.
 *
 * @example
 * ```ts
 * import { encodeReady, parseReady } from "./greeting.ts";
 * console.assert("identity" in parseReady(encodeReady({ "Socket-Type": "REQ", Identity: "" })));
 * ```
 */
export function parseReady(body: Uint8Array): Record<string, Uint8Array> {
  const { name, data } = parseCommand(body);
  if (name !== "READY") {
    throw new ZmtpProtocolError(
      `Cannot parse ZMTP READY: got command "${name}"`,
    );
  }
  return parseMetadata(data);
}

function hex(octet: number): string {
  return octet.toString(16).padStart(2, "0");
}
