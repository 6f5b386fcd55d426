/**
 * Finds a Python interpreter with ipykernel, prepares package environments
 * (uv or a managed venv) and spawns kernel processes in their own process
 * group with a private connection file.
 *
 * @module
 */

import { delimiter, dirname, join } from "node:path";
import { KernelStartError } from "./errors.ts";
import type { KernelExit, Logger } from "./messages.ts";
import type { BackendKind } from "./backend.ts";
import { SILENT_LOGGER } from "./messages.ts";
import type { ConnectionInfo } from "./connection.ts";
import LAUNCH_SOURCE from "./_launch.py" with { type: "text" };
import { installEnv } from "./install_env.ts";

/** How interpreters are found and kernels launched. Reads no process env: pass `env`. */
export interface LaunchOptions {
  /** Base environment for child processes (PATH, HOME, PIP_*, UV_*...). */
  env: Record<string, string>;
  /** Explicit interpreter (the CLI fills it from CODER_PYTHON). */
  python?: string;
  /** Managed venvs live under it (default: XDG_CACHE_HOME or HOME/.cache, + agentic-python-coder). */
  cacheDir?: string;
  /** Kernel start-up deadline in ms (default 30 000; 15 minutes when uv installs packages at start). */
  startupTimeoutMs?: number;
  /** Where launch details are logged. */
  logger?: Logger;
  /** Changes how kernel processes are spawned (sandbox, memory limit). */
  wrapper?: SpawnWrapper;
  /**
   * `python` was already found to have ipykernel (by
   * {@linkcode resolvePythonCached}): start it without probing it again.
   */
  pythonChecked?: boolean;
  /** Called with the pid as soon as a kernel process is spawned (before it is ready). */
  onSpawn?: (pid: number) => void;
}

// ---- Spawn hooks (sandbox, memory limit): see sandbox.ts, memory_limit.ts ----

/** A kernel command line about to be spawned. */
export interface KernelCommand {
  /** Program to spawn. */
  command: string;
  /** Its arguments (ending with `-f CONNECTION_FILE`). */
  args: string[];
  /** Complete child environment. */
  env: Record<string, string>;
  /** Kernel working directory. */
  cwd: string;
  /** Private runtime directory (connection file, ipc sockets). */
  runtimeDir: string;
}

/** A rewritten kernel command line, with how to read its exit. */
export interface WrappedKernelCommand extends KernelCommand {
  /**
   * Turns the process's exit status into the kernel's exit (signal names,
   * memory-limit kills) and releases what the wrapper created. Called once.
   */
  finish?(status: { code: number; signal: string | null }): Promise<KernelExit>;
  /** Called once with the spawned process's pid (e.g. to watch its memory). */
  started?(pid: number): void;
}

/** Changes how kernels are spawned; one object serves many kernels. */
export interface SpawnWrapper {
  /** Backend kind the kernels report (default `local`). */
  readonly backend?: BackendKind;
  /**
   * ZeroMQ transport: `ipc` puts socket files in the runtime dir, `tcp`
   * picks loopback ports (default: `ipc` on Linux, see
   * {@linkcode defaultTransport}).
   */
  readonly transport?: "tcp" | "ipc";
  /** Whether to set JPY_PARENT_PID (default true). */
  readonly parentPid?: boolean;
  /** `signal`: SIGINT to the group (default); `message`: interrupt_request on control. */
  readonly interrupt?: "signal" | "message";
  /** Adjusts the launch plan before spawning (e.g. installs packages first). */
  prepare?(plan: LaunchPlan, options: LaunchOptions): Promise<LaunchPlan>;
  /** Rewrites one kernel's command line. */
  wrap(command: KernelCommand): Promise<WrappedKernelCommand>;
  /**
   * Runs one package-installer step (SPEC §12), e.g. in a sandbox of its
   * own; without it the step runs on the host with {@linkcode installEnv}'s
   * reduced environment.
   */
  install?(step: InstallStep): Promise<CommandResult>;
}

