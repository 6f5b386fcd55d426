/**
 * Sandboxed kernels (SPEC §7.1): ipykernel under bubblewrap with no network,
 * a read-only file system except the working directory, hidden home, /root,
 * /run, /tmp and /var/tmp, own pid/ipc/uts namespaces, no capabilities and
 * no nested user namespaces. ZeroMQ runs over `ipc` socket files in the
 * kernel's private runtime directory, bound into the sandbox.
 *
 * The facts behind each flag are in notes/sandbox.md: without
 * `--unshare-user --cap-drop ALL --disable-userns` a root server's kernel
 * keeps capabilities and can `umount` the tmpfs hiding a directory;
 * `--unshare-net` does not cut unix sockets on the file system, so /run,
 * /tmp and /var/tmp are hidden; a SIGINT to bwrap's group kills the sandbox,
 * so interrupts go over the control channel and `setsid` makes the kernel a
 * group leader (ipykernel then interrupts its own subprocesses too);
 * `JPY_PARENT_PID` would read as "parent died" in a pid namespace, so
 * `--die-with-parent` replaces it.
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import type {
  KernelBackend,
  KernelCapabilities,
  KernelHandle,
  KernelStartRequest,
} from "./backend.ts";
import type { SocketFactory } from "./connection.ts";
import { KernelStartError } from "./errors.ts";
import { startKernel } from "./kernel.ts";
import { LOCAL_PROCESS_CAPABILITIES } from "./provisioner.ts";
import { type AllowedHost, parseAllowHosts } from "./allow_hosts.ts";
import { builtEnvironment, runSandboxedInstall } from "./install_sandbox.ts";
import {
  type CommandResult,
  defaultCacheDir,
  type InstallStep,
  KERNEL_LAUNCH_ARGS,
  type KernelCommand,
  type LaunchOptions,
  type LaunchPlan,
  PACKAGE_INSTALL_TIMEOUT_MS,
  resolvePython,
  runCommand,
  type SpawnWrapper,
  tailLines,
  which,
  type WrappedKernelCommand,
} from "./launcher.ts";
import {
  exitFromStatus,
  formatMemorySize,
  MemoryLimiter,
} from "./memory_limit.ts";
import { type MemoryWatch, tmpfsSizes, watchMemory } from "./memory_watch.ts";
import { seccompFilter } from "./seccomp.ts";
import {
  pathInside,
  payloadBytes,
  type WorkspaceFiles,
  WorkspaceWriteError,
} from "./workspace.ts";
import { makeSocketDir, openSandboxNetwork, withRelay } from "./sandbox_net.ts";
import { connect as zmtpConnect } from "../zmtp/mod.ts";

/**
 * Connects the kernel's ipc sockets, polling for the socket files every
 * 5-25 ms (the default backoff grows to 200 ms). A missing socket file costs
 * one failed syscall, and the kernel is ready as soon as it binds.
 */
const connectIpc: SocketFactory = (type, endpoint, options = {}) =>
  zmtpConnect(type, endpoint, {
    retryDelayMs: 5,
    maxRetryDelayMs: 25,
    ...options,
  });

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

const PATHS_PROBE = "import json, os, sys\n" +
  "print(json.dumps([sys.executable, os.path.realpath(sys.executable), " +
  "sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))";

/**
 * Starts the command given after the filter's path with the seccomp filter
 * open on fd 3, as bwrap's `--seccomp 3` reads it (Deno passes no extra file
 * descriptors to a child). `exec` keeps the pid and process group.
 */
const WITH_FILTER_FD = 'f=$1; shift; exec "$@" 3<"$f"';

/**
 * Writes stdin to "$1" (relative to the working directory) from inside a
 * sandbox with the kernel's view: parents created, a fresh temporary file
 * (mktemp: never a planted link or FIFO), then renamed over the target
 * (`mv -T`: a link or file there is replaced, a directory refused).
 */
