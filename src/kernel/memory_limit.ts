/**
 * Kernel memory limits (SPEC §7.1): each kernel runs in a cgroup of its own
 * with a memory cap, so a kernel that allocates too much is killed by the
 * OOM killer while the server and other kernels go on. The exit then carries
 * `reason: "memory_limit"`.
 *
 * Measured on Linux (notes/sandbox.md): RLIMIT_AS caps *virtual* memory and
 * breaks thread creation (87 of 200 threads at 3 GiB; OpenBLAS and glibc
 * arenas reserve a lot), so only a cgroup memory controller is used: v2
 * (`memory.max`) or v1 (`memory.limit_in_bytes`), where this process may
 * create a child of its own cgroup (root, or a delegated v2 subtree).
 *
 * @module
 */

import { join } from "node:path";
import { KernelStartError } from "./errors.ts";
import type {
  KernelCommand,
  SpawnWrapper,
  WrappedKernelCommand,
} from "./launcher.ts";
import type { KernelExit } from "./messages.ts";
import { delay } from "./_async.ts";

const UNITS: Record<string, number> = {
  "": 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/** The smallest limit accepted: below it ipykernel cannot even start. */
export const MIN_MEMORY_LIMIT = 64 * 2 ** 20;

/** The default limit of sandboxed kernels: 4 GiB. */
export const DEFAULT_SANDBOX_MEMORY_LIMIT = 4 * 2 ** 30;

/**
 * Parses a memory size: a number of bytes, or a number with a binary unit
 * `K`, `M`, `G`, `T` (optionally followed by `i`/`iB`/`B`), e.g. `512M`,
 * `4G`, `1.5GiB`.
 *
 * @param text The size as written by the user.
 * @returns Bytes.
 * @throws {RangeError} A malformed size or one below 64 MiB.
 * @example
 * ```ts
 * import { parseMemorySize } from "./memory_limit.ts";
 * parseMemorySize("4G"); // 4294967296
 * ```
 */
export function parseMemorySize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) {
    throw new RangeError(
      `Invalid memory size "${text}": use a number with a unit, e.g. 512M or 4G`,
    );
  }
  const bytes = Math.floor(
    Number(match[1]) * UNITS[match[2]!.toLowerCase()]!,
  );
  if (bytes < MIN_MEMORY_LIMIT) {
    throw new RangeError(
      `Invalid memory size "${text}": the minimum is 64M (a kernel needs about 60 MiB to start)`,
    );
  }
  return bytes;
}

/**
 * Formats a byte count with a binary unit: `4 GiB`, `512 MiB`, `1.5 GiB`.
 *
 * @param bytes The size.
 * @returns The text.
 */
export function formatMemorySize(bytes: number): string {
  for (
    const [unit, size] of [
      ["TiB", 2 ** 40],
      ["GiB", 2 ** 30],
      ["MiB", 2 ** 20],
      ["KiB", 2 ** 10],
    ] as const
  ) {
    if (bytes >= size) {
      return `${Number((bytes / size).toFixed(2))} ${unit}`;
    }
  }
  return `${bytes} B`;
}

/** A cgroup hierarchy where this process can create children. */
interface CgroupBase {
  version: 1 | 2;
  /** Directory of this process's own cgroup. */
  dir: string;
}

async function readText(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}

/** Finds the directory of this process's memory cgroup (v2, then v1). */
async function findCgroup(): Promise<CgroupBase[]> {
  const [cgroups, mountinfo] = await Promise.all([
    readText("/proc/self/cgroup"),
    readText("/proc/self/mountinfo"),
  ]);
  const mounts = mountinfo.split("\n").map((line) => {
    const [left, right] = line.split(" - ");
    const fields = (left ?? "").split(" ");
    const [type, , options] = (right ?? "").split(" ");
    return {
      root: fields[3] ?? "",
      point: fields[4] ?? "",
      type,
      options: (options ?? "").split(","),
    };
  });
  const found: CgroupBase[] = [];
  for (const line of cgroups.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    const v2 = controllers === "";
    const mount = mounts.find((m) =>
      v2
        ? m.type === "cgroup2"
        : m.type === "cgroup" && m.options.includes("memory")
    );
    if (!mount || (!v2 && !controllers!.split(",").includes("memory"))) {
      continue;
    }
    const relative = mount.root === "/" ? path : path.slice(mount.root.length);
    found.push({ version: v2 ? 2 : 1, dir: join(mount.point, relative) });
  }
  return found.sort((a, b) => b.version - a.version);
}

/** One kernel's cgroup. */
interface KernelCgroup {
  dir: string;
  version: 1 | 2;
}

