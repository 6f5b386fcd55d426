/**
 * Runs the real `coder` entry point as a child process (`deno run` with the
 * program's own permission flags), for tests of signals and of what the
 * kernel can see of its parent process.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { CODER_PERMISSIONS } from "../../scripts/permissions.ts";

const ENTRY = fileURLToPath(import.meta.resolve("../../src/cli/coder.ts"));

/** Options of {@linkcode spawnCoder}. */
export interface SpawnCoderOptions {
  /** Working directory of the process. */
  cwd: string;
  /** The complete environment (nothing is inherited). */
  env: Record<string, string>;
}

/** A running coder process with its output collected. */
export interface CoderProcess extends AsyncDisposable {
  /** Process id (the Deno process that runs coder). */
  pid: number;
  /** Resolves with the exit status and all output once the process ends. */
  done: Promise<{ status: Deno.CommandStatus; stdout: string; stderr: string }>;
  /** Sends a signal (ignored when the process is gone). */
  kill(signal: Deno.Signal): void;
}

/**
 * Starts `coder ARGS` as a process with piped stdout/stderr and no stdin.
 *
 * @param args Command-line arguments.
 * @param options Working directory and environment.
 * @returns The process; disposing it kills it when still running.
 */
export function spawnCoder(
  args: string[],
  options: SpawnCoderOptions,
): CoderProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CODER_PERMISSIONS, ENTRY, ...args],
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const done = child.output().then((output) => ({
    status: {
      success: output.success,
      code: output.code,
      signal: output.signal,
    },
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  }));
  let ended = false;
  done.finally(() => (ended = true)).catch(() => {});
  const kill = (signal: Deno.Signal): void => {
    if (ended) return;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  return {
    pid: child.pid,
    done,
    kill,
    async [Symbol.asyncDispose]() {
      kill("SIGKILL");
      await done.catch(() => {});
    },
  };
}