const WRITER = `set -eu
p=$1
d=$(dirname -- "$p")
mkdir -p -- "$d"
t=$(mktemp -- "$d/.coder-write.XXXXXXXX")
if cat > "$t" && mv -fT -- "$t" "$p"; then exit 0; fi
rm -f -- "$t"
exit 1`;

/** Deadline of one sandboxed workspace write. */
export const WORKSPACE_WRITE_TIMEOUT_MS = 30_000;

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

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The directories of a list not inside another one of it. */
function outermost(dirs: readonly string[]): string[] {
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
 * import { sandboxArgs } from "./sandbox.ts";
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
  /** Opens the ZeroMQ channel sockets (default: our ZMTP transport). */
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
function sandboxEnv(env: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (ENV_KEPT.has(key) || key.startsWith("LC_")) kept[key] = value;
  }
  kept.TMPDIR = "/tmp";
  return kept;
}

/** The spawn wrapper that puts one backend's kernels under bwrap. */
class SandboxWrapper implements SpawnWrapper {
  readonly backend = "sandbox" as const;
  readonly transport = "ipc" as const;
  readonly parentPid = false;
  readonly interrupt = "message" as const;
  readonly #bwrap: string;
  readonly #setsid: string;
  readonly #options: SandboxBackendOptions;
  readonly #memory: MemoryLimiter | number | null;
  readonly #binds = new Map<string, Promise<string[]>>();
  readonly #filter = seccompFilter();
  readonly #allow: readonly AllowedHost[];
  /** uv caches whose environments kernels run from (bound read-only). */
  readonly #uvCaches = new Set<string>();

  /**
   * `memory`: a cgroup limiter, a host-side watch's limit in bytes, or null;
   * `allow`: the hosts kernels may reach through the proxy.
   */
  constructor(
    bwrap: string,
    setsid: string,
    options: SandboxBackendOptions,
    memory: MemoryLimiter | number | null,
    allow: readonly AllowedHost[],
  ) {
    this.#bwrap = bwrap;
    this.#setsid = setsid;
    this.#options = options;
    this.#memory = memory;
    this.#allow = allow;
  }

  /**
   * uv needs the network to install: run it first in an install sandbox
   * (SPEC §12: only the package index hosts, its cache writable, no
   * secrets), then start its interpreter in the kernel's sandbox.
   */
  async prepare(plan: LaunchPlan, options: LaunchOptions): Promise<LaunchPlan> {
    if (!plan.installs) return plan;
    const at = plan.args.length - KERNEL_LAUNCH_ARGS.length;
    if (at < 0 || plan.args[at + 1] !== KERNEL_LAUNCH_ARGS[1]) return plan;
    const env = this.#options.env;
    const cache = resolve(
      env.UV_CACHE_DIR ||
        join(env.XDG_CACHE_HOME || join(env.HOME || "/tmp", ".cache"), "uv"),
    );
    await Deno.mkdir(cache, { recursive: true });
    const pythons = resolve(
      env.UV_PYTHON_INSTALL_DIR ||
        join(
          env.XDG_DATA_HOME || join(env.HOME || "/tmp", ".local", "share"),
          "uv",
          "python",
        ),
    );
    const base = await resolvePython(options).catch(() => undefined);
    const out = await this.install({
      command: plan.command,
      args: [
        ...plan.args.slice(0, at),
        "-c",
        "import sys; print(sys.executable)",
      ],
      ...(base ? { python: base } : {}),
      writable: [cache],
      readOnly: [
        dirname(plan.command),
        ...(await Deno.stat(pythons).then(() => [pythons], () => [])),
      ],
      env: { UV_CACHE_DIR: cache },
      timeoutMs: PACKAGE_INSTALL_TIMEOUT_MS,
    });
    const python = out.stdout.trim().split("\n").at(-1) ?? "";
    if (!out.ok || !isAbsolute(python)) {
      const output = out.stdout + out.stderr;
      throw new KernelStartError(
        `Cannot install the packages before starting the sandbox (${plan.description}): ${
          tailLines(output, 4)
        }`,
        { tried: [plan.description], stderrTail: tailLines(output) },
      );
    }
    this.#uvCaches.add(cache);
    return {
      command: python,
      args: [...KERNEL_LAUNCH_ARGS],
      description: `${plan.description} (installed before the sandbox)`,
      installs: false,
    };
  }

