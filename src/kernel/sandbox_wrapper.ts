/**
 * The spawn wrapper that puts one sandbox backend's kernels under bwrap:
 * the binds an interpreter needs, the seccomp filter, the memory limit,
 * the filtering proxy's relay, sandboxed package installs and workspace
 * writes with the kernel's view.
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { describeHint, KernelStartError } from "./errors.ts";
import type { AllowedHost } from "./allow_hosts.ts";
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
  type WrappedKernelCommand,
} from "./launcher.ts";
import {
  exitFromStatus,
  formatMemorySize,
  MemoryLimiter,
} from "./memory_limit.ts";
import { type MemoryWatch, tmpfsSizes, watchMemory } from "./memory_watch.ts";
import { seccompFilter } from "./seccomp.ts";
import { payloadBytes, WorkspaceWriteError } from "./workspace.ts";
import { makeSocketDir, openSandboxNetwork, withRelay } from "./sandbox_net.ts";
import {
  hiddenDirs,
  outermost,
  sandboxArgs,
  type SandboxBackendOptions,
  sandboxEnv,
  within,
} from "./sandbox_args.ts";

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

/** The spawn wrapper that puts one backend's kernels under bwrap. */
export class SandboxWrapper implements SpawnWrapper {
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
      hint: (host) =>
        (this.#options.renderHint ?? describeHint)({
          option: "allowHosts",
          advice: "add",
          value: host,
        }),
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
