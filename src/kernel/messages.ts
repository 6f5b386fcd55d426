/**
 * Jupyter messaging protocol (v5.3) shapes, typed once per `msg_type`, and the
 * result types the kernel layer hands to callers. Wire shapes keep the spec's
 * snake_case; our own types are camelCase.
 *
 * @module
 */

/** The four ZeroMQ channels of a kernel we use. */
export type Channel = "shell" | "iopub" | "control" | "hb";

/** A Jupyter message header. */
export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

/** A decoded Jupyter message. */
export interface JupyterMessage<C = unknown> {
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Uint8Array[];
}

/** `stream` on iopub. */
export interface StreamContent {
  name: "stdout" | "stderr";
  text: string;
}

/** `execute_result` / `display_data` on iopub. */
export interface DisplayContent {
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  execution_count?: number;
}

/** `error` on iopub, and the error variant of replies. */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** `status` on iopub. */
export interface StatusContent {
  execution_state: "busy" | "idle" | "starting";
}

/** `execute_reply` on shell. */
export interface ExecuteReplyContent {
  status: "ok" | "error" | "aborted";
  execution_count?: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  /** Values of the request's `user_expressions`, by name (mime bundles). */
  user_expressions?: Record<string, unknown>;
}

/** Narrows a message to `stream`. */
export function isStream(
  msg: JupyterMessage,
): msg is JupyterMessage<StreamContent> {
  return msg.header.msg_type === "stream";
}

/** Narrows a message to `execute_result` or `display_data`. */
export function isDisplay(
  msg: JupyterMessage,
): msg is JupyterMessage<DisplayContent> {
  return msg.header.msg_type === "execute_result" ||
    msg.header.msg_type === "display_data";
}

/** Narrows a message to `error`. */
export function isError(
  msg: JupyterMessage,
): msg is JupyterMessage<ErrorContent> {
  return msg.header.msg_type === "error";
}

/** Narrows a message to `status`. */
export function isStatus(
  msg: JupyterMessage,
): msg is JupyterMessage<StatusContent> {
  return msg.header.msg_type === "status";
}

/** One chunk of streamed output. */
export interface OutputChunk {
  /** Which stream the text came from. */
  name: "stdout" | "stderr";
  /** The text, as the kernel sent it. */
  text: string;
}

/** An image a cell displayed. */
export interface KernelImage {
  /** Image MIME type. */
  mimeType:
    | "image/png"
    | "image/jpeg"
    | "image/gif"
    | "image/webp"
    | "image/svg+xml";
  /** Base64 for PNG/JPEG, the XML text for SVG. */
  data: string;
}

/** A Python exception raised by user code. */
export interface PythonError {
  /** Exception class name. */
  ename: string;
  /** Exception message. */
  evalue: string;
  /** Traceback lines joined by newlines, ANSI escapes stripped. */
  traceback: string;
}

/** A `text/html` representation a cell displayed (e.g. a pandas table). */
export interface HtmlOutput {
  /** The HTML as the kernel sent it (untrusted: sanitise before showing). */
  html: string;
  /** True for the cell's result (execute_result), false for display_data. */
  isResult: boolean;
}

/** What one execution produced. */
export interface ExecuteResult {
  /** "error" when user code raised. */
  status: "ok" | "error";
  /** Everything printed to stdout (up to the cap). */
  stdout: string;
  /** Everything printed to stderr (up to the cap). */
  stderr: string;
  /** The `text/plain` of the cell's result, if any. */
  result: string | null;
  /** Images from display_data / execute_result. */
  images: KernelImage[];
  /** The Python exception, if one was raised. */
  error: PythonError | null;
  /**
   * `text/html` representations, in order (bounded per execution, see
   * `HTML_LIMIT_CHARS`); absent when the backend keeps none.
   */
  html?: HtmlOutput[];
  /** The cell's execution count. */
  executionCount: number | null;
  /** Bytes of output past the per-stream cap that were counted, not kept. */
  droppedBytes: { stdout: number; stderr: number };
}

/** How a kernel process ended. */
export interface KernelExit {
  /** Exit code, when it exited. */
  code: number | null;
  /** Signal name, when a signal ended it. */
  signal: string | null;
  /**
   * Why it ended, when more is known than code and signal: `shutdown` (we
   * asked), `restarted` (replaced by a restart under the same id),
   * `memory_limit` (stopped for exceeding its memory limit), `remote_gone`
   * (deleted or culled on the server), `remote_restarted` (the server
   * restarted it after a crash), `connection_lost` (remote socket lost),
   * `unresponsive` (stopped after it did not answer an interrupt).
   */
  reason?: KernelExitReason;
  /** Human-readable detail for the reason (never a secret). */
  detail?: string;
  /** True when no execution was queued or running as it ended. */
  idle?: boolean;
}

/** Known reasons a kernel ended; see {@linkcode KernelExit.reason}. */
export type KernelExitReason =
  | "shutdown"
  | "restarted"
  | "memory_limit"
  | "remote_gone"
  | "remote_restarted"
  | "connection_lost"
  | "unresponsive";

/** A kernel's environment and namespace, gathered without side effects. */
export interface KernelState {
  /** Python version, e.g. "3.11.2". */
  pythonVersion: string;
  /** Installed distributions, sorted by name. */
  packages: { name: string; version: string }[];
  /** User variable names. */
  variables: string[];
}

/** Options for one execution. */
export interface ExecuteOptions {
  /** Deadline in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Aborting interrupts the kernel and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with each stdout/stderr chunk as it arrives. */
  onOutput?: (chunk: OutputChunk) => void;
  /** Tooling code: not stored in history, no execute_result. */
  silent?: boolean;
}

// The logger lives on floor 0 (src/base), shared with the other layers.
export { type Logger, SILENT_LOGGER } from "../base/mod.ts";
