import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BenchResults,
  buildRows,
  emptyResults,
  main,
  parseBenchArgs,
  SECTIONS,
} from "../../bench/main.ts";
import {
  formatMs,
  percentile,
  renderTable,
  summarize,
} from "../../bench/report.ts";
import {
  GENERATED_MARKER,
  parseGoal,
  renderPerformancePage,
} from "../../bench/performance_page.ts";

const BENCH = fileURLToPath(new URL("../../bench/main.ts", import.meta.url));

function fixtureResults(): BenchResults {
  return emptyResults({
    date: "2025-01-01T00:00:00.000Z",
    quick: true,
    sections: [...SECTIONS],
    deno: "2.9.6",
    os: "linux x86_64",
    cpus: 2,
    loadavg: "0 0 0",
  });
}

function summaryOf(p50: number): ReturnType<typeof summarize> {
  return { n: 100, p50, p90: p50, p99: p50 * 2, mean: p50, min: p50, max: p50 };
}

Deno.test("parseBenchArgs()", async (t) => {
  await t.step(
    "defaults to every section, full counts, the page written",
    () => {
      assert.deepEqual(parseBenchArgs([]), {
        quick: false,
        only: [...SECTIONS],
        writeDocs: true,
        help: false,
      });
    },
  );
  await t.step("writes the page after a partial run only when asked", () => {
    assert.equal(parseBenchArgs(["--quick"]).writeDocs, false);
    assert.equal(parseBenchArgs(["--only", "mcp"]).writeDocs, false);
    assert.equal(parseBenchArgs(["--quick", "--write-docs"]).writeDocs, true);
    const docs = parseBenchArgs(["--only", "mcp", "--docs", "x.md"]);
    assert.equal(docs.writeDocs, true);
    assert.equal(docs.docs, "x.md");
    assert.equal(parseBenchArgs(["--no-docs"]).writeDocs, false);
  });
  await t.step("refuses contradictory page flags", () => {
    assert.throws(() => parseBenchArgs(["--no-docs", "--write-docs"]), {
      name: "TypeError",
      message: /--no-docs/,
    });
    assert.throws(() => parseBenchArgs(["--render", "r.json", "--quick"]), {
      name: "TypeError",
      message: /--render/,
    });
  });
  await t.step("keeps --only sections in run order", () => {
    const args = parseBenchArgs(["--quick", "--only", "mcp, transport"]);
    assert.deepEqual(args.only, ["transport", "mcp"]);
    assert.equal(args.quick, true);
    assert.deepEqual(
      parseBenchArgs(["--only", "lifecycle,http"]).only,
      ["http", "lifecycle"],
    );
  });
  await t.step("refuses an unknown section", () => {
    assert.throws(() => parseBenchArgs(["--only", "transport,warp"]), {
      name: "TypeError",
      message: /warp/,
    });
  });
  await t.step("refuses an unknown flag", () => {
    assert.throws(() => parseBenchArgs(["--fast"]));
  });
});

Deno.test("summarize()", async (t) => {
  await t.step("takes nearest-rank percentiles", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    const s = summarize(samples);
    assert.deepEqual(
      [s.n, s.p50, s.p90, s.p99, s.min, s.max],
      [100, 50, 90, 99, 1, 100],
    );
    assert.equal(s.mean, 50.5);
  });
  await t.step("gives NaN for no samples", () => {
    assert.ok(Number.isNaN(summarize([]).p50));
    assert.ok(Number.isNaN(percentile([], 50)));
  });
  await t.step("formats milliseconds by magnitude", () => {
    assert.deepEqual(
      [0.5, 15.25, 812.4, 6210, 12_000, -80].map(formatMs),
      ["0.50 ms", "15.3 ms", "812 ms", "6.21 s", "12.0 s", "-80.0 ms"],
    );
  });
});

