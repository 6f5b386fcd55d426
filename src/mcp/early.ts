/**
 * The light surface of the mcp layer: what the `ipython_mcp` entry loads
 * before the MCP SDK (whose module evaluation takes longer than a client's
 * patience for `initialize` allows): the stdio transport and the answer to a
 * connection's opening message. Importing it loads neither the SDK, zod nor
 * the kernel layer; everything else of the layer is in `mod.ts`.
 *
 * @example Answering the handshake while the server loads
 * ```ts ignore
 * import { handshakeAnswer, WebStreamServerTransport } from "./early.ts";
 * const transport = new WebStreamServerTransport(Deno.stdin.readable, Deno.stdout.writable);
 * transport.answerOpening = (message) => handshakeAnswer(message, "1.0.0");
 * transport.listen();
 * await transport.firstMessage;
 * ```
 *
 * @module
 */

export {
  handshakeAnswer,
  LEGACY_PROTOCOL_VERSIONS,
  MODERN_PROTOCOL_VERSION,
  SERVER_INSTRUCTIONS,
  SERVER_NAME,
  serverCapabilities,
} from "./handshake.ts";
export { WebStreamServerTransport } from "./stdio.ts";
