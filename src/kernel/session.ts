/**
 * One session implementation for every backend: the queue (one execution
 * at a time), cancellation of a queued call, the NUL/surrogate guard, the
 * deadline with interrupt (see {@linkcode stopExecution}), death while
 * running, re-sending requests ipykernel aborted, and the tooling calls.
 * A backend gives it only a small channels interface (ZeroMQ sockets or a
 * kernel websocket) and its own interrupt, death signal and shutdown.
 *
 * @module
 */

import { deadline as startDeadline, delay, untilAborted } from "../base/mod.ts";
import { codeToSend } from "./code_text.ts";
import { ExecutionTimeoutError, KernelDiedError } from "./errors.ts";
import {
  type ExecuteOptions,
  type ExecuteReplyContent,
  type ExecuteResult,
  isError,
  isStatus,
  type JupyterMessage,
  type KernelExit,
  type Logger,
} from "./messages.ts";
import { OutputCollector } from "./output.ts";
import { interruptAgainUntil, stopExecution } from "./stop_execution.ts";
import { type ExecuteSender, queuedTooling } from "./tooling.ts";

/** Default execution deadline. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** How long an interrupted kernel has to answer before it counts as stuck. */
const INTERRUPT_GRACE_MS = 5_000;
/** How often a request ipykernel aborted is sent again. */
const ABORT_RETRIES = 5;

/** Where the answers to one request go. */
export interface RequestRoutes {
  /** Every iopub message whose parent is the request. */
  onIopub(msg: JupyterMessage): void;
  /** The shell reply to the request. */
  onReply(msg: JupyterMessage): void;
  /** Output a transport had to drop (too large to keep). */
  onOversize?(
    lost: { streamName: "stdout" | "stderr" | null; bytes: number },
  ): void;
}

/** What a session needs of a kernel's channels. */
export interface SessionChannels {
  /**
   * Sends an execute_request on shell and routes its answers until the
   * returned function releases it.
   */
  sendExecute(
    content: Record<string, unknown>,
    routes: RequestRoutes,
  ): Promise<() => void>;
  /**
   * A shell round trip (kernel_info): the kernel answers shell requests in
   * order, so every reply to an earlier request was sent before it.
   */
  barrier(signal: AbortSignal): Promise<unknown>;
}

/** Per-execution notes a backend adds to the result (e.g. a rate limit). */
export interface OutputNotes {
  /** Sees every iopub message of the execution. */
  onIopub(msg: JupyterMessage): void;
  /** Adjusts the result before it is returned. */
  finish(result: ExecuteResult): ExecuteResult;
}

/**
 * Sends the tooling's execute_requests over a kernel's channels (also before
 * a session exists: the start-up code and identity of a new kernel).
 *
 * @param channels The kernel's channels.
 * @returns The sender the tooling's evaluateTooling uses.
 */
export function toolingSender(channels: SessionChannels): ExecuteSender {
  return (content, handlers) =>
    channels.sendExecute(content, {
      onReply: (msg) => {
        if (msg.header.msg_type === "execute_reply") {
          handlers.onReply(msg.content as ExecuteReplyContent);
        }
      },
      onIopub: (msg) => {
        if (isError(msg)) {
          handlers.onError(`${msg.content.ename}: ${msg.content.evalue}`);
        }
      },
    });
}

/** What a backend gives its {@linkcode KernelSession}. */
export interface SessionBackend {
  /** The kernel's channels. */
  channels: SessionChannels;
  /** Interrupts the kernel; failures are logged, not thrown. */
  interrupt(): Promise<void>;
  /** Stops the kernel (after an interrupt nobody answered). */
  shutdown(): Promise<void>;
  /** Aborted when the kernel dies. */
  death: AbortSignal;
  /** How the kernel ended (called once `death` aborted). */
  exit(): KernelExit;
  /** Names the kernel in logs and errors, e.g. "Kernel 1234". */
  label: string;
  /** Text after a tooling deadline error (may be empty). */
  toolingHint: string;
  /** Per-stream output cap per execution. */
  outputLimit: number;
  /** Where warnings go. */
  logger: Logger;
  /** Runs while an execution waits (e.g. a liveness watch); returns its stop. */
  whileRunning?(): () => void;
  /** Per-execution notes on the output. */
  outputNotes?(): OutputNotes;
}

