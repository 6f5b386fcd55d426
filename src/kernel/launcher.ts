/**
 * Spawns kernel processes in their own process group with a private
 * connection file (and sweeps runtime directories of dead ones). Finding
 * the interpreter is in `interpreter.ts`, package environments in
 * `venv.ts`, the launch types in `launch_options.ts`; this module
 * re-exports them, so its surface is unchanged.
 *
 * @module
 */

import { join } from "node:path";
import type { ConnectionInfo } from "./connection.ts";
import type {
  KernelCommand,
  LaunchOptions,
  LaunchPlan,
  WrappedKernelCommand,
} from "./launch_options.ts";
import type { KernelExit } from "./messages.ts";
import { tailLines } from "./commands.ts";

export {
  defaultCacheDir,
  type InstallStep,
  KERNEL_LAUNCH_ARGS,
  type KernelCommand,
  type LaunchOptions,
  type LaunchPlan,
  runInstallStep,
  type SpawnWrapper,
  type WrappedKernelCommand,
} from "./launch_options.ts";
export {
  type CommandResult,
  runCommand,
  tailLines,
  which,
} from "./commands.ts";
export {
  forgetResolvedPython,
  type ResolvedPython,
  resolvePython,
  resolvePythonCached,
} from "./interpreter.ts";
export { PACKAGE_INSTALL_TIMEOUT_MS, planLaunch } from "./venv.ts";

const IS_WINDOWS = Deno.build.os === "windows";

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
