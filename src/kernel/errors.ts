/**
 * Errors raised when our kernel machinery fails. Python exceptions are data
 * ({@linkcode ExecuteResult.error}), never thrown.
 *
 * @module
 */

import type { ExecuteResult, KernelExit } from "./messages.ts";

/**
 * An option of the kernel layer a hint can name: the field of the options
 * object a caller passes, or `sandbox` for the choice of
 * `createSandboxBackend` over an unsandboxed backend.
 *
 * - `python`, `memoryLimit`, `allowHosts`: `LaunchOptions` /
 *   `SandboxBackendOptions` fields;
 * - `token`, `authScheme`, `kernelName`: `RemoteBackendOptions` fields;
 * - `maxKernels`: a `KernelRegistryOptions` field.
 */
export type HintOption =
  | "sandbox"
  | "python"
  | "memoryLimit"
  | "allowHosts"
  | "token"
  | "authScheme"
  | "kernelName"
  | "maxKernels";

/**
 * What to do with the option: `set` it (to `value` when given), `check` it,
 * `add` `value` to it (a list), `raise` it (a limit), or `disable` it.
 */
export type HintAdvice = "set" | "check" | "add" | "raise" | "disable";

/**
 * Which option to change, and how, to get past an error: data, so each
 * caller words it in its own terms (a library user reads option names, the
 * command line its flags and environment variables).
 *
 * @example A hint and its library wording
 * ```ts
 * import { describeHint, type ErrorHint } from "./errors.ts";
 * const hint: ErrorHint = { option: "memoryLimit", advice: "set", value: null };
 * console.log(describeHint(hint)); // pass memoryLimit: null
 * ```
 */
export interface ErrorHint {
  /** The option to change. */
  readonly option: HintOption;
  /** What to do with it. */
  readonly advice: HintAdvice;
  /** The value to set or add, as the option takes it (`null`: no limit). */
  readonly value?: string | number | null;
}

/**
 * Words a hint as an imperative clause without a final full stop ("pass a
 * valid token", "run without --sandbox"). Backends, the registry and the
 * sandbox's network filter take one (`renderHint`) for the messages they
 * make; default {@linkcode describeHint}.
 */
export type HintRenderer = (hint: ErrorHint) => string;

/**
 * Words a hint in the library's terms: the option names of the options
 * objects (the default {@linkcode HintRenderer}).
 *
 * @param hint The hint.
 * @returns An imperative clause, e.g. "pass a valid token".
 * @example
 * ```ts
 * import { describeHint } from "./errors.ts";
 * console.log(describeHint({ option: "token", advice: "set" })); // pass a valid token
 * ```
 */
export function describeHint(hint: ErrorHint): string {
  const { option, value } = hint;
  const shown = value === undefined ? "" : JSON.stringify(value);
  switch (hint.advice) {
    case "disable":
      return option === "sandbox"
        ? "use an unsandboxed backend (createLocalBackend)"
        : `leave out ${option}`;
    case "set":
      return value === undefined
        ? `pass a valid ${option}`
        : `pass ${option}: ${shown}`;
    case "check":
      return `check ${option}`;
    case "add":
      return `add ${shown} to ${option}`;
    case "raise":
      return `raise ${option}`;
  }
}

/** Options of a kernel-layer error: `cause`, and hints that say what to change. */
export interface KernelErrorOptions extends ErrorOptions {
  /** Which options to change to get past the error (default: the `cause`'s, when it is a kernel error). */
  hints?: readonly ErrorHint[];
}

/** Base class of every kernel-layer error. */
export class KernelError extends Error {
  /**
   * Which options to change to get past the error, as data (empty when no
   * option helps). The message already says it, worded by the
   * `renderHint` the caller passed (default {@linkcode describeHint}).
   */
  readonly hints: readonly ErrorHint[];
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options Standard error options (`cause`) and hints.
   */
  constructor(message: string, options?: KernelErrorOptions) {
    super(message, options);
    this.name = "KernelError";
    this.hints = options?.hints ??
      (options?.cause instanceof KernelError ? options.cause.hints : []);
  }
}

/** A kernel could not be started: no interpreter, no ipykernel, start-up crash or timeout. */
export class KernelStartError extends KernelError {
  /** Interpreters or commands that were tried. */
  readonly tried: string[];
  /** Last lines the kernel wrote to stderr, if any. */
  readonly stderrTail: string;
  /**
   * Creates the error.
   *
   * @param message What went wrong and how to fix it.
   * @param details What was tried and the kernel's last stderr lines.
   * @param options Standard error options (`cause`).
   */
  constructor(
    message: string,
    details: { tried?: string[]; stderrTail?: string } = {},
    options?: KernelErrorOptions,
  ) {
    super(message, options);
    this.name = "KernelStartError";
    this.tried = details.tried ?? [];
    this.stderrTail = details.stderrTail ?? "";
  }
}

/** Linux signal numbers, for exit codes 128+N that shells and wrappers report. */
const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
};

/**
 * The signal a wrapper (bwrap, sh, uv) reports as exit code 128+N.
 *
 * @param code An exit code.
 * @returns The signal's name (`SIGKILL`, or `signal N` when unnamed), or
 *   null for an ordinary exit code.
 */
export function signalOfExitCode(code: number): string | null {
  if (code <= 128 || code >= 128 + 65) return null;
  const n = code - 128;
  return SIGNAL_NAMES[n] ?? `signal ${n}`;
}

