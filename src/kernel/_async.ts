/**
 * Small abortable waits shared by the kernel layer (folder-private).
 *
 * @module
 */

/**
 * Waits `ms` milliseconds. With a signal, the timer is cleared and the
 * promise rejects with the signal's reason as soon as it aborts, so no timer
 * outlives its purpose.
 */
export function delay(
  ms: number,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A promise that resolves with `label` when any signal aborts, and a
 * `dispose()` that removes its listeners.
 */
export function untilAborted<L extends string>(
  signals: readonly AbortSignal[],
  label: L,
): { promise: Promise<L>; dispose(): void } {
  const { promise, resolve } = Promise.withResolvers<L>();
  const onAbort = () => resolve(label);
  for (const signal of signals) {
    if (signal.aborted) resolve(label);
    signal.addEventListener("abort", onAbort, { once: true });
  }
  return {
    promise,
    dispose: () => {
      for (const signal of signals) {
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

/**
 * Resolves when `promise` settles or after `ms`, whichever comes first; the
 * timer is cleared either way.
 *
 * @returns True when the promise settled in time.
 */
export async function settleWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  const stop = new AbortController();
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      delay(ms, { signal: stop.signal }).then(() => false, () => false),
    ]);
  } finally {
    stop.abort();
  }
}

/** Runs at most `limit` tasks at once; the rest wait in order. */
export class Limiter {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Runs `task` once a place is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/**
 * A deadline signal whose timer can be cleared once the wait is over
 * (`AbortSignal.timeout` keeps its timer until it fires).
 */
export function deadline(ms: number): {
  signal: AbortSignal;
  clear(): void;
} {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new DOMException("The deadline passed", "TimeoutError"),
      ),
    ms,
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
