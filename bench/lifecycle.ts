/**
 * Bench section `lifecycle`: the speed targets of the server's life and
 * death that tests only check happen at all (SPEC §2, §8, §9.1, §7.2, §13):
 * the shutdown bound (server and kernels gone within 5 s) on SIGTERM,
 * SIGINT, SIGKILL and stdin EOF with one live kernel and on EOF while a
 * spare kernel is still starting; how fast a kernel's death (`os._exit` in a
 * cell) reaches the MCP answer, local and on a Jupyter Server, against a
 * `1+1` round trip of the same server; the largest gap between progress
 * notifications during a silent 12 s call (at least every 5 s); how fast
 * kernels exit after their owner is SIGKILLed; how fast an idle HTTP
 * session's kernels end after its TTL expires.
 *
 * Each goal is a bound the SPEC states: 5 s for the shutdowns, the owner's
 * death and the session's end (§2), 5 s between progress notifications (§8).
 * For a kernel's death the SPEC only asks for "well before the execution's
 * own deadline" (§7.2, a 120 s timeout here), so those rows borrow the 5 s
 * shutdown bound. Repeated trials (three in a full run) report their worst.
 *
 * @module
 */

import { join } from "node:path";
import { startJupyterServer } from "../tests/_helpers/jupyter_server.ts";
import { startHttp } from "./http.ts";
import {
  findKernels,
  killPids,
  pidAlive,
  waitForQuietKernels,
} from "./proc.ts";
import {
  formatMs,
  formatRatio,
  median,
  type SectionInput,
  type SectionResult,
  type SectionRow,
} from "./report.ts";
import { callTool, pythonExec, toolCall } from "./requests.ts";
import { type RawServer, startRawServer } from "./stdio_raw.ts";

/** SPEC §2: server and kernels gone within 5 s of a shutdown. */
export const SHUTDOWN_BOUND_MS = 5_000;
/** SPEC §8: a progress notification at least every 5 s. */
export const PROGRESS_GAP_MS = 5_000;
/** A bound as the goal text shows it, e.g. "5 s". */
function seconds(ms: number): string {
  return `${ms / 1000} s`;
}
/** How long a silent call runs for the progress measurement. */
const SILENT_CALL_S = 12;
/** Idle seconds of an HTTP session in the TTL measurement. */
const SESSION_TTL_S = 1;
/** Longest wait for processes to end before they count as stuck. */
const STUCK_MS = 30_000;
/** The execution timeout of the cells that kill their kernel. */
const DEATH_CALL_TIMEOUT_S = 120;

type Trigger = "SIGTERM" | "SIGINT" | "SIGKILL" | "EOF";

/**
 * Milliseconds from `t0` until none of `pids` runs (polled every 10 ms), or
 * Infinity when some still run after {@linkcode STUCK_MS} (then killed).
 */
