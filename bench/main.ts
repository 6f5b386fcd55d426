/**
 * Benchmarks of ipython_mcp and the layers below it (`deno task bench`).
 *
 * ```sh
 * deno run --allow-all bench/main.ts [--quick] [--json PATH] [--only LIST]
 *   [--write-docs | --no-docs] [--docs PATH]
 * ```
 *
 * Sections (names for `--only`, comma-separated) are listed with what each
 * measures in `sections.ts`; the round-trip layers (`transport`, `kernel`,
 * `mcp`, `rss`) and `reference` live here, every other section is one
 * `bench/<name>.ts` registered in `PLUGINS`. Every request a section sends
 * is built by `requests.ts`.
 *
 * Per-message costs without processes (framing, signing, decoding) are
 * `Deno.bench` micro-benchmarks in `bench/micro_bench.ts`
 * (`deno task bench:micro`).
 *
 * Prints one table (progress goes to stderr) and writes JSON to
 * `bench-results.json` at the repository root or `--json PATH`. A full run
 * of every section (no `--quick`, no `--only`) also writes
 * docs/performance.md, generated whole by `performance_page.ts` from
 * `performance_template.md`; `--write-docs` writes it after a partial run
 * (sections not run are marked so), `--no-docs` never. Every
 * process started is tagged with a run marker in its environment; the run
 * ends by checking that no kernel carrying it is left (and killing any).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Kernel, resolvePython, startKernel } from "../src/kernel/mod.ts";
import {
  bareKernelStart,
  type BareShell,
  kernelRoundTrip,
  openBareShell,
} from "./layers.ts";
import { type BenchServer, startBenchServer } from "./server.ts";
import { benchKernels } from "./kernels.ts";
import { benchOutput } from "./output.ts";
import { benchStartup } from "./startup.ts";
import { benchSandbox } from "./sandbox.ts";
import { benchProxy } from "./proxy.ts";
import { benchRemote } from "./remote.ts";
import { benchHttp } from "./http.ts";
import { benchEval } from "./eval.ts";
import { benchView } from "./view.ts";
import { findKernels, killPids, waitGone } from "./proc.ts";
import { timedOnePlusOne } from "./requests.ts";
import { type Section, SECTIONS } from "./sections.ts";
import { renderPerformancePage } from "./performance_page.ts";
import {
  type BenchSection,
  formatKiB,
  formatMs,
  formatRatio,
  median,
  renderTable,
  type Row,
  type SectionRow,
  summarize,
  type Summary,
} from "./report.ts";

/**
 * Plug-in sections: each is one `bench/<name>.ts` exporting an
 * async `({ env, tmp, n, log }) => { data, ratios, rows }`; add one entry.
 */
const PLUGINS: Readonly<Record<string, BenchSection>> = {
  startup: benchStartup,
  kernels: benchKernels,
  output: benchOutput,
  sandbox: benchSandbox,
  proxy: benchProxy,
  remote: benchRemote,
  http: benchHttp,
  eval: benchEval,
  view: benchView,
};

export { type Section, SECTIONS } from "./sections.ts";

/** Help text of the script. */
export const HELP_TEXT =
  `bench: latency, start-up and memory of ipython_mcp and the layers below it.

Usage:
  deno task bench [--quick] [--json PATH] [--only LIST] [--write-docs | --no-docs] [--docs PATH]

Options:
  --quick        Fewer iterations (100 round trips instead of 1000, fewer repeats).
  --json PATH    Where the JSON results go (default: bench-results.json at the repo root).
  --only LIST    Comma-separated sections: ${SECTIONS.join(", ")}.
  --write-docs   Write the performance page even for a --quick or --only run
                 (a full run of every section writes it by default).
  --no-docs      Do not write the performance page.
  --docs PATH    Where the performance page goes (default: docs/performance.md
                 at the repo root); implies --write-docs.
  --render JSON  Measure nothing: write the performance page from the results
                 of an earlier run (its --json file).
  -h, --help     Show this help.

Environment: CODER_PYTHON picks the kernel interpreter (as for ipython_mcp);
BENCH_REFERENCE_PYTHON the interpreter with jupyter_client (default /usr/bin/python3).
`;

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

