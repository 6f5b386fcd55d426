/**
 * Bench section `output`: 10 MiB of stdout in one execution, through the
 * kernel layer (`Kernel.execute`) and through the server (`python_exec`,
 * which cuts the answer at 100 KB and saves the rest), with the server's
 * peak RSS.
 *
 * @module
 */

import { join } from "node:path";
import { startKernel } from "../src/kernel/mod.ts";
import { startBenchServer } from "./server.ts";
import {
  formatKiB,
  formatMs,
  formatRatio,
  type SectionInput,
  type SectionResult,
} from "./report.ts";

const TEN_MIB_CODE = "import sys\n_w = sys.stdout.write\n" +
  'for _ in range(10240): _w("x" * 1023 + "\\n")\ndel _w';
const TEN_MIB = 10 * 1024 * 1024;
/** Upper bound of the server's peak RSS while it passes 10 MiB on. */
export const PEAK_RSS_TARGET_KIB = 200 * 1024;

/**
 * Runs the section.
 *
 * @param input Environment, scratch directory, iteration count, progress log.
 * @returns Timings, peak RSS and the table rows.
 */
export async function benchOutput(input: SectionInput): Promise<SectionResult> {
  const cwd = join(input.tmp, "output");
  await Deno.mkdir(cwd, { recursive: true });
  input.log("output: 10 MiB through the kernel layer");
  let kernelMs: number;
  {
    await using kernel = await startKernel({
      env: input.env,
      cwd,
      ...(input.env.CODER_PYTHON ? { python: input.env.CODER_PYTHON } : {}),
    });
    const t0 = performance.now();
    const big = await kernel.execute(TEN_MIB_CODE, { timeoutMs: 120_000 });
    kernelMs = performance.now() - t0;
    if (big.stdout.length !== TEN_MIB) {
      throw new Error(`10 MiB run kept ${big.stdout.length} characters`);
    }
  }
  input.log("output: 10 MiB over MCP");
  await using s = await startBenchServer({
    cwd,
    env: { ...input.env, CODER_POOL_SIZE: "0" },
  });
  await s.call("python_exec", { code: "1+1" });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = await s.memory();
  const t0 = performance.now();
  const { json } = await s.call(
    "python_exec",
    { code: TEN_MIB_CODE, timeout: 120 },
    150_000,
  );
  const mcpMs = performance.now() - t0;
  const after = await s.memory();
  const stdout = typeof json.stdout === "string" ? json.stdout : "";
  if (json.success !== true || !/truncated/.test(stdout)) {
    throw new Error(`python_exec gave ${JSON.stringify(json).slice(0, 300)}`);
  }
  const peak = after?.hwmKiB ?? NaN;
  return {
    data: { kernelMs, mcpMs, bytes: TEN_MIB, before, after },
    ratios: { output_mcp_over_kernel: mcpMs / kernelMs },
    rows: [
      {
        measurement: "10 MiB stdout in one execution: python_exec / kernel",
        value: `${formatMs(mcpMs)} / ${formatMs(kernelMs)}`,
        compare: formatRatio(mcpMs / kernelMs),
      },
      {
        measurement: "server RSS before / peak (VmHWM) after",
        value: `${formatKiB(before?.rssKiB ?? NaN)} / ${formatKiB(peak)}`,
        target: `< 200 MiB: ${peak < PEAK_RSS_TARGET_KIB ? "pass" : "miss"}`,
      },
    ],
  };
}
