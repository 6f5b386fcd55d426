/**
 * Entry point of `ipython_mcp`: an MCP server on stdio giving any MCP client
 * persistent Python kernels. Same server as `coder mcp`.
 *
 * @example Running from source
 * ```sh
 * deno task ipython_mcp --dir ./work
 * ```
 *
 * @module
 */

import { type CliIo, processIo } from "./io.ts";
import { runMcpServer } from "./mcp_command.ts";

/**
 * Runs the ipython_mcp server until stdin ends or SIGTERM/SIGINT.
 *
 * @param args Command-line arguments (`--dir DIR`, `--help`, `--version`).
 * @param io Streams, environment and working directory.
 * @returns The exit code: 0 clean shutdown, 1 start failure, 2 usage error.
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  return await runMcpServer(args, io);
}

if (import.meta.main) Deno.exit(await main(Deno.args, processIo()));
