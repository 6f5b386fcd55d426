/**
 * Bench section `sandbox`: a sandboxed kernel (bwrap, ipc sockets, the
 * default 4 GiB memory cgroup) against an unsandboxed one in the same run:
 * kernel start and `1+1` round-trip p50, as ratios (SPEC §7.1 goal: each
 * within 1.1x).
 *
 * @module
 */

import { median } from "./report.ts";
import {
  createLocalBackend,
  createSandboxBackend,
  DEFAULT_SANDBOX_MEMORY_LIMIT,
  type KernelBackend,
  type KernelHandle,
  resolvePython,
} from "../src/kernel/mod.ts";

/** Inputs of {@linkcode benchSandbox}. */
export interface SandboxBenchInput {
  /** Environment for kernels. */
  env: Record<string, string>;
  /** Scratch directory (kernel working directories go below it). */
  tmp: string;
  /** Timed round trips per kernel. */
  n: number;
  /** Progress output. */
  log: (line: string) => void;
}

/** Result of {@linkcode benchSandbox}. */
export interface SandboxBenchOutput {
  /** Raw measurements. */
  data: {
    python: string;
    startMs: { sandbox: number[]; local: number[] };
    execP50Ms: { sandbox: number; local: number };
  };
  /** `sandbox_start` and `sandbox_exec_p50`: sandboxed / unsandboxed. */
  ratios: Record<string, number>;
  /** Table rows. */
  rows: {
    measurement: string;
    value: string;
    compare: string;
    target: string;
  }[];
}

async function timedStart(
  backend: KernelBackend,
  cwd: string,
): Promise<{ ms: number; kernel: KernelHandle }> {
  const t0 = performance.now();
  const kernel = await backend.start({ cwd, packages: [] });
  return { ms: performance.now() - t0, kernel };
}

/**
 * Measures sandboxed vs unsandboxed kernel start and `1+1` p50.
 *
 * @param input Environment, scratch dir, iteration count, logger.
 * @returns Data, ratios and rows.
 */
export async function benchSandbox(
  input: SandboxBenchInput,
): Promise<SandboxBenchOutput> {
  const python = await resolvePython({ env: input.env });
  const launch = { env: input.env, python };
  const sandbox = createSandboxBackend({
    ...launch,
    memoryLimit: DEFAULT_SANDBOX_MEMORY_LIMIT,
  });
  await sandbox.preflight();
  const local = createLocalBackend(launch);
  const cwd = await Deno.makeTempDir({ dir: input.tmp, prefix: "sandbox-" });
  // Starts vary by hundreds of milliseconds from one to the next on a
  // shared machine: 20 pairs, each sandboxed start right after an
  // unsandboxed one, and the ratio is the median of the pairs' ratios.
  const starts = input.n >= 1000 ? 20 : 4;
  const startMs = { sandbox: [] as number[], local: [] as number[] };
  input.log(`sandbox: ${starts} kernel starts each, alternating`);
  // One untimed start of each warms the page cache.
  for (let i = -1; i < starts; i++) {
    for (
      const [name, backend] of [["local", local], ["sandbox", sandbox]] as const
    ) {
      const { ms, kernel } = await timedStart(backend, cwd);
      await kernel.shutdown();
      if (i >= 0) startMs[name].push(ms);
    }
  }
  input.log(
    `sandbox: ${input.n} round trips of 1+1 each, in alternating blocks`,
  );
  const times = { sandbox: [] as number[], local: [] as number[] };
  const kernels = {
    sandbox: (await timedStart(sandbox, cwd)).kernel,
    local: (await timedStart(local, cwd)).kernel,
  };
  try {
    for (const kernel of Object.values(kernels)) {
      for (let i = 0; i < 20; i++) await kernel.execute("1+1");
    }
    const block = 50;
    for (let done = 0; done < input.n; done += block) {
      for (const name of ["sandbox", "local"] as const) {
        for (let i = 0; i < Math.min(block, input.n - done); i++) {
          const t0 = performance.now();
          await kernels[name].execute("1+1");
          times[name].push(performance.now() - t0);
        }
      }
    }
  } finally {
    await Promise.all(Object.values(kernels).map((k) => k.shutdown()));
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
  const start = {
    sandbox: median(startMs.sandbox),
    local: median(startMs.local),
  };
  const exec = { sandbox: median(times.sandbox), local: median(times.local) };
  const ratios = {
    sandbox_start: median(
      startMs.sandbox.map((ms, i) => ms / startMs.local[i]!),
    ),
    sandbox_exec_p50: exec.sandbox / exec.local,
  };
  const verdict = (ratio: number) =>
    `${ratio <= 1.1 ? "PASS" : "MISS"} (<= 1.1x)`;
  return {
    data: { python, startMs, execP50Ms: exec },
    ratios,
    rows: [
      {
        measurement: "sandboxed kernel start (bwrap + 4 GiB cgroup), median",
        value: `${start.sandbox.toFixed(0)} ms`,
        compare: `${
          ratios.sandbox_start.toFixed(2)
        }x of unsandboxed (median of ${starts} paired starts; unsandboxed median ${
          start.local.toFixed(0)
        } ms)`,
        target: verdict(ratios.sandbox_start),
      },
      {
        measurement: "sandboxed 1+1 round trip p50 (ipc sockets)",
        value: `${exec.sandbox.toFixed(2)} ms`,
        compare: `${ratios.sandbox_exec_p50.toFixed(2)}x of unsandboxed ${
          exec.local.toFixed(2)
        } ms`,
        target: verdict(ratios.sandbox_exec_p50),
      },
    ],
  };
}
