/**
 * Kernel tooling over a private channel: one execute_request whose
 * `user_expressions` evaluate a `_coder_tools` call. The value's text/plain
 * form is JSON (see `_Json` in _startup.py); nothing is parsed from stdout,
 * so user code redirecting or flooding it changes nothing. Shared by local
 * and remote kernels, which only differ in how the request is sent.
 *
 * @module
 */

import { KernelError } from "./errors.ts";
import type { ExecuteReplyContent } from "./messages.ts";
import { deadline as startDeadline, delay, untilAborted } from "../base/mod.ts";

/** Handlers an {@linkcode ExecuteSender} routes the request's answers to. */
export interface ExecuteHandlers {
  /** The execute_reply's content. */
  onReply(content: ExecuteReplyContent): void;
  /** An iopub error of the request, as "Name: message". */
  onError(text: string): void;
}

/**
 * Sends one execute_request and routes its answers until the returned
 * function releases it.
 */
export type ExecuteSender = (
  content: Record<string, unknown>,
  handlers: ExecuteHandlers,
) => Promise<() => void>;

/**
 * Runs `code` (may be empty) and returns `_coder_tools.<call>` read back
 * through `user_expressions`.
 *
 * @param send How the request reaches the kernel.
 * @param call The call, e.g. `state()`.
 * @param options Code to run first, silent flag, and the signal that ends
 *   the wait (the kernel is left alone).
 * @returns The parsed JSON value.
 * @throws {KernelError} When the code or the call fails in the kernel.
 */
export async function evaluateTooling<T>(
  send: ExecuteSender,
  call: string,
  options: { code: string; silent: boolean; signal: AbortSignal },
): Promise<T> {
  // ipykernel aborts requests that reach it just after an error in the
  // previous cell (stop_on_error): an aborted request never ran; send it
  // again, as Kernel.execute does.
  for (let attempt = 1;; attempt++) {
    const outcome = await evaluateOnce<T>(send, call, options);
    if (outcome.ran) return outcome.value;
    if (attempt === ABORT_RETRIES) {
      throw new KernelError(
        `Kernel tooling call ${call} was aborted by the kernel ${attempt} times`,
      );
    }
    await delay(20 * attempt, { signal: options.signal });
  }
}

/** One queued tooling call of a kernel, for {@linkcode queuedTooling}. */
export interface QueuedToolingCall {
  /** The kernel's queue: the call runs once this settles. */
  after: Promise<unknown>;
  /** How the request reaches the kernel. */
  send: ExecuteSender;
  /** The `_coder_tools` call, e.g. `state()`. */
  call: string;
  /** Its deadline in ms. */
  timeoutMs: number;
  /** The caller's abort signal, if any. */
  signal?: AbortSignal | undefined;
  /** Aborted when the kernel dies. */
  death: AbortSignal;
  /** The error to throw once the kernel died. */
  died(): Error;
  /** Names the kernel in the deadline error, e.g. "Kernel 1234". */
  label: string;
  /** Text after the deadline in that error (may be empty). */
  hint: string;
}

/**
 * Runs a tooling call behind the kernel's queue with its own deadline. On
 * the deadline (or the caller's abort) it fails with a clear error and
 * leaves the kernel alone: nothing is interrupted or killed. Shared by
 * local and remote kernels.
 *
 * @param c The call.
 * @returns The parsed JSON value.
 * @throws {KernelError} On the deadline, or when the call fails in the kernel.
 */
export function queuedTooling<T>(c: QueuedToolingCall): Promise<T> {
  const timer = startDeadline(c.timeoutMs);
  const stop = AbortSignal.any([
    timer.signal,
    c.death,
    ...(c.signal ? [c.signal] : []),
  ]);
  return c.after.then(() =>
    evaluateTooling<T>(c.send, c.call, { code: "", silent: true, signal: stop })
  ).catch((error) => {
    if (c.death.aborted) throw c.died();
    if (c.signal?.aborted) throw c.signal.reason;
    if (timer.signal.aborted) {
      throw new KernelError(
        `${c.label} did not answer a status request within ${
          c.timeoutMs / 1000
        }s${c.hint}; it was left running`,
      );
    }
    throw error;
  }).finally(() => timer.clear());
}

/** How often an aborted tooling request is sent again. */
const ABORT_RETRIES = 5;

async function evaluateOnce<T>(
  send: ExecuteSender,
  call: string,
  options: { code: string; silent: boolean; signal: AbortSignal },
): Promise<{ ran: true; value: T } | { ran: false }> {
  const { signal } = options;
  signal.throwIfAborted();
  const reply = Promise.withResolvers<ExecuteReplyContent>();
  let errorText = "";
  const release = await send({
    code: options.code,
    silent: options.silent,
    store_history: false,
    user_expressions: { value: `__import__("_coder_tools").${call}` },
    allow_stdin: false,
    stop_on_error: false,
  }, {
    onReply: (content) => reply.resolve(content),
    onError: (text) => {
      errorText = text;
    },
  });
  const stopped = untilAborted([signal], "stopped");
  try {
    const content = await Promise.race([
      reply.promise,
      stopped.promise.then(() => Promise.reject(signal.reason)),
    ]);
    if (content.status === "aborted") return { ran: false };
    if (content.status !== "ok") {
      throw new KernelError(
        `Kernel tooling code failed: ${
          errorText || `${content.ename}: ${content.evalue}`
        }`,
      );
    }
    const value = (content.user_expressions ?? {})["value"] as
      | {
        status: string;
        data?: Record<string, unknown>;
        ename?: string;
        evalue?: string;
      }
      | undefined;
    if (!value || value.status !== "ok") {
      throw new KernelError(
        `Kernel tooling call ${call} failed: ${
          value ? `${value.ename}: ${value.evalue}` : "no value returned"
        }`,
      );
    }
    const text = value.data?.["text/plain"];
    if (typeof text !== "string") {
      throw new KernelError(`Kernel tooling call ${call} returned no text`);
    }
    return { ran: true, value: JSON.parse(text) as T };
  } finally {
    stopped.dispose();
    release();
  }
}
