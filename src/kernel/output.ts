/**
 * Collects one execution's output (streams, result, images, error) with a
 * per-stream cap, whatever backend delivers the messages.
 *
 * @module
 */

import type { ExecuteResult, KernelImage } from "./messages.ts";

/** Image MIME types gathered from display data, in order of preference. */
export const IMAGE_TYPES = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/svg+xml",
] as const;

/** Accumulates one execution's output without quadratic string building. */
export class OutputCollector {
  readonly #chunks = { stdout: [] as string[], stderr: [] as string[] };
  readonly #kept = { stdout: 0, stderr: 0 };
  readonly dropped = { stdout: 0, stderr: 0 };
  readonly images: KernelImage[] = [];
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
    if (isResult && typeof data["text/plain"] === "string") {
      this.result = data["text/plain"];
    }
  }

  snapshot(): ExecuteResult {
    return {
      status: this.error ? "error" : "ok",
      stdout: this.#chunks.stdout.join(""),
      stderr: this.#chunks.stderr.join(""),
      result: this.result,
      images: [...this.images],
      error: this.error,
      executionCount: this.executionCount,
      droppedBytes: { ...this.dropped },
    };
  }
}
