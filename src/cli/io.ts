/**
 * The process streams and working directory an entry point runs against.
 *
 * Entry files export `main(args, io)`; tests pass their own streams, and the
 * `import.meta.main` guard passes {@linkcode processIo}.
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
