/**
 * A registry of named kernels with a live-kernel limit, a single-flight
 * default kernel and an optional pool of warm spares.
 *
 * @module
 */

import {
  KernelError,
  KernelLimitError,
  KernelNotFoundError,
} from "./errors.ts";
import type { KernelBackend, KernelHandle } from "./backend.ts";
import type { LaunchOptions } from "./launcher.ts";
import { LocalBackend } from "./local_backend.ts";
import { SILENT_LOGGER } from "./messages.ts";
import type { KernelSlots } from "./slots.ts";
import { validatePackageSpecs } from "./package_spec.ts";
import { checkSyntax, type SyntaxCheck } from "./syntax.ts";

/** Id of the kernel python_exec starts on first use. */
export const DEFAULT_KERNEL_ID = "_default";

/** Options for a {@linkcode KernelRegistry}. */
export interface KernelRegistryOptions {
  /** Working directory of every kernel. */
  cwd: string;
  /** How local processes are launched (the local backend's options, and the syntax checker's interpreter). */
  launch: LaunchOptions;
  /** Starts the kernels (default: a local backend over `launch`). */
  backend?: KernelBackend;
  /** Maximum live kernels (default 10). */
  maxKernels?: number;
  /** Warm spare kernels kept per package set (default 0: off). */
  poolSize?: number;
  /**
   * Slots shared with other registries (HTTP sessions), so one limit holds
   * for a whole server; default: this registry's own, of size `maxKernels`.
   */
  slots?: KernelSlots;
}

/** A public description of one registered kernel. */
export interface KernelInfo {
  /** Registry id. */
  id: string;
  /** Local process id, or null for a remote kernel. */
  pid: number | null;
  /** Backend running the kernel. */
  backend: KernelHandle["backend"];
  /** Where it runs (gateway URL), or null. */
  location: string | null;
  /** Working directory. */
  cwd: string;
  /** Package specs. */
  packages: string[];
  /** Interpreter executable. */
  python: string;
  /** Whether an execution is queued or running. */
  busy: boolean;
  /** ISO time the kernel became ready. */
  startedAt: string;
}

function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function poolKey(packages: readonly string[]): string {
  return JSON.stringify(packages);
}

/**
 * Owns named kernels. Create one per server or program; there is no global
 * instance.
 *
 * @example Using a registry
 * ```ts
 * import { KernelRegistry } from "./registry.ts";
 * await using registry = new KernelRegistry({ cwd: Deno.cwd(), launch: { env: Deno.env.toObject() } });
 * const kernel = await registry.ensureDefault();
 * await kernel.execute("print('hi')");
 * ```
 */
export class KernelRegistry implements AsyncDisposable {
  /** Working directory of every kernel. */
  readonly cwd: string;
  /** Maximum live kernels. */
  readonly maxKernels: number;
  /** Spare kernels kept warm per package set. */
  readonly poolSize: number;
  /** Starts this registry's kernels. */
  readonly backend: KernelBackend;
  readonly #launch: LaunchOptions;
  readonly #local: LocalBackend;
  readonly #kernels = new Map<string, KernelHandle>();
  readonly #starting = new Map<string, Promise<KernelHandle>>();
  readonly #pool = new Map<string, Promise<KernelHandle>[]>();
  #closed = false;

  /**
   * Creates a registry; no kernel starts until one is asked for.
   *
   * @param options Working directory, launch options, limit and pool size.
   */
  constructor(options: KernelRegistryOptions) {
    this.cwd = options.cwd;
    this.#launch = options.launch;
    this.#local = options.backend instanceof LocalBackend
      ? options.backend
      : new LocalBackend(options.launch);
    this.backend = options.backend ?? this.#local;
    this.maxKernels = options.maxKernels ?? 10;
    this.poolSize = options.poolSize ?? 0;
    if (!Number.isInteger(this.maxKernels) || this.maxKernels < 1) {
      throw new RangeError(
        `Cannot create a kernel registry: maxKernels must be a positive integer, got ${this.maxKernels}`,
      );
    }
  }

  /** Number of live and starting kernels. */
  get size(): number {
    return this.#kernels.size + this.#starting.size;
  }

  /** Whether a live kernel has this id. */
  has(id: string): boolean {
    const kernel = this.#kernels.get(id);
    return kernel !== undefined && kernel.alive;
  }

  /**
   * Returns a live kernel.
   *
   * @param id Registry id.
   * @returns The kernel.
   * @throws {KernelNotFoundError} No live kernel has the id.
   */
  get(id: string): KernelHandle {
    const kernel = this.#kernels.get(id);
    if (!kernel || !kernel.alive) throw new KernelNotFoundError(id);
    return kernel;
  }

  /**
   * Prepares for the first kernel in the background: resolves the
   * interpreter and, when the pool is on, starts the no-package spares.
   */
  warm(): void {
    this.backend.preflight?.().catch(() => {}); // reported when a kernel starts
    this.#refill([]);
  }

