/**
 * Warm spare kernels of a registry: no-package kernels started ahead of
 * need, each holding one of the registry's slots, taken oldest first and
 * given up newest first when a start needs the slot.
 *
 * @module
 */

import type { KernelHandle } from "./backend.ts";
import type { Logger } from "./messages.ts";
import type { ReleaseSlot } from "./slots.ts";

/** A warm spare: a no-package kernel starting or ready, holding a slot. */
interface Spare {
  /** Aborts its start (eviction). */
  abort: AbortController;
  /** Settles with the kernel, or null when the start failed or was aborted. */
  kernel: Promise<KernelHandle | null>;
  /** Gives its slot back (idempotent). */
  release: ReleaseSlot;
}

/** What a {@linkcode SparePool} needs from its registry. */
export interface SparePoolOptions {
  /** Spares to keep. */
  size: number;
  /** A free slot, or null. */
  tryAcquire(): ReleaseSlot | null;
  /**
   * Starts one no-package kernel holding the slot (given back when it exits).
   *
   * @param signal Aborts the start.
   * @param release The slot.
   */
  spawn(signal: AbortSignal, release: ReleaseSlot): Promise<KernelHandle>;
  /** Aborts every spare's start (the registry's shutdown). */
  signal: AbortSignal;
  /** Whether the registry is shut down (no refill then). */
  closed(): boolean;
  /** Reports spares that fail to start. */
  logger: Logger;
}

/** The warm spares of one registry. */
export class SparePool {
  readonly #spares: Spare[] = [];
  readonly #options: SparePoolOptions;

  /** @param options Size, slots, spawner, shutdown signal, logger. */
  constructor(options: SparePoolOptions) {
    this.#options = options;
  }

  /** Spares starting or ready. */
  get length(): number {
    return this.#spares.length;
  }

  /**
   * Takes the oldest spare that is alive.
   *
   * @returns Its kernel (its slot goes with it), or null when none is.
   */
  async take(): Promise<KernelHandle | null> {
    while (this.#spares.length > 0) {
      const spare = this.#spares.shift()!;
      const kernel = await spare.kernel;
      if (kernel?.alive) return kernel;
    }
    return null;
  }

  /**
   * Gives up the newest spare: aborts its start or shuts it down, then
   * frees its slot.
   *
   * @returns False when there was none.
   */
  async evictOne(): Promise<boolean> {
    const spare = this.#spares.pop();
    if (!spare) return false;
    spare.abort.abort();
    const kernel = await spare.kernel;
    if (kernel) await kernel.shutdown();
    spare.release();
    return true;
  }

  /** Aborts every spare's start and forgets them (shutdown). */
  abortAll(): void {
    this.#spares.splice(0).forEach((spare) => spare.abort.abort());
  }

  /** Tops the spares up to the pool size, within free slots. */
  refill(): void {
    const options = this.#options;
    if (options.closed()) return;
    while (this.#spares.length < options.size) {
      const release = options.tryAcquire();
      if (!release) return;
      const abort = new AbortController();
      const signal = AbortSignal.any([options.signal, abort.signal]);
      const spare: Spare = {
        abort,
        release,
        kernel: options.spawn(signal, release).then((kernel) => {
          kernel.exited.then(() => this.#drop(spare));
          return kernel;
        }, (error) => {
          this.#drop(spare);
          release();
          if (!signal.aborted) {
            options.logger.warn(`Warm kernel failed to start: ${error}`);
          }
          return null;
        }),
      };
      this.#spares.push(spare);
    }
  }

  #drop(spare: Spare): void {
    const i = this.#spares.indexOf(spare);
    if (i >= 0) this.#spares.splice(i, 1);
  }
}
