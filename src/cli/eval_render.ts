/**
 * Terminal output of `coder eval`: the progress line and the summary table.
 *
 * @module
 */

import type { EvalProgress, EvalTaskSummary } from "../agent/mod.ts";

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(minutes / 60)}h${
    String(minutes % 60).padStart(2, "0")
  }m`;
}

/**
 * The progress line: runs done / running / left and the time left.
 *
 * @param progress The evaluation's progress.
 * @returns One line without a line break.
 */
export function formatProgress(progress: EvalProgress): string {
  const eta = progress.etaSeconds === null
    ? ""
    : `, about ${duration(progress.etaSeconds)} left`;
  return `eval: ${progress.done}/${progress.total} done, ${progress.running} running, ${progress.left} waiting${eta}`;
}

function cost(value: number | null): string {
  return value === null ? "-" : `$${value.toFixed(4)}`;
}

/**
 * The summary table: one row per task and a total row.
 *
 * @param rows The per-task summary.
 * @returns The table, newline-terminated.
 */
export function formatSummaryTable(rows: readonly EvalTaskSummary[]): string {
  const header = [
    "task",
    "runs",
    "solved",
    "validated",
    "failed",
    "errors",
    "tokens",
    "cost",
  ];
  const total: EvalTaskSummary = {
    task: "total",
    runs: 0,
    solved: 0,
    validated: 0,
    failed: 0,
    errors: 0,
    tokens: 0,
    cost_usd: null,
  };
  for (const row of rows) {
    total.runs += row.runs;
    total.solved += row.solved;
    total.validated += row.validated;
    total.failed += row.failed;
    total.errors += row.errors;
    total.tokens += row.tokens;
    if (row.cost_usd !== null) {
      total.cost_usd = (total.cost_usd ?? 0) + row.cost_usd;
    }
  }
  const cells = [...rows, total].map((row) => [
    row.task,
    String(row.runs),
    String(row.solved),
    String(row.validated),
    String(row.failed),
    String(row.errors),
    String(row.tokens),
    cost(row.cost_usd),
  ]);
  const widths = header.map((name, i) =>
    Math.max(name.length, ...cells.map((row) => row[i]!.length))
  );
  const line = (row: string[]): string =>
    row.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)
    ).join("  ").trimEnd() + "\n";
  const rule = widths.map((w) => "-".repeat(w)).join("  ") + "\n";
  return line(header) + rule + cells.slice(0, -1).map(line).join("") + rule +
    line(cells.at(-1)!);
}
