import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BenchResults,
  buildRows,
  parseBenchArgs,
  SECTIONS,
} from "../../bench/main.ts";
import {
  formatMs,
  percentile,
  renderTable,
  summarize,
} from "../../bench/report.ts";

const BENCH = fileURLToPath(new URL("../../bench/main.ts", import.meta.url));

function emptyResults(): BenchResults {
  return {
    meta: {
      date: "2025-01-01T00:00:00.000Z",
      quick: true,
      sections: [...SECTIONS],
      deno: "2.9.6",
      os: "linux x86_64",
      cpus: 2,
      loadavg: "0 0 0",
    },
    sections: {},
    sectionRows: {},
    ratios: {},
    targets: [],
    errors: {},
    leftoverPids: [],
  };
}

function summaryOf(p50: number): ReturnType<typeof summarize> {
  return { n: 100, p50, p90: p50, p99: p50 * 2, mean: p50, min: p50, max: p50 };
}

Deno.test("parseBenchArgs()", async (t) => {
  await t.step("defaults to every section, full counts", () => {
    assert.deepEqual(parseBenchArgs([]), {
      quick: false,
      only: [...SECTIONS],
      help: false,
    });
  });
  await t.step("keeps --only sections in run order", () => {
    const args = parseBenchArgs(["--quick", "--only", "mcp, transport"]);
    assert.deepEqual(args.only, ["transport", "mcp"]);
    assert.equal(args.quick, true);
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
      ...emptyResults(),
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
    assert.match(table, /ratio MCP\/bare \(p50\)\s+2\.00x\s+MISS/);
  });
  await t.step("adds plug-in sections' rows under their names", () => {
    const results: BenchResults = {
      ...emptyResults(),
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
      ...emptyResults(),
      reference: { available: false, reason: "No module named jupyter_client" },
    };
    const table = renderTable(buildRows(results)).join("\n");
    assert.match(table, /jupyter_client reference\s+skipped\s+No module/);
  });
});

Deno.test("bench/main.ts --quick --only transport", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bench_test_" });
  try {
    const jsonPath = join(dir, "results.json");
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