/** Parsed command line. */
export interface BenchArgs {
  /** `--quick`. */
  quick: boolean;
  /** `--json PATH` (unresolved). */
  json?: string;
  /** Sections to run. */
  only: Section[];
  /**
   * Whether to write the performance page: true for a full run of every
   * section, `--write-docs` or `--docs PATH`; false with `--no-docs`.
   */
  writeDocs: boolean;
  /** `--docs PATH` (unresolved). */
  docs?: string;
  /** `--render JSON` (unresolved): the page from an earlier run's results. */
  render?: string;
  /** `--help`. */
  help: boolean;
}

/**
 * Parses the command line.
 *
 * @param args Arguments after the script name.
 * @returns The parsed options.
 * @throws {TypeError} On an unknown flag or section.
 */
export function parseBenchArgs(args: string[]): BenchArgs {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      only: { type: "string" },
      "write-docs": { type: "boolean", default: false },
      "no-docs": { type: "boolean", default: false },
      docs: { type: "string" },
      render: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  let only: Section[] = [...SECTIONS];
  if (values.only !== undefined) {
    const names = values.only.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((s) =>
      !(SECTIONS as readonly string[]).includes(s)
    );
    if (unknown.length > 0 || names.length === 0) {
      throw new TypeError(
        `--only takes sections from ${
          SECTIONS.join(", ")
        }; got "${values.only}"`,
      );
    }
    only = SECTIONS.filter((s) => names.includes(s));
  }
  if (
    values["no-docs"] && (values["write-docs"] || values.docs !== undefined)
  ) {
    throw new TypeError(
      "--no-docs cannot be combined with --write-docs or --docs",
    );
  }
  if (
    values.render !== undefined &&
    (values.quick || values.only !== undefined || values["no-docs"])
  ) {
    throw new TypeError(
      "--render measures nothing; it takes no --quick, --only or --no-docs",
    );
  }
  const full = !values.quick && values.only === undefined;
  return {
    quick: values.quick,
    ...(values.json !== undefined ? { json: values.json } : {}),
    only,
    writeDocs: !values["no-docs"] &&
      (full || values["write-docs"] || values.docs !== undefined),
    ...(values.docs !== undefined ? { docs: values.docs } : {}),
    ...(values.render !== undefined ? { render: values.render } : {}),
    help: values.help,
  };
}

