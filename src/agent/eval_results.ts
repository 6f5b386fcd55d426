/**
 * The records of an evaluation (`results.jsonl`, one JSON object per run),
 * reading them back for a resumed evaluation, and the per-task summary.
 *
 * @module
 */

import type { TokenConsumption } from "./stats.ts";
import type { ValidationResult } from "./validate.ts";

/** How an evaluation run ended. */
export type EvalStatus = "solved" | "step_limit" | "error" | "interrupted";

/** One run of one task (a line of `results.jsonl`; wire casing). */
export interface EvalRecord {
  /** Task name (the file's name without `.md`). */
  task: string;
  /** The task file. */
  task_file: string;
  /** The model's path. */
  model: string;
  /** Run index, 1-based. */
  run: number;
  /** How the run ended. */
  status: EvalStatus;
  /** Model steps (chat completions) the run took. */
  steps: number;
  /** Tokens used. */
  tokens: TokenConsumption;
  /** Cost in USD when the provider reported it, else null. */
  cost_usd: number | null;
  /** Wall time of the run (agent and validation), in seconds. */
  wall_time_seconds: number;
  /** Validation result, or null when there is no validator or nothing was solved. */
  validation: ValidationResult | null;
  /** The run's directory. */
  dir: string;
  /** The saved solution, or null when none was saved. */
  solution: string | null;
  /** The final answer (solved runs). */
  final_response?: string;
  /** What failed (error runs). */
  error?: string;
  /** When the run ended (ISO 8601). */
  finished_at: string;
  /** Set on records of an earlier evaluation that a resumed one skipped (never written). */
  resumed?: true;
}

/**
 * Whether a run counts as finished (a resumed evaluation skips it): solved
 * (valid or not) or stopped at the step limit. Errors and interrupted runs
 * are run again.
 *
 * @param record The record.
 * @returns True when finished.
 */
export function isFinished(record: EvalRecord): boolean {
  return record.status === "solved" || record.status === "step_limit";
}

/**
 * Whether a run passed: solved, and valid when it was validated.
 *
 * @param record The record.
 * @returns True when it passed.
 */
export function isPassed(record: EvalRecord): boolean {
  return record.status === "solved" &&
    (record.validation === null || record.validation.valid);
}

/**
 * Reads `results.jsonl`: the last record of every (task, run). Lines that
 * are not complete JSON records (a run killed while writing) are skipped.
 *
 * @param path The results file.
 * @returns Records by `task\u0000run`; empty when the file does not exist.
 */
export async function readEvalResults(
  path: string,
): Promise<Map<string, EvalRecord>> {
  const records = new Map<string, EvalRecord>();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return records;
    throw error;
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let record: EvalRecord;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof record?.task !== "string" || typeof record.run !== "number") {
      continue;
    }
    records.set(runKey(record.task, record.run), record);
  }
  return records;
}

/**
 * The key of a (task, run) pair.
 *
 * @param task Task name.
 * @param run Run index.
 * @returns The key.
 */
export function runKey(task: string, run: number): string {
  return `${task}\u0000${run}`;
}

/** One row of an evaluation's summary. */
export interface EvalTaskSummary {
  /** Task name. */
  task: string;
  /** Runs recorded. */
  runs: number;
  /** Runs with a final answer. */
  solved: number;
  /** Solved runs whose solution the validator accepted. */
  validated: number;
  /** Runs that finished without a passing solution (step limit, failed validation). */
  failed: number;
  /** Runs that ended in an error or were interrupted. */
  errors: number;
  /** Total tokens. */
  tokens: number;
  /** Total cost in USD (null when no run reported one). */
  cost_usd: number | null;
}

/**
 * Sums records per task (in the order tasks first appear).
 *
 * @param records The records.
 * @returns One row per task.
 *
 * @example Summarize
 * ```ts
 * import { summarizeEval } from "./eval_results.ts";
 * console.log(summarizeEval([])); // []
 * ```
 */
export function summarizeEval(
  records: Iterable<EvalRecord>,
): EvalTaskSummary[] {
  const rows = new Map<string, EvalTaskSummary>();
  for (const record of records) {
    let row = rows.get(record.task);
    if (!row) {
      row = {
        task: record.task,
        runs: 0,
        solved: 0,
        validated: 0,
        failed: 0,
        errors: 0,
        tokens: 0,
        cost_usd: null,
      };
      rows.set(record.task, row);
    }
    row.runs++;
    if (record.status === "solved") row.solved++;
    if (record.status === "solved" && record.validation?.valid) {
      row.validated++;
    }
    if (isFinished(record) && !isPassed(record)) row.failed++;
    if (!isFinished(record)) row.errors++;
    row.tokens += record.tokens.total_tokens;
    if (record.cost_usd !== null) {
      row.cost_usd = (row.cost_usd ?? 0) + record.cost_usd;
    }
  }
  return [...rows.values()];
}
