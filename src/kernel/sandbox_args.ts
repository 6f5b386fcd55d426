/**
 * The bwrap command line and environment of a sandboxed kernel (SPEC §7.1),
 * and the sandbox backend's options. Why each flag is there: `sandbox.ts`
 * and notes/sandbox.md.
 *
 * @module
 */

import { isAbsolute, resolve, sep } from "node:path";
import type { SocketFactory } from "./connection.ts";
import type { LaunchOptions } from "./launcher.ts";
import { tmpfsSizes } from "./memory_watch.ts";

/** Size cap of the sandbox's private /tmp and /var/tmp (1 GiB each). */
export const SANDBOX_TMP_SIZE = 2 ** 30;

/** Environment variables passed into the sandbox; every other one is dropped. */
const ENV_KEPT = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TERM",
  "MPLBACKEND",
  "PYDEVD_DISABLE_FILE_VALIDATION",
  "PYTHONUNBUFFERED",
  "PYTHONIOENCODING",
  "OMP_NUM_THREADS",
  "OPENBLAS_NUM_THREADS",
  "MKL_NUM_THREADS",
]);

/** What the bwrap command line is built from. */
export interface SandboxArgsOptions {
  /** Home directory to hide (the server's HOME). */
  home?: string;
  /** Directories bound read-only over the hidden ones (interpreter, venv). */
  readOnly?: readonly string[];
  /** Directories bound read-write (working dir, runtime dir). */
  readWrite?: readonly string[];
  /** Directory the command starts in. */
  chdir?: string;
  /** Size cap of /tmp and /var/tmp in bytes (default 1 GiB). */
  tmpSize?: number;
  /** Size cap of the private /dev/shm in bytes (default 256 MiB). */
  shmSize?: number;
  /** File descriptor holding a seccomp filter for `--seccomp` (none by default). */
  seccompFd?: number;
}

/**
 * The directories a sandbox hides: /tmp, /var/tmp, /run, /home, /root and
 * the home directory.
 *
 * @param home The home directory, if any.
 * @returns Absolute paths.
 */
export function hiddenDirs(home?: string): string[] {
  const dirs = ["/tmp", "/var/tmp", "/run", "/home", "/root"];
  if (home && isAbsolute(home) && resolve(home) !== "/") {
    dirs.push(resolve(home));
  }
  return dirs;
}

/** Whether `path` is `dir` or inside it. */
export function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The directories of a list not inside another one of it. */
/** The directories of a list that no other entry contains. */
export function outermost(dirs: readonly string[]): string[] {
  const sorted = [...new Set(dirs)].sort((a, b) => a.length - b.length);
  return sorted.filter((dir, i) =>
    !sorted.slice(0, i).some((outer) => within(dir, outer))
  );
}

/**
 * The bwrap arguments (before `--` and the command) that build the sandbox.
 *
 * @param options Home, extra binds, start directory, tmp size.
 * @returns The arguments.
 * @example
 * ```ts
 * import {
  sandboxArgs,
} from "./sandbox.ts";
 * const args = [...sandboxArgs({ home: "/home/me" }), "--", "true"];
 * ```
 */
export function sandboxArgs(options: SandboxArgsOptions = {}): string[] {
  const size = String(options.tmpSize ?? SANDBOX_TMP_SIZE);
  const shm = String(options.shmSize ?? tmpfsSizes(null).shm);
  const args = [
    "--die-with-parent",
    "--unshare-user",
    "--cap-drop",
    "ALL",
    "--disable-userns",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--unshare-net",
    "--new-session",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--size",
    shm,
    "--tmpfs",
    "/dev/shm",
    "--proc",
    "/proc",
    "--size",
    size,
    "--tmpfs",
    "/tmp",
    "--size",
    size,
    "--tmpfs",
    "/var/tmp",
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/home",
    "--tmpfs",
    "/root",
  ];
  const home = hiddenDirs(options.home)[5];
  if (home) args.push("--tmpfs", home);
  for (const dir of options.readOnly ?? []) args.push("--ro-bind", dir, dir);
  for (const dir of options.readWrite ?? []) args.push("--bind", dir, dir);
  if (options.chdir) args.push("--chdir", options.chdir);
  if (options.seccompFd !== undefined) {
    args.push("--seccomp", String(options.seccompFd));
  }
  return args;
}

/** Options of {@linkcode createSandboxBackend}. */
export interface SandboxBackendOptions extends LaunchOptions {
  /** Memory cap per kernel in bytes, or null for none (SPEC default: 4 GiB). */
  memoryLimit: number | null;
  /** Per-stream output cap per execution (default 64 MB). */
  outputLimit?: number;
  /**
   * Opens the ZeroMQ channel sockets (default: our ZMTP transport).
   *
   * @internal
   */
  connect?: SocketFactory;
  /** Size cap of /tmp and /var/tmp in bytes (default 1 GiB). */
  tmpSize?: number;
  /** Operating system to check for (default `Deno.build.os`; tests set it). */
  os?: typeof Deno.build.os;
  /**
   * How the memory limit is enforced: a cgroup per kernel when this process
   * can create one, else a watchdog inside the sandbox (`auto`, default);
   * `watchdog` forces the fallback (tests).
   */
  memoryEnforcement?: "auto" | "watchdog";
  /**
   * Hosts (`HOST` for ports 80 and 443, or `HOST:PORT`) the kernels may
   * reach over HTTP and HTTPS through a filtering proxy (SPEC §12
   * `--allow-host`); default none: no network at all.
   */
  allowHosts?: readonly string[];
}

/** Environment inside the sandbox: a short allow list, never secrets. */
export function sandboxEnv(
  env: Record<string, string>,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (ENV_KEPT.has(key) || key.startsWith("LC_")) kept[key] = value;
  }
  kept.TMPDIR = "/tmp";
  return kept;
}
