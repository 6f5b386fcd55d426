/**
 * Entry point of `coder`: the autonomous coding agent CLI, and `coder mcp`
 * (the ipython_mcp server).
 *
 * This file imports only the version gate and the stream helpers: the
 * agent's modules (text imports need Deno 2.8) are loaded by
 * {@linkcode main}, so an older Deno gets one clear line instead of a
 * module-loading error.
 *
 * @example Run from source
 * ```sh
 * deno task coder "Write a function that checks whether a number is prime"
 * ```
 *
 * @module
 */

import { denoVersionProblem } from "./deno_version.ts";
import { type CliIo, processIo, writeText } from "./io.ts";

export type { CliIo } from "./io.ts";

/**
 * Runs `coder` with the given arguments against the given streams.
 *
 * @param args Command-line arguments (without the program name).
 * @param io Streams, environment and working directory.
 * @returns The exit code (0 answer, 1 runtime error, 2 usage error, 3 step
 *   limit, 130 SIGINT, 143 SIGTERM).
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  const problem = denoVersionProblem(Deno.version.deno, "coder");
  if (problem !== null) {
    await writeText(io.stderr, `${problem}\n`);
    return 1;
  }
  const command = await import("./coder_command.ts");
  return await command.main(args, io);
}

if (import.meta.main) Deno.exit(await main(Deno.args, processIo()));
