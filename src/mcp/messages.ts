/**
 * The messages a model reads from the ipython_mcp tools, as SPEC §2 and
 * §13 fix them: interrupts, unknown kernels, timeouts, dead or restarted
 * kernels, syntax errors and a started session.
 *
 * @module
 */

import { describeExit, type KernelExit } from "../kernel/mod.ts";

/** Answer to python_interrupt when a kernel got SIGINT. */
export const INTERRUPT_SENT = "Interrupt sent. Session state preserved.";
/** Answer to python_interrupt when the kernel does not exist. */
export const NO_SESSION_TO_INTERRUPT = "No active session to interrupt";
/** submit_code error for empty or whitespace-only code. */
export const EMPTY_SUBMISSION = "Empty submission";

/**
 * Formats seconds for messages: `2` -> "2", `2.5` -> "2.5".
 *
 * @param seconds A duration in seconds.
 * @returns The number without trailing zeros.
 */
export function formatSeconds(seconds: number): string {
  return String(Math.round(seconds * 1000) / 1000);
}

/**
 * Describes how a kernel process ended: "exit code 1" or "signal SIGKILL".
 *
 * @param exit The exit of the process.
 * @returns The description.
 */
export function describeKernelExit(exit: KernelExit): string {
  return describeExit(exit);
}

/**
 * python_exec error for an unknown, non-default kernel id.
 *
 * @param kernelId The id asked for.
 * @returns The SPEC message.
 */
export function execNotFoundMessage(kernelId: string): string {
  return `Kernel ${kernelId} not found. Create it first with python_reset()`;
}

/**
 * python_reset error for an unknown kernel id.
 *
 * @param kernelId The id asked for.
 * @returns The SPEC message.
 */
export function resetNotFoundMessage(kernelId: string): string {
  return `Kernel ${kernelId} not found. Omit kernel_id to create a new kernel.`;
}

/**
 * python_exec error after the deadline passed.
 *
 * @param seconds The timeout that passed.
 * @param kernelAlive Whether the interrupt worked (state preserved).
 * @returns The message; when the kernel died it tells to call python_reset.
 */
export function timeoutMessage(seconds: number, kernelAlive: boolean): string {
  const s = formatSeconds(seconds);
  if (kernelAlive) {
    return `Execution timed out after ${s}s. Code interrupted but session state preserved.`;
  }
  return `Execution timed out after ${s}s and the kernel did not respond to the interrupt, ` +
    `so it was stopped and removed; its variables are lost. ` +
    `Call python_reset() to start a new session.`;
}

/**
 * Error for a kernel that died (os._exit, crash, OOM kill).
 *
 * @param kernelId The kernel that died.
 * @param exit How its process ended.
 * @returns The message naming exit code or signal and how to recover.
 */
export function kernelDiedMessage(kernelId: string, exit: KernelExit): string {
  if (exit.reason === "memory_limit") {
    // SPEC §7.1 wording.
    return `Kernel stopped: it exceeded its memory limit${
      exit.detail ? ` of ${exit.detail}` : ""
    }; its state is lost, call python_reset`;
  }
  if (exit.reason === "restarted") {
    return `Kernel ${kernelId} was restarted (python_reset) while this code ran; ` +
      `the code was stopped and the old kernel's variables are lost. ` +
      `The restarted kernel is ready under the same kernel_id.`;
  }
  // SPEC §13: the id answers that it died until python_reset starts it again.
  return `Kernel ${kernelId} died (${
    describeKernelExit(exit)
  }); its state is lost; call python_reset`;
}

/**
 * Error for a call whose kernel python_reset restarted while it ran.
 *
 * @param kernelId The kernel.
 * @returns The message: stopped by the restart, state cleared, no reset needed.
 */
export function restartedDuringCallMessage(kernelId: string): string {
  return `Kernel ${kernelId} was restarted by python_reset() while this call ran, ` +
    `so the code was stopped and its variables cleared. The fresh kernel is ready: ` +
    `run the code again if you still need it (no python_reset() needed).`;
}

/**
 * submit_code error for a syntax error.
 *
 * @param line The 1-based line.
 * @param message Python's message.
 * @returns "Syntax error at line N: MSG".
 */
export function syntaxErrorMessage(line: number, message: string): string {
  return `Syntax error at line ${line}: ${message}`;
}

/**
 * python_reset success message.
 *
 * @param names Requested package names, in request order.
 * @param versions Installed versions by name (`null` = not found).
 * @returns "Session started. Packages: numpy 2.1.0" or
 *   "Session started (no packages)".
 * @example Message with packages
 * ```ts
 * import { sessionStartedMessage } from "./messages.ts";
 * sessionStartedMessage(["numpy"], { numpy: "2.1.0" });
 * // "Session started. Packages: numpy 2.1.0"
 * ```
 */
export function sessionStartedMessage(
  names: readonly string[],
  versions: Readonly<Record<string, string | null>>,
): string {
  if (names.length === 0) return "Session started (no packages)";
  const parts = names.map((name) => {
    const version = versions[name];
    return version ? `${name} ${version}` : `${name} (not found)`;
  });
  return `Session started. Packages: ${parts.join(", ")}`;
}
