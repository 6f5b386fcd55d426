/**
 * A registry of named kernels: the single owner of every kernel process it
 * starts. Live, starting and spare kernels each hold a slot of a
 * {@linkcode KernelSlots}, so the limit counts processes, not names; warm
 * spares exist only for the no-package set and are evicted before a start
 * would be refused; one AbortController cancels every start in flight.
 *
 * @module
 */

import {
  type HintRenderer,
  KernelError,
  KernelGoneError,
  KernelLimitError,
  KernelNotFoundError,
} from "./errors.ts";
import type { KernelBackend, KernelHandle } from "./backend.ts";
import type { LaunchOptions } from "./launcher.ts";
import { localKernelServices } from "./local_backend.ts";
import { type KernelExit, type Logger, SILENT_LOGGER } from "./messages.ts";
import { KernelSlots, type ReleaseSlot } from "./slots.ts";
import { SparePool } from "./spare_pool.ts";
import { settleWithin } from "../base/mod.ts";
import { validatePackageSpecs } from "./package_spec.ts";
import type { SyntaxCheck, SyntaxChecker } from "./syntax.ts";

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
  /**
   * Checks syntax for `checkSyntax` (default: a checker on the local
   * interpreter of `launch`, a few processes at once).
   */
  syntax?: SyntaxChecker;
  /** Maximum kernels (live, starting and spare; default 10). */
  maxKernels?: number;
  /** Warm spare kernels kept for the no-package set (default 0: off). */
  poolSize?: number;
  /**
   * Slots shared with other registries (HTTP sessions), so one limit holds
   * for a whole server; default: this registry's own, of size `maxKernels`.
   *
   * @internal
   */
  slots?: KernelSlots;
  /**
   * Called when no slot is free and no spare can give one up, before the
   * limit error: may free slots elsewhere (e.g. idle kernels of abandoned
   * HTTP sessions) and resolves true when it did, so the start tries again.
   */
  reclaim?: () => Promise<boolean>;
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

function packageSetKey(packages: readonly string[]): string {
  return JSON.stringify([...packages].sort());
}

/** How long shutdownAll() lets kernels stop politely before killing them. */
const SHUTDOWN_BUDGET_MS = 3_000;
/** After killing kernels, how long shutdownAll() waits for the exits. */
const KILL_WAIT_MS = 2_000;

/** Most dead ids remembered (the oldest are forgotten first). */
const MAX_DEAD_IDS = 1_000;

/** An id whose kernel died on its own and was not started again. */
interface DeadKernel {
  /** How it ended. */
  exit: KernelExit;
  /** Its package specs, for the restart that revives the id. */
  packages: readonly string[];
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
  /** Maximum kernels (live, starting and spare) in this registry's slots. */
  readonly maxKernels: number;
  /** Spare no-package kernels kept warm. */
  readonly poolSize: number;
  /** Starts this registry's kernels. */
  readonly backend: KernelBackend;
  readonly #syntax: SyntaxChecker;
  readonly #logger: Logger;
  readonly #slots: KernelSlots;
  readonly #reclaim: (() => Promise<boolean>) | undefined;
  readonly #abort = new AbortController();
  readonly #kernels = new Map<string, KernelHandle>();
  /** Ids whose kernel died on its own: they say so until restarted. */
  readonly #dead = new Map<string, DeadKernel>();
  readonly #starting = new Map<string, Promise<KernelHandle>>();
  readonly #spares: SparePool;
  /** Every kernel started and not yet exited (live and spare). */
  readonly #handles = new Set<KernelHandle>();
  /** Every start in flight (live and spare). */
  readonly #inflight = new Set<Promise<unknown>>();
  #preflight: Promise<void> | null = null;
  #closed = false;
  /** Words the hint of a refusal at the limit (`launch.renderHint`). */
  readonly #renderHint: HintRenderer | undefined;

