/**
 * The rows of the printed table (and of docs/performance.md) from a run's
 * results: the built-in sections' rows with their ratios and targets, then
 * every plug-in section's rows, then the failures.
 *
 * @module
 */

import {
  formatKiB,
  formatMs,
  formatRatio,
  median,
  type Row,
} from "./report.ts";
import type { BenchResults } from "./results.ts";

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
