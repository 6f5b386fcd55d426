/**
 * A kernel running on a Jupyter Server or gateway, driven through the REST
 * API and one channels websocket with one session id. Implements the same
 * {@linkcode KernelHandle} as local kernels: queued executions with deadline
 * and interrupt, bounded output, images, start-up code, packages, and death
 * detection (server-side restart, deletion, culling, lost connection).
 *
 * The websocket client is the `ws` package: unlike Deno's WebSocket it can
 * send an unsolicited pong. A stock Jupyter Server leaves Nagle on; answering
 * each batch of received frames with a pong gets the client's ACK out at once
 * (measured: 1+1 p50 5.5 ms instead of 44-48 ms).
 *
 * @module
 */

import type {
  BackendKind,
  KernelCapabilities,
  KernelHandle,
} from "../backend.ts";
import { KernelDiedError, KernelError, KernelStartError } from "../errors.ts";
import {
  type ExecuteOptions,
  type ExecuteResult,
  isStream,
  type JupyterMessage,
  type KernelExit,
  type KernelExitReason,
  type KernelState,
  type Logger,
  SILENT_LOGGER,
} from "../messages.ts";
import { evaluateTooling } from "../tooling.ts";
import { KernelSession, type OutputNotes } from "../session.ts";
import { startupCode } from "../startup.ts";
import { delay, untilAborted } from "../../base/mod.ts";
import {
  type ChannelMessage,
  decodeMessage,
  encodeMessage,
  makeMessage,
  V1_SUBPROTOCOL,
} from "./protocol.ts";
import { type GatewayClient, GatewayError } from "./rest.ts";
import { RestProvisioner } from "./provisioner.ts";
import { installPackages } from "./install.ts";
import {
  NoSubprotocolError,
  openChannelSocket,
  type WsSocket,
} from "./channel_socket.ts";

/** Deadline of a status request (python_status). */
const STATUS_TIMEOUT_MS = 15_000;
/** Deadline of a package-version lookup. */
const VERSIONS_TIMEOUT_MS = 20_000;
const WATCH_INTERVAL_MS = 2_000;
const RECONNECT_BUDGET_MS = 20_000;
const CONNECT_TIMEOUT_MS = 60_000;
const DELETE_TIMEOUT_MS = 10_000;
/** Jupyter Server closes the socket on client messages over 10 MiB. */
const MAX_SEND_BYTES = 10 * 1024 * 1024 - 4096;
const RATE_LIMIT_NOTE = /IOPub (data|message) rate exceeded/;

interface Route {
  onIopub?: (msg: JupyterMessage) => void;
  onReply?: (msg: JupyterMessage) => void;
}

/** What {@linkcode RemoteKernel.connect} needs. */
export interface RemoteKernelInit {
  /** REST client of the gateway. */
  client: GatewayClient;
  /** Server-side kernel id. */
  kernelId: string;
  /** Kernel spec name. */
  kernelName: string;
  /** Package specs (validated) to install after start. */
  packages: readonly string[];
  /** Per-stream output cap per execution. */
  outputLimit: number;
  /** Package install deadline. */
  installTimeoutMs: number;
  /** Logger (never sees the token). */
  logger?: Logger;
  /** Aborts the connection and start-up code. */
  signal?: AbortSignal;
  /** Offer the v1 subprotocol (default true; false speaks JSON only). */
  offerV1?: boolean;
}

/** A kernel on a Jupyter server. Create with {@linkcode RemoteKernel.connect}. */
export class RemoteKernel implements KernelHandle {
  /** Always `remote`. */
  readonly backend: BackendKind = "remote";
  /** The gateway's base URL (no secret). */
  readonly location: string;
  /** Remote kernels are not our processes: never signalled. */
  readonly pid: null = null;
  /** Package specs the kernel was started with. */
  readonly packages: readonly string[];
  /** Resolves once when the kernel ends. */
  readonly exited: Promise<KernelExit>;
  /** When the kernel became ready. */
  readonly startedAt: Date = new Date();
  /** Server-side kernel id. */
  readonly kernelId: string;
  #cwd = "";
  #python = "";
  readonly #kernelName: string;
  readonly #client: GatewayClient;
  readonly #provisioner: RestProvisioner;
  readonly #session = crypto.randomUUID();
  readonly #logger: Logger;
  #offerV1: boolean;
  readonly #routes = new Map<string, Route>();
  readonly #death = new AbortController();
  readonly #exitDeferred = Promise.withResolvers<KernelExit>();
  #exit: KernelExit | null = null;
  #ws: WsSocket | null = null;
  #v1 = false;
  #ready: Promise<void> = Promise.resolve();
  #closing = false;
  readonly #executions: KernelSession;
  #shutdown: Promise<void> | null = null;
  #cleanup: Promise<void> = Promise.resolve();

