/**
 * The local backend: ipykernel processes on this machine, started by
 * {@linkcode startKernel}. The interpreter is resolved once per backend and
 * reused for every kernel without packages.
 *
 * @module
 */

import type {
  KernelBackend,
  KernelHandle,
  KernelStartRequest,
} from "./backend.ts";
import type { SocketFactory } from "./connection.ts";
import { startKernel } from "./kernel.ts";
import {
  type LaunchOptions,
  resolvePython,
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
  /** Opens the ZeroMQ channel sockets (default: our ZMTP transport). */
  connect?: SocketFactory;
}

/** Starts local ipykernel processes; see {@linkcode createLocalBackend}. */
export class LocalBackend implements KernelBackend {
  /** Always `local`. */
  readonly kind = "local" as const;
  /** Local kernels have no remote location. */
  readonly location: null = null;
  readonly #options: LocalBackendOptions;
  #python: Promise<string> | null = null;
  #swept: Promise<number> | null = null;

  /** @param options Launch options shared by every kernel. */
  constructor(options: LocalBackendOptions) {
    this.#options = options;
  }

  /** The launch options every kernel gets. */
  get launch(): LocalBackendOptions {
    return this.#options;
  }

  /**
   * The interpreter with ipykernel, resolved once (a failed resolution is
   * retried next time).
   *
   * @returns The interpreter path.
   * @throws {KernelStartError} When none is found.
   */
  python(): Promise<string> {
    this.#python ??= resolvePython(this.#options);
    return this.#python.catch((error) => {
      this.#python = null;
      throw error;
    });
  }

  /** Resolves the interpreter ahead of the first kernel. */
  async preflight(): Promise<void> {
    if (!this.#options.python) await this.python();
  }

  /**
   * Starts one local kernel.
   *
   * @param request Working directory, packages and abort signal.
   * @returns The ready kernel.
   */
  async start(request: KernelStartRequest): Promise<KernelHandle> {
    this.#swept ??= sweepStaleRuntimeDirs(tmpDirOf(this.#options.env)).catch(
      () => 0,
    );
    let launch: LocalBackendOptions = this.#options;
    if (request.packages.length === 0 && !launch.python) {
      const python = await this.python().catch(() => undefined);
      if (python) launch = { ...launch, python };
    }
    return await startKernel({
      ...launch,
      cwd: request.cwd,
      packages: request.packages,
      ...(request.signal ? { signal: request.signal } : {}),
    });
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
