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
import {
  describeHint,
  type ErrorHint,
  type HintRenderer,
  KernelStartError,
  signalOfExitCode,
} from "./errors.ts";
import type {
  KernelCommand,
  SpawnWrapper,
  WrappedKernelCommand,
} from "./launcher.ts";
import type { KernelExit } from "./messages.ts";

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

/**
 * Runs a short `sh` script. Deno asks for `--allow-all` to touch /proc/self
 * and /sys, so every cgroup file is read and written by a child shell (the
 * programs hold `--allow-run`); the shell's cgroup and mounts are ours.
 */
async function sh(
  script: string,
  args: string[],
): Promise<{ ok: boolean; stdout: string }> {
  try {
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", script, "sh", ...args],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    return { ok: out.success, stdout: new TextDecoder().decode(out.stdout) };
  } catch {
    return { ok: false, stdout: "" };
  }
}

/** Finds the directories of this process's memory cgroups (v2 first, then v1). */
async function findCgroups(): Promise<CgroupBase[]> {
  const out = await sh(
    "cat /proc/self/cgroup; echo '%%'; cat /proc/self/mountinfo",
    [],
  );
  const [cgroups = "", mountinfo = ""] = out.stdout.split("%%\n");
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
    if (path === undefined || controllers === undefined) continue;
    const v2 = controllers === "";
    if (!v2 && !controllers.split(",").includes("memory")) continue;
    const mount = mounts.find((m) =>
      v2
        ? m.type === "cgroup2"
        : m.type === "cgroup" && m.options.includes("memory")
    );
    if (!mount) continue;
    const relative = mount.root === "/" ? path : path.slice(mount.root.length);
    found.push({ version: v2 ? 2 : 1, dir: join(mount.point, relative) });
  }
  return found.sort((a, b) => b.version - a.version);
}

/**
 * Shell script that creates cgroup "$1" (v"$2") with limit "$3" and, when
 * more arguments follow, moves itself there and execs them.
 */
const CREATE_AND_EXEC = `d=$1 v=$2 l=$3; shift 3
mkdir "$d" || exit 125
if [ "$v" = 2 ]; then
  [ -e "$d/memory.max" ] || echo +memory > "$(dirname "$d")/cgroup.subtree_control"
  echo "$l" > "$d/memory.max" || { rmdir "$d"; exit 125; }
  echo 0 > "$d/memory.swap.max" 2>/dev/null
else
  echo "$l" > "$d/memory.limit_in_bytes" || { rmdir "$d"; exit 125; }
  echo "$l" > "$d/memory.memsw.limit_in_bytes" 2>/dev/null
fi
[ $# -eq 0 ] && exit 0
echo $$ > "$d/cgroup.procs" || { rmdir "$d"; exit 125; }
exec "$@"`;

/**
 * Shell script that prints the OOM-kill count of cgroup "$1", kills what is
 * left in it (processes a kernel started in their own session) and removes
 * it once empty.
 */
const REPORT_AND_REMOVE = `d=$1
cat "$d/memory.events" "$d/memory.oom_control" 2>/dev/null | grep '^oom_kill '
for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
i=0
while [ -d "$d" ] && ! rmdir "$d" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done
true`;

/** One kernel's cgroup path under a base. */
function kernelCgroup(base: CgroupBase): string {
  return join(base.dir, `coder-kernel-${crypto.randomUUID()}`);
}

/** Prints the OOM kills of a cgroup and removes it. */
async function reportAndRemove(dir: string): Promise<number> {
  const out = await sh(REPORT_AND_REMOVE, [dir]);
  return Number(/^oom_kill (\d+)$/m.exec(out.stdout)?.[1] ?? 0);
}

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
  const signal = signalOfExitCode(status.code);
  if (signal !== null) return { code: null, signal };
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
  readonly #renderHint: HintRenderer;
  #base: Promise<CgroupBase | null> | null = null;

  /**
   * @param limit The cap in bytes.
   * @param renderHint Words the hint of a failed preflight (default {@linkcode describeHint}).
   */
  constructor(limit: number, renderHint: HintRenderer = describeHint) {
    this.limit = limit;
    this.#renderHint = renderHint;
  }

  /** The cgroup hierarchy to use, found once (null: none is writable). */
  #findBase(): Promise<CgroupBase | null> {
    this.#base ??= (async () => {
      for (const base of await findCgroups()) {
        const dir = kernelCgroup(base);
        const made = await sh(CREATE_AND_EXEC, [
          dir,
          String(base.version),
          String(this.limit),
        ]);
        if (made.ok) {
          await reportAndRemove(dir);
          return base;
        }
      }
      return null;
    })();
    return this.#base;
  }

  /**
   * Whether this process can create memory cgroups.
   *
   * @returns True when a cgroup hierarchy accepted a test cgroup.
   */
  async available(): Promise<boolean> {
    return (await this.#findBase()) !== null;
  }

  /**
   * Checks that a memory cgroup can be created.
   *
   * @throws {KernelStartError} Naming how to get one.
   */
  async preflight(): Promise<void> {
    if (await this.available()) return;
    const hint: ErrorHint = {
      option: "memoryLimit",
      advice: "set",
      value: null,
    };
    throw new KernelStartError(
      `Cannot enforce the memory limit of ${
        formatMemorySize(this.limit)
      }: this process cannot create a memory cgroup (cgroup v2 memory.max or v1 memory.limit_in_bytes). ` +
        "Run as root or in a delegated cgroup v2 subtree (e.g. `systemd-run --user --scope -p Delegate=yes`), " +
        `or ${this.#renderHint(hint)}`,
      { tried: ["cgroup v2", "cgroup v1"] },
      { hints: [hint] },
    );
  }

  /**
   * Wraps one kernel's command line: a shell creates the kernel's cgroup,
   * moves itself into it and execs the command.
   *
   * @param command The command line.
   * @returns The wrapped command and how to classify its exit.
   */
  async wrap(command: KernelCommand): Promise<WrappedKernelCommand> {
    await this.preflight();
    const base = (await this.#findBase())!;
    const dir = kernelCgroup(base);
    const limit = this.limit;
    let done: Promise<KernelExit> | null = null;
    return {
      ...command,
      command: "/bin/sh",
      args: [
        "-c",
        CREATE_AND_EXEC,
        "sh",
        dir,
        String(base.version),
        String(limit),
        command.command,
        ...command.args,
      ],
      finish(status) {
        done ??= (async () => {
          const exit = exitFromStatus(status);
          const kills = await reportAndRemove(dir);
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
 * @param renderHint Words the hint of a failed preflight (default {@linkcode describeHint}).
 * @returns The spawn wrapper.
 */
export function createMemoryLimiter(
  limit: number,
  renderHint?: HintRenderer,
): MemoryLimiter {
  return new MemoryLimiter(limit, renderHint);
}
