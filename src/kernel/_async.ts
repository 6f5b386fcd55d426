/**
 * Small abortable waits shared by the kernel layer (folder-private).
 *
 * @module
 */

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
