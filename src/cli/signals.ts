/**
 * Stop requests of a CLI run: SIGINT (Ctrl-C) and SIGTERM.
 *
 * The first one aborts a signal, so the run unwinds, writes its log and shuts
 * its kernel down. A repeat of the same signal within a short window is
 * ignored: a terminal Ctrl-C under `deno task` reaches the program twice
 * (once from the terminal, once forwarded by `deno task`). Any later stop
 * request means "stop now" and calls `onForce`.
 *
 * @module
 */

/** The signals that stop a run. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** How long a repeat of the same signal counts as a duplicate, in ms. */
export const DUPLICATE_SIGNAL_WINDOW_MS = 1_000;

/** Exit code of a run stopped by a signal (128 + signal number). */
export function exitCodeOf(signal: StopSignal): number {
  return signal === "SIGINT" ? 130 : 143;
}

/** Options of {@linkcode listenForStop}. */
export interface StopListenerOptions {
  /** Called once, on the first stop request after the first one that is not a duplicate. */
  onForce: (signal: StopSignal) => void;
  /** Duplicate window in ms (default {@linkcode DUPLICATE_SIGNAL_WINDOW_MS}). */
  duplicateWindowMs?: number;
}

/** The listener's state; dispose it to remove the signal listeners. */
export interface StopListener extends Disposable {
  /** Aborted (with an AbortError) at the first stop request. */
  readonly signal: AbortSignal;
  /** The first signal received, or null. */
  readonly received: StopSignal | null;
  /**
   * Handles a stop request as if the signal had arrived (what the process
   * signal listeners call).
   *
   * @param signal The signal.
   */
  request(signal: StopSignal): void;
}

/**
 * Listens for SIGINT and SIGTERM (where the platform supports them).
 *
 * @param options The forced-stop callback and the duplicate window.
 * @returns The listener; `using` removes the process listeners.
 *
 * @example Stop a loop on Ctrl-C
 * ```ts
 * import { exitCodeOf, listenForStop } from "./signals.ts";
 * import { processIo } from "./io.ts";
 * const io = processIo();
 * using stop = listenForStop({ onForce: (signal) => io.exit(exitCodeOf(signal)) });
 * while (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 100));
 * ```
 */
export function listenForStop(options: StopListenerOptions): StopListener {
  const windowMs = options.duplicateWindowMs ?? DUPLICATE_SIGNAL_WINDOW_MS;
  const controller = new AbortController();
  let received: StopSignal | null = null;
  let last: { signal: StopSignal; at: number } | null = null;
  let forced = false;
  const request = (signal: StopSignal): void => {
    const at = performance.now();
    const duplicate = last !== null && last.signal === signal &&
      at - last.at < windowMs;
    last = { signal, at };
    if (received === null) {
      received = signal;
      controller.abort(new DOMException(`Stopped by ${signal}`, "AbortError"));
      return;
    }
    if (duplicate || forced) return;
    forced = true;
    options.onForce(signal);
  };
  const handlers = new Map<StopSignal, () => void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const handler = (): void => request(signal);
    try {
      Deno.addSignalListener(signal, handler);
      handlers.set(signal, handler);
    } catch {
      // not supported on this platform (SIGTERM on Windows)
    }
  }
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    request,
    [Symbol.dispose]() {
      for (const [signal, handler] of handlers) {
        Deno.removeSignalListener(signal, handler);
      }
      handlers.clear();
    },
  };
}
