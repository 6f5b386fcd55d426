/**
 * Error classes of the ZMTP layer.
 *
 * @module
 */

/**
 * Base class of every error the ZMTP layer throws for a failure of the
 * connection itself (as opposed to bad arguments, which are `TypeError` or
 * `RangeError`).
 *
 * @example Catching any ZMTP failure
 * ```ts
 * import { connect, ZmtpError } from "./mod.ts";
 * try {
 *   await connect("DEALER", "tcp://127.0.0.1:1", { signal: AbortSignal.timeout(50) });
 * } catch (error) {
 *   if (!(error instanceof ZmtpError) && !(error instanceof DOMException)) throw error;
 * }
 * ```
 */
export class ZmtpError extends Error {
  /**
   * Creates a ZMTP error.
   *
   * @param message What was attempted, with detail after a colon.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ZmtpError";
  }
}

/**
 * The peer broke the wire protocol: bad greeting signature, unsupported
 * version or mechanism, malformed frame, missing or rejected READY, an
 * incompatible socket type, or an ERROR command from the peer.
 *
 * @example
 * ```ts
 * import { parseGreeting, ZmtpProtocolError } from "./mod.ts";
 * try {
 *   parseGreeting(new Uint8Array(64));
 * } catch (error) {
 *   console.assert(error instanceof ZmtpProtocolError);
 * }
 * ```
 */
export class ZmtpProtocolError extends ZmtpError {
  /**
   * Creates a protocol error.
   *
   * @param message What was received and why it is rejected.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ZmtpProtocolError";
  }
}

/**
 * An operation needed an open connection, but it was closed (by `close()`,
 * end of stream or a connection error).
 *
 * @example
 * ```ts
 * import { ZmtpClosedError } from "./mod.ts";
 * const error = new ZmtpClosedError("Cannot send on a closed ZMTP DEALER socket");
 * console.assert(error.name === "ZmtpClosedError");
 * ```
 */
export class ZmtpClosedError extends ZmtpError {
  /**
   * Creates a closed-connection error.
   *
   * @param message What was attempted.
   * @param options Standard error options (`cause`: the error that ended the connection, if any).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ZmtpClosedError";
  }
}
