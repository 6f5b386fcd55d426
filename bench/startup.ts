/**
 * Bench section `startup` (SPEC §10): the server's spawn to `initialize`
 * answered and to the first `python_exec("1+1")` result, against a bare
 * ipykernel start (`python -m ipykernel_launcher`, spawn to
 * `kernel_info_reply`, no kernel layer) measured in the same run,
 * interleaved; plus the same bare start with the kernel layer's launch
 * arguments (debugpy and jedi skipped), so the server's own overhead shows
 * apart from its faster kernel launch; plus one first start from a fresh
 * `DENO_DIR` (the README's set-up command, then `initialize`).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolvePython } from "../src/kernel/mod.ts";
import { KERNEL_LAUNCH_ARGS } from "../src/kernel/launcher.ts";
import { bareKernelStart } from "./layers.ts";
import {
  SERVER_ENTRY,
  SERVER_PERMISSIONS,
  startBenchServer,
} from "./server.ts";
import { StdioClientTransport as Stdio2026 } from "@modelcontextprotocol/client/stdio";
import {
  formatMs,
  formatRatio,
  median,
  type SectionInput,
  type SectionResult,
} from "./report.ts";
import { callTool, createClient, pythonExec } from "./requests.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Upper bound of spawn -> first result over a bare kernel start. */
export const FIRST_RESULT_RATIO_TARGET = 1.15;
/** Upper bound of spawn -> `initialize` answered, warm cache (ms). */
export const INITIALIZE_MS_TARGET = 150;
/**
 * Upper bound of spawn -> first answer from an empty `DENO_DIR` without the
 * set-up command (ms): the server fetches only the npm packages it loads.
 */
export const FRESH_FIRST_ANSWER_MS_TARGET = 5_000;

async function serverStart(
  env: Record<string, string>,
  cwd: string,
): Promise<{ initializeMs: number; firstResultMs: number }> {
  const t0 = performance.now();
  await using server = await startBenchServer({ env, cwd });
  const { json } = await server.call("python_exec", { code: "1+1" });
  const firstResultMs = performance.now() - t0;
  if (json.result !== "2") {
    throw new Error(`1+1 gave ${JSON.stringify(json)}\n${server.stderrTail()}`);
  }
  return { initializeMs: server.connectMs, firstResultMs };
}

/**
 * A first start from a fresh `DENO_DIR` and a copy of the sources without
 * `node_modules`: `deno task setup`, then spawn -> `initialize`.
 */