async function tryCreate(
  base: CgroupBase,
  limit: number,
): Promise<KernelCgroup | null> {
  const dir = join(base.dir, `coder-kernel-${crypto.randomUUID()}`);
  try {
    await Deno.mkdir(dir);
  } catch {
    return null;
  }
  try {
    if (base.version === 2) {
      const limitFile = join(dir, "memory.max");
      if (!(await Deno.stat(limitFile).then(() => true, () => false))) {
        await Deno.writeTextFile(
          join(base.dir, "cgroup.subtree_control"),
          "+memory",
        );
      }
      await Deno.writeTextFile(limitFile, String(limit));
      await Deno.writeTextFile(join(dir, "memory.swap.max"), "0").catch(
        () => {},
      );
    } else {
      await Deno.writeTextFile(
        join(dir, "memory.limit_in_bytes"),
        String(limit),
      );
      await Deno.writeTextFile(
        join(dir, "memory.memsw.limit_in_bytes"),
        String(limit),
      )
        .catch(() => {});
    }
    return { dir, version: base.version };
  } catch {
    await Deno.remove(dir).catch(() => {});
    return null;
  }
}

async function oomKills(group: KernelCgroup): Promise<number> {
  const file = group.version === 2 ? "memory.events" : "memory.oom_control";
  const text = await readText(join(group.dir, file));
  return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function removeCgroup(dir: string): Promise<void> {
  // The sandbox's processes leave a moment after bwrap; rmdir fails until then.
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      await Deno.remove(dir);
      return;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      await delay(50);
    }
  }
}

const SIGNALS: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
};

/**
 * The exit of a process from its status, naming the signal when a wrapper
 * (bwrap, sh) reported a signal death as exit code 128+N.
 *
 * @param status Exit code and signal name from Deno.
 * @returns Code or signal, never a bare code above 128.
 */
export function exitFromStatus(
  status: { code: number; signal: string | null },
): KernelExit {
  if (status.signal) return { code: null, signal: status.signal };
  if (status.code > 128 && status.code < 128 + 65) {
    const n = status.code - 128;
    return { code: null, signal: SIGNALS[n] ?? `signal ${n}` };
  }
  return { code: status.code, signal: null };
}

/**
 * Puts each kernel into a cgroup of its own with a memory cap. The kernel
 * is moved there by a `sh` that writes its pid into `cgroup.procs` and then
 * execs the real command, so every process the kernel starts is capped too.
 */
export class MemoryLimiter implements SpawnWrapper {
  /** The cap in bytes. */
  readonly limit: number;
  #base: Promise<CgroupBase | null> | null = null;

  /** @param limit The cap in bytes. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** The cgroup hierarchy to use, found once (null: none is writable). */
  #findBase(): Promise<CgroupBase | null> {
    this.#base ??= (async () => {
      for (const base of await findCgroup()) {
        const group = await tryCreate(base, this.limit);
        if (group) {
          await removeCgroup(group.dir);
          return base;
        }
      }
      return null;
    })();
    return this.#base;
  }

  /**
   * Checks that a memory cgroup can be created.
   *
   * @throws {KernelStartError} Naming how to get one.
   */
  async preflight(): Promise<void> {
    if (await this.#findBase()) return;
    throw new KernelStartError(
      `Cannot enforce the memory limit of ${
        formatMemorySize(this.limit)
      }: this process cannot create a memory cgroup (cgroup v2 memory.max or v1 memory.limit_in_bytes). ` +
        "Run as root or in a delegated cgroup v2 subtree (e.g. `systemd-run --user --scope -p Delegate=yes`), " +
        "or set CODER_MEMORY_LIMIT=none",
      { tried: ["cgroup v2", "cgroup v1"] },
    );
  }

  /**
   * Wraps one kernel's command line so it starts inside a fresh cgroup.
   *
   * @param command The command line.
   * @returns The wrapped command and how to classify its exit.
   */
  async wrap(command: KernelCommand): Promise<WrappedKernelCommand> {
    await this.preflight();
    const base = (await this.#findBase())!;
    const group = await tryCreate(base, this.limit);
    if (!group) {
      throw new KernelStartError(
        `Cannot create a memory cgroup under ${base.dir}`,
        { tried: [base.dir] },
      );
    }
    const limit = this.limit;
    let done: Promise<KernelExit> | null = null;
    return {
      ...command,
      command: "/bin/sh",
      args: [
        "-c",
        'echo $$ > "$0" && exec "$@"',
        join(group.dir, "cgroup.procs"),
        command.command,
        ...command.args,
      ],
      finish(status) {
        done ??= (async () => {
          const exit = exitFromStatus(status);
          const kills = await oomKills(group);
          await removeCgroup(group.dir);
          if (kills > 0 && exit.signal === "SIGKILL") {
            return {
              ...exit,
              reason: "memory_limit",
              detail: formatMemorySize(limit),
            };
          }
          return exit;
        })();
        return done;
      },
    };
  }
}

/**
 * Creates a memory limiter for kernels.
 *
 * @param limit The cap in bytes (see {@linkcode parseMemorySize}).
 * @returns The spawn wrapper.
 */
export function createMemoryLimiter(limit: number): MemoryLimiter {
  return new MemoryLimiter(limit);
}