/** The execution a kernel runs now, as an interrupt needs to see it. */
interface RunningExecution {
  /** True once the kernel began it (execute_input). */
  started: boolean;
  /** Settles once the kernel began it. */
  began: Promise<void>;
  /** Settles once it answered (execute_reply or idle). */
  answered: Promise<void>;
}

/**
 * Executions and tooling calls of one kernel, in order.
 *
 * @example Used by a kernel class
 * ```ts ignore
 * const session = new KernelSession({ channels, interrupt, shutdown, death, exit, ... });
 * const result = await session.execute("1 + 1", { timeoutMs: 5_000 });
 * ```
 */
export class KernelSession {
  readonly #b: SessionBackend;
  #queue: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #running: RunningExecution | undefined;

  /**
   * Creates the session of one kernel.
   *
   * @param backend The kernel's channels and hooks.
   */
  constructor(backend: SessionBackend) {
    this.#b = backend;
  }

  /** True while an execution is queued or running. */
  get busy(): boolean {
    return this.#busy > 0;
  }

  /** Sends tooling execute_requests over the session's channels. */
  get sender(): ExecuteSender {
    return toolingSender(this.#b.channels);
  }

  /**
   * Runs code once the executions before it are done. Python exceptions
   * are returned in `result.error`, not thrown.
   *
   * @param code Python source.
   * @param options Deadline, abort signal, output callback, silent flag.
   * @returns Output, result, images and error of the execution.
   * @throws {TypeError} Code is not a string.
   * @throws {ExecutionTimeoutError} Deadline passed (partial output inside).
   * @throws {KernelDiedError} The kernel ended.
   */
  execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    let guarded: ReturnType<typeof codeToSend>;
    try {
      guarded = codeToSend(code);
    } catch (error) {
      return Promise.reject(error);
    }
    if ("refused" in guarded) return Promise.resolve(guarded.refused);
    const text = guarded.text;
    this.#busy++;
    const run = this.#queue.then(() =>
      this.#executeUnlessAborted(text, options)
    );
    const settled = run.finally(() => this.#busy--);
    this.#queue = settled.catch(() => {});
    return settled;
  }