async function goneAfter(pids: readonly number[], t0: number): Promise<number> {
  for (;;) {
    const alive: number[] = [];
    for (const pid of pids) if (await pidAlive(pid)) alive.push(pid);
    const now = performance.now();
    if (alive.length === 0) return now - t0;
    if (now - t0 > STUCK_MS) {
      killPids(alive);
      return Infinity;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function dir(input: SectionInput, name: string): Promise<string> {
  const path = join(input.tmp, name);
  await Deno.mkdir(path, { recursive: true });
  return path;
}

async function serve(
  input: SectionInput,
  name: string,
  env: Record<string, string>,
): Promise<RawServer> {
  return await startRawServer({
    env: { ...input.env, ...env },
    cwd: await dir(input, name),
  });
}

async function exec(
  server: RawServer,
  code: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const { json } = await server.call(pythonExec(code, extra));
  if (json.success !== true) {
    throw new Error(
      `python_exec gave ${
        JSON.stringify(json).slice(0, 300)
      }\n${server.stderrTail()}`,
    );
  }
  return json;
}

/** One live kernel (`_default`, pool off), then the trigger; ms until gone. */
async function shutdownTrial(
  input: SectionInput,
  trigger: Trigger,
  rep: number,
): Promise<number> {
  await using server = await serve(input, `shutdown-${trigger}-${rep}`, {
    CODER_POOL_SIZE: "0",
  });
  await exec(server, "1+1");
  const kernels = (await server.kernels()).map((k) => k.pid);
  if (kernels.length !== 1) {
    throw new Error(`expected one live kernel, found ${kernels.length}`);
  }
  const t0 = performance.now();
  if (trigger === "EOF") await server.closeStdin();
  else Deno.kill(server.pid, trigger);
  return await goneAfter([server.pid, ...kernels], t0);
}

/**
 * Kernels that cannot finish starting until released (a `sitecustomize`
 * waiting for a file, 60 s at most), then EOF while the spare starts.
 */
async function eofWhileStarting(
  input: SectionInput,
  rep: number,
): Promise<number> {
  const slow = await dir(input, `slow-start-${rep}`);
  const release = join(slow, "release");
  await Deno.writeTextFile(
    join(slow, "sitecustomize.py"),
    "import os, sys, time\nif '-f' in sys.orig_argv:\n" +
      "    for _ in range(1200):\n" +
      `        if os.path.exists(${JSON.stringify(release)}): break\n` +
      "        time.sleep(0.05)\n",
  );
  try {
    await using server = await serve(input, `eof-starting-${rep}`, {
      CODER_POOL_SIZE: "1",
      PYTHONPATH: slow,
    });
    let starting: number[] = [];
    const deadline = performance.now() + STUCK_MS;
    while (starting.length === 0 && performance.now() < deadline) {
      starting = (await server.kernels()).map((k) => k.pid);
      if (starting.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    if (starting.length === 0) throw new Error("no kernel was starting");
    const t0 = performance.now();
    await server.closeStdin();
    return await goneAfter([server.pid, ...starting], t0);
  } finally {
    await Deno.writeTextFile(release, "");
  }
}

/** Kernels (`_default` and a ready spare) after a SIGKILL of the server. */
async function ownerDeath(input: SectionInput, rep: number): Promise<number> {
  await using server = await serve(input, `owner-${rep}`, {
    CODER_POOL_SIZE: "1",
  });
  await exec(server, "1+1");
  await waitForQuietKernels(server.pid, { count: 2 });
  const kernels = (await server.kernels()).map((k) => k.pid);
  if (kernels.length < 2) {
    throw new Error(`expected a kernel and a spare, found ${kernels.length}`);
  }
  const t0 = performance.now();
  Deno.kill(server.pid, "SIGKILL");
  return await goneAfter(kernels, t0);
}

/** Median `1+1` round trip of a server (the death rows' baseline). */
async function roundTrip(server: RawServer, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const json = await exec(server, "1+1");
    times.push(performance.now() - t0);
    if (json.result !== "2") throw new Error(`1+1 gave ${json.result}`);
  }
  return median(times);
}

/** `os._exit(1)` in a cell: ms until the answer saying the kernel died. */
async function timedDeath(server: RawServer): Promise<number> {
  const t0 = performance.now();
  const { json } = await server.call(
    pythonExec("import os; os._exit(1)", { timeout: DEATH_CALL_TIMEOUT_S }),
  );
  const ms = performance.now() - t0;
  const text = JSON.stringify(json);
  if (json.success !== false || !/died/i.test(text)) {
    throw new Error(`os._exit(1) gave ${text.slice(0, 300)}`);
  }
  return ms;
}

async function localDeath(
  input: SectionInput,
  reps: number,
): Promise<{ deathMs: number[]; roundTripMs: number }> {
  await using server = await serve(input, "death-local", {
    CODER_POOL_SIZE: "0",
  });
  const roundTripMs = await roundTrip(server, 20);
  const deathMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    if (i > 0) {
      const { json } = await server.call(
        toolCall("python_reset", { kernel_id: "_default" }),
      );
      if (json.success !== true) {
        throw new Error(`python_reset gave ${JSON.stringify(json)}`);
      }
      await exec(server, "1+1");
    }
    deathMs.push(await timedDeath(server));
  }
  return { deathMs, roundTripMs };
}

async function remoteDeath(
  input: SectionInput,
): Promise<{ deathMs: number; roundTripMs: number }> {
  await using jupyter = await startJupyterServer({ env: input.env });
  await using server = await serve(input, "death-remote", {
    CODER_POOL_SIZE: "0",
    CODER_GATEWAY_URL: jupyter.url,
    CODER_GATEWAY_TOKEN: jupyter.token,
  });
  const roundTripMs = await roundTrip(server, 20);
  const deathMs = await timedDeath(server);
  // EOF: the server deletes its remote kernel before Jupyter stops.
  await server.closeStdin();
  await server.exited;
  return { deathMs, roundTripMs };
}

/** Gaps between the start, each progress notification and the answer. */
async function progressGaps(input: SectionInput): Promise<number[]> {
  await using server = await serve(input, "progress", {
    CODER_POOL_SIZE: "0",
  });
  await exec(server, "1+1");
  const token = "lifecycle-silent";
  const t0 = performance.now();
  const { json } = await server.call(
    pythonExec(`import time\ntime.sleep(${SILENT_CALL_S})\n'slept'`, {
      timeout: SILENT_CALL_S * 5,
    }),
    token,
  );
  const end = performance.now();
  if (json.result !== "'slept'") {
    throw new Error(`the silent call gave ${JSON.stringify(json)}`);
  }
  const marks = [
    t0,
    ...server.notifications.filter((n) =>
      n.message.method === "notifications/progress" &&
      n.message.params?.progressToken === token
    ).map((n) => n.at),
    end,
  ];
  return marks.slice(1).map((mark, i) => mark - marks[i]!);
}

/** ms from an idle HTTP session's TTL expiry until its kernel is gone. */
async function sessionExpiry(
  input: SectionInput,
  rep: number,
): Promise<number> {
  const env = {
    ...input.env,
    CODER_POOL_SIZE: "0",
    CODER_MCP_SESSION_TTL: String(SESSION_TTL_S),
  };
  const http = await startHttp(env, await dir(input, `ttl-${rep}`));
  try {
    const { json } = await callTool(http.client, pythonExec("1+1"));
    // The session's idle clock starts at the server's last message.
    const lastSeen = performance.now();
    if (json.result !== "2") throw new Error(`1+1 gave ${json.result}`);
    const kernels = (await findKernels({
      JPY_PARENT_PID: String(http.child.pid),
    })).map((k) => k.pid);
    if (kernels.length !== 1) {
      throw new Error(`expected one session kernel, found ${kernels.length}`);
    }
    const gone = await goneAfter(kernels, lastSeen);
    return gone - SESSION_TTL_S * 1000;
  } finally {
    await http.client.close().catch(() => {});
    try {
      http.child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await http.child.status;
  }
}

async function repeat<T>(
  input: SectionInput,
  label: string,
  reps: number,
  run: (rep: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  for (let rep = 0; rep < reps; rep++) {
    input.log(`lifecycle: ${label} ${rep + 1}/${reps}`);
    out.push(await run(rep));
  }
  return out;
}

/** A row whose value is the worst of its trials against an absolute bound. */
function boundRow(
  measurement: string,
  trials: number[],
  boundMs: number,
): SectionRow {
  const worst = Math.max(...trials);
  return {
    measurement: trials.length > 1
      ? `${measurement} (worst of ${trials.length})`
      : measurement,
    value: Number.isFinite(worst) ? formatMs(worst) : `> ${formatMs(STUCK_MS)}`,
    ...(trials.length > 1
      ? { compare: `median ${formatMs(median(trials))}` }
      : {}),
    target: `<= ${seconds(boundMs)}: ${worst <= boundMs ? "pass" : "miss"}`,
  };
}

/**
 * Runs the section.
 *
 * @param input Environment, scratch directory, iteration count, progress log.
 * @returns The timings, the figures under their names, and the table rows.
 */
export async function benchLifecycle(
  input: SectionInput,
): Promise<SectionResult> {
  const reps = input.n >= 1000 ? 3 : 1;
  const shutdown: Record<string, number[]> = {};
  for (const trigger of ["SIGTERM", "SIGINT", "SIGKILL", "EOF"] as const) {
    shutdown[trigger] = await repeat(
      input,
      `shutdown on ${trigger}`,
      reps,
      (rep) => shutdownTrial(input, trigger, rep),
    );
  }
  shutdown.EOF_STARTING = await repeat(
    input,
    "stdin EOF while a spare starts",
    reps,
    (rep) => eofWhileStarting(input, rep),
  );
  input.log("lifecycle: local kernel death");
  const local = await localDeath(input, reps);
  input.log("lifecycle: remote kernel death (Jupyter Server on 127.0.0.1)");
  // Without a Jupyter Server the remote row says why; the rest still counts.
  const remote = await remoteDeath(input).catch((error: unknown) => ({
    error: error instanceof Error ? error.message : String(error),
  }));
  input.log(
    `lifecycle: a silent ${SILENT_CALL_S} s call with a progress token`,
  );
  const gaps = await progressGaps(input);
  const owner = await repeat(
    input,
    "kernels after SIGKILL of the server",
    reps,
    (rep) => ownerDeath(input, rep),
  );
  const expiry = await repeat(
    input,
    `HTTP session expiry (TTL ${SESSION_TTL_S} s)`,
    reps,
    (rep) => sessionExpiry(input, rep),
  );

  const localDeathMs = median(local.deathMs);
  const maxGap = Math.max(...gaps);
  const names: Record<string, string> = {
    SIGTERM: "SIGTERM",
    SIGINT: "SIGINT",
    SIGKILL: "SIGKILL",
    EOF: "stdin EOF",
  };
  const rows: SectionRow[] = Object.entries(names).map(([key, name]) =>
    boundRow(
      `${name}, one live kernel: server and kernel gone`,
      shutdown[key]!,
      SHUTDOWN_BOUND_MS,
    )
  );
  rows.push(
    boundRow(
      "stdin EOF while a spare kernel starts: server and spare gone",
      shutdown.EOF_STARTING,
      SHUTDOWN_BOUND_MS,
    ),
    {
      measurement: `local kernel death (os._exit) -> MCP answer${
        local.deathMs.length > 1 ? ` (median of ${local.deathMs.length})` : ""
      }`,
      value: formatMs(localDeathMs),
      compare: `${formatRatio(localDeathMs / local.roundTripMs)} of a 1+1 ` +
        `round trip (${formatMs(local.roundTripMs)})`,
      target: `<= ${seconds(SHUTDOWN_BOUND_MS)}: ${
        Math.max(...local.deathMs) <= SHUTDOWN_BOUND_MS ? "pass" : "miss"
      }`,
    },
    "error" in remote
      ? {
        measurement: "remote kernel death (os._exit) -> MCP answer",
        value: "error",
        compare: remote.error.split("\n")[0]!,
      }
      : {
        measurement: "remote kernel death (os._exit) -> MCP answer",
        value: formatMs(remote.deathMs),
        compare: `${formatRatio(remote.deathMs / remote.roundTripMs)} of a ` +
          `remote 1+1 round trip (${formatMs(remote.roundTripMs)})`,
        target: `<= ${seconds(SHUTDOWN_BOUND_MS)}: ${
          remote.deathMs <= SHUTDOWN_BOUND_MS ? "pass" : "miss"
        }`,
      },
    {
      measurement:
        `largest gap between progress notifications, silent ${SILENT_CALL_S} s call`,
      value: formatMs(maxGap),
      compare: `${gaps.length - 1} notifications`,
      target: `<= ${seconds(PROGRESS_GAP_MS)}: ${
        maxGap <= PROGRESS_GAP_MS ? "pass" : "miss"
      }`,
    },
    boundRow(
      "kernel and spare exit after SIGKILL of the server",
      owner,
      SHUTDOWN_BOUND_MS,
    ),
    boundRow(
      `idle HTTP session (TTL ${SESSION_TTL_S} s): TTL expiry -> kernel gone`,
      expiry,
      SHUTDOWN_BOUND_MS,
    ),
  );
  return {
    data: { shutdown, local, remote, progressGapsMs: gaps, owner, expiry },
    ratios: {
      lifecycle_shutdown_worst_ms: Math.max(...Object.values(shutdown).flat()),
      lifecycle_local_death_over_round_trip: localDeathMs / local.roundTripMs,
      ...("error" in remote ? {} : {
        lifecycle_remote_death_over_round_trip: remote.deathMs /
          remote.roundTripMs,
      }),
      lifecycle_progress_max_gap_ms: maxGap,
      lifecycle_owner_death_worst_ms: Math.max(...owner),
      lifecycle_session_expiry_worst_ms: Math.max(...expiry),
    },
    rows,
  };
}
