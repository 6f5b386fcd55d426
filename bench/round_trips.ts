/**
 * The built-in sections `transport`, `kernel`, `mcp` and `rss`: one
 * `python_exec("1+1")` round trip through a bare ZMTP DEALER, through
 * `Kernel.execute` and through the MCP server, timed interleaved; the
 * server's memory meanwhile.
 *
 * @module
 */

import { join } from "node:path";
import { type Kernel, resolvePython, startKernel } from "../src/kernel/mod.ts";
import {
  bareKernelStart,
  type BareShell,
  kernelRoundTrip,
  openBareShell,
} from "./layers.ts";
import { type BenchServer, startBenchServer } from "./server.ts";
import { timedOnePlusOne } from "./requests.ts";
import { summarize } from "./report.ts";
import { type RunContext, withEnv } from "./results.ts";

async function server(
  ctx: RunContext,
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

async function closeServer(ctx: RunContext, s: BenchServer): Promise<void> {
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

/** Which of the round-trip sections run. */
export interface RoundTripWants {
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
export async function benchRoundTrips(
  ctx: RunContext,
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
