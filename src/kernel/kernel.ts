/**
 * A running IPython kernel: execute with a deadline, interrupt, inspect,
 * shutdown, and crash detection.
 *
 * @module
 */

import type {
  BackendKind,
  KernelCapabilities,
  KernelHandle,
} from "./backend.ts";
import {
  type ConnectionInfo,
  KernelConnection,
  type SocketFactory,
} from "./connection.ts";
import { describeExit, KernelStartError } from "./errors.ts";
import {
  type LaunchOptions,
  type LaunchPlan,
  PACKAGE_INSTALL_TIMEOUT_MS,
  planLaunch,
  type SpawnedKernel,
  spawnKernel,
} from "./launcher.ts";
import {
  type ExecuteOptions,
  type ExecuteResult,
  type KernelExit,
  type KernelState,
  type Logger,
  SILENT_LOGGER,
} from "./messages.ts";
import { validatePackageSpecs } from "./package_spec.ts";
import {
  deadline as startDeadline,
  settleWithin,
  untilAborted,
} from "../base/mod.ts";
import {
  KernelSession,
  type SessionChannels,
  toolingSender,
} from "./session.ts";
import { evaluateTooling } from "./tooling.ts";
import { startupCode } from "./startup.ts";
import { type KernelProvisioner, localProvisioner } from "./provisioner.ts";

/** Default execution deadline. */
export { DEFAULT_TIMEOUT_MS } from "./session.ts";
/** Default per-stream output cap (characters kept per execution). */
export const DEFAULT_OUTPUT_LIMIT = 64 * 1024 * 1024;
const INTERRUPT_GRACE_MS = 5_000;
const SHUTDOWN_GRACE_MS = 1_000;
const PORT_RETRIES = 3;
const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;
/** Deadline of a tooling call (state, versions); it never kills the kernel. */
const TOOLING_TIMEOUT_MS = 5_000;
/** Package probes may import modules: a longer deadline. */
const VERSIONS_TIMEOUT_MS = 20_000;

/** Options for {@linkcode startKernel}. */
export interface StartKernelOptions extends LaunchOptions {
  /** Kernel working directory. */
  cwd: string;
  /** Package specs to make available (validated first). */
  packages?: readonly string[];
  /** Aborts start-up. */
  signal?: AbortSignal;
  /** Per-stream output cap per execution (default 64 MB). */
  outputLimit?: number;
  /**
   * Opens the ZeroMQ channel sockets (default: our ZMTP transport).
   *
   * @internal
   */
  connect?: SocketFactory;
}

/** A running local IPython kernel. Create with {@linkcode startKernel}. */
export class Kernel implements KernelHandle {
  /** `local`, or `sandbox` for a kernel under bubblewrap: a process on this machine. */
  readonly backend: BackendKind;
  /** Local kernels have no remote location. */
  readonly location: null = null;
  /** Kernel working directory. */
  readonly cwd: string;
  /** Package specs the kernel was started with. */
  readonly packages: readonly string[];
  /** Process id of the kernel's process-group leader. */
  readonly pid: number;
  /** Interpreter executable (the kernel's sys.executable). */
  readonly python: string;
  /** How the kernel was launched. */
  readonly launchedWith: string;
  /** Resolves when the kernel process ends. */
  readonly exited: Promise<KernelExit>;
  /** When the kernel became ready. */
  readonly startedAt: Date = new Date();
  readonly #spawned: SpawnedKernel;
  readonly #conn: KernelConnection;
  readonly #logger: Logger;
  readonly #outputLimit: number;
  #exit: KernelExit | null = null;
  readonly #death = new AbortController();
  readonly #session: KernelSession;
  #shutdown: Promise<void> | null = null;
  #shutdownReason: KernelExit["reason"] | undefined;
  readonly #provisioner: KernelProvisioner;