Deno.test("buildRows()", async (t) => {
  await t.step("marks targets PASS or MISS and computes ratios", () => {
    const results: BenchResults = {
      ...fixtureResults(),
      mcp: summaryOf(12),
      transport: summaryOf(6),
      rss: {
        idleKiB: 100_000,
        afterKiB: 105_000,
        calls: 1001,
        growthPercent: 5,
        trace: [],
      },
    };
    const rows = buildRows(results);
    assert.equal(results.ratios.mcp_over_bare_p50, 2);
    const verdicts = Object.fromEntries(
      results.targets.map((x) => [x.name, x.pass]),
    );
    assert.deepEqual(verdicts, {
      "MCP p50 within 1.5x of bare transport": false,
      "RSS growth < 10% after 1000 calls": true,
    });
    const table = renderTable(rows).join("\n");
    assert.match(table, /mcp\s+ratio MCP\/bare \(p50\)\s+2\.00x\s+MISS/);
    assert.match(table, /rss\s+RSS growth\s+5\.0 %/);
  });
  await t.step("adds plug-in sections' rows under their names", () => {
    const results: BenchResults = {
      ...fixtureResults(),
      sectionRows: {
        startup: [{
          measurement: "spawn -> first result",
          value: "700 ms",
          compare: "1.10x of a bare kernel start",
          target: "<= 1.15x: pass",
        }],
      },
    };
    const table = renderTable(buildRows(results)).join("\n");
    assert.match(
      table,
      /startup\s+spawn -> first result\s+700 ms\s+1\.10x of a bare kernel start\s+<= 1\.15x: pass/,
    );
  });
  await t.step("says why the reference was skipped", () => {
    const results: BenchResults = {
      ...fixtureResults(),
      reference: { available: false, reason: "No module named jupyter_client" },
    };
    const table = renderTable(buildRows(results)).join("\n");
    assert.match(table, /jupyter_client reference\s+skipped\s+No module/);
  });
});

Deno.test("parseGoal()", () => {
  const cases: [string, { goal: string; pass?: boolean }][] = [
    ["<= 1.15x: pass", { goal: "<= 1.15x", pass: true }],
    ["PASS (<= 1.5x)", { goal: "<= 1.5x", pass: true }],
    ["<= 1.2x MISS", { goal: "<= 1.2x", pass: false }],
    ["<= 1.5x local: PASS", { goal: "<= 1.5x local", pass: true }],
    ["< 10 %: miss", { goal: "< 10 %", pass: false }],
    ["<= 5 s: miss", { goal: "<= 5 s", pass: false }],
    ["(no SPEC target)", { goal: "(no SPEC target)" }],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(parseGoal(text), expected, text);
  }
});

