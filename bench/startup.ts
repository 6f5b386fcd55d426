/**
 * Bench section `startup` (SPEC §10): the server's spawn to `initialize`
 * answered and to the first `python_exec("1+1")` result, against a bare
 * ipykernel start (`python -m ipykernel_launcher`, spawn to
 * `kernel_info_reply`, no kernel layer) measured in the same run,
 * interleaved; plus the same bare start with the kernel layer's launch
 * arguments (debugpy and jedi skipped), so the server's own overhead shows
 * apart from its faster kernel launch; plus one first start from a fresh
 * `DENO_DIR` (the README's set-up command, then `initialize`); plus the
 * handshake alone over raw stdio in both eras (spawn -> `initialize` or
 * `server/discover` answered, no SDK client) against a bare `deno run` of an
 * empty script with the same flags, interleaved in the same run.
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
import {
  callTool,
  createClient,
  openingRequest,
  pythonExec,
} from "./requests.ts";

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

/**
 * Spawn -> the answer to the opening message over raw stdio (no SDK client
 * in the way), warm cache, pool off (the handshake alone).
 */
async function rawHandshake(
  env: Record<string, string>,
  cwd: string,
  era: "2025" | "2026",
): Promise<number> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...SERVER_PERMISSIONS, SERVER_ENTRY],
    env: { ...env, CODER_POOL_SIZE: "0" },
    clearEnv: true,
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  try {
    await writer.write(
      new TextEncoder().encode(JSON.stringify(openingRequest(era)) + "\n"),
    );
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const ms = performance.now() - t0;
    if (!text.includes('"result"')) {
      throw new Error(`${era} handshake not answered: ${text.slice(0, 200)}`);
    }
    return ms;
  } finally {
    await writer.close().catch(() => {});
    await reader.cancel().catch(() => {});
    await child.status;
  }
}

/** Spawn -> exit of `deno run` (the server's flags) on an empty script. */
async function bareDenoRun(
  env: Record<string, string>,
  script: string,
): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...SERVER_PERMISSIONS, script],
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error("deno run of an empty script failed");
  return performance.now() - t0;
}

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

/** Copies what a clone holds into `dir`: deno.json, deno.lock and src/ (no node_modules). */
async function copySources(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(join(ROOT, name), join(dir, name));
  }
  const copy = await new Deno.Command("cp", {
    args: ["-r", join(ROOT, "src"), join(dir, "src")],
  }).output();
  if (!copy.success) throw new Error("cannot copy src/");
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
  await copySources(dir);
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
 * A first start of a fresh clone without the set-up command: an empty
 * `DENO_DIR`, a copy of `deno.json`, `deno.lock` and the sources (no
 * `node_modules`), started with the `ipython_mcp` task's flags; spawn ->
 * `initialize` answered, then -> the first `tools/list` answered (the MCP
 * SDK fetched and loaded). The loading flags keep Deno from fetching every
 * package of the lockfile first.
 */
async function freshStartNoSetup(
  env: Record<string, string>,
  tmp: string,
): Promise<{ firstAnswerMs: number; toolsListMs: number }> {
  const dir = join(tmp, "fresh-no-setup");
  await copySources(dir);
  const t0 = performance.now();
  await using server = await startBenchServer({
    env: { ...env, DENO_DIR: join(dir, ".deno"), CODER_POOL_SIZE: "0" },
    cwd: dir,
    entry: join(dir, "src", "cli", "ipython_mcp.ts"),
  });
  const firstAnswerMs = performance.now() - t0;
  await server.client.listTools(undefined, { timeout: 120_000 });
  return { firstAnswerMs, toolsListMs: performance.now() - t0 };
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
  const emptyScript = join(tmp, "startup_empty.ts");
  await Deno.writeTextFile(emptyScript, "");
  const bareDenoMs: number[] = [];
  const handshakeMs = { "2025": [] as number[], "2026": [] as number[] };
  for (let i = 0; i < Math.max(reps, 5); i++) {
    bareDenoMs.push(await bareDenoRun(env, emptyScript));
    handshakeMs["2025"].push(await rawHandshake(env, cwd, "2025"));
    handshakeMs["2026"].push(await rawHandshake(env, cwd, "2026"));
  }
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
  let noSetup: { firstAnswerMs: number; toolsListMs: number } | {
    error: string;
  };
  try {
    log("startup: fresh clone, empty DENO_DIR, no set-up command");
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
  const bareDeno = median(bareDenoMs);
  const hs2025 = median(handshakeMs["2025"]);
  const hs2026 = median(handshakeMs["2026"]);
  const handshakeRow = (label: string, ms: number) => ({
    measurement: label,
    value: formatMs(ms),
    compare: `${formatRatio(ms / bareDeno)} of a bare deno run`,
    target: `<= ${INITIALIZE_MS_TARGET} ms: ${
      ms <= INITIALIZE_MS_TARGET ? "pass" : "miss"
    }`,
  });
  return {
    data: {
      python,
      bareMs,
      sameLaunchMs,
      initializeMs,
      firstResultMs,
      autoMs,
      bareDenoMs,
      handshakeMs,
      fresh,
      noSetup,
    },
    ratios: {
      startup_first_result_over_bare_start: ratio,
      startup_first_result_over_same_launch: overhead,
      startup_initialize_ms: init,
      startup_initialize_2025_raw_ms: hs2025,
      startup_discover_2026_raw_ms: hs2026,
      startup_initialize_2025_over_bare_deno: hs2025 / bareDeno,
      startup_discover_2026_over_bare_deno: hs2026 / bareDeno,
      startup_auto_first_result_over_legacy: median(autoMs) / first,
      ...("error" in noSetup ? {} : {
        startup_fresh_first_answer_ms: noSetup.firstAnswerMs,
        startup_fresh_tools_list_ms: noSetup.toolsListMs,
      }),
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
        compare: "v1 SDK client connect",
        target: `<= ${INITIALIZE_MS_TARGET} ms: ${
          init <= INITIALIZE_MS_TARGET ? "pass" : "miss"
        }`,
      },
      {
        measurement: "bare deno run of an empty script (server's flags)",
        value: formatMs(bareDeno),
        compare: `median of ${bareDenoMs.length}, interleaved`,
      },
      handshakeRow(
        "stdio, 2025: spawn -> initialize answered (raw, warm)",
        hs2025,
      ),
      handshakeRow(
        "stdio, 2026: spawn -> server/discover answered (raw, warm)",
        hs2026,
      ),
      "error" in noSetup
        ? {
          measurement: "fresh clone, empty DENO_DIR, no set-up: -> initialize",
          value: "n/a",
          compare: noSetup.error.slice(0, 80),
        }
        : {
          measurement: "fresh clone, empty DENO_DIR, no set-up: -> initialize",
          value: formatMs(noSetup.firstAnswerMs),
          compare: `first tools/list at ${
            formatMs(noSetup.toolsListMs)
          } (fetches only the server's npm packages)`,
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