  private constructor(init: {
    cwd: string;
    packages: readonly string[];
    spawned: SpawnedKernel;
    conn: KernelConnection;
    python: string;
    launchedWith: string;
    logger: Logger;
    outputLimit: number;
    backend: BackendKind;
    provisioner: KernelProvisioner;
  }) {
    this.backend = init.backend;
    this.#provisioner = init.provisioner;
    this.cwd = init.cwd;
    this.packages = Object.freeze([...init.packages]);
    this.#spawned = init.spawned;
    this.pid = init.spawned.child.pid;
    this.#conn = init.conn;
    this.python = init.python;
    this.launchedWith = init.launchedWith;
    this.#logger = init.logger;
    this.#outputLimit = init.outputLimit;
    this.#session = new KernelSession({
      channels: zmqChannels(init.conn),
      interrupt: () => this.#sendInterrupt(),
      shutdown: () => this.shutdown({ reason: "unresponsive" }),
      death: this.#death.signal,
      exit: () => this.#exit!,
      label: `Kernel ${this.pid}`,
      toolingHint: " (it may be stopped or stuck outside Python)",
      outputLimit: init.outputLimit,
      logger: init.logger,
    });
    this.exited = init.spawned.exit.then((exit) => {
      this.#exit = {
        ...(this.#shutdownReason ? { reason: this.#shutdownReason } : {}),
        ...exit,
        idle: !this.#session.busy,
      };
      this.#death.abort();
      this.#conn.close();
      this.#provisioner.kill();
      Deno.remove(this.#spawned.runtimeDir, { recursive: true }).catch(
        () => {},
      );
      return this.#exit;
    });
  }

  /** @internal Used by {@linkcode startKernel}. */
  static async create(options: StartKernelOptions): Promise<Kernel> {
    const logger = options.logger ?? SILENT_LOGGER;
    const packages = validatePackageSpecs(options.packages ?? []);
    let plan = await planLaunch(packages, options);
    if (options.wrapper?.prepare) {
      plan = await options.wrapper.prepare(plan, options);
    }
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_RETRIES; attempt++) {
      options.signal?.throwIfAborted();
      try {
        return await Kernel.#launch(plan, packages, options, logger);
      } catch (error) {
        lastError = error;
        const portClash = error instanceof KernelStartError &&
          /address already in use/i.test(error.stderrTail);
        if (!portClash) throw error;
        logger.warn("Kernel ports collided; retrying with new ports");
      }
    }
    throw lastError;
  }

  static async #launch(
    plan: LaunchPlan,
    packages: readonly string[],
    options: StartKernelOptions,
    logger: Logger,
  ): Promise<Kernel> {
    const spawned = await spawnKernel(plan, options.cwd, options);
    const provisioner = localProvisioner(
      spawned.child.pid,
      options.wrapper?.interrupt ?? "signal",
    );
    // uv installs the packages while the kernel starts: allow for that.
    const timeoutMs = options.startupTimeoutMs ??
      (plan.installs ? PACKAGE_INSTALL_TIMEOUT_MS : DEFAULT_STARTUP_TIMEOUT_MS);
    const timer = startDeadline(timeoutMs);
    const deadline = timer.signal;
    const died = new AbortController();
    // Watches for a death during start-up only: once started, the race
    // settles and nothing of this start-up stays attached to the process.
    const started = Promise.withResolvers<null>();
    // A socket that cannot bind fails the start at once (the heartbeat
    // thread dies of it while the process lives on).
    Promise.race([spawned.bindFailed, started.promise]).then((bound) => {
      if (bound === null) return;
      died.abort(
        new KernelStartError(
          `Kernel could not bind its sockets using ${plan.description}:\n${spawned.stderrTail()}`,
          { tried: [plan.description], stderrTail: spawned.stderrTail() },
        ),
      );
    });
    Promise.race([spawned.exit, started.promise]).then(async (exit) => {
      if (exit === null) return;
      // Let the last stderr lines arrive before quoting them.
      await settleWithin(spawned.drained, 500);
      died.abort(
        new KernelStartError(
          `Kernel process exited during start-up (${
            describeExit(exit)
          }) using ${plan.description}${
            spawned.stderrTail() ? `:\n${spawned.stderrTail()}` : ""
          }`,
          { tried: [plan.description], stderrTail: spawned.stderrTail() },
        ),
      );
    });
    const signal = AbortSignal.any([
      deadline,
      died.signal,
      ...(options.signal ? [options.signal] : []),
    ]);
    let conn: KernelConnection | undefined;
    try {
      conn = await KernelConnection.open(spawned.info, {
        signal,
        logger,
        ...(options.connect ? { connect: options.connect } : {}),
      });
      // Everything after connecting goes out at once: the kernel answers
      // shell requests in order (kernel_info, then the start-up code), while
      // the iopub subscription and the heartbeat are confirmed alongside.
      const open = conn;
      const [, , , identity] = await Promise.all([
        open.request("shell", "kernel_info_request", {}, signal),
        open.waitForIopub(signal),
        open.heartbeat(signal),
        Kernel.#bootstrap(open, signal),
      ]);
      started.resolve(null);
      timer.clear();
      const kernel = new Kernel({
        cwd: options.cwd,
        packages,
        spawned,
        conn,
        python: identity.python,
        launchedWith: plan.description,
        logger,
        outputLimit: options.outputLimit ?? DEFAULT_OUTPUT_LIMIT,
        backend: options.wrapper?.backend ?? "local",
        provisioner,
      });
      logger.info(`Kernel ${kernel.pid} ready (${plan.description})`);
      return kernel;
    } catch (error) {
      started.resolve(null);
      timer.clear();
      conn?.close();
      provisioner.kill();
      await spawned.child.status.catch(() => {});
      await Deno.remove(spawned.runtimeDir, { recursive: true }).catch(
        () => {},
      );
      const reason = died.signal.aborted ? died.signal.reason : error;
      if (reason instanceof KernelStartError) throw reason;
      if (deadline.aborted) {
        throw new KernelStartError(
          `Kernel did not become ready within ${
            timeoutMs / 1000
          }s using ${plan.description}${
            spawned.stderrTail() ? `:\n${spawned.stderrTail()}` : ""
          }`,
          { tried: [plan.description], stderrTail: spawned.stderrTail() },
          { cause: error },
        );
      }
      if (options.signal?.aborted) throw options.signal.reason;
      throw new KernelStartError(
        `Cannot connect to the kernel started with ${plan.description}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { tried: [plan.description], stderrTail: spawned.stderrTail() },
        { cause: error },
      );
    }
  }

  /**
   * Runs the start-up code and reads the kernel's pid and interpreter
   * through `user_expressions` (never stdout).
   */
  static async #bootstrap(
    conn: KernelConnection,
    signal: AbortSignal,
  ): Promise<{ pid: number; python: string }> {
    const identity = await evaluateTooling<{ pid: number; python: string }>(
      toolingSender(zmqChannels(conn)),
      "identity()",
      { code: startupCode(), silent: false, signal },
    );
    return { pid: identity.pid, python: identity.python };
  }

  /** How the kernel ended, once it has; null while it runs. */
  get exitStatus(): KernelExit | null {
    return this.#exit;
  }

  /** True until the kernel process ends. */
  get alive(): boolean {
    return this.#exit === null;
  }

  /** True while an execution is queued or running. */
  get busy(): boolean {
    return this.#session.busy;
  }

  /** Incoming messages dropped because their HMAC did not verify. */
  get badSignatures(): number {
    return this.#conn.badSignatures;
  }

  /** @internal The connection details (for tests and benchmarks). */
  get connectionInfo(): Readonly<ConnectionInfo> {
    return this.#spawned.info;
  }

  /**
   * Runs code in the kernel. Executions queue: one at a time per kernel.
   * Python exceptions are returned in `result.error`, not thrown.
   *
   * @param code Python source.
   * @param options Deadline, abort signal, output callback, silent flag.
   * @returns Output, result, images and error of the execution.
   * @throws {ExecutionTimeoutError} Deadline passed (partial output inside).
   * @throws {KernelDiedError} The kernel process ended.
   * @example Running code
   * ```ts
   * import { startKernel } from "./kernel.ts";
   * await using kernel = await startKernel({ cwd: ".", env: {} });
   * const result = await kernel.execute("1 + 1");
   * console.log(result.result); // "2"
   * ```
   */
  execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    return this.#session.execute(code, options);
  }

  /**
   * Interrupts the running execution (a KeyboardInterrupt in its code); the
   * state is kept. The interrupt is sent again until the execution answers
   * (see {@linkcode KernelSession.interrupt}).
   *
   * @returns Once the running execution answered, or within the grace period.
   */
  interrupt(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return this.#session.interrupt(() => this.#sendInterrupt());
  }

  /**
   * Sends SIGINT to the kernel's process group, or (sandbox: a SIGINT would
   * end bwrap) an interrupt_request on the control channel.
   */
  async #sendInterrupt(): Promise<void> {
    if (!this.alive) return;
    if (this.#provisioner.interruptMode === "signal") {
      return await this.#provisioner.interrupt();
    }
    await this.#conn.request(
      "control",
      "interrupt_request",
      {},
      AbortSignal.any([
        AbortSignal.timeout(INTERRUPT_GRACE_MS),
        this.#death.signal,
      ]),
    ).catch((error) => {
      this.#logger.warn(
        `Kernel ${this.pid} interrupt_request failed: ${error}`,
      );
    });
  }

  /**
   * Evaluates a `_coder_tools` call through `user_expressions` of a silent,
   * history-free execute_request, queued behind user executions.
   */
  #tool<T>(
    call: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    return this.#session.tool<T>(call, timeoutMs, signal);
  }

  /**
   * Reads the interpreter version, installed packages and user variable
   * names without touching the user's namespace or history.
   *
   * @returns The kernel's state.
   */
  inspect(options: { signal?: AbortSignal } = {}): Promise<KernelState> {
    return this.#tool<KernelState>(
      "state()",
      TOOLING_TIMEOUT_MS,
      options.signal,
    );
  }

  /**
   * Looks up installed versions (distribution metadata, else `__version__`
   * of the module).
   *
   * @param names Distribution or module names.
   * @returns Version per name, null when not installed.
   */
  packageVersions(
    names: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Record<string, string | null>> {
    return this.#tool(
      `versions(${JSON.stringify([...names])})`,
      VERSIONS_TIMEOUT_MS,
      options.signal,
    );
  }

  /**
   * Stops the kernel: shutdown_request on control, a short grace, then
   * SIGKILL of the whole process group. Idempotent.
   */
  shutdown(options: { reason?: KernelExit["reason"] } = {}): Promise<void> {
    this.#shutdownReason ??= options.reason ?? "shutdown";
    this.#shutdown ??= this.#doShutdown();
    return this.#shutdown;
  }

  async #doShutdown(): Promise<void> {
    if (this.alive) {
      const grace = AbortSignal.timeout(SHUTDOWN_GRACE_MS);
      try {
        await this.#conn.request("control", "shutdown_request", {
          restart: false,
        }, grace);
        const graceOver = untilAborted([grace], "grace");
        try {
          await Promise.race([this.exited, graceOver.promise]);
        } finally {
          graceOver.dispose();
        }
      } catch {
        // no answer: the kill below settles it
      }
    }
    this.#provisioner.kill();
    this.#conn.close();
    await this.exited;
    await Deno.remove(this.#spawned.runtimeDir, { recursive: true }).catch(
      () => {},
    );
  }

  /** Its provisioner's capabilities (a process on this machine). */
  get capabilities(): KernelCapabilities {
    return this.#provisioner.capabilities;
  }

  /** Kills the whole process group now (its provisioner's kill). */
  kill(): void {
    this.#provisioner.kill();
  }

  /** Shuts the kernel down. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/** A local connection's shell as the channels of a {@linkcode KernelSession}. */
function zmqChannels(conn: KernelConnection): SessionChannels {
  return {
    async sendExecute(content, routes) {
      const pending = await conn.send("shell", "execute_request", content, {
        onReply: routes.onReply,
        onIopub: routes.onIopub,
        ...(routes.onOversize ? { onOversize: routes.onOversize } : {}),
      });
      return () => pending.release();
    },
    barrier: (signal) =>
      conn.request("shell", "kernel_info_request", {}, signal),
  };
}

/**
 * Starts a kernel: resolves the interpreter (or package environment),
 * spawns it, waits until shell, iopub and heartbeat answer, and injects the
 * start-up code.
 *
 * @param options Working directory, packages, launch options.
 * @returns The ready kernel.
 * @throws {InvalidPackageSpecError} A package spec is refused (nothing spawned).
 * @throws {KernelStartError} No interpreter, install failure, crash or timeout.
 * @example Start, run, stop
 * ```ts
 * import { startKernel } from "./kernel.ts";
 * await using kernel = await startKernel({ cwd: Deno.cwd(), env: Deno.env.toObject() });
 * await kernel.execute("x = 41");
 * const { result } = await kernel.execute("x + 1"); // "42"
 * ```
 */
export function startKernel(options: StartKernelOptions): Promise<Kernel> {
  return Kernel.create(options);
}
