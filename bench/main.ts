/**
 * Benchmarks of ipython_mcp and the layers below it (`deno task bench`).
 *
 * ```sh
 * deno run --allow-all bench/main.ts [--quick] [--json PATH] [--only LIST]
 *   [--write-docs | --no-docs] [--docs PATH]
 * deno run --allow-all bench/main.ts --render RESULTS.json [--docs PATH]
 * ```
 *
 * Sections (names for `--only`, comma-separated) are listed with what each
 * measures in `sections.ts`. The round-trip layers (`transport`, `kernel`,
 * `mcp`, `rss`, in `round_trips.ts`) and `reference` (`reference.ts`) fill
 * typed fields of the results; every other section is one
 * `bench/<name>.ts` registered in `PLUGINS`. `rows.ts` turns the results
 * into the table. Every request a section sends is built by `requests.ts`.
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
import { benchKernels } from "./kernels.ts";
import { benchOutput } from "./output.ts";
import { benchStartup } from "./startup.ts";
import { benchSandbox } from "./sandbox.ts";
import { benchProxy } from "./proxy.ts";
import { benchRemote } from "./remote.ts";
import { benchHttp } from "./http.ts";
import { benchEval } from "./eval.ts";
import { benchView } from "./view.ts";
import { benchLifecycle } from "./lifecycle.ts";
import { benchReference } from "./reference.ts";
import { benchRoundTrips } from "./round_trips.ts";
import { findKernels, killPids, waitGone } from "./proc.ts";
import { type Section, SECTIONS } from "./sections.ts";
import { renderPerformancePage } from "./performance_page.ts";
import { type BenchSection, renderTable } from "./report.ts";
import {
  type BenchIo,
  type BenchResults,
  emptyResults,
  PLANS,
  type RunContext,
  withEnv,
} from "./results.ts";
import { buildRows } from "./rows.ts";

export { type Section, SECTIONS } from "./sections.ts";
export {
  type BenchIo,
  type BenchPlan,
  type BenchResults,
  emptyResults,
  PLANS,
} from "./results.ts";
export { buildRows } from "./rows.ts";

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
  lifecycle: benchLifecycle,
};

/** Help text of the script. */
export const HELP_TEXT =
  `bench: latency, start-up and memory of ipython_mcp and the layers below it.

Usage:
  deno task bench [--quick] [--json PATH] [--only LIST] [--write-docs | --no-docs] [--docs PATH]
  deno task bench --render RESULTS.json [--docs PATH]

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
  const results: BenchResults = emptyResults({
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
  });
  const ctx: RunContext = {
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
