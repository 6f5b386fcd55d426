/**
 * Terminal output of `coder`: serialized, secret-masking writes; one progress
 * line per tool call; the final answer as terminal Markdown; statistics.
 *
 * @module
 */

import { Marked } from "marked";
import { markedTerminal } from "marked-terminal";
import {
  type AgentEvent,
  type AgentStats,
  SecretMasker,
} from "../agent/mod.ts";
import type { Logger } from "../kernel/mod.ts";
import type { CliIo } from "./io.ts";
import type { LogLevel } from "./env.ts";
import { createLevelLogger } from "./logger.ts";
import { UsageError } from "./options.ts";

/**
 * Ordered writes to stdout/stderr. Every write is queued so that concurrent
 * writers never fight over a stream lock, and every secret is masked.
 */
export class Output {
  readonly #io: CliIo;
  readonly #encoder = new TextEncoder();
  #chain: Promise<void> = Promise.resolve();
  /** Masks secrets in everything written (shared with the log and the agent). */
  readonly masker: SecretMasker;

  /**
   * @param io The process streams.
   * @param masker Masks strings that must never be printed (API keys).
   */
  constructor(io: CliIo, masker: SecretMasker = new SecretMasker()) {
    this.#io = io;
    this.masker = masker;
  }

  /** Masks every secret in a text. */
  mask(text: string): string {
    return this.masker.mask(text);
  }

  #write(stream: WritableStream<Uint8Array>, text: string): void {
    const bytes = this.#encoder.encode(this.mask(text));
    this.#chain = this.#chain.then(async () => {
      const writer = stream.getWriter();
      try {
        await writer.write(bytes);
      } finally {
        writer.releaseLock();
      }
    }).catch(() => {});
  }

  /** Queues text for stdout. */
  stdout(text: string): void {
    this.#write(this.#io.stdout, text);
  }

  /** Queues text for stderr. */
  stderr(text: string): void {
    this.#write(this.#io.stderr, text);
  }

  /** Resolves when everything queued so far is written. */
  flush(): Promise<void> {
    return this.#chain;
  }
}

/**
 * A logger writing `coder: LEVEL: message` lines to stderr through an {@linkcode Output}.
 *
 * @param output Where lines go.
 * @param level Lowest level written.
 * @returns The logger.
 */
export function createCliLogger(output: Output, level: LogLevel): Logger {
  return createLevelLogger(
    level,
    (at, message) => output.stderr(`coder: ${at}: ${message}\n`),
  );
}

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/**
 * Describes in a few words what a piece of Python code does, from its
 * top-level statements: `importing numpy, defining function fib(), printing fib(10)`.
 *
 * @param code Python source.
 * @param max Longest description.
 * @returns A short description.
 *
 * @example Describe code
 * ```ts
 * import { describeCode } from "./render.ts";
 * console.log(describeCode("def fib(n):\n    return n\nprint(fib(3))"));
 * // defining function fib(), printing fib(3)
 * ```
 */