  /**
   * Runs an installer step in a sandbox of its own (SPEC §12; see
   * `install_sandbox.ts`).
   */
  install(step: InstallStep): Promise<CommandResult> {
    const home = this.#options.env.HOME;
    const tmpSize = this.#options.tmpSize;
    return runSandboxedInstall(step, {
      bwrap: this.#bwrap,
      env: this.#options.env,
      hidden: hiddenDirs(home),
      isolation: (binds) =>
        sandboxArgs({
          ...(home ? { home } : {}),
          ...binds,
          chdir: "/tmp",
          ...(tmpSize ? { tmpSize } : {}),
        }),
      interpreterDirs: (python: string) => this.#readOnlyDirs(python),
      ...(this.#options.logger ? { logger: this.#options.logger } : {}),
    });
  }

  /** Directories of an interpreter that the sandbox would hide: bound read-only. */
  #readOnlyDirs(python: string): Promise<string[]> {
    let found = this.#binds.get(python);
    if (!found) {
      found = this.#probeDirs(python);
      this.#binds.set(python, found);
      found.catch(() => this.#binds.delete(python));
    }
    return found;
  }

  /**
   * The directories to bind for an interpreter. An environment built for
   * packages (a managed venv or uv environment) is never run on the host
   * (its .pth files are package code, SPEC §12): its root (or the whole uv
   * cache it lives in) is bound, and its base interpreter is probed instead.
   */
  async #probeDirs(python: string): Promise<string[]> {
    const hidden = hiddenDirs(this.#options.env.HOME);
    const built = await builtEnvironment(python);
    const venvs = join(
      this.#options.cacheDir ?? defaultCacheDir(this.#options.env),
      "venvs",
    );
    const cache = built &&
      [...this.#uvCaches].find((dir) => within(built.root, dir));
    // An interpreter the user chose (CODER_PYTHON) is probed as before.
    if (built && (cache || within(built.root, venvs))) {
      const dirs = [
        ...(await this.#readOnlyDirs(built.base)),
        cache ?? built.root,
      ].filter((dir) => hidden.some((h) => within(dir, h)));
      return outermost(dirs);
    }
    const out = await runCommand(
      python,
      ["-c", PATHS_PROBE],
      this.#options.env,
      30_000,
    );
    if (!out.ok) {
      throw new KernelStartError(
        `Cannot inspect the interpreter ${python} for the sandbox: ${
          tailLines(out.stderr, 2)
        }`,
        { tried: [python], stderrTail: tailLines(out.stderr) },
      );
    }
    const paths: string[] = [python];
    try {
      paths.push(...JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "[]"));
    } catch {
      // only the interpreter itself
    }
    const candidates = new Set<string>();
    for (const path of paths) {
      if (typeof path !== "string" || !isAbsolute(path)) continue;
      const real = await Deno.realPath(path).catch(() => null);
      if (real === null) continue;
      for (const p of [resolve(path), real]) {
        if (!hidden.some((dir) => within(p, dir))) continue;
        const stat = await Deno.stat(p).catch(() => null);
        if (stat === null) continue;
        candidates.add(stat.isDirectory ? p : resolve(p, ".."));
      }
    }
    return outermost([...candidates]);
  }

  /**
   * Finishes a kernel's command line with `then` (the memory limit), and
   * with an allow list first adds a proxy for this kernel on a socket in a
   * private directory bound read-only into the sandbox, the relay in front
   * of the kernel's command and the proxy variables in its environment. The
   * proxy stops and its directory goes when the kernel ends (the outermost
   * `finish`), or at once when `then` fails.
   */
  async #withNetwork(
    command: WrappedKernelCommand,
    python: string,
    then: (command: WrappedKernelCommand) => Promise<WrappedKernelCommand>,
  ): Promise<WrappedKernelCommand> {
    if (this.#allow.length === 0) return await then(command);
    const logger = this.#options.logger;
    const dir = await makeSocketDir();
    const net = openSandboxNetwork({
      allow: this.#allow,
      dir,
      python,
      onRefused: (target) =>
        logger?.info(`Sandbox network: refused a connection to ${target}`),
    });
    const close = async () => {
      await net.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    let inner: WrappedKernelCommand;
    try {
      inner = await then({
        ...command,
        ...withRelay(command.args, command.env, net),
      });
    } catch (error) {
      await close();
      throw error;
    }
    const finish = inner.finish;
    return {
      ...inner,
      finish: async (status) => {
        try {
          return finish ? await finish(status) : exitFromStatus(status);
        } finally {
          await close();
        }
      },
    };
  }

  /**
   * Writes a file of a working directory from inside a sandbox that sees
   * what the kernel sees: wherever a planted link points, the write lands
   * only where the kernel could write itself.
   */
  async writeFile(
    cwd: string,
    path: string,
    data: string | Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    const home = this.#options.env.HOME;
    const deadline = AbortSignal.timeout(WORKSPACE_WRITE_TIMEOUT_MS);
    const child = new Deno.Command(this.#bwrap, {
      args: [
        ...sandboxArgs({
          ...(home ? { home } : {}),
          readWrite: [cwd],
          chdir: cwd,
        }),
        "--",
        "/bin/sh",
        "-c",
        WRITER,
        "sh",
        path,
      ],
      env: { PATH: "/usr/bin:/bin" },
      clearEnv: true,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
      signal: signal ? AbortSignal.any([deadline, signal]) : deadline,
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const writer = child.stdin.getWriter();
    try {
      await writer.write(payloadBytes(data));
      await writer.close();
    } catch {
      // The writer ended early; its status and stderr say why.
    }
    const [status, text] = await Promise.all([child.status, stderr]);
    if (status.success) return;
    const why = deadline.aborted
      ? `it did not finish within ${WORKSPACE_WRITE_TIMEOUT_MS / 1000} s`
      : tailLines(text, 2) || `exit code ${status.code}`;
    throw new WorkspaceWriteError(
      `Cannot write ${
        join(cwd, path)
      } (written from inside the sandbox): ${why}`,
    );
  }

  async wrap(command: KernelCommand): Promise<WrappedKernelCommand> {
    const readOnly = await this.#readOnlyDirs(command.command);
    const limit = this.#memory instanceof MemoryLimiter
      ? this.#memory.limit
      : this.#memory;
    const watched = typeof this.#memory === "number" ? this.#memory : null;
    const sizes = tmpfsSizes(limit);
    // The filter is read by bwrap at start; the runtime dir is private.
    const filter = join(command.runtimeDir, "seccomp.bpf");
    await Deno.writeFile(filter, this.#filter, { mode: 0o600 });
    let watch: MemoryWatch | null = null;
    const sandboxed: WrappedKernelCommand = {
      ...command,
      command: "/bin/sh",
      args: [
        "-c",
        WITH_FILTER_FD,
        "sh",
        filter,
        this.#bwrap,
        ...sandboxArgs({
          ...(this.#options.env.HOME ? { home: this.#options.env.HOME } : {}),
          readOnly,
          readWrite: [command.cwd, command.runtimeDir],
          chdir: command.cwd,
          tmpSize: this.#options.tmpSize ?? sizes.tmp,
          shmSize: sizes.shm,
          seccompFd: 3,
        }),
        "--",
        this.#setsid,
        command.command,
        ...command.args,
      ],
      env: sandboxEnv(command.env),
      ...(watched === null ? {} : {
        started: (pid: number) => {
          watch = watchMemory(pid, watched);
        },
      }),
      finish: async (status) => {
        const exit = exitFromStatus(status);
        const current = watch as MemoryWatch | null;
        if (current === null) return exit;
        current.stop();
        return await current.exceeded && watched !== null
          ? {
            ...exit,
            reason: "memory_limit",
            detail: formatMemorySize(watched),
          }
          : exit;
      },
    };
    const memory = this.#memory;
    return await this.#withNetwork(
      sandboxed,
      command.command,
      async (c) => memory instanceof MemoryLimiter ? await memory.wrap(c) : c,
    );
  }
}

/**
 * Starts ipykernel processes under bubblewrap. Checks once (preflight) that
 * bwrap exists and can build the sandbox; a failed check is repeated at the
 * next start and never falls back to an unsandboxed kernel.
 */
export class SandboxBackend implements KernelBackend {
  /** Always `sandbox`. */
  readonly kind = "sandbox" as const;
  /** Kernels are process groups on this machine. */
  readonly capabilities: KernelCapabilities = LOCAL_PROCESS_CAPABILITIES;
  /** Sandboxed kernels run on this machine. */
  readonly location: null = null;
  readonly #options: SandboxBackendOptions;
  readonly #memory: MemoryLimiter | null;
  readonly #allow: readonly AllowedHost[];
  #ready: Promise<SandboxWrapper> | null = null;
  #python: Promise<string> | null = null;

  /**
   * Writes into a kernel's working tree from inside a sandbox with the
   * kernel's view (SPEC §12): the host never follows a link a kernel planted.
   */
  readonly workspace: WorkspaceFiles = {
    confined: true,
    writeFile: async (cwd, path, data, options = {}) => {
      const { absolute, relative } = pathInside(cwd, path);
      const wrapper = await this.#wrapper();
      await wrapper.writeFile(resolve(cwd), relative, data, options.signal);
      return absolute;
    },
  };

  /**
   * Creates the backend (bwrap is checked by `preflight`).
   *
   * @param options Launch options, memory limit, allowed hosts.
   * @throws {RangeError} A malformed `allowHosts` entry, named.
   */
  constructor(options: SandboxBackendOptions) {
    this.#options = options;
    this.#allow = parseAllowHosts(options.allowHosts ?? []);
    this.#memory = options.memoryLimit === null
      ? null
      : new MemoryLimiter(options.memoryLimit);
  }

  /** The memory cap per kernel in bytes, or null. */
  get memoryLimit(): number | null {
    return this.#options.memoryLimit;
  }

  /**
   * Checks that the sandbox can work: Linux, bwrap on PATH and able to
   * create the namespaces, setsid present, a memory cgroup when a limit is
   * set.
   *
   * @throws {KernelStartError} One clear message naming what to install or enable.
   */
  async preflight(): Promise<void> {
    await this.#wrapper();
  }

  #wrapper(): Promise<SandboxWrapper> {
    this.#ready ??= this.#check();
    return this.#ready.catch((error) => {
      this.#ready = null;
      throw error;
    });
  }

  async #check(): Promise<SandboxWrapper> {
    const os = this.#options.os ?? Deno.build.os;
    if (os !== "linux") {
      throw new KernelStartError(
        `--sandbox is not available on ${
          os === "darwin" ? "macOS" : os === "windows" ? "Windows" : os
        }: the sandbox uses bubblewrap, which runs on Linux only. Run without --sandbox${
          os === "windows" ? " (or run coder inside WSL)" : ""
        }, or in a Linux VM or container`,
      );
    }
    const env = this.#options.env;
    const bwrap = await which("bwrap", env);
    if (!bwrap) {
      throw new KernelStartError(
        "--sandbox needs bubblewrap (bwrap), which is not on PATH. Install it " +
          "(Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; " +
          "Arch: pacman -S bubblewrap) or run without --sandbox",
        { tried: ["bwrap"] },
      );
    }
    const setsid = await which("setsid", env);
    if (!setsid) {
      throw new KernelStartError(
        "--sandbox needs setsid (util-linux), which is not on PATH: install util-linux",
        { tried: ["setsid"] },
      );
    }
    const probe = await runCommand(
      bwrap,
      [...sandboxArgs(env.HOME ? { home: env.HOME } : {}), "--", "true"],
      { PATH: env.PATH ?? "/usr/bin:/bin" },
      20_000,
    );
    if (!probe.ok) {
      throw new KernelStartError(
        `bubblewrap (${bwrap}) cannot create the sandbox: ${
          tailLines(probe.stderr, 2) || "it failed"
        }. It needs unprivileged user namespaces: enable them ` +
          "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also " +
          "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), " +
          "run the container with user namespaces allowed, or run without --sandbox",
        { tried: [bwrap], stderrTail: tailLines(probe.stderr) },
      );
    }
    let memory: MemoryLimiter | number | null = this.#memory;
    if (
      memory &&
      (this.#options.memoryEnforcement === "watchdog" ||
        !(await memory.available()))
    ) {
      this.#options.logger?.warn(
        `No memory cgroup can be created here: the server enforces the memory limit of ${
          formatMemorySize(memory.limit)
        } by polling the sandbox's processes' resident memory every 0.2 s, from outside the sandbox`,
      );
      memory = memory.limit;
    }
    return new SandboxWrapper(
      bwrap,
      setsid,
      this.#options,
      memory,
      this.#allow,
    );
  }

