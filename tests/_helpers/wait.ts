/**
 * `waitUntil`: the one way tests poll for a condition that has no event to
 * await (a process gone from /proc, a file a kernel writes, a counter on a
 * server). Its limit is a hang guard, not a timing assertion: it is generous
 * so a loaded machine never fails a test that would pass, and when it does
 * fire the error names what was awaited and the last value seen.
 *
 * Prefer awaiting the real event (an output callback, a line on stderr, a
 * process's `status`) wherever one exists.
 *
 * @module
 */

import { delay } from "../../src/base/mod.ts";

/** The hang guard of {@linkcode waitUntil} when none is given: 60 s. */
export const HANG_GUARD_MS = 60_000;

/** Options of {@linkcode waitUntil}. */
export interface WaitUntilOptions<T> {
  /**
   * When the observed value counts as reached; by default when it is truthy.
   * Use it when the falsy value itself is worth showing in the failure
   * (an empty list, a count).
   */
  until?: (value: T) => boolean;
  /** Gives up after this long: a hang guard (default {@linkcode HANG_GUARD_MS}). */
  limitMs?: number;
  /** Pause between probes (default 20 ms). */
  intervalMs?: number;
  /** Ends the wait early, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/** Thrown by {@linkcode waitUntil} when its hang guard fires. */
export class WaitTimeoutError extends Error {
  /** The last value the probe returned (undefined if it never returned). */
  readonly last: unknown;

  /**
   * Creates the error.
   *
   * @param what What was awaited.
   * @param limitMs The hang guard that fired.
   * @param last The last observed value.
   */
  constructor(what: string, limitMs: number, last: unknown) {
    super(
      `Gave up waiting for ${what} after ${limitMs} ms: last observed ${
        Deno.inspect(last, { depth: 4, colors: false })
      }`,
    );
    this.name = "WaitTimeoutError";
    this.last = last;
  }
}

/**
 * Probes until the observed value is reached, and returns it.
 *
 * The probe may be sync or async; an exception it throws ends the wait (catch
 * inside the probe what counts as "not yet", such as `NotFound`).
 *
 * @param what What is awaited, for the failure message ("the spare kernel's
 *   process").
 * @param probe Observes the current value.
 * @param options The predicate, the hang guard, the interval, a signal.
 * @returns The first value that counts as reached.
 * @throws {WaitTimeoutError} When the hang guard fires.
 * @example Waiting for a file
 * ```ts
 * import { readIfExists, waitUntil } from "./wait.ts";
 * const pid = await waitUntil("the child's pid file", () =>
 *   readIfExists("/tmp/child.pid"));
 * ```
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | Promise<T>,
  options: WaitUntilOptions<T> = {},
): Promise<T> {
  const until = options.until ?? Boolean;
  const limitMs = options.limitMs ?? HANG_GUARD_MS;
  const intervalMs = options.intervalMs ?? 20;
  const end = Date.now() + limitMs;
  let last: T | undefined;
  while (true) {
    options.signal?.throwIfAborted();
    last = await probe();
    if (until(last)) return last;
    if (Date.now() >= end) throw new WaitTimeoutError(what, limitMs, last);
    await delay(
      intervalMs,
      options.signal ? { signal: options.signal } : {},
    );
  }
}

/**
 * A probe for {@linkcode waitUntil}: the text of a file, or `undefined` while
 * it does not exist. An empty file reads as `""`, which is falsy: to wait for
 * an empty marker, pass `until: (text) => text !== undefined`.
 *
 * @param path The file.
 * @returns Its text, or undefined when missing.
 */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