/** What {@linkcode runCommand} reports. */
export interface CommandResult {
  /** Exit status 0. */
  ok: boolean;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

/** One run of a package installer (`python -m venv`, `pip install`, `uv run --with`). */
export interface InstallStep {
  /** Program (the same path inside a sandbox). */
  command: string;
  /** Its arguments. */
  args: string[];
  /**
   * The host interpreter the environment is built from, if any: its
   * directories are made visible to the step, and it runs a sandbox's
   * network relay.
   */
  python?: string;
  /** Directories the step may write (the environment being built, a cache). */
  writable: string[];
  /** Directories the step reads besides the interpreter's (uv itself, its Pythons). */
  readOnly?: string[];
  /** Variables added to the reduced environment. */
  env?: Record<string, string>;
  /** Deadline in ms. */
  timeoutMs: number;
  /** Aborts the step. */
  signal?: AbortSignal;
}

/**
 * Runs an installer step through the wrapper's `install` hook, or on the
 * host with the reduced environment of {@linkcode installEnv} (never the
 * server's secrets).
 *
 * @param step The step.
 * @param options Launch options (env, wrapper).
 * @returns Its exit status and output.
 */
export function runInstallStep(
  step: InstallStep,
  options: LaunchOptions,
): Promise<CommandResult> {
  if (options.wrapper?.install) return options.wrapper.install(step);
  return runCommand(
    step.command,
    step.args,
    { ...installEnv(options.env), ...step.env },
    step.timeoutMs,
    step.signal,
  );
}

/** A resolved way to start a kernel. */
export interface LaunchPlan {
  /** Program to spawn. */
  command: string;
  /** Arguments before `-f CONNECTION_FILE`. */
  args: string[];
  /** Human-readable description for errors and logs. */
  description: string;
  /** True when starting the kernel also installs packages (uv). */
  installs: boolean;
}

/**
 * Interpreter arguments that start ipykernel, before `-f CONNECTION_FILE`:
 * `-m ipykernel_launcher` after importing ipykernel without debugpy and jedi
 * (see `_launch.py`), which takes about a third off each kernel's start.
 */
export const KERNEL_LAUNCH_ARGS: readonly string[] = ["-c", LAUNCH_SOURCE];

// find_spec locates ipykernel without importing it (an import costs ~0.3 s).
const PROBE = "import importlib.util as u, sys\n" +
  "if u.find_spec('ipykernel') is None: sys.exit('No module named ipykernel')\n" +
  "print(sys.executable)";
const IS_WINDOWS = Deno.build.os === "windows";
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/** Searches PATH in `env` for a program. */
export async function which(
  program: string,
  env: Record<string, string>,
): Promise<string | undefined> {
  const dirs = (env.PATH ?? env.Path ?? "").split(delimiter).filter(Boolean);
  const names = IS_WINDOWS ? [`${program}.exe`, program] : [program];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        const stat = await Deno.stat(candidate);
        if (stat.isFile && (IS_WINDOWS || ((stat.mode ?? 0o111) & 0o111))) {
          return candidate;
        }
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * Runs a short command with a clean environment, returning its exit status
 * and output; a command that cannot be started is reported as failed
 * ("not found", "not executable"), never thrown.
 *
 * @param command Program.
 * @param args Its arguments.
 * @param env Its whole environment.
 * @param timeoutMs Deadline; the process is killed past it.
 * @param signal Aborts it early.
 * @returns Success, stdout and stderr.
 */
export async function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CommandResult> {
  try {
    const out = await new Deno.Command(command, {
      args,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: signal
        ? AbortSignal.any([AbortSignal.timeout(timeoutMs), signal])
        : AbortSignal.timeout(timeoutMs),
    }).output();
    const decoder = new TextDecoder();
    return {
      ok: out.success,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "not found"
      : error instanceof Deno.errors.PermissionDenied
      ? "not executable"
      : String(error);
    return { ok: false, stdout: "", stderr: why };
  }
}

/** Returns the last `n` non-empty lines of a text. */
export function tailLines(text: string, n = 8): string {
  return text.trimEnd().split("\n").filter((l) => l.trim() !== "").slice(-n)
    .join("\n");
}

/** Asks a candidate interpreter whether it can import ipykernel. */
async function probe(
  python: string,
  env: Record<string, string>,
): Promise<{ ok: true; executable: string } | { ok: false; why: string }> {
  const result = await runCommand(python, ["-c", PROBE], env, 20_000);
  if (result.ok) {
    return { ok: true, executable: result.stdout.trim() || python };
  }
  return { ok: false, why: tailLines(result.stderr, 1) || "failed" };
}

const SYSTEM_PYTHONS = IS_WINDOWS ? [] : [
  "/usr/bin/python3",
  "/usr/local/bin/python3",
  "/opt/homebrew/bin/python3",
  "/usr/bin/python",
];

const INSTALL_HELP =
  "Install ipykernel for your Python (`python3 -m pip install ipykernel`, " +
  "or `apt-get install python3-ipykernel` on Debian/Ubuntu), install uv " +
  "(https://docs.astral.sh/uv/), or point CODER_PYTHON at an interpreter that has ipykernel";

/**
 * Finds an interpreter that can import ipykernel: the explicit one, else
 * `python3`/`python` on PATH, else the usual system locations.
 *
 * @param options Launch options (env, explicit python).
 * @returns The interpreter path.
 * @throws {KernelStartError} Naming everything tried and how to install ipykernel.
 * @example Resolving the interpreter
 * ```ts
 * import { resolvePython } from "./launcher.ts";
 * const python = await resolvePython({ env: { PATH: "/usr/bin" } });
 * ```
 */
export async function resolvePython(options: LaunchOptions): Promise<string> {
  const found = await findPython(options);
  if (found.python) return found.python;
  throw new KernelStartError(
    `Cannot find a Python interpreter with ipykernel. Tried: ${
      found.tried.join("; ")
    }. ${INSTALL_HELP}`,
    { tried: found.tried },
  );
}

/** The interpreters to try, in order, each with its real path (duplicates and missing ones left out). */
async function pythonCandidates(
  options: LaunchOptions,
): Promise<{ path: string; real: string }[]> {
  const candidates: string[] = [];
  for (const name of ["python3", "python"]) {
    const path = await which(name, options.env);
    if (path) candidates.push(path);
  }
  candidates.push(...SYSTEM_PYTHONS);
  const seen = new Set<string>();
  const unique: { path: string; real: string }[] = [];
  for (const path of candidates) {
    const real = await Deno.realPath(path).catch(() => null);
    if (real === null || seen.has(real)) continue; // missing or a duplicate
    seen.add(real);
    unique.push({ path, real });
  }
  return unique;
}

async function findPython(
  options: LaunchOptions,
): Promise<{ python?: string; tried: string[] }> {
  const tried: string[] = [];
  if (options.python) {
    if (options.pythonChecked) return { python: options.python, tried };
    const result = await probe(options.python, options.env);
    if (result.ok) return { python: options.python, tried };
    tried.push(`${options.python} (${result.why})`);
    return { tried };
  }
  const unique = (await pythonCandidates(options)).map((c) => c.path);
  // Probe in parallel (pyenv shims take ~1 s each), keep the first in order.
  const results = await Promise.all(
    unique.map((candidate) => probe(candidate, options.env)),
  );
  for (const [i, result] of results.entries()) {
    if (result.ok) return { python: unique[i]!, tried };
    tried.push(`${unique[i]} (${result.why})`);
  }
  return { tried };
}

/** An interpreter with ipykernel and where the answer came from. */
export interface ResolvedPython {
  /** The interpreter path. */
  python: string;
  /** True when it came from the resolution cache without a probe. */
  cached: boolean;
}

/**
 * The first 16 hex digits of the SHA-256 of a value's JSON: a cache key.
 * Web Crypto, not `node:crypto`, whose loading would delay the first spawn.
 */
async function shortHash(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(value)),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("").slice(0, 16);
}

/** The cache file of one candidate list (explicit interpreter, or PATH's and the system's). */
async function resolutionCacheFile(
  options: LaunchOptions,
): Promise<string> {
  const candidates = options.python
    ? [{
      path: options.python,
      real: await Deno.realPath(options.python).catch(() => options.python),
    }]
    : await pythonCandidates(options);
  const key = await shortHash(candidates);
  return join(
    options.cacheDir ?? defaultCacheDir(options.env),
    "interpreters",
    `${key}.json`,
  );
}

/** Size and mtime of an interpreter's real file: the cache entry's check. */
async function fingerprint(python: string): Promise<string | null> {
  try {
    const real = await Deno.realPath(python);
    const stat = await Deno.stat(real);
    return `${real}:${stat.size}:${stat.mtime?.getTime() ?? 0}`;
  } catch {
    return null;
  }
}

/**
 * Like {@linkcode resolvePython}, but answers from a cache under the cache
 * directory when the same candidates were resolved before and the chosen
 * interpreter's file is unchanged (a few `stat` calls instead of starting
 * Python). A kernel that then fails to start should call
 * {@linkcode forgetResolvedPython} and resolve again.
 *
 * @param options Launch options (env, explicit python, cache dir).
 * @returns The interpreter and whether it came from the cache.
 * @throws {KernelStartError} Naming everything tried and how to install ipykernel.
 * @example Resolving the interpreter quickly on later runs
 * ```ts
 * import { resolvePythonCached } from "./launcher.ts";
 * const { python, cached } = await resolvePythonCached({ env: { PATH: "/usr/bin" } });
 * ```
 */
export async function resolvePythonCached(
  options: LaunchOptions,
): Promise<ResolvedPython> {
  const file = await resolutionCacheFile(options);
  try {
    const entry = JSON.parse(await Deno.readTextFile(file));
    if (
      typeof entry.python === "string" &&
      typeof entry.fingerprint === "string" &&
      await fingerprint(entry.python) === entry.fingerprint
    ) {
      return { python: entry.python, cached: true };
    }
  } catch {
    // no usable entry
  }
  const python = await resolvePython(options);
  const print = await fingerprint(python);
  if (print !== null) {
    let temp: string | null = null;
    try {
      await Deno.mkdir(dirname(file), { recursive: true });
      temp = await Deno.makeTempFile({
        dir: dirname(file),
        prefix: ".resolve-",
      });
      await Deno.writeTextFile(
        temp,
        JSON.stringify({ python, fingerprint: print }),
      );
      await Deno.rename(temp, file);
    } catch {
      // A read-only cache only costs the probe next time.
      if (temp !== null) await Deno.remove(temp).catch(() => {});
    }
  }
  return { python, cached: false };
}

/**
 * Drops the cached resolution for these options (after a kernel started
 * from it failed).
 *
 * @param options The launch options the resolution was made for.
 */
export async function forgetResolvedPython(
  options: LaunchOptions,
): Promise<void> {
  await Deno.remove(await resolutionCacheFile(options)).catch(() => {});
}

function venvPython(dir: string): string {
  return IS_WINDOWS
    ? join(dir, "Scripts", "python.exe")
    : join(dir, "bin", "python");
}

/** The default cache directory for managed venvs. */
export function defaultCacheDir(env: Record<string, string>): string {
  const base = env.XDG_CACHE_HOME || env.LOCALAPPDATA ||
    join(env.HOME || env.USERPROFILE || "/tmp", ".cache");
  return join(base, "agentic-python-coder");
}

/**
 * Returns (creating on first use) a venv with `packages`, built from `python`
 * with system site-packages visible so ipykernel comes along. Keyed by the
 * interpreter and the sorted package set; a second request reuses it.
 * Creation goes to a temporary folder renamed into place, so concurrent
 * creators never see a half-built venv.
 */
async function managedVenv(
  python: string,
  packages: readonly string[],
  options: LaunchOptions & { signal?: AbortSignal },
): Promise<string> {
  const logger = options.logger ?? SILENT_LOGGER;
  const real = await Deno.realPath(python).catch(() => python);
  const key = await shortHash([real, [...packages].sort()]);
  const root = join(options.cacheDir ?? defaultCacheDir(options.env), "venvs");
  const dir = join(root, key);
  const marker = join(dir, ".coder-complete");
  try {
    await Deno.stat(marker);
    logger.debug(`Reusing managed venv ${dir}`);
    return venvPython(dir);
  } catch {
    // build it
  }
  await Deno.mkdir(root, { recursive: true });
  const building = await Deno.makeTempDir({ dir: root, prefix: `.${key}-` });
  try {
    logger.info(`Creating managed venv for ${packages.join(", ")} in ${dir}`);
    const step = {
      python,
      writable: [building],
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const venv = await runInstallStep({
      ...step,
      command: python,
      args: ["-m", "venv", "--system-site-packages", building],
      timeoutMs: 120_000,
    }, options);
    options.signal?.throwIfAborted();
    if (!venv.ok) {
      throw new KernelStartError(
        `Cannot create a virtual environment with ${python}: ${
          tailLines(venv.stdout + venv.stderr, 3)
        }`,
        { tried: [python], stderrTail: tailLines(venv.stdout + venv.stderr) },
      );
    }
    const pip = await runInstallStep({
      ...step,
      command: venvPython(building),
      args: [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        ...packages,
      ],
      timeoutMs: INSTALL_TIMEOUT_MS,
    }, options);
    options.signal?.throwIfAborted();
    if (!pip.ok) {
      const output = pip.stdout + pip.stderr;
      throw new KernelStartError(
        `Cannot install ${packages.join(", ")} with pip: ${
          tailLines(output, 4)
        }`,
        { tried: [python], stderrTail: tailLines(output) },
      );
    }
    await Deno.writeTextFile(join(building, ".coder-complete"), "");
    try {
      await Deno.rename(building, dir);
    } catch {
      // Another process finished first: use theirs.
      await Deno.remove(building, { recursive: true }).catch(() => {});
      await Deno.stat(marker);
    }
    return venvPython(dir);
  } catch (error) {
    await Deno.remove(building, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** `uv run --no-project --with ipykernel --with PKG... python <launch args>`. */
function uvPlan(uv: string, packages: readonly string[]): LaunchPlan {
  const withs = ["ipykernel", ...packages].flatMap((p) => ["--with", p]);
  const shown = packages.length > 0 ? packages : ["ipykernel"];
  return {
    command: uv,
    args: ["run", "--no-project", ...withs, "python", ...KERNEL_LAUNCH_ARGS],
    description: `uv run --with ${shown.join(" --with ")}`,
    installs: true,
  };
}

/**
 * Decides how to start a kernel for a package set (SPEC §1 order): explicit
 * interpreter; with packages, `uv run --with` when uv is on PATH (and no
 * explicit interpreter) else a managed venv; without packages, the first
 * interpreter with ipykernel, then uv.
 *
 * @param packages Validated package specs.
 * @param options Launch options; `signal` aborts a managed-venv build.
 * @returns The plan.
 * @throws {KernelStartError} When nothing can start a kernel.
 */
export async function planLaunch(
  packages: readonly string[],
  options: LaunchOptions & { signal?: AbortSignal },
): Promise<LaunchPlan> {
  const uv = options.python ? undefined : await which("uv", options.env);
  if (packages.length > 0 && uv) return uvPlan(uv, packages);
  const found = await findPython(options);
  if (found.python) {
    const python = packages.length > 0
      ? await managedVenv(found.python, packages, options)
      : found.python;
    return {
      command: python,
      args: [...KERNEL_LAUNCH_ARGS],
      description: python,
      installs: false,
    };
  }
  if (uv) return uvPlan(uv, []);
  if (options.python) {
    throw new KernelStartError(
      `Cannot start a kernel with the configured interpreter: ${
        found.tried.join("; ")
      }. ${INSTALL_HELP}`,
      { tried: found.tried },
    );
  }
  throw new KernelStartError(
    `Cannot find a Python interpreter with ipykernel, and uv is not on PATH. Tried: ${
      found.tried.join("; ") || "nothing"
    }. ${INSTALL_HELP}`,
    { tried: found.tried },
  );
}

/** Longest unix socket path (sun_path holds 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 100;

/**
 * The ZeroMQ transport for a kernel when the wrapper names none: on Linux
 * `ipc`, socket files in the kernel's private runtime dir, so no port is
 * picked before the kernel binds it (another kernel starting at the same
 * time could take it in between); elsewhere `tcp` on loopback. Deno grants
 * a unix socket only by its exact path, so a program whose network
 * permission is a host list (`ipython_mcp`'s `--allow-net=127.0.0.1`) uses
 * `tcp`: there a port taken in between fails the start at once and it is
 * retried with fresh ports.
 *
 * @param tmpDir Where runtime dirs are made (a path too long for a socket
 *   file falls back to tcp).
 * @returns The transport.
 */
export function defaultTransport(tmpDir: string): "tcp" | "ipc" {
  if (Deno.build.os !== "linux") return "tcp";
  if (Deno.permissions.querySync({ name: "net" }).state !== "granted") {
    return "tcp";
  }
  // "<tmp>/coder-kernel-<pid>-<random>/k-5"
  const longest = tmpDir.length + RUNTIME_PREFIX.length + 30;
  return longest <= MAX_SOCKET_PATH ? "ipc" : "tcp";
}

/** Picks free loopback ports (bound then released). */
async function freePorts(n: number): Promise<number[]> {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return await Promise.resolve(ports);
}

/**
 * Writes a fresh connection file: free loopback ports, a random HMAC-SHA256
 * key, mode 0600, in a private temp dir (mode 0700).
 *
 * @returns The directory, the connection details and the file's path.
 */
export async function writeConnectionFile(
  transport: "tcp" | "ipc" = "tcp",
): Promise<
  { runtimeDir: string; info: ConnectionInfo; file: string }
> {
  // The owner's pid in the name lets a later run sweep dirs whose owner
  // was killed before it could remove them (sweepStaleRuntimeDirs).
  const runtimeDir = await Deno.makeTempDir({
    prefix: `${RUNTIME_PREFIX}${Deno.pid}-`,
  });
  await Deno.chmod(runtimeDir, 0o700).catch(() => {});
  // ipc: ipykernel binds socket files "<ip>-<port>" in the runtime dir.
  const ports = transport === "ipc" ? [1, 2, 3, 4, 5] : await freePorts(5);
  const [shell, iopub, stdin, control, hb] = ports as [
    number,
    number,
    number,
    number,
    number,
  ];
  const info: ConnectionInfo = {
    ip: transport === "ipc" ? join(runtimeDir, "k") : "127.0.0.1",
    transport,
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key: crypto.randomUUID().replaceAll("-", "") +
      crypto.randomUUID().replaceAll("-", ""),
    signature_scheme: "hmac-sha256",
    kernel_name: "python3",
  };
  const file = join(runtimeDir, "kernel.json");
  await Deno.writeTextFile(file, JSON.stringify(info), { mode: 0o600 });
  return { runtimeDir, info, file };
}

/** A spawned kernel process and its connection file. */
export interface SpawnedKernel {
  /** The process (leader of its own process group). */
  child: Deno.ChildProcess;
  /** Connection details. */
  info: ConnectionInfo;
  /** Private temp dir holding the connection file; removed on shutdown. */
  runtimeDir: string;
  /** Last stderr lines (kept small). */
  stderrTail(): string;
  /** Resolves when stdout and stderr reached end of file. */
  drained: Promise<void>;
  /** The kernel's exit, once the process ended (see {@linkcode SpawnWrapper}). */
  exit: Promise<KernelExit>;
  /**
   * Resolves when the kernel reports that it cannot bind a socket
   * ("Address already in use"): ipykernel's heartbeat thread then dies
   * while the process lives on, so the start fails at once, not at its
   * timeout.
   */
  bindFailed: Promise<void>;
}

/**
 * Writes a fresh connection file (random key, loopback, mode 0600 in a
 * private temp dir) and spawns the kernel in its own process group.
 *
 * @param plan How to start it.
 * @param cwd Kernel working directory.
 * @param options Launch options.
 * @returns The process and connection details.
 */
export async function spawnKernel(
  plan: LaunchPlan,
  cwd: string,
  options: LaunchOptions,
): Promise<SpawnedKernel> {
  const wrapper = options.wrapper;
  const { runtimeDir, info, file } = await writeConnectionFile(
    wrapper?.transport ?? defaultTransport(options.env.TMPDIR || "/tmp"),
  );
  const base: KernelCommand = {
    command: plan.command,
    args: [...plan.args, "-f", file],
    env: {
      ...options.env,
      ...(wrapper?.parentPid === false
        ? {}
        : { JPY_PARENT_PID: String(Deno.pid) }),
      MPLBACKEND: "Agg",
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
      PYTHONUNBUFFERED: "1",
    },
    cwd,
    runtimeDir,
  };
  let spawn: WrappedKernelCommand = base;
  let child: Deno.ChildProcess;
  try {
    if (wrapper) spawn = await wrapper.wrap(base);
    child = new Deno.Command(spawn.command, {
      args: spawn.args,
      cwd: spawn.cwd,
      env: spawn.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    spawn.started?.(child.pid);
    options.onSpawn?.(child.pid);
  } catch (error) {
    await spawn.finish?.({ code: 127, signal: null }).catch(() => {});
    await Deno.remove(runtimeDir, { recursive: true }).catch(() => {});
    throw error;
  }
  const tail: string[] = [];
  const bindFailed = Promise.withResolvers<void>();
  const drained = Promise.all([
    drain(child.stdout, () => {}),
    drain(child.stderr, (text) => {
      tail.push(text);
      if (tail.length > 64) tail.splice(0, tail.length - 64);
      // A line may arrive in two chunks: look at the last two.
      if (BIND_FAILURE.test(tail.slice(-2).join(""))) bindFailed.resolve();
    }),
  ]).then(() => {});
  const exit = child.status.then((s) =>
    spawn.finish
      ? spawn.finish({ code: s.code, signal: s.signal })
      : { code: s.signal ? null : s.code, signal: s.signal }
  );
  return {
    child,
    info,
    runtimeDir,
    stderrTail: () => tailLines(tail.join("")),
    drained,
    exit,
    bindFailed: bindFailed.promise,
  };
}

/** How ZeroMQ and the heartbeat thread report a socket that cannot bind. */
const BIND_FAILURE = /address already in use/i;

async function drain(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      onText(text);
    }
  } catch {
    // process gone
  }
}

const RUNTIME_PREFIX = "coder-kernel-";

/**
 * Whether a process exists. Deno has no signal 0 and reading /proc needs
 * --allow-all, so this sends SIGCHLD, which every process ignores unless it
 * waits for children (then it finds none): harmless even to a stranger that
 * reused the pid.
 */
function processExists(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCHLD");
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}

/**
 * Removes connection-file dirs (`coder-kernel-<pid>-*`, holding HMAC keys)
 * in `dir` whose owner process is gone, e.g. after a SIGKILL of a server.
 * Not on Windows.
 *
 * @param dir The temp dir the connection files are made in.
 * @returns How many dirs were removed.
 */
export async function sweepStaleRuntimeDirs(dir: string): Promise<number> {
  if (IS_WINDOWS) return 0;
  const pattern = new RegExp(`^${RUNTIME_PREFIX}(\\d+)-`);
  let removed = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const owner = entry.isDirectory ? entry.name.match(pattern)?.[1] : null;
      if (!owner || processExists(Number(owner))) continue;
      try {
        await Deno.remove(join(dir, entry.name), { recursive: true });
        removed++;
      } catch {
        // not ours to remove, or gone already
      }
    }
  } catch {
    // no such dir
  }
  return removed;
}

/** Deadline for installing packages (pip into a managed venv, or uv at kernel start). */
export const PACKAGE_INSTALL_TIMEOUT_MS = INSTALL_TIMEOUT_MS;