  /**
   * Creates a registry; no kernel starts until one is asked for.
   *
   * @param options Working directory, launch options, limit and pool size.
   */
  constructor(options: KernelRegistryOptions) {
    this.cwd = options.cwd;
    const services = localKernelServices(options.launch, options);
    this.backend = services.backend;
    this.#syntax = services.syntax;
    this.#logger = options.launch.logger ?? SILENT_LOGGER;
    this.#renderHint = options.launch.renderHint;
    this.poolSize = options.poolSize ?? 0;
    const max = options.slots?.limit ?? options.maxKernels ?? 10;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot create a kernel registry: maxKernels must be a positive integer, got ${max}`,
      );
    }
    this.maxKernels = max;
    this.#slots = options.slots ?? new KernelSlots(max);
    this.#reclaim = options.reclaim;
    this.#spares = new SparePool({
      size: this.poolSize,
      tryAcquire: () => this.#slots.tryAcquire(),
      spawn: (signal, release) => this.#spawn([], signal, release),
      signal: this.#abort.signal,
      closed: () => this.#closed,
      logger: this.#logger,
    });
  }

  /** Number of live and starting kernels (spares not counted). */
  get size(): number {
    return this.#kernels.size + this.#starting.size;
  }

  /** Number of kernel processes this registry holds: live, starting and spare. */
  get processes(): number {
    return this.size + this.#spares.length;
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
   * @throws {KernelGoneError} The id's kernel died and was not restarted.
   * @throws {KernelNotFoundError} No kernel ever had the id.
   */
  get(id: string): KernelHandle {
    const kernel = this.#kernels.get(id);
    if (kernel?.alive) return kernel;
    throw this.#notLive(id, kernel);
  }

  /**
   * Why an id has no live kernel: the death of the kernel it had (SPEC §13),
   * else "not found".
   *
   * @param id Registry id.
   * @returns A {@linkcode KernelGoneError} naming the death, or null when
   *   the id never had a kernel, was shut down, or is live.
   */
  died(id: string): KernelGoneError | null {
    const kernel = this.#kernels.get(id);
    if (kernel?.alive) return null;
    const error = this.#notLive(id, kernel);
    return error instanceof KernelGoneError ? error : null;
  }

  #notLive(id: string, kernel: KernelHandle | undefined): KernelNotFoundError {
    // Ended, and its exit not processed yet (a remote kernel's `exited`
    // waits for its deletion on the server).
    const exit = kernel?.exitStatus ?? this.#dead.get(id)?.exit;
    if (exit) return new KernelGoneError(id, exit, exit.idle ?? false);
    return new KernelNotFoundError(id);
  }

  /**
   * Prepares for the first kernel in the background: resolves the
   * interpreter and, when the pool is on, starts the no-package spares.
   */
  warm(): void {
    // Errors are reported when a kernel starts. shutdownAll() aborts it and
    // waits for it, so nothing it writes (the interpreter cache) outlives
    // the registry, however slow the probes are.
    this.#preflight ??=
      this.backend.preflight?.(this.#abort.signal).catch(() => {}) ?? null;
    this.#spares.refill();
  }

  /**
   * Returns the default kernel, starting it on first use. Concurrent calls
   * share one start.
   *
   * @param options Package specs for the kernel when it has to be started.
   * @returns The `_default` kernel.
   * @throws {KernelGoneError} It died: only {@linkcode restart} starts it again.
   * @throws {InvalidPackageSpecError} A spec is refused (nothing spawned).
   * @throws {KernelLimitError} The limit is reached.
   * @throws {KernelStartError} The kernel cannot start.
   */
  ensureDefault(
    options: { packages?: readonly string[] } = {},
  ): Promise<KernelHandle> {
    if (this.has(DEFAULT_KERNEL_ID)) {
      return Promise.resolve(this.#kernels.get(DEFAULT_KERNEL_ID)!);
    }
    // Never replaced silently: a dead default says so until restarted.
    const gone = this.died(DEFAULT_KERNEL_ID);
    if (gone) return Promise.reject(gone);
    let packages: string[];
    try {
      packages = validatePackageSpecs(options.packages ?? []);
    } catch (error) {
      return Promise.reject(error);
    }
    const starting = this.#starting.get(DEFAULT_KERNEL_ID);
    if (!starting) return this.#startAs(DEFAULT_KERNEL_ID, packages);
    if (options.packages === undefined) return starting;
    // Another caller is starting it: ours once it runs with our packages.
    return starting.then((kernel) =>
      packageSetKey(kernel.packages) === packageSetKey(packages)
        ? kernel
        : this.restart(DEFAULT_KERNEL_ID, { packages })
    );
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
    while (
      this.#kernels.has(id) || this.#starting.has(id) || this.#dead.has(id)
    ) id = newId();
    const kernel = await this.#startAs(id, packages);
    return { id, kernel };
  }

  /**
   * Replaces a live kernel with a fresh one under the same id and cwd. The
   * old kernel ends with reason `restarted`, so calls still running on it
   * can say so. A kernel that died is started again under its id.
   *
   * @param id Registry id.
   * @param options New package specs; the old ones are kept when omitted.
   * @returns The new kernel.
   * @throws {KernelNotFoundError} No kernel ever had the id.
   */
  async restart(
    id: string,
    options: { packages?: readonly string[] } = {},
  ): Promise<KernelHandle> {
    const gone = this.died(id);
    if (gone) {
      const ended = this.#kernels.get(id);
      const packages = validatePackageSpecs(
        options.packages ?? (ended ?? this.#dead.get(id)!).packages,
      );
      this.#dead.delete(id);
      this.#kernels.delete(id);
      // A kernel still being cleaned up (a remote one is deleted on its
      // server first) holds its slot until then: the new one may wait.
      return await this.#startAs(id, packages, ended?.exited);
    }
    const old = this.get(id);
    const packages = validatePackageSpecs(options.packages ?? old.packages);
    this.#kernels.delete(id);
    const stopping = old.shutdown({ reason: "restarted" });
    const [, fresh] = await Promise.allSettled([
      stopping,
      this.#startAs(id, packages, stopping),
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
    if (this.#dead.delete(id) && !this.has(id)) return;
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
   * Compiles code in a separate interpreter process; never touches a
   * kernel. At most a few checker processes run at once; the rest queue.
   *
   * @param code Python source.
   * @returns `{ ok: true }` or the error's line and message.
   */
  checkSyntax(code: string): Promise<SyntaxCheck> {
    return this.#syntax.check(code);
  }

  /**
   * Shuts down every kernel: aborts starts in flight, asks live and spare
   * kernels to stop, and kills (through their provisioners) those that have not
   * ended within a few seconds. Bounded in time.
   */
  async shutdownAll(): Promise<void> {
    this.#closed = true;
    this.#abort.abort(
      new KernelError("Cannot start a kernel: the registry is shut down"),
    );
    this.#kernels.clear();
    this.#spares.abortAll();
    const handles = () => [...this.#handles];
    const stopped = (): Promise<unknown> =>
      Promise.allSettled([
        ...handles().map((kernel) => kernel.shutdown()),
        ...this.#inflight,
        ...(this.#preflight ? [this.#preflight] : []),
      ]);
    if (await settleWithin(stopped(), SHUTDOWN_BUDGET_MS)) {
      // Starts that were aborted may have produced kernels meanwhile.
      if (this.#handles.size === 0) return;
      await settleWithin(stopped(), SHUTDOWN_BUDGET_MS);
    }
    const left = handles();
    for (const kernel of left) kernel.kill();
    await settleWithin(
      Promise.allSettled(left.map((kernel) => kernel.exited)),
      KILL_WAIT_MS,
    );
  }

  /** Shuts down every kernel. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdownAll();
  }

  #startAs(
    id: string,
    packages: string[],
    stopping?: Promise<unknown>,
  ): Promise<KernelHandle> {
    const started = () => {
      if (this.#starting.get(id) === start) this.#starting.delete(id);
    };
    const start: Promise<KernelHandle> = this.#start(packages, stopping).then(
      (kernel) => {
        started();
        this.#kernels.set(id, kernel);
        kernel.exited.then((exit) => {
          // Still registered: it ended on its own (not shut down or
          // restarted through the registry). Its id says so from now on.
          if (this.#kernels.get(id) !== kernel) return;
          this.#kernels.delete(id);
          if (this.#closed) return;
          this.#dead.set(id, { exit, packages: kernel.packages });
          for (const old of this.#dead.keys()) {
            if (this.#dead.size <= MAX_DEAD_IDS) break;
            this.#dead.delete(old);
          }
        });
        return kernel;
      },
      (error) => {
        started();
        throw error;
      },
    );
    this.#starting.set(id, start);
    return start;
  }

  /** A ready kernel for the package set: a warm spare when there is one. */
  async #start(
    packages: string[],
    stopping?: Promise<unknown>,
  ): Promise<KernelHandle> {
    if (this.#closed) {
      throw new KernelError("Cannot start a kernel: the registry is shut down");
    }
    if (packages.length === 0) {
      const spare = await this.#spares.take();
      if (spare && this.#closed) {
        await spare.shutdown();
        throw new KernelError(
          "Cannot start a kernel: the registry is shut down",
        );
      }
      if (spare) {
        // Refill once this kernel is ready, so two start-ups never compete
        // for the CPU with the one the caller is waiting for.
        this.#spares.refill();
        return spare;
      }
    }
    const release = await this.#acquire(stopping);
    let kernel: KernelHandle;
    try {
      kernel = await this.#spawn(packages, this.#abort.signal, release);
    } catch (error) {
      release();
      throw error;
    }
    if (packages.length === 0) this.#spares.refill();
    return kernel;
  }

  /**
   * Takes a slot: a free one; else, while a restart frees one, that one;
   * else one a spare gives up.
   */
  async #acquire(stopping?: Promise<unknown>): Promise<ReleaseSlot> {
    while (true) {
      const release = this.#slots.tryAcquire();
      if (release) return release;
      if (stopping) {
        await stopping.catch(() => {});
        stopping = undefined;
        continue;
      }
      if (await this.#spares.evictOne()) continue;
      if (await this.#reclaim?.()) continue;
      throw new KernelLimitError(this.maxKernels, this.#renderHint);
    }
  }

  /**
   * Starts one kernel holding `release`'s slot, tracked until it exits;
   * the slot is given back when it exits.
   */
  #spawn(
    packages: readonly string[],
    signal: AbortSignal,
    release: ReleaseSlot,
  ): Promise<KernelHandle> {
    const start = this.backend.start({ cwd: this.cwd, packages, signal })
      .then(async (kernel) => {
        this.#handles.add(kernel);
        kernel.exited.then(() => {
          this.#handles.delete(kernel);
          release();
        });
        if (this.#closed || signal.aborted) {
          await kernel.shutdown();
          throw new KernelError(
            "Cannot start a kernel: the registry is shut down",
          );
        }
        return kernel;
      });
    this.#inflight.add(start);
    start.catch(() => {}).finally(() => this.#inflight.delete(start));
    return start;
  }
}
