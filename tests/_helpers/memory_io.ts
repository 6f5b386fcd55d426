/**
 * In-memory {@linkcode CliIo} for in-process runs of entry points.
 *
 * @module
 */

import type { CliIo } from "../../src/cli/io.ts";

/** A CliIo whose output is collected in memory. */
export interface MemoryIo {
  /** Pass this to `main(args, io)`. */
  io: CliIo;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The codes `io.exit` was called with (a forced stop), in order. */
  exits: number[];
}

/**
 * Builds in-memory streams: stdin holds `input` then ends.
 *
 * @param options Working directory, environment, stdin text, terminal flag.
 * @returns The io and readers of what was written.
 */
export function memoryIo(options: {
  cwd: string;
  env: Record<string, string>;
  input?: string;
  isTerminal?: boolean;
}): MemoryIo {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const exits: number[] = [];
  const text = (chunks: Uint8Array[]): string => {
    const decoder = new TextDecoder();
    return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join(
      "",
    ) +
      decoder.decode();
  };
  const io: CliIo = {
    stdin: new ReadableStream({
      start(controller) {
        if (options.input) {
          controller.enqueue(new TextEncoder().encode(options.input));
        }
        controller.close();
      },
    }),
    stdout: new WritableStream({ write: (chunk) => void out.push(chunk) }),
    stderr: new WritableStream({ write: (chunk) => void err.push(chunk) }),
    env: options.env,
    cwd: options.cwd,
    isTerminal: options.isTerminal ?? false,
    exit: (code) => void exits.push(code),
  };
  return { io, stdout: () => text(out), stderr: () => text(err), exits };
}
