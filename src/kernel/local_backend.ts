/**
 * The local backend: ipykernel processes on this machine, started by
 * {@linkcode startKernel}. The interpreter is resolved once per backend
 * (from a cache checked with a few `stat` calls when possible) and reused for
 * every kernel without packages.
 *
 * @module
 */

import type {
  KernelBackend,
  KernelCapabilities,
  KernelHandle,
  KernelStartRequest,
} from "./backend.ts";
import type { SocketFactory } from "./connection.ts";
import { startKernel } from "./kernel.ts";
import { LOCAL_PROCESS_CAPABILITIES } from "./provisioner.ts";
import { KernelStartError } from "./errors.ts";
import { createSyntaxChecker, type SyntaxChecker } from "./syntax.ts";
import {
  forgetResolvedPython,
  type LaunchOptions,
  type ResolvedPython,
  resolvePythonCached,
  sweepStaleRuntimeDirs,
} from "./launcher.ts";

/** Where Deno.makeTempDir puts connection-file dirs. */
function tmpDirOf(env: Record<string, string>): string {
  return env.TMPDIR || "/tmp";
}

/** Options of {@linkcode createLocalBackend}. */
export interface LocalBackendOptions extends LaunchOptions {
  /** Per-stream output cap per execution (default 64 MB). */
  outputLimit?: number;
  /**
   * Opens the ZeroMQ channel sockets (default: our ZMTP transport).
   *
   * @internal
   */
  connect?: SocketFactory;
}

/** Starts local ipykernel processes; see {@linkcode createLocalBackend}. */
export class LocalBackend implements KernelBackend {
  /** Always `local`. */
  readonly kind = "local" as const;
  /** Kernels are process groups on this machine. */
  readonly capabilities: KernelCapabilities = LOCAL_PROCESS_CAPABILITIES;
  /** Local kernels have no remote location. */
  readonly location: null = null;
  readonly #options: LocalBackendOptions;
  #python: Promise<ResolvedPython> | null = null;
  /** The abort signal of the caller that started `#python`'s resolution. */
  #pythonSignal: AbortSignal | undefined;
  #swept: Promise<number> | null = null;

  /**
   * Creates the backend.
   *
   * @param options Launch options shared by every kernel.
   */
  constructor(options: LocalBackendOptions) {
    this.#options = options;
  }

  /** The launch options every kernel gets. */
  get launch(): LocalBackendOptions {
    return this.#options;
  }

  /**
   * The interpreter with ipykernel, resolved once per backend (from the
   * resolution cache when it is still valid; a failed resolution is retried
   * next time).
   *
   * @returns The interpreter path.
   * @throws {KernelStartError} When none is found.
   */
  async python(): Promise<string> {
    return (await this.#resolve()).python;
  }

  async #resolve(signal?: AbortSignal): Promise<ResolvedPython> {
    for (;;) {
      if (this.#python === null) {
        this.#python = resolvePythonCached(this.#options, signal);
        this.#pythonSignal = signal;
      }
      const pending = this.#python;
      const owner = this.#pythonSignal;
      try {
        return await pending;
      } catch (error) {
        if (this.#python === pending) this.#python = null;
        // Another caller's abort (a registry shutting down) cut the shared
        // resolution: this caller still wants an answer.
        const cutByOther = owner !== undefined && owner !== signal &&
          owner.aborted && !signal?.aborted;
        if (!cutByOther) throw error;
      }
    }
  }

  /**
   * Resolves the interpreter ahead of the first kernel.
   *
   * @param signal Ends the probes (a later start resolves again).
   */
  async preflight(signal?: AbortSignal): Promise<void> {
    await this.#resolve(signal);
  }

  /**
   * Starts one local kernel. Without packages it launches the resolved
   * interpreter at once (no probe); when a cached resolution turns out stale
   * (the kernel cannot start), the cache entry is dropped, the interpreter
   * resolved again and the start retried once.
   *
   * @param request Working directory, packages and abort signal.
   * @returns The ready kernel.
   */
  async start(request: KernelStartRequest): Promise<KernelHandle> {
    this.#swept ??= sweepStaleRuntimeDirs(tmpDirOf(this.#options.env)).catch(
      () => 0,
    );
    const start = (launch: LocalBackendOptions) =>
      startKernel({
        ...launch,
        cwd: request.cwd,
        packages: request.packages,
        ...(request.signal ? { signal: request.signal } : {}),
      });
    if (request.packages.length > 0) return await start(this.#options);
    const resolved = await this.#resolve().catch(() => null);
    // Unresolvable: let the launcher explain what was tried.
    if (resolved === null) return await start(this.#options);
    this.#options.logger?.debug(
      `Starting a kernel with ${resolved.python}${
        resolved.cached ? " (cached resolution)" : ""
      }`,
    );
    const checked = (python: string) => ({
      ...this.#options,
      python,
      pythonChecked: true,
    });
    try {
      return await start(checked(resolved.python));
    } catch (error) {
      if (
        !resolved.cached || !(error instanceof KernelStartError) ||
        request.signal?.aborted
      ) throw error;
      await forgetResolvedPython(this.#options);
      this.#python = null;
      const fresh = await this.#resolve().catch(() => null);
      if (fresh === null || fresh.python === resolved.python) throw error;
      return await start(checked(fresh.python));
    }
  }
}

/**
 * Creates the local backend.
 *
 * @param options Launch options (env, interpreter, cache dir, logger).
 * @returns The backend.
 * @example Starting a kernel through the backend
 * ```ts
 * import { createLocalBackend } from "./local_backend.ts";
 * const backend = createLocalBackend({ env: Deno.env.toObject() });
 * await using kernel = await backend.start({ cwd: Deno.cwd(), packages: [] });
 * ```
 */
export function createLocalBackend(options: LocalBackendOptions): LocalBackend {
  return new LocalBackend(options);
}

/**
 * A syntax checker on the interpreter local kernels use: the launch
 * options' `python`, else the one a local backend resolves.
 *
 * @param launch Launch options (env, interpreter).
 * @param backend The program's backend: when it is a local one, its
 *   interpreter resolution is shared; otherwise a local resolution of its
 *   own (the check runs here, whatever runs the kernels).
 * @returns The checker.
 */
export function createLocalSyntaxChecker(
  launch: LaunchOptions,
  backend?: KernelBackend,
): SyntaxChecker {
  const local = backend instanceof LocalBackend
    ? backend
    : new LocalBackend(launch);
  return createSyntaxChecker({
    python: async () => launch.python ?? await local.python(),
    env: launch.env,
  });
}

/**
 * What a registry given only launch options uses: a local backend and a
 * syntax checker sharing its interpreter resolution.
 *
 * @param launch Launch options.
 * @param given The backend and checker the caller chose, if any.
 * @returns Backend and checker.
 */
export function localKernelServices(
  launch: LaunchOptions,
  given: { backend?: KernelBackend; syntax?: SyntaxChecker } = {},
): { backend: KernelBackend; syntax: SyntaxChecker } {
  const backend = given.backend ?? new LocalBackend(launch);
  return {
    backend,
    syntax: given.syntax ?? createLocalSyntaxChecker(launch, backend),
  };
}
