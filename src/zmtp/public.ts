/**
 * The ZeroMQ part of the package (`@agentic/agentic-python-coder/zmtp`):
 * ZMTP 3 client sockets (DEALER, SUB, REQ, and ROUTER, PUB, REP peers) over
 * Deno's own TCP and Unix sockets, written in TypeScript, as the kernel
 * client uses them to talk to ipykernel. No native code.
 *
 * @example Ask a kernel's heartbeat channel for an echo
 * ```ts
 * import { connect } from "@agentic/agentic-python-coder/zmtp";
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
  type ReceiveOptions,
  type SocketType,
  ZmtpClosedError,
  ZmtpError,
  type ZmtpSocket,
} from "./mod.ts";