  /**
   * Evaluates a `_coder_tools` call behind the queue with its own deadline;
   * on the deadline the kernel is left alone (see {@linkcode queuedTooling}).
   *
   * @param call The call, e.g. `state()`.
   * @param timeoutMs Its deadline.
   * @param signal The caller's abort signal.
   * @returns The parsed JSON value.
   */
  tool<T>(
    call: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (this.#b.death.aborted) {
      return Promise.reject(new KernelDiedError(this.#b.exit()));
    }
    const run = queuedTooling<T>({
      after: this.#queue,
      send: this.sender,
      call,
      timeoutMs,
      signal,
      death: this.#b.death,
      died: () => new KernelDiedError(this.#b.exit()),
      label: this.#b.label,
      hint: this.#b.toolingHint,
    });
    // Later executions wait for this one only until it gives up.
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Interrupts the kernel and sees the interrupt through: while an
   * execution runs, the interrupt is sent again every second until it
   * answers, within the grace period. A SIGINT can be lost (it reached
   * another thread of the kernel, or it came before the cell began, when
   * ipykernel ignores it), and the code would then run on. An execution
   * sent but not yet begun gets the interrupt once it begins.
   *
   * @param send Sends one interrupt; its failure reaches the caller.
   * @returns Once the running execution answered, the grace period is
   *   over, or (nothing running) the interrupt was sent.
   */
  async interrupt(send: () => Promise<void>): Promise<void> {
    const running = this.#running;
    const begun = running?.started ?? false;
    await send();
    if (!running) return;
    // Ends when the execution answers, the kernel dies or the grace is over.
    const graceOver = new AbortController();
    const over = untilAborted([this.#b.death, graceOver.signal], "over");
    const ended = Promise.race([running.answered, over.promise]);
    delay(INTERRUPT_GRACE_MS, { signal: graceOver.signal })
      .then(() => graceOver.abort(), () => {});
    try {
      if (!begun) {
        const first = await Promise.race([
          running.began.then(() => "began" as const),
          ended,
        ]);
        if (first !== "began") return;
        await this.#b.interrupt();
      }
      await interruptAgainUntil(
        () => this.#b.interrupt(),
        ended,
        graceOver.signal,
      );
    } finally {
      graceOver.abort();
      over.dispose();
    }
  }

  /**
   * After an error, ipykernel aborts execute requests that reach it before
   * its "stop aborting" callback runs (stop_on_error); under load the next
   * request can land in that window. An aborted request never ran, so it is
   * sent again.
   */
  async #executeUnlessAborted(
    code: string,
    options: ExecuteOptions,
  ): Promise<ExecuteResult> {
    for (let attempt = 1;; attempt++) {
      const { result, aborted } = await this.#executeOnce(code, options);
      if (!aborted || attempt === ABORT_RETRIES) return result;
      this.#b.logger.debug(
        `${this.#b.label} aborted an execute request; sending it again`,
      );
      await delay(
        20 * attempt,
        options.signal ? { signal: options.signal } : {},
      );
    }
  }

  async #executeOnce(
    code: string,
    options: ExecuteOptions,
  ): Promise<{ result: ExecuteResult; aborted: boolean }> {
    const b = this.#b;
    if (b.death.aborted) throw new KernelDiedError(b.exit());
    // Cancelled while queued: never sent, never interrupts anything.
    options.signal?.throwIfAborted();
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const collector = new OutputCollector(b.outputLimit);
    const notes = b.outputNotes?.();
    const started = Promise.withResolvers<void>();
    const reply = Promise.withResolvers<void>();
    const idle = Promise.withResolvers<void>();
    let aborted = false;
    const running: RunningExecution = {
      started: false,
      began: started.promise,
      answered: Promise.race([reply.promise, idle.promise]),
    };
    const onIopub = (msg: JupyterMessage) => {
      if (
        msg.header.msg_type === "execute_input" ||
        (options.silent && isStatus(msg) &&
          msg.content.execution_state === "busy")
      ) {
        running.started = true;
        started.resolve();
      }
      notes?.onIopub(msg);
      const ended = collector.iopub(
        msg,
        options.onOutput,
        (error) => b.logger.warn(`onOutput callback threw: ${error}`),
      );
      if (ended) idle.resolve();
    };
    const onReply = (msg: JupyterMessage) => {
      if (msg.header.msg_type !== "execute_reply") return;
      aborted = collector.reply(msg.content as ExecuteReplyContent);
      reply.resolve();
    };
    const snapshot = () => {
      const result = collector.snapshot();
      return notes ? notes.finish(result) : result;
    };
    // Listeners on the long-lived death signal are removed in `finally`: a
    // callback left on a promise that lives as long as the kernel would keep
    // this execution's output alive until the kernel ends.
    const died = untilAborted([b.death], "died");
    const timer = startDeadline(timeoutMs);
    const stopped = untilAborted(
      options.signal ? [timer.signal, options.signal] : [timer.signal],
      "stopped",
    );
    const stopWatch = b.whileRunning?.() ?? (() => {});
    let release: () => void = () => {};
    try {
      const sent = b.channels.sendExecute({
        code,
        silent: options.silent ?? false,
        store_history: !options.silent,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      }, {
        onIopub,
        onReply,
        onOversize: (lost) => collector.lost(lost.streamName, lost.bytes),
      });
      this.#running = running;
      const first = await Promise.race([sent, died.promise]);
      if (first === "died") throw new KernelDiedError(b.exit(), snapshot());
      release = first;
      const done = Promise.all([reply.promise, idle.promise]);
      const outcome = await Promise.race([
        done.then(() => "done" as const),
        died.promise,
        stopped.promise,
      ]);
      if (outcome === "done") return { result: snapshot(), aborted };
      if (outcome === "died") throw new KernelDiedError(b.exit(), snapshot());
      // Deadline or abort: interrupt once this request runs (an interrupt
      // before that would hit the kernel's own machinery, or be lost and
      // the cell run on), then wait for the end.
      const after = await stopExecution({
        started: started.promise,
        done,
        idle: idle.promise,
        replied: reply.promise,
        died: died.promise,
        interrupt: () => b.interrupt(),
        barrier: (signal) =>
          b.channels.barrier(AbortSignal.any([signal, b.death])),
        graceMs: INTERRUPT_GRACE_MS,
      });
      const kernelAlive = after === "done";
      if (after === "grace") {
        b.logger.warn(
          `${b.label} did not answer the interrupt; shutting it down`,
        );
        await b.shutdown();
      }
      if (!timer.signal.aborted && options.signal?.aborted) {
        throw options.signal.reason;
      }
      throw new ExecutionTimeoutError(timeoutMs, snapshot(), kernelAlive);
    } finally {
      if (this.#running === running) this.#running = undefined;
      timer.clear();
      stopWatch();
      died.dispose();
      stopped.dispose();
      release();
    }
  }
}