  /**
   * Returns the default kernel, starting it on first use. Concurrent calls
   * share one start.
   *
   * @returns The `_default` kernel.
   * @throws {KernelLimitError} The limit is reached.
   * @throws {KernelStartError} The kernel cannot start.
   */
  ensureDefault(): Promise<KernelHandle> {
    if (this.has(DEFAULT_KERNEL_ID)) {
      return Promise.resolve(this.#kernels.get(DEFAULT_KERNEL_ID)!);
    }
    const starting = this.#starting.get(DEFAULT_KERNEL_ID);
    if (starting) return starting;
    return this.#startAs(DEFAULT_KERNEL_ID, []);
  }

  /**
   * Starts a new kernel under a fresh 8-hex-digit id.
   *
   * @param options Package specs for the kernel.
   * @returns The id and kernel.
   * @throws {InvalidPackageSpecError} A spec is refused (nothing spawned).
   * @throws {KernelLimitError} The limit is reached.
   * @throws {KernelStartError} The kernel cannot start.
   */
  async create(
    options: { packages?: readonly string[] } = {},
  ): Promise<{ id: string; kernel: KernelHandle }> {
    const packages = validatePackageSpecs(options.packages ?? []);
    let id = newId();
    while (this.#kernels.has(id) || this.#starting.has(id)) id = newId();
    const kernel = await this.#startAs(id, packages);
    return { id, kernel };
  }

  /**
   * Replaces a live kernel with a fresh one under the same id and cwd.
   *
   * @param id Registry id.
   * @param options New package specs; the old ones are kept when omitted.
   * @returns The new kernel.
   * @throws {KernelNotFoundError} No live kernel has the id.
   */
  async restart(
    id: string,
    options: { packages?: readonly string[] } = {},
  ): Promise<KernelHandle> {
    const old = this.get(id);
    const packages = validatePackageSpecs(options.packages ?? old.packages);
    this.#kernels.delete(id);
    const [, fresh] = await Promise.allSettled([
      old.shutdown(),
      this.#startAs(id, packages),
    ]);
    if (fresh.status === "rejected") throw fresh.reason;
    return fresh.value;
  }

  /**
   * Sends SIGINT to a kernel; its state is kept.
   *
   * @param id Registry id.
   * @throws {KernelNotFoundError} No live kernel has the id.
   */
  interrupt(id: string): Promise<void> {
    return this.get(id).interrupt();
  }

  /**
   * Shuts a kernel down and forgets it.
   *
   * @param id Registry id.
   * @throws {KernelNotFoundError} No live kernel has the id.
   */
  async shutdown(id: string): Promise<void> {
    const kernel = this.get(id);
    this.#kernels.delete(id);
    await kernel.shutdown();
  }

  /** Describes every live kernel. */
  list(): KernelInfo[] {
    return [...this.#kernels.keys()].filter((id) => this.has(id)).map((id) =>
      this.info(id)
    );
  }

  /**
   * Describes one kernel.
   *
   * @param id Registry id.
   * @returns Its description.
   * @throws {KernelNotFoundError} No live kernel has the id.
   */
  info(id: string): KernelInfo {
    const kernel = this.get(id);
    return {
      id,
      pid: kernel.pid,
      backend: kernel.backend,
      location: kernel.location,
      cwd: kernel.cwd,
      packages: [...kernel.packages],
      python: kernel.python,
      busy: kernel.busy,
      startedAt: kernel.startedAt.toISOString(),
    };
  }

  /**
   * Parses code in a separate interpreter process; never touches a kernel.
   *
   * @param code Python source.
   * @returns `{ ok: true }` or the error's line and message.
   */
  async checkSyntax(code: string): Promise<SyntaxCheck> {
    const python = this.#launch.python ?? await this.#local.python();
    return await checkSyntax(code, { python, env: this.#launch.env });
  }

  /** Shuts down every kernel, starting ones and pool spares. */
  async shutdownAll(): Promise<void> {
    this.#closed = true;
    const spares = [...this.#pool.values()].flat();
    this.#pool.clear();
    const live = [...this.#kernels.values()];
    this.#kernels.clear();
    const starting = [...this.#starting.values()];
    await Promise.allSettled([
      ...live.map((k) => k.shutdown()),
      ...[...starting, ...spares].map((p) => p.then((k) => k.shutdown())),
    ]);
  }

  /** Shuts down every kernel. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdownAll();
  }

  #startAs(id: string, packages: string[]): Promise<KernelHandle> {
    if (this.#closed) {
      return Promise.reject(
        new KernelError("Cannot start a kernel: the registry is shut down"),
      );
    }
    if (this.size >= this.maxKernels) {
      return Promise.reject(new KernelLimitError(this.maxKernels));
    }
    const start = this.#take(packages).then((kernel) => {
      if (this.#closed) {
        kernel.shutdown();
        throw new KernelError(
          "Cannot start a kernel: the registry is shut down",
        );
      }
      this.#kernels.set(id, kernel);
      kernel.exited.then(() => {
        if (this.#kernels.get(id) === kernel) this.#kernels.delete(id);
      });
      return kernel;
    }).finally(() => this.#starting.delete(id));
    this.#starting.set(id, start);
    return start;
  }

  /** A kernel for the package set: a warm spare when there is one. */
  async #take(packages: string[]): Promise<KernelHandle> {
    const spare = this.#pool.get(poolKey(packages))?.shift();
    let kernel = spare ? await spare.catch(() => null) : null;
    if (!kernel?.alive) kernel = await this.#spawn(packages);
    // Refill once this kernel is ready, so two start-ups never compete for
    // the CPU with the one the caller is waiting for.
    this.#refill(packages);
    return kernel;
  }

  #spawn(packages: readonly string[]): Promise<KernelHandle> {
    return this.backend.start({ cwd: this.cwd, packages });
  }

  #refill(packages: readonly string[]): void {
    if (this.poolSize <= 0 || this.#closed) return;
    const key = poolKey(packages);
    const spares = this.#pool.get(key) ?? [];
    this.#pool.set(key, spares);
    const logger = this.#launch.logger ?? SILENT_LOGGER;
    while (spares.length < this.poolSize) {
      const spare = this.#spawn(packages);
      spares.push(spare);
      spare.then((kernel) => {
        kernel.exited.then(() => {
          const i = spares.indexOf(spare);
          if (i >= 0) spares.splice(i, 1);
        });
      }, (error) => {
        const i = spares.indexOf(spare);
        if (i >= 0) spares.splice(i, 1);
        logger.warn(`Warm kernel failed to start: ${error}`);
      });
    }
  }
}
