/**
 * A shared count of kernel slots: every live, starting and spare kernel
 * holds one. Several registries (one per HTTP session) can share one
 * {@linkcode KernelSlots}, so `CODER_MAX_KERNELS` holds for a whole server.
 *
 * @module
 */

/** Gives a slot back. Idempotent. */
export type ReleaseSlot = () => void;

/**
 * Counts kernel slots against a limit.
 *
 * @example Holding a slot while a kernel lives
 * ```ts
 * import { KernelSlots } from "./slots.ts";
 * const slots = new KernelSlots(2);
 * const release = slots.tryAcquire();
 * if (release === null) throw new Error("limit reached");
 * release();
 * ```
 */
export class KernelSlots {
  /** Most slots that can be held at once. */
  readonly limit: number;
  #used = 0;

  /**
   * Creates a counter with every slot free.
   *
   * @param limit Most slots held at once (a positive integer).
   */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot create kernel slots: the limit must be a positive integer, got ${limit}`,
      );
    }
    this.limit = limit;
  }

  /** Slots held now. */
  get used(): number {
    return this.#used;
  }

  /** Slots still free. */
  get free(): number {
    return this.limit - this.#used;
  }

  /**
   * Takes a slot when one is free.
   *
   * @returns A function that gives the slot back, or null at the limit.
   */
  tryAcquire(): ReleaseSlot | null {
    if (this.#used >= this.limit) return null;
    this.#used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used--;
    };
  }
}
