/**
 * Bench section `kernels`: `python_reset` creating a new kernel with the pool
 * off (a cold start) vs from a warm spare, and 8 kernels each running a 1 s
 * job at once vs one kernel running it alone, all through the real server.
 *
 * @module
 */

import { join } from "node:path";
import { type BenchServer, startBenchServer } from "./server.ts";
import { waitForQuietKernels } from "./proc.ts";
import {
  formatMs,
  formatRatio,
  median,
  type SectionInput,
  type SectionResult,
} from "./report.ts";

const SLEEP_JOB = "import time\ntime.sleep(1)\nprint('tick ' * 200)";

async function serve(
  input: SectionInput,
  name: string,
  env: Record<string, string | undefined>,
): Promise<BenchServer> {
  const cwd = join(input.tmp, name);
  await Deno.mkdir(cwd, { recursive: true });
  const merged = { ...input.env, ...env };
  return await startBenchServer({
    cwd,
    env: Object.fromEntries(
      Object.entries(merged).filter((e): e is [string, string] =>
        e[1] !== undefined
      ),
    ),
  });
}

async function call(
  s: BenchServer,
  name: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { json } = await s.call(name, args, 120_000);
  if (json.success !== true) {
    throw new Error(
      `${name} gave ${JSON.stringify(json).slice(0, 300)}\n${s.stderrTail()}`,
    );
  }
  return json;
}

async function resets(
  input: SectionInput,
  reps: number,
): Promise<{ coldMs: number[]; warmMs: number[] }> {
  const coldMs: number[] = [];
  const warmMs: number[] = [];
  for (const pooled of [false, true]) {
    await using s = await serve(input, pooled ? "reset-pool" : "reset-cold", {
      CODER_POOL_SIZE: pooled ? undefined : "0",
      CODER_MAX_KERNELS: String(reps + 3),
    });
    await call(s, "python_exec", { code: "1+1" });
    for (let i = 0; i < reps; i++) {
      input.log(`kernels: python_reset ${pooled ? "warm" : "cold"} ${i + 1}`);
      // _default + i created + 1 spare being refilled.
      if (pooled) await waitForQuietKernels(s.pid, { count: 2 + i });
      const t0 = performance.now();
      await call(s, "python_reset", {});
      (pooled ? warmMs : coldMs).push(performance.now() - t0);
    }
  }
  return { coldMs, warmMs };
}

async function concurrent(
  input: SectionInput,
  reps: number,
): Promise<{ oneMs: number[]; eightMs: number[] }> {
  input.log("kernels: starting 8 kernels");
  await using s = await serve(input, "concurrent", {
    CODER_POOL_SIZE: "0",
    CODER_MAX_KERNELS: "10",
  });
  const ids = await Promise.all(
    Array.from(
      { length: 8 },
      async () => (await call(s, "python_reset", {})).kernel_id as string,
    ),
  );
  const oneMs: number[] = [];
  const eightMs: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    input.log(`kernels: 1 vs 8 concurrent ${rep + 1}/${reps}`);
    let t0 = performance.now();
    await call(s, "python_exec", { code: SLEEP_JOB, kernel_id: ids[0] });
    oneMs.push(performance.now() - t0);
    t0 = performance.now();
    await Promise.all(
      ids.map((id) =>
        call(s, "python_exec", { code: SLEEP_JOB, kernel_id: id })
      ),
    );
    eightMs.push(performance.now() - t0);
  }
  return { oneMs, eightMs };
}

/**
 * Runs the section.
 *
 * @param input Environment, scratch directory, iteration count, progress log.
 * @returns Timings, the ratios warm/cold and 8/1, and the table rows.
 */
export async function benchKernels(
  input: SectionInput,
): Promise<SectionResult> {
  const full = input.n >= 1000;
  const reset = await resets(input, full ? 5 : 2);
  const conc = await concurrent(input, full ? 3 : 1);
  const cold = median(reset.coldMs);
  const warm = median(reset.warmMs);
  const one = median(conc.oneMs);
  const eight = median(conc.eightMs);
  const warmOverCold = warm / cold;
  const eightOverOne = eight / one;
  return {
    data: { reset, concurrent: conc },
    ratios: {
      reset_warm_over_cold: warmOverCold,
      concurrent_8_over_1: eightOverOne,
    },
    rows: [
      {
        measurement: "python_reset new kernel, pool 0 / warm spare",
        value: `${formatMs(cold)} / ${formatMs(warm)}`,
        compare: `${
          formatRatio(warmOverCold)
        } (median of ${reset.warmMs.length})`,
        target: `< 0.1x: ${warmOverCold < 0.1 ? "pass" : "miss"}`,
      },
      {
        measurement: "8 kernels running sleep(1) at once / one alone",
        value: `${formatMs(eight)} / ${formatMs(one)}`,
        compare: formatRatio(eightOverOne),
        target: `<= 1.5x: ${eightOverOne <= 1.5 ? "pass" : "miss"}`,
      },
    ],
  };
}
