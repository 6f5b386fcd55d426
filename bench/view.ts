/**
 * Bench section `view`: the notebook view's first render after a tool
 * result, in headless Chromium acting as the MCP Apps host (the test's
 * host, `tests/_helpers/view_host.ts`): from the host's
 * `ui/notifications/tool-result` to the kernel's cells on screen (the view
 * calls `notebook_view` through the bridge and renders). Baseline, same run:
 * the bare `notebook_view` call from the MCP client. Also the view's size.
 * Skipped (one row says why) when /usr/bin/chromium is missing.
 *
 * @module
 */

import { startBenchServer } from "./server.ts";
import { callToolRaw, toolCall } from "./requests.ts";
import {
  formatMs,
  formatRatio,
  type SectionInput,
  type SectionResult,
  summarize,
} from "./report.ts";
import {
  CHROMIUM_PATH,
  launchChromium,
  openHost,
} from "../tests/_helpers/view_host.ts";

/** Cells in the benchmark kernel. */
const CELLS = 20;
/** Most renders timed (each opens a fresh host page). */
const MAX_SAMPLES = 30;

/**
 * Times the view's first render after a tool result.
 *
 * @param options Environment, scratch directory, count, log.
 * @returns Summaries, ratios and rows.
 */
export async function benchView(options: SectionInput): Promise<SectionResult> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    return {
      data: { skipped: "no chromium" },
      ratios: {},
      rows: [{
        measurement: "notebook view",
        value: "skipped",
        compare: `${CHROMIUM_PATH} missing (apt-get install chromium)`,
      }],
    };
  }
  const server = await startBenchServer({ env: options.env, cwd: options.tmp });
  const browser = await launchChromium();
  try {
    const read = await server.client.readResource({
      uri: "ui://ipython_mcp/notebook.html",
    });
    const html = (read.contents[0] as { text: string }).text;
    const bytes = new TextEncoder().encode(html).length;
    const gzipped = (await new Response(
      new Blob([html]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer()).byteLength;
    const reset = await server.call("python_reset", {});
    const kernelId = String(reset.json.kernel_id);
    let last = reset.result;
    for (let i = 0; i < CELLS; i++) {
      const code = i === 0
        ? "from IPython.display import HTML, display"
        : i % 5 === 0
        ? `display(HTML("<table>" + "".join(f"<tr><td>{r}</td><td>{r*r}</td></tr>" for r in range(20)) + "</table>"))`
        : `print("cell ${i}", list(range(${i})))\n${i} * 2`;
      last = (await server.call("python_exec", { code, kernel_id: kernelId }))
        .result;
    }
    const samples = Math.min(options.n, MAX_SAMPLES);
    const render: number[] = [];
    const call: number[] = [];
    options.log(`bench: view: ${samples} first renders of ${CELLS} cells`);
    for (let i = 0; i < samples; i++) {
      const host = await openHost(browser, server.client as never, {
        viewHtml: html,
        theme: "light",
      });
      // The view's own first load (kernel _default) ends before timing.
      await host.view.waitForSelector("body[data-kernel]");
      const started = performance.now();
      await host.toolResult(last);
      await host.view.waitForSelector(
        `body[data-kernel="${kernelId}"][data-cells="${CELLS}"]`,
      );
      render.push(performance.now() - started);
      await host.page.close();
      const t0 = performance.now();
      await callToolRaw(
        server.client,
        toolCall("notebook_view", { kernel_id: kernelId }),
      );
      call.push(performance.now() - t0);
    }
    const data = {
      html_bytes: bytes,
      html_gzip_bytes: gzipped,
      render: summarize(render),
      call: summarize(call),
    };
    const ratio = data.render.p50 / data.call.p50;
    return {
      data,
      ratios: { view_render_over_call_p50: ratio },
      rows: [
        {
          measurement:
            `view first render after a tool result (${CELLS} cells), p50`,
          value: formatMs(data.render.p50),
          compare: `${formatRatio(ratio)} of the bare notebook_view call (${
            formatMs(data.call.p50)
          })`,
        },
        {
          measurement: "view first render, p99",
          value: formatMs(data.render.p99),
          compare: `call p99 ${formatMs(data.call.p99)}`,
        },
        {
          measurement: "view HTML size",
          value: `${(bytes / 1024).toFixed(1)} KiB`,
          compare: `${(gzipped / 1024).toFixed(1)} KiB gzipped`,
        },
      ],
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
