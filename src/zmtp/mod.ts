/**
 * ZeroMQ wire protocol (ZMTP 3.0/3.1, NULL mechanism) client sockets on
 * Deno's own TCP and Unix sockets: DEALER, SUB, REQ to talk to a Jupyter
 * kernel, and ROUTER, PUB, REP for one-connection test peers. No native code,
 * no `--allow-ffi`. Imports nothing else of this project.
 *
 * Each socket is one connection. Messages are read eagerly by one read loop
 * into an unbounded queue and consumed with `for await` or `receive()`; each
 * multipart message is written with one `write` on a TCP_NODELAY connection.
 *
 * @example Ask a kernel's heartbeat channel for an echo
 * ```ts
 * import { connect } from "./mod.ts";
 *
 * await using hb = await connect("REQ", "tcp://127.0.0.1:5556", {
 *   signal: AbortSignal.timeout(10_000),
 * });
 * await hb.send([new TextEncoder().encode("ping")]);
 * const [echo] = await hb.receive({ signal: AbortSignal.timeout(1_000) });
 * console.log(new TextDecoder().decode(echo)); // "ping"
 * ```
 *
 * @module
 */

export {
  connect,
  type ConnectOptions,
  type Endpoint,
  openSocket,
  type OpenSocketOptions,
  parseEndpoint,
} from "./connect.ts";
export {
  type ReceiveOptions,
  type SocketType,
  type ZmtpSocket,
} from "./socket.ts";
export {
  type Command,
  DEFAULT_MAX_FRAME_SIZE,
  encodeCommandBody,
  encodeMessage,
  type EncodeMessageOptions,
  FLAG_COMMAND,
  FLAG_LONG,
  FLAG_MORE,
  type Frame,
  FrameDecoder,
  type FrameDecoderOptions,
  MAX_SHORT_FRAME,
  parseCommand,
} from "./frame.ts";
export {
  checkGreetingPrefix,
  encodeGreeting,
  type EncodeGreetingOptions,
  encodeMetadata,
  encodeReady,
  type Greeting,
  GREETING_PREFIX_SIZE,
  GREETING_SIZE,
  parseGreeting,
  parseMetadata,
  parseReady,
  type Properties,
} from "./greeting.ts";
export { ZmtpClosedError, ZmtpError, ZmtpProtocolError } from "./errors.ts";
