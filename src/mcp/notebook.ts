/**
 * Per-kernel history of executed cells for `python_export`. Keyed by the
 * kernel handle, so a restart (a new handle) starts a new history.
 *
 * @module
 */

import type {
  ExecuteResult,
  KernelHandle,
  NotebookCell,
} from "../kernel/mod.ts";

/** Most image bytes (base64 characters) kept per kernel's history. */
export const HISTORY_IMAGE_LIMIT_CHARS = 64 * 1024 * 1024;

interface History {
  cells: NotebookCell[];
  imageChars: number;
}

/** The executed cells of each live kernel since its last (re)start. */
export class NotebookHistory {
  readonly #byKernel = new WeakMap<KernelHandle, History>();

  /**
   * Records one executed cell.
   *
   * @param kernel The kernel that ran it.
   * @param code The code.
   * @param result Its result (null when nothing came back).
   */
  record(
    kernel: KernelHandle,
    code: string,
    result: ExecuteResult | null,
  ): void {
    let history = this.#byKernel.get(kernel);
    if (!history) {
      history = { cells: [], imageChars: 0 };
      this.#byKernel.set(kernel, history);
    }
    let kept = result;
    if (result && result.images.length > 0) {
      const size = result.images.reduce((n, i) => n + i.data.length, 0);
      if (history.imageChars + size > HISTORY_IMAGE_LIMIT_CHARS) {
        kept = { ...result, images: [] };
      } else {
        history.imageChars += size;
      }
    }
    history.cells.push({ code, result: kept });
  }

  /**
   * The cells a kernel ran since its last (re)start.
   *
   * @param kernel The kernel.
   * @returns The cells, in order.
   */
  cells(kernel: KernelHandle): readonly NotebookCell[] {
    return this.#byKernel.get(kernel)?.cells ?? [];
  }
}
