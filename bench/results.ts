/**
 * What one benchmark run is given and what it yields: the output and
 * environment (`BenchIo`), iteration counts (`PLANS`), the JSON results
 * (`BenchResults`) and the context the built-in sections share.
 *
 * @module
 */

import type { Section } from "./sections.ts";
import type { SectionRow, Summary } from "./report.ts";

/** Where lines go. */
export interface BenchIo {
  /** The table and the final summary. */
  out(line: string): void;
  /** Progress and problems. */
  err(line: string): void;
  /** Environment given to every process the benchmark starts. */
  env: Record<string, string>;
  /** Directory relative paths are resolved against. */
  cwd: string;
}
/** Iteration counts of one run. */
export interface BenchPlan {
  /** Timed round trips per layer. */
  n: number;
  /** Untimed round trips before timing. */
  warmup: number;

  /** Kernel starts timed in the kernel layer. */
  kernelStarts: number;
  /** KernelManager starts of the reference. */
  referenceStarts: number;
}

/** Counts of a full run and of `--quick`. */
export const PLANS: Readonly<Record<"full" | "quick", BenchPlan>> = {
  full: {
    n: 1000,
    warmup: 50,
    kernelStarts: 4,
    referenceStarts: 3,
  },
  quick: {
    n: 100,
    warmup: 10,
    kernelStarts: 1,
    referenceStarts: 1,
  },
};
/** When, where and how a run was made (the page shows it). */
export interface RunMeta {
  /** ISO date of the run. */
  date: string;
  /** Whether it was a `--quick` run. */
  quick: boolean;
  /** The sections that ran. */
  sections: readonly string[];
  /** Deno version. */
  deno: string;
  /** Operating system. */
  os: string;
  /** CPU count. */
  cpus: number;
  /** CPU model, when known. */
  cpuModel?: string;
  /** Load average when the run started. */
  loadavg: string;
  /** Load average when the run ended (a busy shared machine shows here). */
  loadavgEnd?: string;
  /** The interpreter the kernels ran on. */
  python?: string;
  /** Wall time of the run in seconds. */
  wallSeconds?: number;
}

/** Everything measured; written as JSON. */
export interface BenchResults {
  /** When, where and how. */
  meta: RunMeta & { sections: Section[] };
  /** Plug-in sections' raw data, by section name. */
  sections: Record<string, unknown>;
  /** Plug-in sections' table rows, by section name. */
  sectionRows: Record<string, SectionRow[]>;
  /** Section `mcp`. */
  mcp?: Summary;
  /** Section `kernel`. */
  kernel?: {
    resolvePythonMs: number;
    startMs: number[];
    bareBindMs: number[];
    bareKernelInfoMs: number[];
    roundTrip: Summary;
  };
  /** Section `transport`. */
  transport?: Summary;
  /** Section `rss`. */
  rss?: {
    idleKiB: number;
    afterKiB: number;
    calls: number;
    growthPercent: number;
    trace: { calls: number; rssKiB: number }[];
  };
  /** jupyter_client numbers. */
  reference?:
    | { available: false; reason: string }
    | {
      available: true;
      python: string;
      jupyterClient: string;
      ipykernel: string;
      startMs: number[];
      reply: Summary;
      replyAndIdle: Summary;
    };
  /** Derived ratios. */
  ratios: Record<string, number>;
  /** Targets with PASS/MISS. */
  targets: { name: string; value: number; limit: string; pass: boolean }[];
  /** Sections that failed, with the reason. */
  errors: Record<string, string>;
  /** Kernel processes found after the run (killed); empty when clean. */
  leftoverPids: number[];
}
/** What the built-in sections (round trips, reference) share. */
export interface RunContext {
  /** Output and environment. */
  io: BenchIo;
  /** Iteration counts. */
  plan: BenchPlan;
  /** Environment of every process started. */
  env: Record<string, string>;
  /** Scratch directory, removed after the run. */
  tmp: string;
  /** Deadline of the run. */
  deadline: AbortSignal;
  /** Filled in by the sections. */
  results: BenchResults;
}

/**
 * The results of a run before any section has run: its facts, nothing else.
 *
 * @param meta The run's facts.
 * @returns Empty sections, rows, ratios, targets, errors and leftovers.
 */
export function emptyResults(meta: BenchResults["meta"]): BenchResults {
  return {
    meta,
    sections: {},
    sectionRows: {},
    ratios: {},
    targets: [],
    errors: {},
    leftoverPids: [],
  };
}

/**
 * Merges environment overrides; an undefined value removes the variable.
 *
 * @param base The environment.
 * @param overrides Variables to set or (undefined) remove.
 * @returns The merged environment.
 */
export function withEnv(
  base: Record<string, string>,
  overrides: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string | undefined> = { ...base, ...overrides };
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] =>
      e[1] !== undefined
    ),
  );
}