/**
 * Formats an exit as "exit code 1" or "signal SIGKILL". An exit code above
 * 128 (a wrapper such as uv or bwrap reporting its child's signal N as
 * 128+N) is named as that signal.
 *
 * @param exit How the process ended.
 * @returns The description.
 */
export function describeExit(
  exit:
    & Pick<KernelExit, "code" | "signal">
    & Partial<Pick<KernelExit, "reason" | "detail">>,
): string {
  if (exit.reason === "memory_limit") {
    return `it exceeded its memory limit${
      exit.detail ? ` of ${exit.detail}` : ""
    }`;
  }
  if (exit.reason === "unresponsive") {
    return "it did not answer an interrupt and was stopped";
  }
  const detail = exit.detail ? `: ${exit.detail}` : "";
  if (exit.signal) return `signal ${exit.signal}${detail}`;
  if (exit.code === null) return exit.detail ?? "unknown exit status";
  const signal = signalOfExitCode(exit.code);
  if (signal !== null) {
    return `signal ${signal.replace(/^signal /, "")}${detail}`;
  }
  return `exit code ${exit.code}${detail}`;
}

/** The kernel process died (os._exit, segfault, OOM kill, killed). */
export class KernelDiedError extends KernelError {
  /** How the process ended. */
  readonly exit: KernelExit;
  /** Output gathered before the death, when it died mid-execution. */
  readonly partial: ExecuteResult | null;
  /**
   * Creates the error.
   *
   * @param exit How the process ended.
   * @param partial Output gathered before the death.
   */
  constructor(exit: KernelExit, partial: ExecuteResult | null = null) {
    super(
      exit.reason === "memory_limit"
        ? `Kernel stopped: ${describeExit(exit)}`
        : `Kernel died (${describeExit(exit)})`,
    );
    this.name = "KernelDiedError";
    this.exit = exit;
    this.partial = partial;
  }
}

/** An execution passed its deadline. */
export class ExecutionTimeoutError extends KernelError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  /** Output gathered before the deadline. */
  readonly partial: ExecuteResult;
  /** True when the interrupt worked and the kernel's state is preserved. */
  readonly kernelAlive: boolean;
  /**
   * Creates the error.
   *
   * @param timeoutMs The deadline, in milliseconds.
   * @param partial Output gathered before the deadline.
   * @param kernelAlive Whether the kernel survived the interrupt.
   */
  constructor(timeoutMs: number, partial: ExecuteResult, kernelAlive: boolean) {
    super(
      kernelAlive
        ? `Execution timed out after ${
          timeoutMs / 1000
        }s; the kernel was interrupted and its state preserved`
        : `Execution timed out after ${
          timeoutMs / 1000
        }s; the kernel did not answer the interrupt and was shut down`,
    );
    this.name = "ExecutionTimeoutError";
    this.timeoutMs = timeoutMs;
    this.partial = partial;
    this.kernelAlive = kernelAlive;
  }
}

/** No live kernel has the given id. */
export class KernelNotFoundError extends KernelError {
  /** The id that was looked up. */
  readonly kernelId: string;
  /**
   * Creates the error.
   *
   * @param kernelId The id that was looked up.
   */
  constructor(kernelId: string) {
    super(`Kernel ${kernelId} not found`);
    this.name = "KernelNotFoundError";
    this.kernelId = kernelId;
  }
}

/**
 * A registry id whose kernel died (while idle or during a call) and has not
 * been started again: the id answers this until `python_reset` restarts it
 * (SPEC §13), never a bare "not found".
 */
export class KernelGoneError extends KernelNotFoundError {
  /** How the kernel ended. */
  readonly exit: KernelExit;
  /** True when it died with no execution queued or running. */
  readonly idle: boolean;
  /**
   * Creates the error.
   *
   * @param kernelId The registry id.
   * @param exit How the kernel ended.
   * @param idle Whether it died while idle.
   */
  constructor(kernelId: string, exit: KernelExit, idle: boolean) {
    super(kernelId);
    this.message = `Kernel ${kernelId} died${idle ? " while idle" : ""} (${
      describeExit(exit)
    }); its state is lost; call python_reset`;
    this.name = "KernelGoneError";
    this.exit = exit;
    this.idle = idle;
  }
}

/** Starting another kernel would pass the registry's limit. */
export class KernelLimitError extends KernelError {
  /** The maximum number of live kernels. */
  readonly limit: number;
  /**
   * Creates the error.
   *
   * @param limit The maximum number of live kernels.
   * @param renderHint Words the hint to raise `maxKernels` (default {@linkcode describeHint}).
   */
  constructor(limit: number, renderHint: HintRenderer = describeHint) {
    const hint: ErrorHint = { option: "maxKernels", advice: "raise" };
    super(
      `Cannot start another kernel: the limit of ${limit} live kernels is reached; shut one down first or ${
        renderHint(hint)
      }`,
      { hints: [hint] },
    );
    this.name = "KernelLimitError";
    this.limit = limit;
  }
}

/** A package spec was refused before any process saw it. */
export class InvalidPackageSpecError extends KernelError {
  /** The refused spec. */
  readonly spec: string;
  /**
   * Creates the error.
   *
   * @param spec The refused spec.
   * @param reason Why it was refused.
   */
  constructor(spec: string, reason: string) {
    super(`Invalid package spec "${spec}": ${reason}`);
    this.name = "InvalidPackageSpecError";
    this.spec = spec;
  }
}
