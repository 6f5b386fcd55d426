/**
 * Small abortable waits shared by every layer: a delay whose timer never
 * outlives its signal, a bounded wait for a promise, abort signals as
 * promises, a concurrency limiter and a clearable deadline.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds. With a signal, the timer is cleared and the
 * promise rejects with the signal's reason as soon as it aborts, so no timer
 * outlives its purpose.
 *
 * @param ms How long to wait.
 * @param options The signal that ends the wait early.
 * @returns Resolves after `ms`; rejects with the signal's reason on abort.
 * @example Waiting with a signal
 * ```ts
 * import { delay } from "./async.ts";
 * await delay(10, { signal: AbortSignal.timeout(1_000) });
 * ```
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
 *
 * @param signals The signals to watch.
 * @param label What the promise resolves with.
 * @returns The promise and its `dispose()`.
 * @example Racing an abort
 * ```ts
 * import { untilAborted } from "./async.ts";
 * const stopped = untilAborted([AbortSignal.timeout(10)], "stopped");
 * await stopped.promise; // "stopped"
 * stopped.dispose();
 * ```
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
 * @param promise What to wait for (its rejection counts as settled).
 * @param ms The most to wait.
 * @returns True when the promise settled in time.
 * @example A bounded wait
 * ```ts
 * import { settleWithin } from "./async.ts";
 * await settleWithin(Promise.resolve(), 100); // true
 * ```
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

/**
 * Runs at most `limit` tasks at once; the rest wait in order.
 *
 * @example Two at a time
 * ```ts
 * import { Limiter } from "./async.ts";
 * const limiter = new Limiter(2);
 * await Promise.all([1, 2, 3].map((n) => limiter.run(async () => n)));
 * ```
 */
export class Limiter {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /**
   * Creates the limiter.
   *
   * @param limit Most tasks running at once.
   */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * Runs `task` once a place is free.
   *
   * @param task The task.
   * @returns What the task returns.
   */
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
 *
 * @param ms When the signal aborts (with a `TimeoutError`).
 * @returns The signal and `clear()`, which stops the timer.
 * @example A deadline cleared early
 * ```ts
 * import { deadline } from "./async.ts";
 * const timer = deadline(5_000);
 * timer.clear();
 * ```
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