/** Everything measured; written as JSON. */
export interface BenchResults {
  /** When, where and how. */
  meta: {
    date: string;
    quick: boolean;
    sections: Section[];
    deno: string;
    os: string;
    cpus: number;
    cpuModel?: string;
    loadavg: string;
    /** Load average when the run ended (a busy shared machine shows here). */
    loadavgEnd?: string;
    python?: string;
    wallSeconds?: number;
  };
  /** Plug-in sections' raw data, by section name. */
  sections: Record<string, unknown>;
  /** Plug-in sections' table rows, by section name. */
  sectionRows: Record<string, SectionRow[]>;
  /** Section 2. */
  mcp?: Summary;
  /** Section 3 (kernel layer). */
  kernel?: {
    resolvePythonMs: number;
    startMs: number[];
    bareBindMs: number[];
    bareKernelInfoMs: number[];
    roundTrip: Summary;
  };
  /** Section 3 (bare transport). */
  transport?: Summary;
  /** Section 6. */
  /** Section 7. */
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

interface Context {
  io: BenchIo;
  plan: BenchPlan;
  env: Record<string, string>;
  tmp: string;
  deadline: AbortSignal;
  results: BenchResults;
}

function withEnv(
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

async function server(
  ctx: Context,
  name: string,
  overrides: Record<string, string | undefined>,
): Promise<BenchServer> {
  const cwd = join(ctx.tmp, `${name}-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(cwd, { recursive: true });
  return await startBenchServer({ env: withEnv(ctx.env, overrides), cwd });
}

async function execOk(
  s: BenchServer,
  code: string,
  extra: Record<string, unknown> = {},
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const { json } = await s.call(
    "python_exec",
    { code, ...extra },
    timeoutMs,
  );
  if (json.success !== true) {
    throw new Error(
      `python_exec failed: ${
        JSON.stringify(json).slice(0, 400)
      }\n${s.stderrTail()}`,
    );
  }
  return json;
}

async function closeServer(ctx: Context, s: BenchServer): Promise<void> {
  const stuck = await s.close();
  if (stuck.length > 0) {
    ctx.io.err(
      `bench: server ${s.pid} left processes ${stuck.join(", ")}; killed them`,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Which of the round-trip sections (2, 3, 7) run. */
interface RoundTripWants {
  mcp: boolean;
  kernel: boolean;
  transport: boolean;
  rss: boolean;
}

const BLOCK = 10;

/**
 * Sections 2, 3 and 7. The layers are timed interleaved, in blocks of
 * BLOCK calls in rotating order, so each sees the same machine load and
 * the ratios stay meaningful on a busy host. The MCP server (pool 0, so no
 * spare starts meanwhile) also gives the RSS figures.
 */
async function benchRoundTrips(
  ctx: Context,
  want: RoundTripWants,
): Promise<void> {
  const { n, warmup } = ctx.plan;
  let kernel: Kernel | undefined;
  let bare: BareShell | undefined;
  let s: BenchServer | undefined;
  try {
    let resolvePythonMs = NaN;
    const startMs: number[] = [];
    const bareBindMs: number[] = [];
    const bareKernelInfoMs: number[] = [];
    if (want.kernel || want.transport) {
      const t0 = performance.now();
      const python = ctx.env.CODER_PYTHON ||
        await resolvePython({ env: ctx.env });
      resolvePythonMs = performance.now() - t0;
      ctx.results.meta.python = python;
      const cwd = join(ctx.tmp, "kernel");
      await Deno.mkdir(cwd, { recursive: true });
      const starts = want.kernel ? ctx.plan.kernelStarts : 1;
      // Bare and ours alternate which goes first, so neither always gets
      // the warmer file cache.
      for (let i = 0; i < starts; i++) {
        ctx.io.err(`bench: kernel start ${i + 1}/${starts}`);
        const bareStart = async () => {
          const b = await bareKernelStart(python, {
            env: ctx.env,
            cwd,
            signal: ctx.deadline,
          });
          bareBindMs.push(b.bindMs);
          bareKernelInfoMs.push(b.kernelInfoMs);
        };
        if (want.kernel && i % 2 === 0) await bareStart();
        await kernel?.shutdown();
        const t1 = performance.now();
        kernel = await startKernel({
          cwd,
          env: ctx.env,
          python,
          signal: ctx.deadline,
        });
        startMs.push(performance.now() - t1);
        if (want.kernel && i % 2 === 1) await bareStart();
      }
    }
    let idleKiB = NaN;
    const trace: { calls: number; rssKiB: number }[] = [];
    let mcpCalls = 0;
    if (want.mcp || want.rss) {
      s = await server(ctx, "mcp", { CODER_POOL_SIZE: "0" });
      await execOk(s, "1+1");
      mcpCalls = 1;
      await sleep(500);
      idleKiB = (await s.memory())?.rssKiB ?? NaN;
      trace.push({ calls: 1, rssKiB: idleKiB });
    }
    const runners: { name: keyof typeof samples; once(): Promise<number> }[] =
      [];
    const samples = {
      transport: [] as number[],
      kernel: [] as number[],
      mcp: [] as number[],
    };
    if (want.transport) {
      bare = await openBareShell(
        kernel!.connectionInfo,
        warmup + n,
        ctx.deadline,
      );
      runners.push({ name: "transport", once: () => bare!.roundTrip() });
    }
    if (want.kernel) {
      runners.push({ name: "kernel", once: () => kernelRoundTrip(kernel!) });
    }
    if (s) {
      const srv = s;
      runners.push({
        name: "mcp",
        async once() {
          const ms = await timedOnePlusOne(srv.client);
          mcpCalls++;
          return ms;
        },
      });
    }
    ctx.io.err(
      `bench: round trips, interleaved: ${
        runners.map((r) => r.name).join(", ")
      } (${warmup} + ${n} each)`,
    );
    for (const runner of runners) {
      for (let i = 0; i < warmup; i++) await runner.once();
    }
    const blocks = Math.ceil(n / BLOCK);
    const traceEvery = Math.max(1, Math.floor(blocks / 10));
    for (let b = 0; b < blocks; b++) {
      ctx.deadline.throwIfAborted();
      const count = Math.min(BLOCK, n - b * BLOCK);
      for (let j = 0; j < runners.length; j++) {
        const runner = runners[(b + j) % runners.length]!;
        for (let i = 0; i < count; i++) {
          samples[runner.name].push(await runner.once());
        }
      }
      if (s && ((b + 1) % traceEvery === 0 || b === blocks - 1)) {
        trace.push({
          calls: mcpCalls,
          rssKiB: (await s.memory())?.rssKiB ?? NaN,
        });
      }
    }
    if (want.transport) ctx.results.transport = summarize(samples.transport);
    if (want.mcp) ctx.results.mcp = summarize(samples.mcp);
    if (s && want.rss) {
      await sleep(500);
      const afterKiB = (await s.memory())?.rssKiB ?? NaN;
      ctx.results.rss = {
        idleKiB,
        afterKiB,
        calls: mcpCalls,
        growthPercent: ((afterKiB - idleKiB) / idleKiB) * 100,
        trace,
      };
    }
    if (want.kernel) {
      ctx.results.kernel = {
        resolvePythonMs,
        startMs,
        bareBindMs,
        bareKernelInfoMs,
        roundTrip: summarize(samples.kernel),
      };
    }
  } finally {
    await bare?.close().catch(() => {});
    if (s) await closeServer(ctx, s);
    await kernel?.shutdown();
  }
}

// Reference: jupyter_client.
async function benchReference(ctx: Context): Promise<void> {
  const python = ctx.env.BENCH_REFERENCE_PYTHON || "/usr/bin/python3";
  const script = fileURLToPath(
    new URL("./reference.py", import.meta.url),
  );
  ctx.io.err(`bench: jupyter_client reference with ${python}`);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(python, {
      args: [
        script,
        "--starts",
        String(ctx.plan.referenceStarts),
        "--n",
        String(ctx.plan.n),
        "--warmup",
        String(ctx.plan.warmup),
      ],
      // Same kernel environment as ours (PYDEVD_DISABLE_FILE_VALIDATION
      // silences debugpy, as our launcher does).
      env: withEnv(ctx.env, { PYDEVD_DISABLE_FILE_VALIDATION: "1" }),
      clearEnv: true,
      cwd: ctx.tmp,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.any([ctx.deadline, AbortSignal.timeout(180_000)]),
    }).output();
  } catch (error) {
    ctx.results.reference = {
      available: false,
      reason: `cannot run ${python}: ${(error as Error).message}`,
    };
    return;
  }
  const text = new TextDecoder().decode(output.stdout).trim();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text.split("\n").at(-1) ?? "");
  } catch {
    throw new Error(
      `reference script failed (exit ${output.code}): ${
        new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5)
          .join("\n")
      }`,
    );
  }
  if (parsed.ok !== true) {
    ctx.results.reference = {
      available: false,
      reason:
        `jupyter_client is not importable with ${python}: ${parsed.error}`,
    };
    return;
  }
  ctx.results.reference = {
    available: true,
    python: String(parsed.python),
    jupyterClient: String(parsed.jupyter_client),
    ipykernel: String(parsed.ipykernel),
    startMs: parsed.start_ms as number[],
    reply: summarize(parsed.reply_ms as number[]),
    replyAndIdle: summarize(parsed.idle_ms as number[]),
  };
}

function target(
  results: BenchResults,
  name: string,
  value: number,
  limit: string,
  pass: boolean,
): string {
  results.targets.push({ name, value, limit, pass });
  return `${pass ? "PASS" : "MISS"} (${limit})`;
}

/**
 * Computes ratios and targets and builds the table rows.
 *
 * @param results Measurements (ratios and targets are filled in).
 * @returns The rows.
 */
export function buildRows(results: BenchResults): Row[] {
  const rows: Row[] = [];
  const r = results.ratios;
  const ref = results.reference?.available ? results.reference : undefined;
  const refStart = ref ? median(ref.startMs) : NaN;
  const vsRef = (ours: number, theirs: number, label: string) =>
    ref && Number.isFinite(theirs)
      ? `${formatRatio(ours / theirs)} of ${label}`
      : undefined;
  /** Two rows, p50 (with its ratio to the reference) and p99. */
  const latencyRows = (
    section: string,
    what: string,
    stats: { n: number; p50: number; p99: number },
    refP50: number,
    refLabel: string,
  ): void => {
    const compare = vsRef(stats.p50, refP50, refLabel);
    rows.push({
      section,
      what: `${what} p50 (n=${stats.n})`,
      value: formatMs(stats.p50),
      ...(compare ? { compare } : {}),
    });
    rows.push({ section, what: `${what} p99`, value: formatMs(stats.p99) });
  };

  const bare = results.transport?.p50 ?? NaN;
  if (results.mcp) {
    const m = results.mcp;
    latencyRows(
      "mcp",
      "MCP python_exec 1+1",
      m,
      ref?.replyAndIdle.p50 ?? NaN,
      "ref",
    );
  }
  if (results.kernel) {
    const k = results.kernel;
    const start = median(k.startMs);
    r.kernel_start_vs_ref = start / refStart;
    rows.push({
      section: "kernel",
      what: `kernel layer: startKernel (median of ${k.startMs.length})`,
      value: formatMs(start),
      ...(vsRef(start, refStart, "ref")
        ? { compare: vsRef(start, refStart, "ref") }
        : {}),
    });
    rows.push({
      section: "kernel",
      what: "  bare ipykernel process: spawn -> shell port accepts",
      value: formatMs(median(k.bareBindMs)),
    });
    rows.push({
      section: "kernel",
      what: "  bare ipykernel process: spawn -> kernel_info_reply",
      value: formatMs(median(k.bareKernelInfoMs)),
      compare: start >= median(k.bareKernelInfoMs)
        ? `startKernel adds ${formatMs(start - median(k.bareKernelInfoMs))}`
        : `startKernel is ${
          formatMs(median(k.bareKernelInfoMs) - start)
        } faster (skips debugpy, jedi)`,
    });
    rows.push({
      section: "kernel",
      what: "kernel layer: resolvePython (once per registry)",
      value: formatMs(k.resolvePythonMs),
    });
    latencyRows(
      "kernel",
      "kernel layer: Kernel.execute 1+1",
      k.roundTrip,
      ref?.replyAndIdle.p50 ?? NaN,
      "ref",
    );
  }
  if (results.transport) {
    const t = results.transport;
    latencyRows(
      "transport",
      "bare transport: execute_request->reply",
      t,
      ref?.reply.p50 ?? NaN,
      "ref reply",
    );
  }
  if (results.kernel && results.transport) {
    r.kernel_over_bare_p50 = results.kernel.roundTrip.p50 / bare;
    rows.push({
      section: "kernel",
      what: "ratio kernel/bare (p50)",
      value: formatRatio(r.kernel_over_bare_p50),
    });
  }
  if (results.mcp && results.transport) {
    r.mcp_over_bare_p50 = results.mcp.p50 / bare;
    rows.push({
      section: "mcp",
      what: "ratio MCP/bare (p50)",
      value: formatRatio(r.mcp_over_bare_p50),
      target: target(
        results,
        "MCP p50 within 1.5x of bare transport",
        r.mcp_over_bare_p50,
        "<= 1.5x",
        r.mcp_over_bare_p50 <= 1.5,
      ),
    });
  }
  if (results.mcp && results.kernel) {
    r.mcp_over_kernel_p50 = results.mcp.p50 / results.kernel.roundTrip.p50;
    rows.push({
      section: "mcp",
      what: "ratio MCP/kernel (p50)",
      value: formatRatio(r.mcp_over_kernel_p50),
    });
  }

  if (results.rss) {
    const s = results.rss;
    rows.push({
      section: "rss",
      what: "server RSS idle after first call",
      value: formatKiB(s.idleKiB),
    });
    rows.push({
      section: "rss",
      what: `server RSS after ${s.calls} calls`,
      value: formatKiB(s.afterKiB),
    });
    const mid = s.trace[Math.floor(s.trace.length / 2)];
    const last = s.trace.at(-1);
    if (mid && last && last.calls > mid.calls) {
      rows.push({
        section: "rss",
        what: `RSS slope, calls ${mid.calls}..${last.calls}`,
        value: `${
          ((last.rssKiB - mid.rssKiB) / (last.calls - mid.calls)).toFixed(1)
        } KiB/call`,
      });
    }
    rows.push({
      section: "rss",
      what: "RSS growth",
      value: `${s.growthPercent.toFixed(1)} %`,
      target: target(
        results,
        "RSS growth < 10% after 1000 calls",
        s.growthPercent,
        "< 10 %",
        s.growthPercent < 10,
      ),
    });
  }

  if (results.reference) {
    if (!results.reference.available) {
      rows.push({
        section: "reference",
        what: "jupyter_client reference",
        value: "skipped",
        compare: results.reference.reason,
      });
    } else {
      const x = results.reference;
      rows.push({
        section: "reference",
        what:
          `jupyter_client ${x.jupyterClient}: KernelManager start + wait_for_ready`,
        value: formatMs(refStart),
      });
      rows.push({
        section: "reference",
        what: `jupyter_client execute 1+1 -> reply p50 / p99 (n=${x.reply.n})`,
        value: `${formatMs(x.reply.p50)} / ${formatMs(x.reply.p99)}`,
      });
      rows.push({
        section: "reference",
        what: "jupyter_client execute 1+1 -> reply + idle p50 / p99",
        value: `${formatMs(x.replyAndIdle.p50)} / ${
          formatMs(x.replyAndIdle.p99)
        }`,
      });
      if (results.kernel) {
        r.kernel_roundtrip_vs_ref = results.kernel.roundTrip.p50 /
          x.replyAndIdle.p50;
      }
      if (results.transport) {
        r.bare_roundtrip_vs_ref = results.transport.p50 / x.reply.p50;
      }
      if (results.mcp) {
        r.mcp_roundtrip_vs_ref = results.mcp.p50 / x.replyAndIdle.p50;
      }
    }
  }
  for (const [section, rows_] of Object.entries(results.sectionRows)) {
    for (const row of rows_) {
      rows.push({
        section,
        what: row.measurement,
        value: row.value,
        ...(row.compare ? { compare: row.compare } : {}),
        ...(row.target ? { target: row.target } : {}),
      });
    }
  }
  for (const [section, reason] of Object.entries(results.errors)) {
    rows.push({
      section: "!",
      what: `${section} failed`,
      value: "error",
      compare: reason.split("\n")[0]!,
    });
  }
  return rows;
}

/** The 1, 5 and 15 minute load averages ("n/a" off Linux). */
async function readLoadavg(): Promise<string> {
  return await Deno.readTextFile("/proc/loadavg").then(
    (t) => t.split(" ").slice(0, 3).join(" "),
    () => "n/a",
  );
}

/** The page as `deno fmt` leaves it, so `deno fmt --check` stays clean. */
async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `deno fmt refused the performance page: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

async function renderOnly(
  jsonPath: string,
  docsPath: string,
  io: BenchIo,
): Promise<number> {
  let results: BenchResults;
  try {
    results = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (error) {
    io.err(
      `bench: cannot read the results "${jsonPath}": ${
        (error as Error).message
      }`,
    );
    return 1;
  }
  if (typeof results?.meta?.date !== "string" || !results.sectionRows) {
    io.err(`bench: "${jsonPath}" is not the JSON output of a bench run`);
    return 1;
  }
  // buildRows fills these in again.
  results.targets = [];
  const page = await formatMarkdown(
    renderPerformancePage(results, buildRows(results)),
  );
  await Deno.writeTextFile(docsPath, page);
  io.out(`performance page written to ${docsPath} from ${jsonPath}`);
  return 0;
}

function consoleIo(): BenchIo {
  return {
    // deno-lint-ignore no-console
    out: (line) => console.log(line),
    // deno-lint-ignore no-console
    err: (line) => console.error(line),
    env: Deno.env.toObject(),
    cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
  };
}

/**
 * Runs the benchmark.
 *
 * @param args Command-line arguments (see `--help`).
 * @param io Output, environment, working directory.
 * @returns 0 when every section ran (targets may MISS), 1 when a section
 *   failed or processes were left behind, 2 on a usage error.
 * @example Quick run of one section
 * ```ts ignore
 * import { main } from "./bench.ts";
 * Deno.exit(await main(["--quick", "--only", "transport"]));
 * ```
 */
export async function main(
  args: string[],
  io: BenchIo = consoleIo(),
): Promise<number> {
  let options: BenchArgs;
  try {
    options = parseBenchArgs(args);
  } catch (error) {
    io.err(`bench: ${(error as Error).message}`);
    return 2;
  }
  if (options.help) {
    io.out(HELP_TEXT);
    return 0;
  }
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const docsPath = options.docs === undefined
    ? join(root, "docs", "performance.md")
    : resolve(io.cwd, options.docs);
  if (options.render !== undefined) {
    return await renderOnly(resolve(io.cwd, options.render), docsPath, io);
  }
  const jsonPath = options.json === undefined
    ? join(root, "bench-results.json")
    : resolve(io.cwd, options.json);
  const plan = options.quick ? PLANS.quick : PLANS.full;
  const marker = crypto.randomUUID();
  const env = withEnv(io.env, {
    NO_COLOR: "1",
    CODER_LOG_LEVEL: "warning",
    CODER_BENCH_RUN: marker,
  });
  const tmp = await Deno.makeTempDir({ prefix: "coder-bench-" });
  const started = performance.now();
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      quick: options.quick,
      sections: options.only,
      deno: Deno.version.deno,
      os: `${Deno.build.os} ${Deno.build.arch}`,
      cpus: navigator.hardwareConcurrency,
      cpuModel: await Deno.readTextFile("/proc/cpuinfo").then(
        (t) => /^model name\s*:\s*(.+)$/m.exec(t)?.[1]?.trim() ?? "n/a",
        () => "n/a",
      ),
      loadavg: await readLoadavg(),
    },
    sections: {},
    sectionRows: {},
    ratios: {},
    targets: [],
    errors: {},
    leftoverPids: [],
  };
  const ctx: Context = {
    io,
    plan,
    env,
    tmp,
    deadline: AbortSignal.timeout(options.quick ? 240_000 : 600_000),
    results,
  };
  const has = (s: Section) => options.only.includes(s);
  const steps: [string, boolean, () => Promise<void>][] = [
    ["reference", has("reference"), () => benchReference(ctx)],
    [
      "round trips",
      has("kernel") || has("transport") || has("mcp") || has("rss"),
      () =>
        benchRoundTrips(ctx, {
          mcp: has("mcp"),
          kernel: has("kernel"),
          transport: has("transport"),
          rss: has("rss"),
        }),
    ],
    ...Object.entries(PLUGINS).map(([name, section]) =>
      [name, has(name as Section), async () => {
        const out = await section({
          env,
          tmp: await Deno.makeTempDir({ dir: tmp, prefix: `${name}-` }),
          n: plan.n,
          log: io.err,
        });
        results.sections[name] = out.data;
        results.sectionRows[name] = out.rows;
        Object.assign(results.ratios, out.ratios);
      }] as [string, boolean, () => Promise<void>]
    ),
  ];
  try {
    for (const [name, wanted, run] of steps) {
      if (!wanted) continue;
      try {
        await run();
      } catch (error) {
        const message = error instanceof Error
          ? `${error.message}${error.cause ? ` (${error.cause})` : ""}`
          : String(error);
        results.errors[name] = message;
        io.err(`bench: ${name} failed: ${message}`);
      }
    }
  } finally {
    const left = (await findKernels({ CODER_BENCH_RUN: marker })).map((k) =>
      k.pid
    );
    const stuck = await waitGone(left, 5_000);
    killPids(stuck);
    results.leftoverPids = stuck;
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  results.meta.wallSeconds = (performance.now() - started) / 1000;
  results.meta.loadavgEnd = await readLoadavg();
  const rows = buildRows(results);
  io.out(
    `ipython_mcp benchmark (${
      options.quick ? "quick" : "full"
    }, n=${plan.n}) ` +
      `deno ${results.meta.deno}, ${results.meta.cpus} cpus, load ${results.meta.loadavg}` +
      (results.meta.python ? `, kernel python ${results.meta.python}` : ""),
  );
  for (const line of renderTable(rows)) io.out(line);
  io.out(
    `leftover kernel processes: ${
      results.leftoverPids.length === 0
        ? "none"
        : results.leftoverPids.join(", ") + " (killed)"
    }; wall time ${results.meta.wallSeconds.toFixed(1)} s`,
  );
  await Deno.writeTextFile(jsonPath, JSON.stringify(results, null, 2) + "\n");
  io.out(`results written to ${jsonPath}`);
  if (options.writeDocs) {
    const page = await formatMarkdown(renderPerformancePage(results, rows));
    await Deno.writeTextFile(docsPath, page);
    io.out(`performance page written to ${docsPath}`);
  }
  const failed = Object.keys(results.errors).length > 0 ||
    results.leftoverPids.length > 0;
  return failed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