  private constructor(init: RemoteKernelInit) {
    this.#client = init.client;
    this.location = init.client.location;
    this.kernelId = init.kernelId;
    this.#provisioner = new RestProvisioner(init.client, init.kernelId);
    this.#kernelName = init.kernelName;
    this.packages = Object.freeze([...init.packages]);
    this.#logger = init.logger ?? SILENT_LOGGER;
    this.#executions = new KernelSession({
      channels: {
        sendExecute: (content, routes) =>
          this.#send(
            makeMessage("shell", "execute_request", content, this.#session),
            routes,
          ),
        barrier: (signal) => this.#barrier(signal),
      },
      interrupt: () =>
        this.#sendInterrupt().catch((error) =>
          this.#logger.warn(`Interrupt failed: ${error}`)
        ),
      shutdown: () => this.shutdown({ reason: "unresponsive" }),
      death: this.#death.signal,
      exit: () => this.#exit!,
      label: `Remote kernel ${this.kernelId}`,
      toolingHint: "",
      outputLimit: init.outputLimit,
      logger: this.#logger,
      whileRunning: () => {
        const watch = setInterval(() => this.#checkAlive(), WATCH_INTERVAL_MS);
        return () => clearInterval(watch);
      },
      outputNotes: rateLimitNotes,
    });
    this.#offerV1 = init.offerV1 ?? true;
    this.exited = this.#exitDeferred.promise;
  }

  /**
   * Opens the channels websocket of a started kernel, runs the start-up code
   * and installs the packages. On failure the caller deletes the kernel.
   *
   * @param init Client, ids, packages and limits.
   * @returns The ready kernel.
   */
  static async connect(init: RemoteKernelInit): Promise<RemoteKernel> {
    const kernel = new RemoteKernel(init);
    try {
      const signal = AbortSignal.any([
        AbortSignal.timeout(CONNECT_TIMEOUT_MS),
        ...(init.signal ? [init.signal] : []),
      ]);
      await kernel.#open(signal);
      await kernel.#bootstrap(signal);
      if (kernel.packages.length > 0) {
        await installPackages({
          send: kernel.#executions.sender,
          packages: kernel.packages,
          python: kernel.#python,
          launchedWith: kernel.launchedWith,
          timeoutMs: init.installTimeoutMs,
          death: kernel.#death.signal,
          renderHint: init.client.renderHint,
          ...(init.signal ? { signal: init.signal } : {}),
        });
      }
      return kernel;
    } catch (error) {
      kernel.#closing = true;
      kernel.#ws?.terminate();
      kernel.#finish({ code: null, signal: null, reason: "shutdown" });
      throw error;
    }
  }

  /** Working directory of the kernel on the server's machine. */
  get cwd(): string {
    return this.#cwd;
  }

  /** The kernel's sys.executable (on the server's machine). */
  get python(): string {
    return this.#python;
  }

  /** Description for logs and errors. */
  get launchedWith(): string {
    return `kernel spec "${this.#kernelName}" on ${this.location}`;
  }

  /** How the kernel ended, once it has; null while it runs. */
  get exitStatus(): KernelExit | null {
    return this.#exit;
  }

  /** True until the kernel ends. */
  get alive(): boolean {
    return this.#exit === null;
  }

  /** True while an execution is queued or running. */
  get busy(): boolean {
    return this.#executions.busy;
  }

  /** The channels protocol the server chose: `v1` or `json`. */
  get protocol(): "v1" | "json" {
    return this.#v1 ? "v1" : "json";
  }

  // ---- websocket ----------------------------------------------------------

  /**
   * Opens the channels socket offering the v1 subprotocol; a server that
   * selects none (older servers and gateways, or `kernel_ws_protocol=""`)
   * is spoken to in the JSON protocol from then on (SPEC §7.2).
   */
  async #open(signal: AbortSignal): Promise<void> {
    try {
      await this.#openSocket(signal);
    } catch (error) {
      if (!(error instanceof NoSubprotocolError) || !this.#offerV1) throw error;
      this.#logger.info(
        `Remote kernel ${this.kernelId}: the server selected no subprotocol; using the JSON protocol`,
      );
      this.#offerV1 = false;
      await this.#openSocket(signal);
    }
  }

  async #openSocket(signal: AbortSignal): Promise<void> {
    const ws = await openChannelSocket({
      client: this.#client,
      kernelId: this.kernelId,
      session: this.#session,
      offerV1: this.#offerV1,
      signal,
      onFrame: (data) => this.#onFrame(data),
      onClose: (socket) => {
        if (this.#ws === socket) this.#onClose();
      },
    });
    this.#ws = ws;
    this.#v1 = ws.protocol === V1_SUBPROTOCOL;
  }

  #onFrame(data: Uint8Array | string): void {
    const msg = decodeMessage(data, this.#v1);
    if (!msg) return;
    const parentId = msg.parent_header?.msg_id;
    const route = parentId ? this.#routes.get(parentId) : undefined;
    if (route) {
      if (msg.channel === "iopub") route.onIopub?.(msg);
      else if (msg.channel === "shell" || msg.channel === "control") {
        route.onReply?.(msg);
      }
      return;
    }
    if (this.#closing) return;
    const type = msg.header?.msg_type;
    if (type === "status" && !parentId) {
      const state = (msg.content as { execution_state?: string })
        .execution_state;
      if (state === "restarting") {
        this.#die(
          "remote_restarted",
          "the kernel process died and the server restarted it; its state is lost",
        );
      } else if (state === "dead") {
        this.#die("remote_gone", "the server reports the kernel dead");
      }
    } else if (type === "shutdown_reply") {
      const restart = (msg.content as { restart?: boolean }).restart === true;
      if (restart) {
        this.#die(
          "remote_restarted",
          "the kernel was restarted on the server by another client; its state is lost",
        );
      } else {
        this.#die(
          "remote_gone",
          "the kernel was shut down on the server (deleted by another client or culled as idle)",
        );
      }
    }
  }

  #onClose(): void {
    this.#ws = null;
    if (this.#closing || !this.alive) return;
    this.#logger.warn(
      `Remote kernel ${this.kernelId}: channels closed; reconnecting`,
    );
    this.#ready = this.#reconnect();
    this.#ready.catch(() => {});
  }

  /** Reconnects with the same session id: the server replays what was missed. */
  async #reconnect(): Promise<void> {
    const until = Date.now() + RECONNECT_BUDGET_MS;
    let lastError = "";
    for (let attempt = 0; Date.now() < until && this.alive; attempt++) {
      try {
        // A server that answers but refuses the lookup (some gateways do)
        // cannot tell whether the kernel exists: try the socket anyway.
        const model = await this.#client.get(
          this.kernelId,
          AbortSignal.timeout(5_000),
        ).catch((error) => {
          // 424: JupyterHub says the user server is no longer running.
          if (error instanceof GatewayError && error.status === 424) {
            return "hub_server_stopped" as const;
          }
          if (error instanceof GatewayError && error.status !== null) {
            return undefined;
          }
          throw error;
        });
        if (model === "hub_server_stopped") {
          this.#die(
            "remote_gone",
            "the JupyterHub user server was stopped (424); its kernels are gone",
          );
          break;
        }
        if (model === null) {
          this.#die(
            "remote_gone",
            "the kernel no longer exists on the server (404)",
          );
          break;
        }
        await this.#open(
          AbortSignal.any([AbortSignal.timeout(10_000), this.#death.signal]),
        );
        this.#logger.info(`Remote kernel ${this.kernelId}: reconnected`);
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        await delay(Math.min(250 * 2 ** attempt, 2_000));
      }
    }
    this.#die(
      "connection_lost",
      `lost the connection to ${this.location}${
        lastError ? `: ${lastError}` : ""
      }`,
    );
    throw new KernelDiedError(this.#exit!);
  }

  async #send(msg: ChannelMessage, route: Route): Promise<() => void> {
    await this.#ready;
    if (!this.alive || !this.#ws) throw new KernelDiedError(this.#exit!);
    const data = encodeMessage(msg, this.#v1);
    const size = typeof data === "string"
      ? new TextEncoder().encode(data).length
      : data.length;
    if (size > MAX_SEND_BYTES) {
      throw new KernelError(
        `Cannot send ${
          (size / 1048576).toFixed(1)
        } MiB of code to a Jupyter server: it closes the connection on messages over 10 MiB. Write the data to a file the kernel can read instead`,
      );
    }
    this.#routes.set(msg.header.msg_id, route);
    this.#ws.send(data);
    return () => this.#routes.delete(msg.header.msg_id);
  }

  #die(reason: KernelExitReason, detail: string): void {
    if (this.#exit) return;
    this.#logger.warn(`Remote kernel ${this.kernelId} ended: ${detail}`);
    const exit: KernelExit = {
      code: null,
      signal: null,
      reason,
      detail,
      idle: !this.#executions.busy,
    };
    this.#finish(exit, false);
    // A restarted or half-dead kernel would linger on the server. `exited`
    // resolves once it is deleted, so an owner that still lists this kernel
    // (and awaits its shutdown) does not exit before the clean-up is done.
    this.#cleanup = this.#client.delete(
      this.kernelId,
      AbortSignal.timeout(DELETE_TIMEOUT_MS),
    ).catch(() => {}).then(() => this.#exitDeferred.resolve(exit));
  }

  #finish(exit: KernelExit, settle = true): void {
    if (this.#exit) return;
    this.#exit = exit;
    this.#death.abort();
    this.#closing = true;
    const ws = this.#ws;
    this.#ws = null;
    ws?.close();
    this.#routes.clear();
    if (settle) this.#exitDeferred.resolve(exit);
  }

  // ---- start-up -----------------------------------------------------------

  async #bootstrap(signal: AbortSignal): Promise<void> {
    // The start-up code runs, then its identity() is read back through
    // user_expressions: nothing is parsed from stdout.
    const identity = await evaluateTooling<{ python: string; cwd: string }>(
      this.#executions.sender,
      "identity()",
      { code: startupCode(), silent: false, signal },
    ).catch((error) => {
      if (signal.aborted || !(error instanceof KernelError)) throw error;
      throw new KernelStartError(
        `The start-up code failed in the remote kernel: ${error.message}`,
        { tried: [this.launchedWith] },
        { cause: error },
      );
    });
    this.#python = String(identity.python ?? "");
    this.#cwd = String(identity.cwd ?? "");
  }

  // ---- execution ----------------------------------------------------------

  /**
   * Runs code in the remote kernel. Executions queue: one at a time.
   *
   * @param code Python source.
   * @param options Deadline, abort signal, output callback, silent flag.
   * @returns Output, result, images and error.
   * @throws {ExecutionTimeoutError} Deadline passed (kernel interrupted).
   * @throws {KernelDiedError} The kernel ended on the server or the connection was lost.
   */
  execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    return this.#executions.execute(code, options);
  }

  /** While an execution waits: a 404 or a dead state means the kernel is gone. */
  #checkAlive(): void {
    if (!this.alive || this.#closing) return;
    this.#client.get(this.kernelId, AbortSignal.timeout(WATCH_INTERVAL_MS * 2))
      .then((model) => {
        if (!model) {
          this.#die(
            "remote_gone",
            "the kernel no longer exists on the server (deleted or culled)",
          );
        } else if (model.execution_state === "dead") {
          this.#die("remote_gone", "the server reports the kernel dead");
        }
      })
      .catch(() => {}); // network trouble: the socket's close handles it
  }

  /**
   * Interrupts the running execution through the REST API; state is kept.
   * The interrupt is sent again until the execution answers (see
   * {@linkcode KernelSession.interrupt}).
   *
   * @returns Once the running execution answered, or within the grace period.
   * @throws {Error} The server refused the first interrupt.
   */
  interrupt(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return this.#executions.interrupt(() => this.#sendInterrupt());
  }

  async #sendInterrupt(): Promise<void> {
    if (!this.alive) return;
    await this.#provisioner.interrupt();
  }

  /** A kernel on a server: no local process, Python or files. */
  get capabilities(): KernelCapabilities {
    return this.#provisioner.capabilities;
  }

  /**
   * Ends the kernel now: the shutdown's DELETE is already the server's hard
   * kill, so this starts (or joins) it without waiting.
   */
  kill(): void {
    void this.shutdown();
  }

  /**
   * Evaluates a `_coder_tools` call through `user_expressions` of a silent,
   * history-free execute_request (never through stdout, which user threads
   * share), queued behind executions (see {@linkcode queuedTooling}).
   */
  #tool<T>(call: string, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    return this.#executions.tool<T>(call, timeoutMs, signal);
  }

  /**
   * A shell round trip (kernel_info): the kernel answers shell requests in
   * order, so every reply to an earlier request has been sent before it.
   */
  async #barrier(signal: AbortSignal): Promise<void> {
    const answered = Promise.withResolvers<void>();
    const release = await this.#send(
      makeMessage("shell", "kernel_info_request", {}, this.#session),
      { onReply: () => answered.resolve() },
    );
    const stopped = untilAborted([signal], "stopped");
    try {
      const first = await Promise.race([answered.promise, stopped.promise]);
      if (first === "stopped") throw signal.reason;
    } finally {
      stopped.dispose();
      release();
    }
  }

  /**
   * Reads the interpreter version, installed packages and variable names.
   *
   * @returns The kernel's state.
   */
  inspect(options: { signal?: AbortSignal } = {}): Promise<KernelState> {
    return this.#tool<KernelState>(
      "state()",
      STATUS_TIMEOUT_MS,
      options.signal,
    );
  }

  /**
   * Installed versions of distributions or modules.
   *
   * @param names Distribution or module names.
   * @returns Version per name, null when missing.
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
   * Deletes the kernel on the server (5xx retried) and closes the socket.
   * Idempotent; no local process is signalled.
   */
  shutdown(options: { reason?: KernelExit["reason"] } = {}): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#closing = true;
      const alive = this.alive;
      // Ended first, so a call still running answers with this reason (the
      // server interrupts the kernel before deleting it: that
      // KeyboardInterrupt is not the call's answer).
      const exit: KernelExit = {
        code: null,
        signal: null,
        reason: options.reason ?? "shutdown",
        idle: !this.#executions.busy,
      };
      this.#finish(exit, false);
      if (alive) {
        await this.#provisioner.delete(
          AbortSignal.timeout(DELETE_TIMEOUT_MS),
        ).catch((error) =>
          this.#logger.warn(
            `Cannot delete remote kernel ${this.kernelId}: ${
              error instanceof Error ? error.message : error
            }`,
          )
        );
      }
      if (alive) this.#exitDeferred.resolve(exit);
      await this.#cleanup;
    })();
    return this.#shutdown;
  }

  /** Shuts the kernel down. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/**
 * Notes the server's IOPub rate limit: the only sign of dropped output is
 * a stderr note the server injects; the result then says it is truncated.
 */
function rateLimitNotes(): OutputNotes {
  let rateLimited = false;
  return {
    onIopub(msg) {
      if (
        isStream(msg) && msg.content.name === "stderr" &&
        RATE_LIMIT_NOTE.test(msg.content.text)
      ) rateLimited = true;
    },
    finish(result) {
      if (!rateLimited) return result;
      return {
        ...result,
        stderr: result.stderr +
          "\n[output truncated: the Jupyter server dropped output above its IOPub data rate limit (ServerApp.iopub_data_rate_limit); print less or write large output to a file]\n",
      };
    },
  };
}