export function describeCode(code: string, max = 72): string {
  const parts: string[] = [];
  const add = (part: string): void => {
    if (!parts.includes(part)) parts.push(part);
  };
  const imports: string[] = [];
  for (const raw of code.split("\n")) {
    if (raw.length === 0 || /^\s/.test(raw)) continue;
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "" || line.startsWith("@")) continue;
    let m: RegExpExecArray | null;
    if ((m = /^(?:async\s+)?def\s+([A-Za-z_]\w*)/.exec(line))) {
      add(`defining function ${m[1]}()`);
    } else if ((m = /^class\s+([A-Za-z_]\w*)/.exec(line))) {
      add(`defining class ${m[1]}`);
    } else if ((m = /^import\s+(.+)$/.exec(line))) {
      for (const item of m[1]!.split(",")) {
        const name = item.trim().split(/\s+/)[0]!;
        if (name && !imports.includes(name)) imports.push(name);
      }
    } else if ((m = /^from\s+(\S+)\s+import\b/.exec(line))) {
      if (!imports.includes(m[1]!)) imports.push(m[1]!);
    } else if ((m = /^print\s*\((.*)\)\s*$/.exec(line))) {
      add(`printing ${shorten(m[1]!, 30)}`);
    } else if (/^print\s*\(/.test(line)) {
      add("printing output");
    } else if (/^(for|while)\b/.test(line)) {
      add("running a loop");
    } else if (/^with\s+open\s*\(/.test(line)) {
      add("working with a file");
    } else if (/^(if|try|with|match)\b/.test(line)) {
      add(`running ${line.split(/\W/)[0]} block`);
    } else if (
      (m =
        /^([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*(?:[-+*/%|&^]|\/\/|\*\*)?=(?!=)/
          .exec(line))
    ) {
      add(`setting ${m[1]!.replace(/\s+/g, "")}`);
    } else if (/^(assert)\b/.test(line)) {
      add("checking assertions");
    } else if (
      !/^(else|elif|except|finally|return|pass|global|del)\b/.test(line)
    ) {
      add(`evaluating ${shorten(line, 30)}`);
    }
  }
  if (imports.length > 0) parts.unshift(`importing ${imports.join(", ")}`);
  if (parts.length === 0) return "running code";
  let text = parts[0]!;
  for (const part of parts.slice(1)) {
    if (text.length + part.length + 2 > max) return `${text}, …`;
    text += `, ${part}`;
  }
  return shorten(text, max);
}

/**
 * The progress line of one tool call.
 *
 * @param tool Tool name.
 * @param args Parsed arguments (null when they were not valid JSON).
 * @returns A one-line description.
 */
export function describeToolCall(
  tool: string,
  args: Record<string, unknown> | null,
): string {
  const code = typeof args?.code === "string" ? args.code : null;
  if (tool === "python_exec") {
    return `python_exec: ${
      code === null ? "(invalid arguments)" : describeCode(code)
    }`;
  }
  if (tool === "save_code") {
    const lines = code === null
      ? 0
      : code.split("\n").filter((l) => l.trim()).length;
    return `save_code: saving the final program (${lines} lines)`;
  }
  if (tool === "todo_write") {
    const todos = Array.isArray(args?.todos)
      ? args.todos as Record<string, unknown>[]
      : [];
    const done = todos.filter((t) => t?.status === "completed").length;
    const active = todos.find((t) => t?.status === "in_progress");
    const current = active && typeof active.content === "string"
      ? `; now: ${shorten(active.content, 40)}`
      : "";
    return `todo_write: ${done}/${todos.length} done${current}`;
  }
  return `${tool}: (unknown tool)`;
}

/** Options of {@linkcode createProgressRenderer}. */
export interface ProgressOptions {
  /** Print nothing. */
  quiet: boolean;
  /** Print kernel details too. */
  verbose: boolean;
}

/**
 * Turns agent events into progress lines on stderr.
 *
 * @param output Where lines go.
 * @param options Quiet and verbose switches.
 * @returns An `onEvent` callback.
 */
export function createProgressRenderer(
  output: Output,
  options: ProgressOptions,
): (event: AgentEvent) => void {
  return (event) => {
    if (options.quiet) return;
    switch (event.type) {
      case "tool_call":
        output.stderr(`  > ${describeToolCall(event.tool, event.args)}\n`);
        break;
      case "tool_result":
        if (!event.success && event.error) {
          output.stderr(
            `    x ${shorten(event.error.split("\n")[0] ?? "", 100)}\n`,
          );
        }
        break;
      case "retry":
        output.stderr(
          `  ! model endpoint error, retry ${event.attempt}/3 in ${event.delayMs} ms: ${
            shorten(event.error, 100)
          }\n`,
        );
        break;
      case "continue":
        output.stderr(
          "  ! answer hit the token limit; asking the model to continue\n",
        );
        break;
      case "packages": {
        const missing = Object.entries(event.versions).filter(([, v]) =>
          v === null
        );
        for (const [name] of missing) {
          output.stderr(
            `Warning: package "${name}" is not available in the kernel (add --with ${name})\n`,
          );
        }
        break;
      }
      case "kernel_started":
        if (options.verbose) {
          output.stderr(
            `Kernel started (${
              event.pid === null ? "remote" : `pid ${event.pid}`
            }, ${event.python})\n`,
          );
        }
        break;
      default:
        break;
    }
  };
}

/**
 * Renders Markdown for the terminal (styled with marked-terminal) or returns
 * it unchanged when colour is off (not a TTY, or NO_COLOR).
 *
 * @param markdown The answer.
 * @param color Whether to style it.
 * @returns Text to print (newline-terminated).
 */
export function renderMarkdown(markdown: string, color: boolean): string {
  const text = markdown.trimEnd();
  if (!color || text === "") return text + "\n";
  try {
    const marked = new Marked(
      markedTerminal({ reflowText: false, tab: 2 }) as Parameters<
        Marked["use"]
      >[0],
    );
    const rendered = marked.parse(text, { async: false }) as string;
    return rendered.trimEnd() + "\n";
  } catch {
    return text + "\n";
  }
}

/**
 * The statistics block printed after a run.
 *
 * @param stats Run statistics.
 * @returns Lines, newline-terminated.
 */
export function formatStats(stats: AgentStats): string {
  const calls = Object.entries(stats.tool_usage);
  const total = calls.reduce((sum, [, n]) => sum + n, 0);
  const detail = calls.length > 0
    ? ` (${calls.map(([t, n]) => `${t} ${n}`).join(", ")})`
    : "";
  const tokens = stats.token_consumption;
  const lines = [
    "--- Statistics ---",
    `Tool calls: ${total}${detail}`,
    `Tokens: ${tokens.total_tokens.toLocaleString("en-US")} (input ${
      tokens.input_tokens.toLocaleString("en-US")
    }, output ${tokens.output_tokens.toLocaleString("en-US")})`,
  ];
  if (stats.cost_usd !== undefined) {
    lines.push(`Cost: $${stats.cost_usd.toFixed(4)}`);
  }
  lines.push(`Time: ${stats.execution_time_seconds.toFixed(1)} s`);
  if (stats.step_limit_reached) {
    lines.push("Step limit reached without a final answer");
  }
  return lines.join("\n") + "\n";
}

/**
 * Runs an agent command: parses its arguments (a usage error is reported
 * with the help hint and `usageCode`), then runs it with an {@linkcode Output}
 * that masks the `--api-key` given, flushed at the end.
 *
 * @param name The command's name for messages (`coder`, `coder eval`).
 * @param io Standard streams and environment.
 * @param parse Parses the arguments; throws {@linkcode UsageError}.
 * @param run Runs the parsed command.
 * @param usageCode Exit code of a usage error.
 * @returns The command's exit code.
 */
export async function runWithOutput<A extends { apiKey: string | null }>(
  name: string,
  io: CliIo,
  parse: () => A,
  run: (args: A, out: Output) => Promise<number>,
  usageCode: number,
): Promise<number> {
  let args: A;
  try {
    args = parse();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const out = new Output(io);
    out.stderr(`${name}: ${error.message}\nRun ${name} --help for usage.\n`);
    await out.flush();
    return usageCode;
  }
  const out = new Output(io, new SecretMasker([args.apiKey]));
  try {
    return await run(args, out);
  } finally {
    await out.flush();
  }
}
