/**
 * The kernel interface every backend implements (local ipykernel, sandboxed
 * ipykernel, remote kernel on a Jupyter server) and the backend that starts
 * such kernels. The MCP tools, the agent and the registry see only these
 * types, never a concrete kernel class.
 *
 * {@linkcode HOST_FILES} is in `workspace.ts`.
 *
 * @module
 */

import type { WorkspaceFiles } from "./workspace.ts";
import type {
  ExecuteOptions,
  ExecuteResult,
  KernelExit,
  KernelState,
} from "./messages.ts";

/** Which kind of backend runs a kernel. */
export type BackendKind = "local" | "sandbox" | "remote";

/**
 * What callers may rely on about a backend's kernels. Callers ask these,
 * never the backend's {@linkcode BackendKind} (which is a name for status
 * output only), so a new backend needs no caller changes.
 */
export interface KernelCapabilities {
  /**
   * The kernel is a process group of ours on this machine (it has a pid;
   * its first spawn is worth waiting for before loading other modules).
   */
  readonly localProcess: boolean;
  /**
   * The kernel's `python` is an interpreter path on this machine: host code
   * may run it (e.g. syntax checks with the kernel's own Python).
   */
  readonly localPython: boolean;
  /** The kernel reads and writes the host's files at its `cwd`. */
  readonly sharedFiles: boolean;
  /** Spare kernels are cheap enough to keep warm by default. */
  readonly poolable: boolean;
}

/**
 * One running kernel, whatever runs it. Python exceptions come back as data
 * in {@linkcode ExecuteResult.error}; methods throw only when the kernel
 * machinery fails.
 */
export interface KernelHandle extends AsyncDisposable {
  /** Backend that runs this kernel (a name for status output). */
  readonly backend: BackendKind;
  /** What callers may rely on (see {@linkcode KernelCapabilities}). */
  readonly capabilities: KernelCapabilities;
  /** Where it runs, for status output (e.g. a gateway URL); never holds a secret. */
  readonly location: string | null;
  /** Kernel working directory as the caller sees it. */
  readonly cwd: string;
  /** Package specs the kernel was started with. */
  readonly packages: readonly string[];
  /** Local process-group leader, or null for kernels that are not our processes. */
  readonly pid: number | null;
  /** Interpreter executable (the kernel's sys.executable). */
  readonly python: string;
  /** How the kernel was launched (for logs and errors). */
  readonly launchedWith: string;
  /** When the kernel became ready. */
  readonly startedAt: Date;
  /** True until the kernel ends. */
  readonly alive: boolean;
  /** True while an execution is queued or running. */
  readonly busy: boolean;
  /** How the kernel ended, once it has; null while it runs. */
  readonly exitStatus: KernelExit | null;
  /** Resolves once, with the reason, when the kernel ends. */
  readonly exited: Promise<KernelExit>;
  /**
   * Runs code; executions queue, one at a time per kernel.
   *
   * @param code Python source.
   * @param options Deadline, abort signal, output callback, silent flag.
   * @returns Output, result, images and error of the execution.
   */
  execute(code: string, options?: ExecuteOptions): Promise<ExecuteResult>;
  /** Interrupts the running execution; the state is kept. */
  interrupt(): Promise<void>;
  /**
   * Reads the interpreter version, installed packages and user variable
   * names through a private channel, without touching user state.
   */
  inspect(options?: { signal?: AbortSignal }): Promise<KernelState>;
  /**
   * Installed versions of distributions or modules (null when missing).
   *
   * @param names Distribution or module names.
   */
  packageVersions(
    names: readonly string[],
    options?: { signal?: AbortSignal },
  ): Promise<Record<string, string | null>>;
  /** Ends the kernel: a polite request, a short grace, then a hard kill. Idempotent. */
  shutdown(options?: { reason?: KernelExit["reason"] }): Promise<void>;
  /**
   * Ends the kernel now, without grace (its provisioner's kill): the last
   * resort when a shutdown does not finish. Idempotent; never throws.
   */
  kill(): void;
}

/** What a backend needs to start one kernel. */
export interface KernelStartRequest {
  /** Kernel working directory. */
  cwd: string;
  /** Validated package specs. */
  packages: readonly string[];
  /** Aborts the start; whatever was created is cleaned up. */
  signal?: AbortSignal;
}

/** Starts kernels of one kind. A registry owns one backend. */
export interface KernelBackend {
  /** Which kind of kernels this backend starts (a name for status output). */
  readonly kind: BackendKind;
  /** What callers may rely on about its kernels. */
  readonly capabilities: KernelCapabilities;
  /** Where kernels run, for status output (never a secret). */
  readonly location: string | null;
  /**
   * Starts one kernel.
   *
   * @param request Working directory, packages, abort signal.
   * @returns The ready kernel.
   */
  start(request: KernelStartRequest): Promise<KernelHandle>;
  /**
   * How host code writes into this backend's kernels' working tree (SPEC
   * §12). Absent: the kernels are not confined, and {@linkcode HOST_FILES}
   * writes directly.
   *
   * @internal
   */
  readonly workspace?: WorkspaceFiles;
  /**
   * Checks, before the first kernel, that the backend can work at all (for
   * example that bwrap is usable or the gateway answers). Optional.
   */
  preflight?(signal?: AbortSignal): Promise<void>;
}
