/**
 * Linux `/proc` readers for the benchmark: memory of a process, CPU ticks,
 * and the kernel processes a benchmark run started (found by a marker
 * variable in their environment, so other programs' kernels are never
 * touched).
 *
 * @module
 */

/** Memory figures of one process, in KiB, from `/proc/PID/status`. */
export interface ProcMemory {
  /** Resident set size now (VmRSS). */
  rssKiB: number;
  /** Peak resident set size (VmHWM). */
  hwmKiB: number;
}

/**
 * Reads VmRSS and VmHWM of a process.
 *
 * @param pid Process id.
 * @returns The figures, or null when the process is gone or /proc is missing.
 */
export async function readMemory(pid: number): Promise<ProcMemory | null> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/status`);
    const field = (name: string): number => {
      const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(text);
      return match ? Number(match[1]) : NaN;
    };
    return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
  } catch {
    return null;
  }
}

async function readStat(
  pid: number,
): Promise<{ state: string; ppid: number; ticks: number } | null> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/stat`);
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // After comm: [0] state, [1] ppid, ... [11] utime, [12] stime.
    return {
      state: fields[0] ?? "",
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return null;
  }
}

/**
 * Whether a process exists and is not a zombie.
 *
 * @param pid Process id.
 * @returns True while it runs.
 */
export async function pidAlive(pid: number): Promise<boolean> {
  const stat = await readStat(pid);
  return stat !== null && stat.state !== "Z" && stat.state !== "X";
}

async function readEnviron(pid: number): Promise<string> {
  try {
    return "\0" + await Deno.readTextFile(`/proc/${pid}/environ`);
  } catch {
    return "";
  }
}

async function readCmdline(pid: number): Promise<string> {
  try {
    return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll(
      "\0",
      " ",
    ).trim();
  } catch {
    return "";
  }
}

/** A running kernel process. */
export interface KernelProcess {
  /** Process id. */
  pid: number;
  /** Its command line. */
  cmdline: string;
}

/**
 * Running `ipykernel_launcher` processes whose environment holds every
 * `NAME=VALUE` pair given.
 *
 * @param pairs Environment entries to match, e.g. `{ JPY_PARENT_PID: "123" }`.
 * @returns The matching kernels.
 */
export async function findKernels(
  pairs: Record<string, string>,
): Promise<KernelProcess[]> {
  const needles = Object.entries(pairs).map(([k, v]) => `\0${k}=${v}\0`);
  const found: KernelProcess[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const environ = await readEnviron(pid);
    if (!needles.every((needle) => environ.includes(needle))) continue;
    const cmdline = await readCmdline(pid);
    // `-c <src/kernel/_launch.py>` names ipykernel_launcher in its text.
    if (!cmdline.includes("ipykernel_launcher")) continue;
    if (await pidAlive(pid)) found.push({ pid, cmdline });
  }
  return found;
}

/**
 * Waits until none of the processes runs.
 *
 * @param pids Processes to wait for.
 * @param timeoutMs How long to wait.
 * @returns The pids still running at the deadline.
 */
export async function waitGone(
  pids: readonly number[],
  timeoutMs: number,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left: number[] = [];
    for (const pid of pids) if (await pidAlive(pid)) left.push(pid);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until the kernels of a server have gone quiet: their summed CPU
 * ticks did not move (by more than one tick) over `windowMs`. A kernel that
 * finished starting up and answered its readiness probes sits idle, so this
 * tells when a warm spare is ready without looking inside the server.
 *
 * @param serverPid The server's pid (kernels carry it as JPY_PARENT_PID).
 * @param options Expected kernel count, quiet window, deadline.
 * @returns Milliseconds waited.
 */
export async function waitForQuietKernels(
  serverPid: number,
  options: { count: number; windowMs?: number; timeoutMs?: number },
): Promise<number> {
  const windowMs = options.windowMs ?? 400;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 30_000);
  let last = -1;
  while (Date.now() < deadline) {
    const kernels = await findKernels({ JPY_PARENT_PID: String(serverPid) });
    let ticks = 0;
    for (const k of kernels) ticks += (await readStat(k.pid))?.ticks ?? 0;
    if (kernels.length >= options.count && last >= 0 && ticks - last <= 1) {
      break;
    }
    last = kernels.length >= options.count ? ticks : -1;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
  }
  return Date.now() - started;
}

/**
 * Kills processes by pid (SIGKILL), ignoring ones already gone.
 *
 * @param pids The processes.
 */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
