/**
 * How every backend ends an execution whose deadline passed or whose caller
 * cancelled it: interrupt once the request runs, interrupt again while the
 * kernel shows no sign of it, and accept an idle without execute_reply as
 * the end (an interrupt that lands in ipykernel's own code before the cell
 * starts ends the request that way, SPEC §13). Shared by the local and the
 * remote kernel, which differ only in how they interrupt and round-trip.
 *
 * @module
 */

import { delay } from "../base/mod.ts";

/** How long to wait for a sign of an interrupt before sending it again. */
const REINTERRUPT_MS = 1_000;

/** One execution being stopped; see {@linkcode stopExecution}. */
export interface ExecutionToStop {
  /** Settles once the kernel began the request (execute_input). */
  started: Promise<unknown>;
  /** Settles once reply and idle both arrived. */
  done: Promise<unknown>;
  /** Settles once the request's idle arrived. */
  idle: Promise<unknown>;
  /** Settles once the request's execute_reply arrived. */
  replied: Promise<unknown>;
  /** Settles when the kernel dies. */
  died: Promise<unknown>;
  /** Interrupts the kernel (a failure is logged by the caller, not thrown). */
  interrupt(): Promise<void>;
  /**
   * A shell round trip: the kernel answers shell requests in order, so an
   * execute_reply it sent before would have arrived by then.
   */
  barrier(signal: AbortSignal): Promise<unknown>;
  /** How long the kernel has to answer before it counts as stuck. */
  graceMs: number;
}

/**
 * Sends an interrupt again every second until `ended` settles or `signal`
 * aborts. A SIGINT can reach a thread of the kernel other than the main one
 * (Linux picks any thread that does not block it); the main thread then
 * sleeps on in a blocking call, and only a later SIGINT stops it.
 *
 * @param interrupt Sends one interrupt (failures logged, not thrown).
 * @param ended Settles once the interrupted request answered (or will not).
 * @param signal Ends the re-sending (e.g. the grace period is over).
 */
export async function interruptAgainUntil(
  interrupt: () => Promise<void>,
  ended: Promise<unknown>,
  signal: AbortSignal,
): Promise<void> {
  const stopped = ended.then(() => false, () => false);
  const pause = new AbortController();
  const stop = AbortSignal.any([signal, pause.signal]);
  try {
    while (!signal.aborted) {
      const again = await Promise.race([
        stopped,
        delay(REINTERRUPT_MS, { signal: stop }).then(() => true, () => false),
      ]);
      if (!again) return;
      await interrupt();
    }
  } finally {
    pause.abort();
  }
}

/**
 * Stops an execution and tells how it ended.
 *
 * The interrupt is sent again every second until the request answers
 * (reply or idle), within the grace period (see
 * {@linkcode interruptAgainUntil}).
 *
 * @param e The execution.
 * @returns `done` when the request ended (the kernel is alive, its state
 *   kept), `died` when the kernel died, `grace` when it did not answer.
 */
export async function stopExecution(
  e: ExecutionToStop,
): Promise<"done" | "died" | "grace"> {
  const graceOver = new AbortController();
  const wait = (ms: number) =>
    delay(ms, { signal: graceOver.signal }).then(() => true, () => false);
  const grace = wait(e.graceMs).then(() => "grace" as const);
  const died = e.died.then(() => "died" as const);
  const done = e.done.then(() => "done" as const);
  const answer = Promise.race([e.replied, e.idle]);
  try {
    const first = await Promise.race([
      e.started.then(() => "started" as const),
      done,
      died,
      grace,
    ]);
    if (first !== "started") return first;
    const endedAtIdle = e.idle.then(() => e.barrier(graceOver.signal)).then(
      () => "done" as const,
      () => "grace" as const,
    );
    const outcome = Promise.race([done, endedAtIdle, died, grace]);
    await e.interrupt();
    await interruptAgainUntil(
      e.interrupt,
      Promise.race([answer, outcome]),
      graceOver.signal,
    );
    return await outcome;
  } finally {
    graceOver.abort();
  }
}