Deno.test("renderPerformancePage()", async (t) => {
  const results: BenchResults = {
    ...fixtureResults(),
    meta: {
      ...fixtureResults().meta,
      quick: false,
      sections: ["transport", "mcp", "startup", "http", "lifecycle"],
      cpuModel: "Test CPU",
      wallSeconds: 42,
    },
    mcp: summaryOf(12),
    transport: summaryOf(6),
    sectionRows: {
      startup: [{
        measurement: "spawn -> first result",
        value: "700 ms",
        compare: "1.10x of a | bare start",
        target: "<= 1.15x: pass",
      }],
      lifecycle: [{
        measurement: "SIGTERM, one live kernel: server and kernel gone",
        value: "224 ms",
        target: "<= 5 s: pass",
      }, {
        measurement: "remote kernel death (os._exit) -> MCP answer",
        value: "error",
        compare: "jupyter-server not found",
      }],
    },
    errors: { http: "ipython_mcp --http did not start\nmore" },
  };
  const page = renderPerformancePage(results, buildRows(results));
  await t.step("starts with the generated marker", () => {
    assert.equal(page.split("\n")[0], GENERATED_MARKER);
  });
  await t.step("lists every section, marking those not run", () => {
    for (const section of SECTIONS) {
      assert.match(page, new RegExp(`^### ${section}$`, "m"));
    }
    const rss = page.slice(
      page.indexOf("### rss"),
      page.indexOf("### startup"),
    );
    assert.match(rss, /Not measured in this run\./);
  });
  await t.step("puts every goal with its verdict in the goals table", () => {
    const goals = page.slice(
      page.indexOf("## Goals"),
      page.indexOf("## Sections"),
    );
    assert.match(
      goals,
      /\| mcp \| ratio MCP\/bare \(p50\) \| 2\.00x \|.*\| <= 1\.5x \| \*\*miss\*\* \|/,
    );
    assert.match(
      goals,
      /\| startup \| spawn -> first result \| 700 ms \| 1\.10x of a \\\| bare start \| <= 1\.15x \| pass \|/,
    );
  });
  await t.step("renders the lifecycle section's bounds as goals", () => {
    const goals = page.slice(
      page.indexOf("## Goals"),
      page.indexOf("## Sections"),
    );
    assert.match(
      goals,
      /\| lifecycle \| SIGTERM, one live kernel: server and kernel gone \| 224 ms \| +\| <= 5 s \| pass \|/,
    );
    const lifecycle = page.slice(page.indexOf("### lifecycle"));
    assert.match(lifecycle, /The shutdown bound/);
    assert.match(
      lifecycle,
      /\| remote kernel death \(os\._exit\) -> MCP answer \| error \| jupyter-server not found \| +\| +\|/,
    );
    assert.doesNotMatch(goals, /remote kernel death/);
  });
  await t.step("names the machine and the run", () => {
    assert.match(page, /2 cores \(Test CPU\)/);
    assert.match(page, /Deno 2\.9\.6/);
    assert.match(
      page,
      /full \(n=1000\), sections transport, mcp, startup, http, lifecycle/,
    );
  });
  await t.step("says which section failed and why", () => {
    const http = page.slice(page.indexOf("### http"), page.indexOf("### eval"));
    assert.match(
      http,
      /failed in this run: ipython_mcp --http did not start more/,
    );
  });
  await t.step("refuses a template without its placeholders", () => {
    assert.throws(
      () => renderPerformancePage(results, [], { template: "# Performance\n" }),
      /bench:run/,
    );
  });
});

Deno.test("bench/main.ts --quick --only transport", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bench_test_" });
  try {
    const jsonPath = join(dir, "results.json");
    const docsPath = join(dir, "performance.md");
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        BENCH,
        "--quick",
        "--only",
        "transport",
        "--json",
        jsonPath,
        "--docs",
        docsPath,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);

    await t.step("exits 0 and prints the table", () => {
      assert.equal(output.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.match(stdout, /bare transport: execute_request->reply p50/);
      assert.match(stdout, /leftover kernel processes: none/);
    });
    await t.step("writes valid JSON with the transport summary", async () => {
      const results = JSON.parse(await Deno.readTextFile(jsonPath));
      assert.deepEqual(results.meta.sections, ["transport"]);
      assert.equal(results.meta.quick, true);
      assert.equal(results.transport.n, 100);
      assert.ok(results.transport.p50 > 0);
      assert.ok(results.transport.p99 >= results.transport.p50);
      assert.equal(results.mcp, undefined);
      assert.deepEqual(results.errors, {});
      assert.deepEqual(results.leftoverPids, []);
    });
    await t.step("writes the page, already as deno fmt leaves it", async () => {
      const page = await Deno.readTextFile(docsPath);
      assert.equal(page.split("\n")[0], GENERATED_MARKER);
      assert.match(page, /`--quick` \(n=100\), sections transport/);
      assert.match(
        page,
        /bare transport: execute_request->reply p50 \(n=100\)/,
      );
      const fmt = await new Deno.Command(Deno.execPath(), {
        args: ["fmt", "--check", docsPath],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(fmt.success, new TextDecoder().decode(fmt.stderr));
    });
    await t.step(
      "--render writes the same page again from the JSON",
      async () => {
        const again = join(dir, "again.md");
        const lines: string[] = [];
        const io = {
          out: (line: string) => lines.push(line),
          err: (line: string) => lines.push(line),
          env: {},
          cwd: dir,
        };
        assert.equal(
          await main(["--render", jsonPath, "--docs", again], io),
          0,
        );
        assert.equal(
          await Deno.readTextFile(again),
          await Deno.readTextFile(docsPath),
        );
        assert.equal(
          await main(["--render", join(dir, "missing.json")], io),
          1,
        );
        assert.match(lines.join("\n"), /cannot read the results/);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
