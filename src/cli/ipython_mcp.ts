/**
 * Entry point of `ipython_mcp`: an MCP server on stdio giving any MCP client
 * persistent Python kernels. Same server as `coder mcp`.
 *
 * This file imports only the version gate and the stream helpers: the
 * server's modules are loaded by {@linkcode main}, so an older Deno gets one
 * clear line instead of a module-loading error. On stdio the handshake is
 * answered before the kernel layer and the MCP SDK load (`mcp_early.ts`).
 *
 * @example Running from source
 * ```sh
 * deno task ipython_mcp --dir ./work
 * ```
 *
 * @module
 */

import { denoVersionProblem } from "./deno_version.ts";
import { type CliIo, processIo, writeText } from "./io.ts";

export type { CliIo } from "./io.ts";

/**
 * Runs the ipython_mcp server until stdin ends or SIGTERM/SIGINT.
 *
 * @param args Command-line arguments (`--dir DIR`, `--help`, `--version`).
 * @param io Streams, environment and working directory.
 * @returns The exit code: 0 clean shutdown, 1 start failure, 2 usage error.
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  const problem = denoVersionProblem(Deno.version.deno, "ipython_mcp");
  if (problem !== null) {
    await writeText(io.stderr, `${problem}\n`);
    return 1;
  }
  // On stdio the transport reads at once and answers the handshake itself
  // (SPEC §10: initialize within 300 ms); the server's modules, whose
  // evaluation blocks the event loop, load once the client has spoken. A
  // person at a terminal gets a usage error at once instead.
  const { openStdio, servesStdio } = await import("./mcp_early.ts");
  let stdio;
  if (!io.stdinIsTerminal && servesStdio(args)) {
    stdio = openStdio(io);
    await stdio.first;
  }
  const { runMcpServer } = await import("./mcp_command.ts");
  return await runMcpServer(args, io, stdio);
}

if (import.meta.main) Deno.exit(await main(Deno.args, processIo()));
