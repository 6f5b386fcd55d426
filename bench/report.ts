/**
 * Statistics and the printed table of the benchmark.
 *
 * @module
 */

/** Percentiles of a sample set, in milliseconds. */
export interface Summary {
  /** Sample count. */
  n: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Arithmetic mean. */
  mean: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
}

/**
 * Nearest-rank percentile of sorted samples.
 *
 * @param sorted Ascending samples (non-empty).
 * @param p Percentile in 0..100.
 * @returns The sample at that rank.
 */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1] ?? NaN;
}

/**
 * Summarises samples.
 *
 * @param samples Milliseconds (any order).
 * @returns n, p50, p90, p99, mean, min, max (NaN when empty).
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  return {
    n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: n ? sorted.reduce((a, b) => a + b, 0) / n : NaN,
    min: sorted[0] ?? NaN,
    max: sorted[n - 1] ?? NaN,
  };
}

/**
 * Median of samples.
 *
 * @param samples Numbers (any order).
 * @returns The median, NaN when empty.
 */
export function median(samples: readonly number[]): number {
  return percentile([...samples].sort((a, b) => a - b), 50);
}

/**
 * Formats milliseconds with sensible precision.
 *
 * @param ms Milliseconds.
 * @returns e.g. "0.82 ms", "15.3 ms", "812 ms", "6.21 s".
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms < 0) return `-${formatMs(-ms)}`;
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/**
 * Formats a ratio.
 *
 * @param ratio A quotient.
 * @returns e.g. "1.42x".
 */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return "n/a";
  return ratio >= 10 ? `${ratio.toFixed(1)}x` : `${ratio.toFixed(2)}x`;
}

/**
 * Formats KiB as MiB.
 *
 * @param kib Kibibytes.
 * @returns e.g. "84.2 MiB".
 */
export function formatKiB(kib: number): string {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : "n/a";
}

/** One line of the printed table. */
export interface Row {
  /** Section name (see `sections.ts`), or "!" for a failed section. */
  section: string;
  /** What was measured. */
  what: string;
  /** The value. */
  value: string;
  /** Comparison (ratio to another layer or to the reference). */
  compare?: string;
  /** Target and PASS/MISS. */
  target?: string;
}

/**
 * Renders rows as a fixed-width table.
 *
 * @param rows The rows.
 * @returns Lines of text.
 */
export function renderTable(rows: readonly Row[]): string[] {
  const header: Row = {
    section: "#",
    what: "measurement",
    value: "value",
    compare: "compare",
    target: "target",
  };
  const all = [header, ...rows];
  const width = (pick: (r: Row) => string | undefined) =>
    Math.max(...all.map((r) => (pick(r) ?? "").length));
  const ws = [
    width((r) => r.section),
    width((r) => r.what),
    width((r) => r.value),
    width((r) => r.compare),
  ];
  const line = (r: Row) =>
    [
      r.section.padEnd(ws[0]!),
      r.what.padEnd(ws[1]!),
      r.value.padStart(ws[2]!),
      (r.compare ?? "").padEnd(ws[3]!),
      r.target ?? "",
    ].join("  ").trimEnd();
  const rule = "-".repeat(line(header).length + 12);
  const lines = [line(header), rule];
  let last = "";
  for (const row of rows) {
    if (last && row.section !== last) lines.push("");
    lines.push(line(row));
    last = row.section;
  }
  return lines;
}

/** What a plug-in bench section gets. */
export interface SectionInput {
  /** Environment for every process the section starts. */
  env: Record<string, string>;
  /** A scratch directory, removed after the run. */
  tmp: string;
  /** Iteration count (1000 in a full run, 100 with `--quick`). */
  n: number;
  /** Progress line to stderr. */
  log(line: string): void;
}

/** One row a plug-in section adds to the table. */
export interface SectionRow {
  /** What was measured. */
  measurement: string;
  /** The value. */
  value: string;
  /** Comparison with a baseline measured in the same run. */
  compare?: string;
  /** Target and pass/miss. */
  target?: string;
}

/** What a plug-in bench section returns. */
export interface SectionResult {
  /** Raw data, written to the JSON results. */
  data: unknown;
  /** Named ratios (and target figures), merged into the results' `ratios`. */
  ratios: Record<string, number>;
  /** Table rows. */
  rows: SectionRow[];
}

/** A plug-in bench section: `bench/<name>.ts` exports one. */
export type BenchSection = (input: SectionInput) => Promise<SectionResult>;
