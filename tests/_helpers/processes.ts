/**
 * Process checks for tests: is a pid alive, which processes descend from a
 * pid, wait until pids are gone. Reads /proc (Linux).
 *
 * @module
 */

/** True while the pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Every pid whose command line mentions ipykernel_launcher. */
export function kernelPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmd.includes("ipykernel_launcher") && pidAlive(Number(entry.name))) {
        pids.push(Number(entry.name));
      }
    } catch {
      // gone
    }
  }
  return pids;
}

/** Kernel pids whose JPY_PARENT_PID is `owner`. */
export function kernelPidsOf(owner: number): number[] {
  return kernelPids().filter((pid) => {
    try {
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`);
      return environ.split("\0").includes(`JPY_PARENT_PID=${owner}`);
    } catch {
      return false;
    }
  });
}

/**
 * Waits until none of the pids is alive.
 *
 * @param pids Process ids.
 * @param timeoutMs How long to wait.
 * @returns The pids still alive at the end (empty when all are gone).
 */
export async function waitGone(
  pids: readonly number[],
  timeoutMs = 5_000,
): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  let alive = pids.filter(pidAlive);
  while (alive.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(pidAlive);
  }
  return alive;
}
