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

import { resolve } from "node:path";
import type {
  KernelBackend,
  KernelCapabilities,
  KernelHandle,
  KernelStartRequest,
} from "./backend.ts";
import type { SocketFactory } from "./connection.ts";
import {
  describeHint,
  type ErrorHint,
  type HintRenderer,
  KernelStartError,
} from "./errors.ts";
import { startKernel } from "./kernel.ts";
import { LOCAL_PROCESS_CAPABILITIES } from "./provisioner.ts";
import { type AllowedHost, parseAllowHosts } from "./allow_hosts.ts";
import { resolvePython, runCommand, tailLines, which } from "./launcher.ts";
import { formatMemorySize, MemoryLimiter } from "./memory_limit.ts";
import { pathInside, type WorkspaceFiles } from "./workspace.ts";
import { connect as zmtpConnect } from "../zmtp/mod.ts";
import {
  sandboxArgs,
  type SandboxBackendOptions,
  within,
} from "./sandbox_args.ts";
import { SandboxWrapper } from "./sandbox_wrapper.ts";

export {
  hiddenDirs,
  SANDBOX_TMP_SIZE,
  sandboxArgs,
  type SandboxArgsOptions,
  type SandboxBackendOptions,
} from "./sandbox_args.ts";
export { WORKSPACE_WRITE_TIMEOUT_MS } from "./sandbox_wrapper.ts";

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

/** The hint of a sandbox that cannot work here: start kernels without it. */
const NO_SANDBOX: ErrorHint = { option: "sandbox", advice: "disable" };

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
  readonly #renderHint: HintRenderer;
  #ready: Promise<SandboxWrapper> | null = null;
  #python: Promise<string> | null = null;

  /**
   * Writes into a kernel's working tree from inside a sandbox with the
   * kernel's view (SPEC §12): the host never follows a link a kernel planted.
   *
   * @internal
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
    this.#renderHint = options.renderHint ?? describeHint;
    this.#allow = parseAllowHosts(options.allowHosts ?? []);
    this.#memory = options.memoryLimit === null
      ? null
      : new MemoryLimiter(options.memoryLimit, this.#renderHint);
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
    const hints = [NO_SANDBOX];
    const noSandbox = this.#renderHint(NO_SANDBOX);
    if (os !== "linux") {
      throw new KernelStartError(
        `The sandbox is not available on ${
          os === "darwin" ? "macOS" : os === "windows" ? "Windows" : os
        }: it uses bubblewrap, which runs on Linux only. ${
          noSandbox[0]!.toUpperCase() + noSandbox.slice(1)
        }${
          os === "windows" ? " (or run inside WSL)" : ""
        }, or run in a Linux VM or container`,
        {},
        { hints },
      );
    }
    const env = this.#options.env;
    const bwrap = await which("bwrap", env);
    if (!bwrap) {
      throw new KernelStartError(
        "The sandbox needs bubblewrap (bwrap), which is not on PATH. Install it " +
          "(Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; " +
          `Arch: pacman -S bubblewrap) or ${noSandbox}`,
        { tried: ["bwrap"] },
        { hints },
      );
    }
    const setsid = await which("setsid", env);
    if (!setsid) {
      throw new KernelStartError(
        "The sandbox needs setsid (util-linux), which is not on PATH: install util-linux",
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
          `run the container with user namespaces allowed, or ${noSandbox}`,
        { tried: [bwrap], stderrTail: tailLines(probe.stderr) },
        { hints },
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
 * import {
  createSandboxBackend,
} from "./sandbox.ts";
 * const backend = createSandboxBackend({ env: Deno.env.toObject(), memoryLimit: 4 * 2 ** 30 });
 * await backend.preflight();
 * ```
 */
export function createSandboxBackend(
  options: SandboxBackendOptions,
): SandboxBackend {
  return new SandboxBackend(options);
}
