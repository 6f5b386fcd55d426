/**
 * Validation of an evaluation run's solution. Runs after the run's kernel is
 * shut down. The solution sits in the run's directory, which a sandboxed
 * kernel could write: it is read without following links (an `lstat` that
 * finds a regular file, then an open whose `fstat` must show the same
 * file), copied into a fresh private directory the kernel never could
 * write, and the validator gets that copy.
 *
 * @module
 */

import { join } from "node:path";
import type { EvalValidator } from "./eval_tasks.ts";

/** Longest tail of a validator's output kept in a record. */
export const VALIDATION_TAIL_CHARS = 2_000;

/** Default deadline of one validator run. */
export const DEFAULT_VALIDATE_TIMEOUT_MS = 300_000;

/** Outcome of one validation. */
export interface ValidationResult {
  /** Exit status 0. */
  valid: boolean;
  /** The validator's exit code (null: it did not run or was killed). */
  exit_code: number | null;
  /** Last characters of its stdout then stderr. */
  output_tail: string;
  /** Why it could not run or was stopped, when so. */
  error?: string;
}

/** Options of {@linkcode validateSolution}. */
export interface ValidateOptions {
  /** Directory the validator runs in (the run's directory). */
  cwd: string;
  /** Its environment (plus `CODER_SOLUTION`). */
  env: Record<string, string>;
  /** Deadline (default 300 s). */
  timeoutMs?: number;
  /** Stops the validator. */
  signal?: AbortSignal;
}

/**
 * Reads a file that a sandboxed process may have tampered with, without
 * following a link at its name: it must be a regular file on `lstat`, and
 * the opened file must be that same file (device and inode), so a link
 * swapped in between is refused.
 *
 * @param path The file.
 * @returns Its bytes, or null when there is no regular file there.
 */
export async function readRegularFileNoFollow(
  path: string,
): Promise<Uint8Array | null> {
  let before: Deno.FileInfo;
  try {
    before = await Deno.lstat(path);
  } catch {
    return null;
  }
  if (!before.isFile || before.isSymlink) return null;
  using file = await Deno.open(path, { read: true });
  const opened = await file.stat();
  if (
    !opened.isFile || opened.ino !== before.ino || opened.dev !== before.dev
  ) return null;
  const chunks: Uint8Array[] = [];
  for await (const chunk of file.readable) chunks.push(chunk);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function tail(text: string): string {
  return text.length <= VALIDATION_TAIL_CHARS
    ? text
    : text.slice(-VALIDATION_TAIL_CHARS);
}

/**
 * Validates a solution: copies it (read without following links) into a
 * fresh private directory, runs `validator.argv + [copy]` in `cwd` with
 * `CODER_SOLUTION=copy`, and removes the copy.
 *
 * @param solution The solution in the run's directory.
 * @param validator The command.
 * @param options Directory, environment, deadline, signal.
 * @returns Valid when the command exits 0; invalid with the reason when the
 *   solution is missing, not a regular file, or the command fails.
 *
 * @example Validate a solution
 * ```ts ignore
 * import { validateSolution } from "./validate.ts";
 * import { shellValidator } from "./eval_tasks.ts";
 * const result = await validateSolution("/tmp/run/task_code.py", shellValidator("python3"), {
 *   cwd: "/tmp/run",
 *   env: {},
 * });
 * console.log(result.valid, result.output_tail);
 * ```
 */
export async function validateSolution(
  solution: string,
  validator: EvalValidator,
  options: ValidateOptions,
): Promise<ValidationResult> {
  const bytes = await readRegularFileNoFollow(solution);
  if (bytes === null) {
    return {
      valid: false,
      exit_code: null,
      output_tail: "",
      error:
        "no solution: the run saved no code file (or it is not a regular file)",
    };
  }
  const private_ = await Deno.makeTempDir({ prefix: "coder_validate_" });
  try {
    const copy = join(private_, solution.split("/").at(-1)!);
    await Deno.writeFile(copy, bytes, { createNew: true, mode: 0o400 });
    const timeoutMs = options.timeoutMs ?? DEFAULT_VALIDATE_TIMEOUT_MS;
    const [program, ...args] = validator.argv;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(program!, {
        args: [...args, copy],
        cwd: options.cwd,
        env: { ...options.env, CODER_SOLUTION: copy },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        // Its own process group: a deadline or stop kills what it started too.
        detached: true,
      }).spawn();
    } catch (error) {
      return {
        valid: false,
        exit_code: null,
        output_tail: "",
        error: `cannot run the validator "${validator.label}": ${
          (error as Error).message
        }`,
      };
    }
    let stopped: "deadline" | "signal" | null = null;
    const killGroup = (): void => {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const stop = (why: "deadline" | "signal"): void => {
      stopped ??= why;
      killGroup();
    };
    const timer = setTimeout(() => stop("deadline"), timeoutMs);
    const onAbort = (): void => stop("signal");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) stop("signal");
    let output: Deno.CommandOutput;
    try {
      output = await child.output();
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      // Whatever it left running in the background goes with it.
      killGroup();
    }
    const decoder = new TextDecoder();
    const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
    if (stopped !== null) {
      return {
        valid: false,
        exit_code: null,
        output_tail: tail(text),
        error: stopped === "deadline"
          ? `the validator did not finish within ${
            Math.round(timeoutMs / 1000)
          }s`
          : "the validator was stopped",
      };
    }
    return {
      valid: output.success,
      exit_code: output.signal === null ? output.code : null,
      output_tail: tail(text),
      ...(output.signal !== null
        ? { error: `the validator was killed by ${output.signal}` }
        : {}),
    };
  } finally {
    await Deno.remove(private_, { recursive: true }).catch(() => {});
  }
}
