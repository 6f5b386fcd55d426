/**
 * Running helper programs: finding one on PATH, running it with a deadline
 * and reading its output.
 *
 * @module
 */

import { delimiter, join } from "node:path";

const IS_WINDOWS = Deno.build.os === "windows";

/** What {@linkcode runCommand} reports. */
export interface CommandResult {
  /** Exit status 0. */
  ok: boolean;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

/** Searches PATH in `env` for a program. */
export async function which(
  program: string,
  env: Record<string, string>,
): Promise<string | undefined> {
  const dirs = (env.PATH ?? env.Path ?? "").split(delimiter).filter(Boolean);
  const names = IS_WINDOWS ? [`${program}.exe`, program] : [program];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        const stat = await Deno.stat(candidate);
        if (stat.isFile && (IS_WINDOWS || ((stat.mode ?? 0o111) & 0o111))) {
          return candidate;
        }
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * Runs a short command with a clean environment, returning its exit status
 * and output; a command that cannot be started is reported as failed
 * ("not found", "not executable"), never thrown.
 *
 * @param command Program.
 * @param args Its arguments.
 * @param env Its whole environment.
 * @param timeoutMs Deadline; the process is killed past it.
 * @param signal Aborts it early.
 * @returns Success, stdout and stderr.
 */
export async function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CommandResult> {
  try {
    const out = await new Deno.Command(command, {
      args,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: signal
        ? AbortSignal.any([AbortSignal.timeout(timeoutMs), signal])
        : AbortSignal.timeout(timeoutMs),
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: out.success,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "not found"
      : error instanceof Deno.errors.PermissionDenied
      ? "not executable"
      : String(error);
    return { ok: false, stdout: "", stderr: why };
  }
}

/** Returns the last `n` non-empty lines of a text. */
export function tailLines(text: string, n = 8): string {
  return text.trimEnd().split("\n").filter((l) => l.trim() !== "").slice(-n)
    .join("\n");
}
