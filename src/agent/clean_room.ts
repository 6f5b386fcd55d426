/**
 * The clean-room check of `save_code`: before a submission is accepted, the
 * program runs on its own in a second, fresh kernel started by the agent's
 * own backend (same packages, same working directory, sandboxed when the
 * agent's kernel is), from an empty namespace as `__main__`, with a
 * deadline. A program that only worked because of the session's state (a
 * helper defined in an earlier cell, a variable left in the kernel) fails
 * there, and the save is refused with the error.
 *
 * @module
 */

import {
  ExecutionTimeoutError,
  type KernelBackend,
  KernelDiedError,
  type KernelStartRequest,
} from "../kernel/mod.ts";
import type { AgentLog } from "./log.ts";

/** Longest stdout/stderr text a clean-room result keeps (each). */
export const CLEAN_ROOM_OUTPUT_CHARS = 4_000;

/** Options of {@linkcode runCleanRoom}. */
export interface CleanRoomOptions {
  /** Starts the fresh kernel (the agent's backend). */
  backend: KernelBackend;
  /** Working directory and packages (the agent's start request). */
  request: KernelStartRequest;
  /** Path the program is saved under (its `__file__` and `sys.argv[0]`). */
  file: string;
  /** Deadline of the program's run, in ms (kernel start not included). */
  timeoutMs: number;
  /** Cancels the check (the fresh kernel is shut down). */
  signal?: AbortSignal;
}

/** What the clean-room run of a program gave. */
export interface CleanRoomResult {
  /** True when the program ran to its end (or exited with status 0). */
  ok: boolean;
  /** Why the program failed on its own (exception and traceback, deadline, kernel death), or null. */
  error: string | null;
  /** Its stdout (head and tail kept when long). */
  stdout: string;
  /** Its stderr (head and tail kept when long). */
  stderr: string;
  /** Wall time including the kernel's start, in seconds. */
  seconds: number;
}

