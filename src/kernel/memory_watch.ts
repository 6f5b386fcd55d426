/**
 * The memory limit of a sandboxed kernel when no memory cgroup can be made
 * (an unprivileged user without a delegated cgroup), enforced from the host
 * (SPEC §12): the server polls the resident memory of every process
 * descended from the kernel's bwrap and kills them all past the limit.
 *
 * The watch runs in the server process, outside the sandbox's pid namespace,
 * so nothing inside can see, stop or kill it (a watchdog inside the sandbox
 * was SIGSTOPped by kernel code). Every process of the sandbox stays a
 * descendant of the bwrap the server spawned: orphans are reaped by the
 * sandbox's own init. Files in the sandbox's tmpfs mounts (/tmp, /var/tmp,
 * /dev/shm) are not resident memory of a process; they are capped by size
 * instead ({@linkcode tmpfsSizes}).
 *
 * Coarser than a cgroup: a fast allocation can overshoot by what it touches
 * in one interval.
 *
 * @module
 */

/** Default polling interval. */
export const MEMORY_WATCH_INTERVAL_MS = 200;

/** One process from `/proc/PID/status`. */
interface ProcStatus {
  pid: number;
  ppid: number;
  /** Resident bytes (0 for kernel threads). */
  rss: number;
}

function parseStatus(pid: number, text: string): ProcStatus | null {
  const ppid = /^PPid:\s*(\d+)/m.exec(text);
  if (!ppid) return null;
  const rss = /^VmRSS:\s*(\d+)\s*kB/m.exec(text);
  return {
    pid,
    ppid: Number(ppid[1]),
    rss: rss ? Number(rss[1]) * 1024 : 0,
  };
}

async function readStatuses(): Promise<ProcStatus[]> {
  const found: ProcStatus[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const text = await Deno.readTextFile(`/proc/${entry.name}/status`).catch(
      () => null,
    );
    const status = text === null ? null : parseStatus(Number(entry.name), text);
    if (status) found.push(status);
  }
  return found;
}

/**
 * The processes descended from `root` (itself included) and their resident
 * memory in bytes.
 *
 * @param root The ancestor's pid.
 * @returns The pids and the summed resident bytes.
 */
export async function treeMemory(
  root: number,
): Promise<{ pids: number[]; bytes: number }> {
  const stats = await readStatuses();
  const children = new Map<number, ProcStatus[]>();
  let top: ProcStatus | undefined;
  for (const stat of stats) {
    if (stat.pid === root) top = stat;
    const list = children.get(stat.ppid);
    if (list) list.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  if (!top) return { pids: [], bytes: 0 };
  const pids: number[] = [];
  let bytes = 0;
  const queue = [top];
  for (let next = queue.pop(); next; next = queue.pop()) {
    pids.push(next.pid);
    bytes += next.rss;
    queue.push(...(children.get(next.pid) ?? []));
  }
  return { pids, bytes };
}

/**
 * Sizes of the sandbox's tmpfs mounts under a memory limit: /tmp and
 * /var/tmp at most half the limit (1 GiB without one), /dev/shm at most a
 * quarter (256 MiB without one).
 *
 * @param limit The memory limit in bytes, or null.
 * @returns Byte caps.
 */
export function tmpfsSizes(
  limit: number | null,
): { tmp: number; shm: number } {
  const tmp = 2 ** 30;
  const shm = 256 * 2 ** 20;
  if (limit === null) return { tmp, shm };
  return {
    tmp: Math.min(tmp, Math.floor(limit / 2)),
    shm: Math.min(shm, Math.floor(limit / 4)),
  };
}

/** A running watch over one process tree. */
export interface MemoryWatch {
  /** Resolves true once the tree was killed for exceeding the limit. */
  readonly exceeded: Promise<boolean>;
  /** Stops watching (the tree ended). */
  stop(): void;
}

/**
 * Watches the resident memory of a process tree and SIGKILLs every process
 * of it past the limit.
 *
 * @param root The tree's root pid (the spawned bwrap).
 * @param limit Bytes.
 * @param intervalMs Polling interval.
 * @returns The watch.
 */
export function watchMemory(
  root: number,
  limit: number,
  intervalMs = MEMORY_WATCH_INTERVAL_MS,
): MemoryWatch {
  const done = Promise.withResolvers<boolean>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    if (stopped) return;
    const { pids, bytes } = await treeMemory(root).catch(() => ({
      pids: [] as number[],
      bytes: 0,
    }));
    if (stopped) return;
    if (pids.length === 0) {
      stopped = true;
      done.resolve(false);
      return;
    }
    if (bytes > limit) {
      stopped = true;
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      done.resolve(true);
      return;
    }
    timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return {
    exceeded: done.promise,
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      done.resolve(false);
    },
  };
}