async function freshStart(
  env: Record<string, string>,
  tmp: string,
): Promise<{ setupMs: number; initializeMs: number }> {
  const dir = join(tmp, "fresh");
  await Deno.mkdir(dir, { recursive: true });
  for (const name of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(join(ROOT, name), join(dir, name));
  }
  const copy = await new Deno.Command("cp", {
    args: ["-r", join(ROOT, "src"), join(dir, "src")],
  }).output();
  if (!copy.success) throw new Error("cannot copy src/");
  const freshEnv = { ...env, DENO_DIR: join(dir, ".deno") };
  const t0 = performance.now();
  const setup = await new Deno.Command(Deno.execPath(), {
    args: ["task", "setup"],
    cwd: dir,
    env: freshEnv,
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  const setupMs = performance.now() - t0;
  if (!setup.success) {
    throw new Error(
      `deno task setup failed: ${
        new TextDecoder().decode(setup.stderr).trim().split("\n").slice(-2)
          .join(" ")
      }`,
    );
  }
  const t1 = performance.now();
  await using _server = await startBenchServer({
    env: { ...freshEnv, CODER_POOL_SIZE: "0" },
    cwd: dir,
    entry: join(dir, "src", "cli", "ipython_mcp.ts"),
  });
  return { setupMs, initializeMs: performance.now() - t1 };
}

/**
 * A 2026 client in `auto` mode (the SDK v2 client, as Claude Code
 * connects): it probes `server/discover` on a throwaway copy of the server
 * first (which starts no kernel), then connects; spawn -> first
 * `python_exec("1+1")` result.
 */
async function autoModeStart(
  env: Record<string, string>,
  cwd: string,
): Promise<{ firstResultMs: number; era: string }> {
  const t0 = performance.now();
  const transport = new Stdio2026({
    command: Deno.execPath(),
    args: ["run", "--quiet", ...SERVER_PERMISSIONS, SERVER_ENTRY],
    env,
    cwd,
    stderr: "ignore",
  });
  const client = createClient("auto");
  try {
    await client.connect(transport);
    const { json } = await callTool(client, pythonExec("1+1"));
    if (json.result !== "2") {
      throw new Error(`1+1 gave ${JSON.stringify(json)}`);
    }
    return {
      firstResultMs: performance.now() - t0,
      era: client.getNegotiatedProtocolVersion() ?? "?",
    };
  } finally {
    await client.close().catch(() => {});
  }
}

/**
 * A first start as from JSR: an empty `DENO_DIR`, a copy of the sources
 * without `node_modules`, lockfile or set-up command; spawn -> `initialize`
 * answered. Deno then fetches only the npm packages of the server's module
 * graph.
 */
async function freshStartNoSetup(
  env: Record<string, string>,
  tmp: string,
): Promise<{ firstAnswerMs: number }> {
  const dir = join(tmp, "fresh-no-setup");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(join(ROOT, "deno.json"), join(dir, "deno.json"));
  const copy = await new Deno.Command("cp", {
    args: ["-r", join(ROOT, "src"), join(dir, "src")],
  }).output();
  if (!copy.success) throw new Error("cannot copy src/");
  const t0 = performance.now();
  await using _server = await startBenchServer({
    env: { ...env, DENO_DIR: join(dir, ".deno"), CODER_POOL_SIZE: "0" },
    cwd: dir,
    entry: join(dir, "src", "cli", "ipython_mcp.ts"),
    denoArgs: ["--node-modules-dir=none", "--no-lock"],
  });
  return { firstAnswerMs: performance.now() - t0 };
}

/**
 * Runs the section.
 *
 * @param input Environment, scratch directory, iteration count, progress log.
 * @returns Timings, the two target ratios and the table rows.
 */
export async function benchStartup(
  input: SectionInput,
): Promise<SectionResult> {
  const { env, tmp, n, log } = input;
  const reps = n >= 1000 ? 5 : 2;
  const python = env.CODER_PYTHON || await resolvePython({ env });
  const cwd = join(tmp, "startup");
  await Deno.mkdir(cwd, { recursive: true });
  log("startup: warming the module and interpreter caches");
  await serverStart(env, cwd);
  const bareMs: number[] = [];
  const sameLaunchMs: number[] = [];
  const initializeMs: number[] = [];
  const firstResultMs: number[] = [];
  const autoMs: number[] = [];
  let autoEra = "?";
  for (let i = 0; i < reps; i++) {
    log(`startup: ${i + 1}/${reps}`);
    const bare = await bareKernelStart(python, {
      env,
      cwd,
      signal: AbortSignal.timeout(60_000),
    });
    bareMs.push(bare.kernelInfoMs);
    const same = await bareKernelStart(python, {
      env,
      cwd,
      signal: AbortSignal.timeout(60_000),
      launchArgs: KERNEL_LAUNCH_ARGS,
    });
    sameLaunchMs.push(same.kernelInfoMs);
    const s = await serverStart(env, cwd);
    initializeMs.push(s.initializeMs);
    firstResultMs.push(s.firstResultMs);
    const auto = await autoModeStart(env, cwd);
    autoMs.push(auto.firstResultMs);
    autoEra = auto.era;
  }
  let noSetup: { firstAnswerMs: number } | { error: string };
  try {
    log("startup: first start as from JSR (empty DENO_DIR, no set-up)");
    noSetup = await freshStartNoSetup(env, tmp);
  } catch (error) {
    noSetup = { error: error instanceof Error ? error.message : String(error) };
  }
  let fresh: { setupMs: number; initializeMs: number } | { error: string };
  try {
    log("startup: first start from a fresh DENO_DIR (fetches npm packages)");
    fresh = await freshStart(env, tmp);
  } catch (error) {
    fresh = { error: error instanceof Error ? error.message : String(error) };
  }
  const bare = median(bareMs);
  const sameLaunch = median(sameLaunchMs);
  const first = median(firstResultMs);
  const init = median(initializeMs);
  const ratio = first / bare;
  const overhead = first / sameLaunch;
  return {
    data: {
      python,
      bareMs,
      sameLaunchMs,
      initializeMs,
      firstResultMs,
      autoMs,
      fresh,
      noSetup,
    },
    ratios: {
      startup_first_result_over_bare_start: ratio,
      startup_first_result_over_same_launch: overhead,
      startup_initialize_ms: init,
      startup_auto_first_result_over_legacy: median(autoMs) / first,
      ...("error" in noSetup
        ? {}
        : { startup_fresh_first_answer_ms: noSetup.firstAnswerMs }),
    },
    rows: [
      {
        measurement: "bare ipykernel start: spawn -> kernel_info_reply",
        value: formatMs(bare),
        compare: `median of ${reps}`,
      },
      {
        measurement: "ipython_mcp spawn -> first python_exec 1+1 result",
        value: formatMs(first),
        compare: `${formatRatio(ratio)} of a bare kernel start`,
        target: `<= ${FIRST_RESULT_RATIO_TARGET}x: ${
          ratio <= FIRST_RESULT_RATIO_TARGET ? "pass" : "miss"
        }`,
      },
      {
        measurement: "bare start, kernel layer's launch args: -> kernel_info",
        value: formatMs(sameLaunch),
        compare: `${
          formatRatio(sameLaunch / bare)
        } of a bare start (debugpy, jedi skipped)`,
      },
      {
        measurement: "server overhead: first result over that bare start",
        value: formatMs(first - sameLaunch),
        compare: `${formatRatio(overhead)} (Deno start, MCP, start-up code)`,
      },
      {
        measurement:
          `2026 client, auto mode (probe + ${autoEra}) -> first result`,
        value: formatMs(median(autoMs)),
        compare: `${
          formatRatio(median(autoMs) / first)
        } of the 2025 client's; the probe copy starts no kernel`,
      },
      {
        measurement: "ipython_mcp spawn -> initialize answered (warm cache)",
        value: formatMs(init),
        target: `<= ${INITIALIZE_MS_TARGET} ms: ${
          init <= INITIALIZE_MS_TARGET ? "pass" : "miss"
        }`,
      },
      "error" in noSetup
        ? {
          measurement: "empty DENO_DIR, no set-up (as from JSR): -> initialize",
          value: "n/a",
          compare: noSetup.error.slice(0, 80),
        }
        : {
          measurement: "empty DENO_DIR, no set-up (as from JSR): -> initialize",
          value: formatMs(noSetup.firstAnswerMs),
          compare: "fetches only the server's npm packages",
          target: `< ${FRESH_FIRST_ANSWER_MS_TARGET} ms: ${
            noSetup.firstAnswerMs < FRESH_FIRST_ANSWER_MS_TARGET
              ? "pass"
              : "miss"
          }`,
        },
      "error" in fresh
        ? {
          measurement: "fresh DENO_DIR: deno task setup, then initialize",
          value: "n/a",
          compare: fresh.error.slice(0, 80),
        }
        : {
          measurement: "fresh DENO_DIR: deno task setup, then initialize",
          value: `${formatMs(fresh.setupMs)} + ${formatMs(fresh.initializeMs)}`,
          compare: "set-up fetches the npm packages once",
        },
    ],
  };
}
