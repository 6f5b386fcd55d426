/**
 * Jupyter notebooks (nbformat 4.5) from executed cells: the code of each
 * cell and its outputs (streams, result, images, error). Shared by the MCP
 * server's `python_export` and `coder`'s session notebook.
 *
 * @module
 */

import type { ExecuteResult } from "./messages.ts";

/** One executed cell: its code and what it produced (null: nothing known). */
export interface NotebookCell {
  /** Python source. */
  code: string;
  /** The execution's result, or null when it produced nothing we kept. */
  result: ExecuteResult | null;
}

/** Options of {@linkcode buildNotebook}. */
export interface BuildNotebookOptions {
  /** Python version for `language_info` (e.g. "3.11.2"). */
  pythonVersion?: string;
  /** Applied to every text written (e.g. secret masking). */
  mask?: (text: string) => string;
}

/** An nbformat 4.5 notebook as JSON. */
export type NotebookJson = Record<string, unknown>;

function lines(text: string): string[] {
  return text.split(/(?<=\n)/).filter((line) => line !== "");
}

function cellId(index: number): string {
  return `cell-${index + 1}`;
}

function outputsOf(
  result: ExecuteResult | null,
  mask: (text: string) => string,
): Record<string, unknown>[] {
  if (!result) return [];
  const outputs: Record<string, unknown>[] = [];
  for (const name of ["stdout", "stderr"] as const) {
    if (result[name]) {
      outputs.push({
        output_type: "stream",
        name,
        text: lines(mask(result[name])),
      });
    }
  }
  for (const image of result.images) {
    outputs.push({
      output_type: "display_data",
      data: {
        [image.mimeType]: image.mimeType === "image/svg+xml"
          ? lines(mask(image.data))
          : image.data,
      },
      metadata: {},
    });
  }
  if (result.result !== null) {
    outputs.push({
      output_type: "execute_result",
      execution_count: result.executionCount,
      data: { "text/plain": lines(mask(result.result)) },
      metadata: {},
    });
  }
  if (result.error) {
    outputs.push({
      output_type: "error",
      ename: mask(result.error.ename),
      evalue: mask(result.error.evalue),
      traceback: mask(result.error.traceback).split("\n"),
    });
  }
  return outputs;
}

/**
 * Builds an nbformat 4.5 notebook (valid under `nbformat.validate`).
 *
 * @param cells Executed cells, in order.
 * @param options Python version, text mask.
 * @returns The notebook JSON object.
 * @example Two cells
 * ```ts
 * import { buildNotebook } from "./notebook.ts";
 * const nb = buildNotebook([{ code: "x = 1", result: null }]);
 * nb.nbformat; // 4
 * ```
 */
export function buildNotebook(
  cells: readonly NotebookCell[],
  options: BuildNotebookOptions = {},
): NotebookJson {
  const mask = options.mask ?? ((text: string) => text);
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: "python3",
        display_name: "Python 3",
        language: "python",
      },
      language_info: {
        name: "python",
        ...(options.pythonVersion ? { version: options.pythonVersion } : {}),
      },
    },
    cells: cells.map((cell, index) => ({
      id: cellId(index),
      cell_type: "code",
      metadata: {},
      execution_count: cell.result?.executionCount ?? null,
      source: lines(mask(cell.code)),
      outputs: outputsOf(cell.result, mask),
    })),
  };
}
