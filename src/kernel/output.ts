/**
 * Collects one execution's output (streams, result, images, error) with a
 * per-stream cap, whatever backend delivers the messages.
 *
 * @module
 */

import {
  type ExecuteReplyContent,
  type ExecuteResult,
  type HtmlOutput,
  isDisplay,
  isError,
  isStatus,
  isStream,
  type JupyterMessage,
  type KernelImage,
  type OutputChunk,
} from "./messages.ts";
import { stripAnsi } from "./wire.ts";

/** Image MIME types gathered from display data, in order of preference. */
export const IMAGE_TYPES = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/svg+xml",
] as const;

/**
 * Most `text/html` characters kept per execution; representations past it
 * are left out (the text/plain result stays).
 */
export const HTML_LIMIT_CHARS = 2 * 1024 * 1024;

/** Accumulates one execution's output without quadratic string building. */
export class OutputCollector {
  readonly #chunks = { stdout: [] as string[], stderr: [] as string[] };
  readonly #kept = { stdout: 0, stderr: 0 };
  readonly dropped = { stdout: 0, stderr: 0 };
  readonly images: KernelImage[] = [];
  readonly html: HtmlOutput[] = [];
  #htmlChars = 0;
  result: string | null = null;
  error: ExecuteResult["error"] = null;
  executionCount: number | null = null;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  stream(name: "stdout" | "stderr", text: string): void {
    const room = this.#limit - this.#kept[name];
    if (room >= text.length) {
      this.#chunks[name].push(text);
      this.#kept[name] += text.length;
      return;
    }
    if (room > 0) {
      this.#chunks[name].push(text.slice(0, room));
      this.#kept[name] += room;
    }
    this.dropped[name] +=
      new TextEncoder().encode(text.slice(Math.max(room, 0)))
        .length;
  }

  /**
   * Counts a message that was lost whole (too large to decode) as dropped
   * output of its stream (stdout when unknown).
   */
  lost(name: "stdout" | "stderr" | null, bytes: number): void {
    this.dropped[name ?? "stdout"] += bytes;
  }

  display(data: Record<string, unknown>, isResult: boolean): void {
    for (const mimeType of IMAGE_TYPES) {
      const value = data[mimeType];
      if (typeof value === "string") {
        this.images.push({ mimeType, data: value.replace(/\n/g, "") });
        if (mimeType !== "image/svg+xml") break;
      }
    }
    const html = data["text/html"];
    if (
      typeof html === "string" &&
      this.#htmlChars + html.length <= HTML_LIMIT_CHARS
    ) {
      this.#htmlChars += html.length;
      this.html.push({ html, isResult });
    }
    if (isResult && typeof data["text/plain"] === "string") {
      this.result = data["text/plain"];
    }
  }

  /**
   * Records one iopub message of this execution (stream, display, result,
   * error) and forwards stream chunks to `onOutput` (a throwing callback is
   * reported to `onCallbackError`, never to the kernel layer).
   *
   * @returns True when the message is the `idle` status that ends it.
   */
  iopub(
    msg: JupyterMessage,
    onOutput?: (chunk: OutputChunk) => void,
    onCallbackError?: (error: unknown) => void,
  ): boolean {
    if (isStream(msg)) {
      const { name, text } = msg.content;
      this.stream(name, text);
      if (onOutput) {
        try {
          onOutput({ name, text });
        } catch (error) {
          onCallbackError?.(error);
        }
      }
    } else if (isDisplay(msg)) {
      this.display(msg.content.data, msg.header.msg_type === "execute_result");
    } else if (isError(msg)) {
      this.error = {
        ename: msg.content.ename,
        evalue: msg.content.evalue,
        traceback: stripAnsi(msg.content.traceback.join("\n")),
      };
    } else if (isStatus(msg) && msg.content.execution_state === "idle") {
      return true;
    }
    return false;
  }

  /**
   * Records the execute_reply: execution count, and the error when no iopub
   * error came first.
   *
   * @returns True when the kernel aborted the request (it never ran).
   */
  reply(content: ExecuteReplyContent): boolean {
    this.executionCount = content.execution_count ?? null;
    if (content.status === "error" && !this.error) {
      this.error = {
        ename: content.ename ?? "Error",
        evalue: content.evalue ?? "",
        traceback: stripAnsi((content.traceback ?? []).join("\n")),
      };
    }
    return content.status === "aborted";
  }

  snapshot(): ExecuteResult {
    return {
      status: this.error ? "error" : "ok",
      stdout: this.#chunks.stdout.join(""),
      stderr: this.#chunks.stderr.join(""),
      result: this.result,
      images: [...this.images],
      error: this.error,
      ...(this.html.length > 0 ? { html: [...this.html] } : {}),
      executionCount: this.executionCount,
      droppedBytes: { ...this.dropped },
    };
  }
}