  #resolvePython(): Promise<string> {
    this.#python ??= resolvePython(this.#options);
    return this.#python.catch((error) => {
      this.#python = null;
      throw error;
    });
  }

  /**
   * Starts one sandboxed kernel.
   *
   * @param request Working directory, packages, abort signal.
   * @returns The ready kernel.
   * @throws {KernelStartError} Preflight failed, or the working directory is the hidden home.
   */
  async start(request: KernelStartRequest): Promise<KernelHandle> {
    const wrapper = await this.#wrapper();
    const cwd = resolve(request.cwd);
    const home = this.#options.env.HOME;
    if (cwd === "/" || (home && within(resolve(home), cwd))) {
      throw new KernelStartError(
        `Cannot start a sandboxed kernel in ${cwd}: the home directory is hidden inside the sandbox, ` +
          "so the working directory must be a folder below it (or elsewhere), such as ~/work",
      );
    }
    const {
      memoryLimit: _m,
      tmpSize: _t,
      os: _o,
      memoryEnforcement: _e,
      allowHosts: _h,
      ...launch
    } = this.#options;
    // Without packages: the interpreter found (or checked) once per
    // backend, started without probing it again (~13 ms a start).
    const checked = request.packages.length === 0
      ? await this.#resolvePython().catch(() => undefined)
      : undefined;
    return await startKernel({
      ...launch,
      connect: launch.connect ?? connectIpc,
      ...(checked ? { python: checked, pythonChecked: true } : {}),
      wrapper,
      cwd,
      packages: request.packages,
      ...(request.signal ? { signal: request.signal } : {}),
    });
  }
}

/**
 * Creates the sandbox backend.
 *
 * @param options Launch options and the memory limit.
 * @returns The backend.
 * @example
 * ```ts
 * import { createSandboxBackend } from "./sandbox.ts";
 * const backend = createSandboxBackend({ env: Deno.env.toObject(), memoryLimit: 4 * 2 ** 30 });
 * await backend.preflight();
 * ```
 */
export function createSandboxBackend(
  options: SandboxBackendOptions,
): SandboxBackend {
  return new SandboxBackend(options);
}