function clipOutput(text: string): string {
  if (text.length <= CLEAN_ROOM_OUTPUT_CHARS) return text;
  const half = Math.floor(CLEAN_ROOM_OUTPUT_CHARS / 2);
  return `${text.slice(0, half)}\n[... ${
    text.length - 2 * half
  } characters omitted ...]\n${text.slice(-half)}`;
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * The cell that runs a program as `__main__` in a namespace of its own.
 * `sys.exit(0)` (or `exit()`) counts as success; another exit status is an
 * error naming it.
 *
 * @param code The program.
 * @param file Its path (`__file__`, `sys.argv[0]`).
 * @returns Python source for one cell.
 */
export function cleanRoomCell(code: string, file: string): string {
  return [
    "def __coder_clean_room(source, path):",
    "    import builtins, sys, _sitebuiltins",
    "    sys.argv = [path]",
    "    # The builtins of `python FILE`: without what IPython adds, with exit/quit.",
    "    names = dict(vars(builtins))",
    '    for name in ("get_ipython", "display", "__IPYTHON__"):',
    "        names.pop(name, None)",
    '    names["exit"] = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")',
    '    names["quit"] = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")',
    '    namespace = {"__name__": "__main__", "__file__": path, "__builtins__": names}',
    "    try:",
    '        exec(compile(source, path, "exec"), namespace)',
    "    except SystemExit as stop:",
    "        if stop.code not in (None, 0):",
    '            raise RuntimeError(f"the program exited with status {stop.code!r}") from None',
    "__coder_clean_room(",
    `    __import__("base64").b64decode("${base64(code)}").decode("utf-8"),`,
    `    ${JSON.stringify(file)},`,
    ")",
  ].join("\n");
}

/**
 * Runs a program in a fresh kernel from an empty namespace and shuts the
 * kernel down.
 *
 * @param code The program (already syntax-checked).
 * @param options Backend, start request, file name, deadline, signal.
 * @returns Whether it ran on its own, with its output.
 * @throws {KernelStartError} When the fresh kernel cannot start.
 * @throws {DOMException} An AbortError when `signal` aborts.
 *
 * @example Check a program
 * ```ts ignore
 * import { runCleanRoom } from "./clean_room.ts";
 * import { createLocalBackend } from "../kernel/mod.ts";
 * const result = await runCleanRoom("print(helper())", {
 *   backend: createLocalBackend({ env: Deno.env.toObject() }),
 *   request: { cwd: "/tmp", packages: [] },
 *   file: "/tmp/solution.py",
 *   timeoutMs: 60_000,
 * });
 * console.log(result.ok, result.error); // false "NameError: name 'helper' is not defined ..."
 * ```
 */
export async function runCleanRoom(
  code: string,
  options: CleanRoomOptions,
): Promise<CleanRoomResult> {
  const started = performance.now();
  const seconds = (): number =>
    Math.round((performance.now() - started) / 10) / 100;
  const kernel = await options.backend.start({
    cwd: options.request.cwd,
    packages: options.request.packages,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const result = await kernel.execute(cleanRoomCell(code, options.file), {
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const error = result.status === "error"
      ? (result.error
        ? `${result.error.ename}: ${result.error.evalue}\n${result.error.traceback}`
          .trim()
        : "the program failed")
      : null;
    return {
      ok: error === null,
      error: error === null ? null : clipOutput(error),
      stdout: clipOutput(result.stdout),
      stderr: clipOutput(result.stderr),
      seconds: seconds(),
    };
  } catch (error) {
    if (error instanceof ExecutionTimeoutError) {
      return {
        ok: false,
        error: `the program did not finish within ${
          Math.round(error.timeoutMs / 1000)
        }s`,
        stdout: clipOutput(error.partial.stdout),
        stderr: clipOutput(error.partial.stderr),
        seconds: seconds(),
      };
    }
    if (error instanceof KernelDiedError) {
      return {
        ok: false,
        error:
          `the Python process died while running the program (${error.message})`,
        stdout: clipOutput(error.partial?.stdout ?? ""),
        stderr: clipOutput(error.partial?.stderr ?? ""),
        seconds: seconds(),
      };
    }
    throw error;
  } finally {
    await kernel.shutdown();
  }
}

/**
 * The fields of a clean-room run shown to the model with a save.
 *
 * @param room The run.
 * @returns `{ ran_on_its_own, stdout?, stderr? }`.
 */
export function cleanRoomReport(
  room: CleanRoomResult,
): Record<string, unknown> {
  return {
    ran_on_its_own: room.ok,
    ...(room.stdout ? { stdout: room.stdout } : {}),
    ...(room.stderr ? { stderr: room.stderr } : {}),
  };
}

/**
 * Why a save was refused, for the model.
 *
 * @param room The failed run.
 * @returns The error text (says that nothing was saved).
 */
export function cleanRoomRefusal(room: CleanRoomResult): string {
  return `Clean-room check failed: run on its own (a fresh Python process, empty namespace, same packages), the program failed: ${room.error}\n` +
    "It may rely on state from your session (a function, import or variable defined in an earlier python_exec call). " +
    "Make it self-contained and call save_code again. Nothing was saved.";
}

/**
 * Runs {@linkcode runCleanRoom} and logs the run as a `clean_room` record.
 *
 * @param code The program.
 * @param options As for {@linkcode runCleanRoom}, plus the log.
 * @returns The run.
 * @throws Whatever {@linkcode runCleanRoom} throws (logged as a failed run first).
 */
export async function runLoggedCleanRoom(
  code: string,
  options: CleanRoomOptions & { log: AgentLog },
): Promise<CleanRoomResult> {
  const { log, ...rest } = options;
  try {
    const result = await runCleanRoom(code, rest);
    log.add({
      event: "clean_room",
      success: result.ok,
      error: result.error,
      stdout: result.stdout,
      stderr: result.stderr,
      seconds: result.seconds,
    });
    return result;
  } catch (error) {
    log.add({
      event: "clean_room",
      success: false,
      error: `could not run the check: ${
        error instanceof Error ? error.message : String(error)
      }`,
      stdout: "",
      stderr: "",
      seconds: 0,
    });
    throw error;
  }
}
