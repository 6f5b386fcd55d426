/**
 * What kernel launches are made of: the launch options, the spawn hooks a
 * wrapper (sandbox, memory limit) implements, installer steps and the
 * resolved launch plan.
 *
 * @module
 */

import type { KernelExit, Logger } from "./messages.ts";
import type { HintRenderer } from "./errors.ts";
import type { BackendKind } from "./backend.ts";
import LAUNCH_SOURCE from "./_launch.py" with { type: "text" };
import { installEnv } from "./install_env.ts";
import { join } from "node:path";
import { type CommandResult, runCommand } from "./commands.ts";

/** How interpreters are found and kernels launched. Reads no process env: pass `env`. */
export interface LaunchOptions {
  /** Base environment for child processes (PATH, HOME, PIP_*, UV_*...). */
  env: Record<string, string>;
  /** Explicit interpreter (the CLI fills it from CODER_PYTHON). */
  python?: string;
  /** Managed venvs live under it (default: XDG_CACHE_HOME or HOME/.cache, + agentic-python-coder). */
  cacheDir?: string;
  /** Kernel start-up deadline in ms (default 30 000; 15 minutes when uv installs packages at start). */
  startupTimeoutMs?: number;
  /** Where launch details are logged. */
  logger?: Logger;
  /**
   * Changes how kernel processes are spawned (sandbox, memory limit).
   *
   * @internal
   */
  wrapper?: SpawnWrapper;
  /**
   * `python` was already found to have ipykernel (by
   * {@linkcode resolvePythonCached}): start it without probing it again.
   */
  pythonChecked?: boolean;
  /** Called with the pid as soon as a kernel process is spawned (before it is ready). */
  onSpawn?: (pid: number) => void;
  /**
   * Words the hints of the errors these launches throw (default
   * `describeHint`: option names; the CLI names its flags and variables).
   */
  renderHint?: HintRenderer;
}

// ---- Spawn hooks (sandbox, memory limit): see sandbox.ts, memory_limit.ts ----

/** A kernel command line about to be spawned. */
export interface KernelCommand {
  /** Program to spawn. */
  command: string;
  /** Its arguments (ending with `-f CONNECTION_FILE`). */
  args: string[];
  /** Complete child environment. */
  env: Record<string, string>;
  /** Kernel working directory. */
  cwd: string;
  /** Private runtime directory (connection file, ipc sockets). */
  runtimeDir: string;
}

/** A rewritten kernel command line, with how to read its exit. */
export interface WrappedKernelCommand extends KernelCommand {
  /**
   * Turns the process's exit status into the kernel's exit (signal names,
   * memory-limit kills) and releases what the wrapper created. Called once.
   */
  finish?(status: { code: number; signal: string | null }): Promise<KernelExit>;
  /** Called once with the spawned process's pid (e.g. to watch its memory). */
  started?(pid: number): void;
}

/** Changes how kernels are spawned; one object serves many kernels. */
export interface SpawnWrapper {
  /** Backend kind the kernels report (default `local`). */
  readonly backend?: BackendKind;
  /**
   * ZeroMQ transport: `ipc` puts socket files in the runtime dir, `tcp`
   * picks loopback ports (default: `ipc` on Linux, see
   * {@linkcode defaultTransport}).
   */
  readonly transport?: "tcp" | "ipc";
  /** Whether to set JPY_PARENT_PID (default true). */
  readonly parentPid?: boolean;
  /** `signal`: SIGINT to the group (default); `message`: interrupt_request on control. */
  readonly interrupt?: "signal" | "message";
  /** Adjusts the launch plan before spawning (e.g. installs packages first). */
  prepare?(plan: LaunchPlan, options: LaunchOptions): Promise<LaunchPlan>;
  /** Rewrites one kernel's command line. */
  wrap(command: KernelCommand): Promise<WrappedKernelCommand>;
  /**
   * Runs one package-installer step (SPEC §12), e.g. in a sandbox of its
   * own; without it the step runs on the host with {@linkcode installEnv}'s
   * reduced environment.
   */
  install?(step: InstallStep): Promise<CommandResult>;
}

/** One run of a package installer (`python -m venv`, `pip install`, `uv run --with`). */
export interface InstallStep {
  /** Program (the same path inside a sandbox). */
  command: string;
  /** Its arguments. */
  args: string[];
  /**
   * The host interpreter the environment is built from, if any: its
   * directories are made visible to the step, and it runs a sandbox's
   * network relay.
   */
  python?: string;
  /** Directories the step may write (the environment being built, a cache). */
  writable: string[];
  /** Directories the step reads besides the interpreter's (uv itself, its Pythons). */
  readOnly?: string[];
  /** Variables added to the reduced environment. */
  env?: Record<string, string>;
  /** Deadline in ms. */
  timeoutMs: number;
  /** Aborts the step. */
  signal?: AbortSignal;
}

/**
 * Runs an installer step through the wrapper's `install` hook, or on the
 * host with the reduced environment of {@linkcode installEnv} (never the
 * server's secrets).
 *
 * @param step The step.
 * @param options Launch options (env, wrapper).
 * @returns Its exit status and output.
 */
export function runInstallStep(
  step: InstallStep,
  options: LaunchOptions,
): Promise<CommandResult> {
  if (options.wrapper?.install) return options.wrapper.install(step);
  return runCommand(
    step.command,
    step.args,
    { ...installEnv(options.env), ...step.env },
    step.timeoutMs,
    step.signal,
  );
}

/** A resolved way to start a kernel. */
export interface LaunchPlan {
  /** Program to spawn. */
  command: string;
  /** Arguments before `-f CONNECTION_FILE`. */
  args: string[];
  /** Human-readable description for errors and logs. */
  description: string;
  /** True when starting the kernel also installs packages (uv). */
  installs: boolean;
}

/**
 * Interpreter arguments that start ipykernel, before `-f CONNECTION_FILE`:
 * `-m ipykernel_launcher` after importing ipykernel without debugpy and jedi
 * (see `_launch.py`), which takes about a third off each kernel's start.
 */
export const KERNEL_LAUNCH_ARGS: readonly string[] = ["-c", LAUNCH_SOURCE];

/** The default cache directory for managed venvs and the interpreter cache. */
export function defaultCacheDir(env: Record<string, string>): string {
  const base = env.XDG_CACHE_HOME || env.LOCALAPPDATA ||
    join(env.HOME || env.USERPROFILE || "/tmp", ".cache");
  return join(base, "agentic-python-coder");
}
