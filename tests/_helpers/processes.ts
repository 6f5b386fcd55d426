/**
 * Process checks for tests, from /proc (Linux): whether a pid runs, which
 * kernels a process started, waiting until pids are gone, cleanup.
 *
 * @module
 */

import { HANG_GUARD_MS, WaitTimeoutError, waitUntil } from "./wait.ts";

/** One line of /proc/PID/stat, parsed. */
interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid, state: fields[0] ?? "", ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(entry.name)) pids.push(Number(entry.name));
  }
  return pids;
}

/**
 * Whether a process exists and is not a zombie.
 *
 * @param pid Process id.
 * @returns True while the process runs.
 */
export function pidAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== null && stat.state !== "Z" && stat.state !== "X";
}

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/**
 * Running kernel processes below a process (children, grandchildren...).
 * Short-lived helper interpreters (interpreter probes, syntax checks) are
 * not counted.
 *
 * @param root The ancestor's pid.
 * @returns Their pids.
 */
export function kernelDescendants(root: number): number[] {
  // Kernels run `-c <src/kernel/_launch.py>`, whose text names
  // ipykernel_launcher (and `-m ipykernel_launcher` after its fallback).
  return descendantsMatching(root, /ipykernel_launcher/);
}

/**
 * Kernel processes that are direct children of a process: the kernels it
 * started, not their own subprocesses.
 *
 * @param root The parent's pid.
 * @returns Their pids.
 */
export function kernelChildren(root: number): number[] {
  return kernelDescendants(root).filter((pid) => readStat(pid)?.ppid === root);
}

/**
 * Every running process below a process (children, grandchildren...).
 *
 * @param root The ancestor's pid.
 * @returns Their pids.
 */
export function descendants(root: number): number[] {
  const stats = allPids().map(readStat).filter((s): s is ProcStat =>
    s !== null && s.state !== "Z"
  );
  const below = new Set<number>([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stats) {
      if (!below.has(s.pid) && below.has(s.ppid)) {
        below.add(s.pid);
        grew = true;
      }
    }
  }
  below.delete(root);
  return [...below];
}

/**
 * Running processes below a process whose command line matches.
 *
 * @param root The ancestor's pid.
 * @param pattern Tested against the command line (NULs as spaces).
 * @returns Their pids.
 */
export function descendantsMatching(root: number, pattern: RegExp): number[] {
  return descendants(root).filter((pid) => pattern.test(cmdline(pid)));
}

/**
 * Running processes started with `JPY_PARENT_PID=<parent>` (our kernels),
 * found even after they were re-parented.
 *
 * @param parent The server's pid.
 * @returns Their pids.
 */
export function kernelPidsOf(parent: number): number[] {
  const needle = `\0JPY_PARENT_PID=${parent}\0`;
  return allPids().filter((pid) => {
    try {
      const environ = "\0" + Deno.readTextFileSync(`/proc/${pid}/environ`);
      return environ.includes(needle) && pidAlive(pid);
    } catch {
      return false;
    }
  });
}

/**
 * Running processes whose environment holds `CODER_TEST_MARK=<mark>`: the
 * kernels of one test, even when other test files in this process (with
 * `--parallel`) run kernels of their own.
 *
 * @param mark The marker value the test put in its launch env.
 * @returns Their pids.
 */
export function pidsWithMark(mark: string): number[] {
  const needle = `\0CODER_TEST_MARK=${mark}\0`;
  return allPids().filter((pid) => {
    try {
      const environ = "\0" + Deno.readTextFileSync(`/proc/${pid}/environ`);
      return environ.includes(needle) && pidAlive(pid);
    } catch {
      return false;
    }
  });
}

/**
 * Waits until none of the processes runs. The limit is a hang guard, not a
 * timing assertion: a process that should end ends, however loaded the
 * machine; one that never ends is reported after the guard.
 *
 * @param pids Processes to wait for.
 * @param limitMs The hang guard (default {@linkcode HANG_GUARD_MS}).
 * @returns The pids still running when the guard fired (empty when all ended).
 */
export async function waitGone(
  pids: readonly number[],
  limitMs = HANG_GUARD_MS,
): Promise<number[]> {
  try {
    await waitUntil(
      `processes ${pids.join(", ")} to end`,
      () => pids.filter(pidAlive),
      {
        until: (left) => left.length === 0,
        limitMs,
        intervalMs: 50,
      },
    );
    return [];
  } catch (error) {
    if (error instanceof WaitTimeoutError) return error.last as number[];
    throw error;
  }
}

/**
 * Waits until a process has ended.
 *
 * @param pid Process id.
 * @param limitMs The hang guard (default {@linkcode HANG_GUARD_MS}).
 * @returns True when it ended before the guard fired.
 */
export async function waitForExit(
  pid: number,
  limitMs = HANG_GUARD_MS,
): Promise<boolean> {
  return (await waitGone([pid], limitMs)).length === 0;
}

/**
 * Kills leftover processes (test cleanup after a failed assertion).
 *
 * @param pids Processes to kill.
 */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** A spawned process whose stdout and stderr are collected as text. */
export interface CollectedProcess {
  /** The process. */
  child: Deno.ChildProcess;
  /** Everything it wrote to stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves when both streams reached end of file. */
  drained: Promise<void>;
}

/**
 * Spawns a process (stdin null) and collects its stdout and stderr.
 *
 * @param command Program.
 * @param options Arguments, cwd, env (the environment is cleared first).
 * @returns The process and its output.
 */
export function spawnCollecting(
  command: string,
  options: { args: string[]; cwd?: string; env: Record<string, string> },
): CollectedProcess {
  const child = new Deno.Command(command, {
    args: options.args,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) chunks.push(decoder.decode(chunk));
  };
  const drained = Promise.all([pump(child.stdout), pump(child.stderr)]).then(
    () => {},
  );
  return { child, output: () => chunks.join(""), drained };
}
