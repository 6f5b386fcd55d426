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

/**
 * The stdio server's flags as the scan sees them: `true` when the flag takes
 * a value. Kept equal to `OPTIONS` (options.ts, which loads `node:util`) by a
 * test.
 */
export const STDIO_FLAGS: Readonly<Record<string, boolean>> = Object.freeze({
  "--dir": true,
  "-d": true,
  "--sandbox": false,
  "--memory-limit": true,
  "--gateway": true,
  "--allow-host": true,
});

/**
 * Whether a command line plainly starts a stdio server: only the server's
 * own flags (no help, version, `--http`, unknown flag or stray argument). A
 * scan, not a parse: `node:util` and `node:path` would add tens of
 * milliseconds before the handshake. Anything else is left to
 * `runMcpServer`, which parses the arguments and reports a usage error
 * before any handshake is answered.
 *
 * @param args Arguments after the program name.
 * @returns True for a plain stdio server start.
 */
export function servesStdio(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const equals = arg.indexOf("=");
    const flag = arg.startsWith("--") && equals > 0
      ? arg.slice(0, equals)
      : arg;
    const takesValue = STDIO_FLAGS[flag];
    if (takesValue === undefined) return false;
    if (flag !== arg) {
      if (!takesValue) return false;
    } else if (takesValue) {
      const value = args[++i];
      if (value === undefined || value.startsWith("-")) return false;
    }
  }
  return true;
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
