/**
 * The process streams and working directory an entry point runs against.
 *
 * Entry files export `main(args, io)`; tests pass their own streams, and the
 * `import.meta.main` guard passes {@linkcode processIo}. `main` returns its
 * exit code; only a forced stop that cannot wait for `main` to return ends
 * the program, through `io.exit`, never `Deno.exit` below `main`.
 *
 * @module
 */

/** Streams, environment and working directory handed to an entry point. */
export interface CliIo {
  /** Standard input (interactive mode, MCP protocol). */
  stdin: ReadableStream<Uint8Array>;
  /** Standard output (answers, protocol). */
  stdout: WritableStream<Uint8Array>;
  /** Standard error (logs, progress, errors). */
  stderr: WritableStream<Uint8Array>;
  /** Environment variables as a plain record. */
  env: Record<string, string>;
  /** Directory the user ran the program from. */
  cwd: string;
  /** Whether stdout is a terminal (enables colour and Markdown styling). */
  isTerminal: boolean;
  /**
   * Ends the program at once with `code`: the forced stop of a second stop
   * request, which cannot wait for `main` to return. The process's io exits
   * the process; an in-process run records the code.
   */
  exit(code: number): void;
  /** Whether stdin is a terminal (a person typing, not an MCP client). */
  stdinIsTerminal?: boolean;
}

/**
 * Builds the {@linkcode CliIo} of the running process.
 *
 * The working directory is `INIT_CWD` when `deno task` set it, else `Deno.cwd()`.
 *
 * @returns The real process streams, environment and working directory.
 */
export function processIo(): CliIo {
  const env = Deno.env.toObject();
  return {
    stdin: Deno.stdin.readable,
    stdout: Deno.stdout.writable,
    stderr: Deno.stderr.writable,
    env,
    cwd: env.INIT_CWD || Deno.cwd(),
    isTerminal: Deno.stdout.isTerminal(),
    // The one exit below main: the process's own io, handed in by the guard.
    // deno-lint-ignore coder/exit-only-in-main
    exit: (code) => Deno.exit(code),
    stdinIsTerminal: Deno.stdin.isTerminal(),
  };
}

/**
 * Writes text to a stream without keeping its lock.
 *
 * @param stream The stream to write to.
 * @param text The text to write.
 */
export async function writeText(
  stream: WritableStream<Uint8Array>,
  text: string,
): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}

/** Lines read one at a time from a byte stream (see {@linkcode readLines}). */
export interface LineReader {
  /** The next line without its line break (`\r\n` or `\n`), or null at the end. */
  next(): Promise<string | null>;
  /** Stops reading and releases the stream. */
  close(): Promise<void>;
}

/**
 * Reads a UTF-8 byte stream line by line; the last line may lack a line
 * break. An aborted signal ends the input (the pending read returns null).
 *
 * @param stream The stream (e.g. stdin).
 * @param signal Ends reading early.
 * @returns The reader.
 * @example Read two lines
 * ```ts
 * import { readLines } from "./io.ts";
 * const lines = readLines(ReadableStream.from([new TextEncoder().encode("a\nb")]));
 * console.log(await lines.next(), await lines.next()); // a b
 * ```
 */
export function readLines(
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): LineReader {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const onAbort = (): void => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  const close = (): Promise<void> => {
    signal?.removeEventListener("abort", onAbort);
    return reader.cancel().catch(() => {});
  };
  let buffer = "";
  let done = signal?.aborted ?? false;
  return {
    async next(): Promise<string | null> {
      while (true) {
        const newline = buffer.indexOf("\n");
        if (newline >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          return line;
        }
        if (done) {
          if (buffer === "") return null;
          const line = buffer;
          buffer = "";
          return line;
        }
        const chunk = await reader.read().catch(() => ({
          done: true as const,
        }));
        if (chunk.done || signal?.aborted) done = true;
        else buffer += chunk.value;
      }
    },
    close,
  };
}
