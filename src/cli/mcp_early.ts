/**
 * The first moments of `ipython_mcp` on stdio, before the kernel layer and
 * the MCP SDK are loaded: the stdio transport starts reading at once and
 * answers the connection's opening `initialize` (2025 era) or
 * `server/discover` (2026 era) itself, from the server's identity; every
 * later message is held, in order, until the SDK server connects
 * (`runMcpServer`). Loads only the mcp layer's light surface.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { handshakeAnswer, WebStreamServerTransport } from "../mcp/early.ts";
import type { CliIo } from "./io.ts";
import type { OptionName } from "./options.ts";

/** The shared options of `ipython_mcp` and `coder mcp`. */
export const MCP_OPTIONS: readonly OptionName[] = Object.freeze([
  "dir",
  "help",
  "version",
  "sandbox",
  "memory-limit",
  "gateway",
  "allow-host",
]);

/** The options only the MCP server has. */
export const MCP_OWN_OPTIONS = Object.freeze({
  http: { type: "string" as const },
});

/** Arguments that ask for something other than a stdio server. */
const NOT_STDIO = /^(--(help|version|http)(=.*)?|-[A-Za-z]*[hV][A-Za-z]*)$/;

/**
 * Whether a command line serves MCP on stdio: it asks for neither help, the
 * version nor `--http`. A scan, not a parse: `node:util` and `node:path`
 * would add tens of milliseconds before the handshake; `runMcpServer` parses
 * the arguments (and reports a usage error) afterwards.
 *
 * @param args Arguments after the program name.
 * @returns True for a stdio server start.
 */
export function servesStdio(args: readonly string[]): boolean {
  return !args.some((arg) => NOT_STDIO.test(arg));
}

/** The stdio connection, reading before the server is ready. */
export interface StdioStart {
  /** The transport, reading; connect the server to it. */
  readonly transport: WebStreamServerTransport;
  /** The first message (undefined when the input ended without one). */
  readonly first: Promise<unknown>;
  /** Resolves when stdin ends. */
  readonly ended: Promise<void>;
  /** Resolves when a second message arrives or stdin ends. */
  readonly more: Promise<void>;
  /** Whether stdin has ended. */
  readonly inputEnded: boolean;
  /**
   * Hands every message read so far, then each one as it is read, to
   * `observer` (one observer).
   *
   * @param observer Sees each incoming message.
   */
  watch(observer: (message: unknown) => void): void;
}

/**
 * Starts reading MCP messages on `io.stdin`; the opening handshake is
 * answered on `io.stdout` at once.
 *
 * @param io The process streams.
 * @param version Version reported to clients; default the package's.
 * @returns The reading connection.
 * @example Answering initialize before loading the server
 * ```ts ignore
 * const stdio = openStdio(io);
 * await stdio.first;
 * const { runMcpServer } = await import("./mcp_command.ts");
 * await runMcpServer(args, io, stdio);
 * ```
 */
export function openStdio(
  io: CliIo,
  version: string = denoJson.version,
): StdioStart {
  const transport = new WebStreamServerTransport(io.stdin, io.stdout);
  const ended = Promise.withResolvers<void>();
  const more = Promise.withResolvers<void>();
  let inputEnded = false;
  let count = 0;
  const seen: unknown[] = [];
  let observe: ((message: unknown) => void) | undefined;
  transport.answerOpening = (message) => handshakeAnswer(message, version);
  transport.onincoming = (message) => {
    if (++count === 2) more.resolve();
    if (observe) observe(message);
    else seen.push(message);
  };
  transport.oninputend = () => {
    inputEnded = true;
    ended.resolve();
    more.resolve();
  };
  transport.listen();
  return {
    transport,
    first: transport.firstMessage,
    ended: ended.promise,
    more: more.promise,
    get inputEnded() {
      return inputEnded;
    },
    watch(observer) {
      observe = observer;
      for (const message of seen.splice(0)) observer(message);
    },
  };
}
