/**
 * Per-kernel history of executed cells for `python_export`, bounded per
 * cell and in total (SPEC §13): a cell keeps at most
 * {@linkcode HISTORY_CELL_TEXT_LIMIT} characters of each text, a kernel's
 * history and the whole server's at most {@linkcode HISTORY_KERNEL_LIMIT}
 * and {@linkcode HISTORY_TOTAL_LIMIT} characters (images included); past
 * that the oldest outputs, then the oldest cells, give way. Everything cut
 * is marked in the notebook. What is kept is copied, so a kept slice of a
 * 40 MB output does not keep the 40 MB string alive.
 *
 * Keyed by the kernel handle, so a restart (a new handle) starts a new
 * history; a kernel's history is dropped when it ends.
 *
 * @module
 */

import type {
  ExecuteResult,
  KernelHandle,
  NotebookCell,
} from "../kernel/mod.ts";

/** Most characters kept of each text of one cell (code, stdout, stderr, result, traceback). */
export const HISTORY_CELL_TEXT_LIMIT = 1024 * 1024;
/** Most characters (text and base64 images) kept per kernel's history. */
export const HISTORY_KERNEL_LIMIT = 16 * 1024 * 1024;
/** Most characters kept in all histories of one server together. */
export const HISTORY_TOTAL_LIMIT = 48 * 1024 * 1024;

interface KeptCell {
  cell: NotebookCell;
  /** Characters this cell holds. */
  size: number;
  /** Whether its outputs were already replaced by a marker. */
  outputsCut: boolean;
}

interface History {
  cells: KeptCell[];
  size: number;
  /** Cells dropped from the front (marked by a first cell). */
  dropped: number;
}

/** A fresh flat copy: a slice would keep its (possibly huge) parent alive. */
function copy(text: string): string {
  return new TextDecoder().decode(new TextEncoder().encode(text));
}

/** At most the limit, copied, with a marker saying how much was cut. */
function capText(text: string, what: string): string {
  if (text.length <= HISTORY_CELL_TEXT_LIMIT) return text;
  // Never split a surrogate pair at the cut.
  let end = HISTORY_CELL_TEXT_LIMIT;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return copy(text.slice(0, end)) +
    `\n[notebook history: ${
      text.length - end
    } more characters of this ${what} were cut]\n`;
}

function resultSize(result: ExecuteResult | null): number {
  if (!result) return 0;
  return result.stdout.length + result.stderr.length +
    (result.result?.length ?? 0) +
    (result.error
      ? result.error.ename.length + result.error.evalue.length +
        result.error.traceback.length
      : 0) +
    result.images.reduce((n, image) => n + image.data.length, 0) +
    (result.html ?? []).reduce((n, item) => n + item.html.length, 0);
}

/** The result as kept: every text capped and copied when cut. */
function capResult(result: ExecuteResult): ExecuteResult {
  const images = [];
  let imageChars = 0;
  let imagesCut = 0;
  for (const image of result.images) {
    if (
      image.data.length > HISTORY_CELL_TEXT_LIMIT * 4 ||
      imageChars + image.data.length > HISTORY_CELL_TEXT_LIMIT * 4
    ) {
      imagesCut++;
      continue;
    }
    imageChars += image.data.length;
    images.push(image);
  }
  const note = imagesCut > 0
    ? `[notebook history: ${imagesCut} image(s) of this cell were cut]\n`
    : "";
  return {
    status: result.status,
    stdout: capText(result.stdout, "output"),
    stderr: capText(result.stderr, "error output") + note,
    result: result.result === null ? null : capText(result.result, "result"),
    images,
    error: result.error
      ? {
        ename: capText(result.error.ename, "error name"),
        evalue: capText(result.error.evalue, "error message"),
        traceback: capText(result.error.traceback, "traceback"),
      }
      : null,
    executionCount: result.executionCount,
    droppedBytes: { ...result.droppedBytes },
    ...(result.html
      ? {
        html: result.html.map((item) => ({
          ...item,
          html: capText(item.html, "HTML output"),
        })),
      }
      : {}),
  };
}

/** The executed cells of each live kernel since its last (re)start. */
export class NotebookHistory {
  readonly #byKernel = new Map<KernelHandle, History>();
  #total = 0;

  /** Characters held by all histories (for tests and status). */
  get size(): number {
    return this.#total;
  }

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
      if (!kernel.alive) return;
      const fresh: History = { cells: [], size: 0, dropped: 0 };
      history = fresh;
      this.#byKernel.set(kernel, fresh);
      kernel.exited.then(() => {
        if (this.#byKernel.get(kernel) !== fresh) return;
        this.#byKernel.delete(kernel);
        this.#total -= fresh.size;
      });
    }
    const cell: NotebookCell = {
      code: capText(code, "code"),
      result: result ? capResult(result) : null,
    };
    const size = cell.code.length + resultSize(cell.result);
    history.cells.push({ cell, size, outputsCut: false });
    history.size += size;
    this.#total += size;
    this.#shrink(history);
  }

  /**
   * The cells a kernel ran since its last (re)start; cut outputs and
   * dropped cells are marked.
   *
   * @param kernel The kernel.
   * @returns The cells, in order.
   */
  cells(kernel: KernelHandle): readonly NotebookCell[] {
    const history = this.#byKernel.get(kernel);
    if (!history) return [];
    const cells = history.cells.map((kept) => kept.cell);
    if (history.dropped === 0) return cells;
    return [{
      code:
        `# notebook history: the ${history.dropped} earliest cell(s) of this session were cut (history limit)`,
      result: null,
    }, ...cells];
  }

  /** Brings this history and the total back under their limits. */
  #shrink(history: History): void {
    while (history.size > HISTORY_KERNEL_LIMIT) {
      if (!this.#cutOldest(history)) break;
    }
    for (const other of [history, ...this.#byKernel.values()]) {
      while (this.#total > HISTORY_TOTAL_LIMIT) {
        if (!this.#cutOldest(other)) break;
      }
    }
  }

  /**
   * Cuts the outputs of the oldest cell that still has them, else drops the
   * oldest cell (but never the newest one).
   *
   * @returns False when nothing is left to cut.
   */
  #cutOldest(history: History): boolean {
    const withOutputs = history.cells.find((kept) =>
      !kept.outputsCut && kept.cell.result !== null
    );
    if (withOutputs) {
      const old = withOutputs.cell.result!;
      const marker: ExecuteResult = {
        status: old.status,
        stdout:
          "[notebook history: the output of this cell was cut (history limit)]\n",
        stderr: "",
        result: null,
        images: [],
        error: null,
        executionCount: old.executionCount,
        droppedBytes: { stdout: 0, stderr: 0 },
      };
      const size = withOutputs.cell.code.length + resultSize(marker);
      this.#resize(history, withOutputs, size);
      withOutputs.cell = { code: withOutputs.cell.code, result: marker };
      withOutputs.outputsCut = true;
      return true;
    }
    if (history.cells.length <= 1) return false;
    const oldest = history.cells.shift()!;
    history.size -= oldest.size;
    this.#total -= oldest.size;
    history.dropped++;
    return true;
  }

  #resize(history: History, kept: KeptCell, size: number): void {
    history.size += size - kept.size;
    this.#total += size - kept.size;
    kept.size = size;
  }
}
