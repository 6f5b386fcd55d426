/**
 * Entry point of `coder`: the autonomous coding agent CLI, and `coder mcp`
 * (the ipython_mcp server).
 *
 * @example Run from source
 * ```sh
 * deno task coder "Write a function that checks whether a number is prime"
 * ```
 *
 * @module
 */

import { basename, extname, resolve } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import {
  type AgentStats,
  type CodingAgent,
  combineStats,
  createCodingAgent,
  parseProjectFile,
  runAgent,
  type RunAgentResult,
  TASK_KICKOFF,
} from "../agent/mod.ts";
import {
  InvalidPackageSpecError,
  type KernelBackend,
  validatePackageSpec,
} from "../kernel/mod.ts";
import {
  loadModelConfig,
  MissingApiKeyError,
  type ModelConfig,
  ModelConfigError,
  OPENROUTER_KEY_ENV,
  UnknownModelError,
} from "../llm/mod.ts";
import {
  type CoderArgs,
  HELP_TEXT,
  parseCoderArgs,
  UsageError,
} from "./args.ts";
import { type CoderSettings, readSettings, resolveApiKey } from "./env.ts";
import { BackendChoiceError, createBackend } from "./backend.ts";
import { type CliIo, processIo } from "./io.ts";

export type { CliIo } from "./io.ts";
import { runMcpServer } from "./mcp_command.ts";
import {
  createCliLogger,
  createProgressRenderer,
  formatStats,
  Output,
  renderMarkdown,
} from "./render.ts";
import { initTemplates } from "./templates.ts";

/** Exit codes of `coder`. */
export const EXIT: Readonly<{
  ok: 0;
  runtime: 1;
  usage: 2;
  stepLimit: 3;
  interrupted: 130;
}> = Object.freeze({
  /** A final answer was given. */
  ok: 0,
  /** Runtime failure: API, missing key, kernel. */
  runtime: 1,
  /** Bad command line, no task, unknown model, invalid package spec. */
  usage: 2,
  /** Step limit reached without a final answer. */
  stepLimit: 3,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
});

type Command = (args: string[], io: CliIo) => Promise<number>;

/** Subcommands, by first argument; anything else runs the agent. */
const COMMANDS: ReadonlyMap<string, Command> = new Map([["mcp", runMcpServer]]);

/**
 * Runs `coder` with the given arguments against the given streams.
 *
 * @param args Command-line arguments (without the program name).
 * @param io Streams, environment and working directory.
 * @returns The exit code (0 answer, 1 runtime error, 2 usage error, 3 step limit).
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = args;
  const command = first === undefined ? undefined : COMMANDS.get(first);
  if (command) return await command(rest, io);
  return await runCoder(args, io);
}

/**
 * The setup hint printed when no API key is configured.
 *
 * @param envVar The variable the model's key is read from.
 * @returns Lines for stderr.
 */
export function missingKeyText(envVar: string): string {
  if (envVar !== OPENROUTER_KEY_ENV) {
    return `Error: no API key found: the model configuration reads it from ${envVar}.\n` +
      `Set it with:\n  export ${envVar}=...\nor pass --api-key KEY.\n`;
  }
  return [
    "Error: no OpenRouter API key found. Set one up with:",
    "  mkdir -p ~/.config/coder",
    `  echo 'OPENROUTER_API_KEY="sk-or-..."' > ~/.config/coder/.env`,
    "or export OPENROUTER_API_KEY=sk-or-..., or pass --api-key sk-or-...",
    "Get a key at https://openrouter.ai/keys",
    "",
  ].join("\n");
}

interface TaskInput {
  text: string | null;
  basename: string | undefined;
}

async function readTaskInput(args: CoderArgs, cwd: string): Promise<TaskInput> {
  if (args.taskFile !== null && args.inlineTask !== null) {
    throw new UsageError("Give either --task FILE or an inline task, not both");
  }
  if (args.taskFile !== null) {
    const path = resolve(cwd, args.taskFile);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new UsageError(
        `Cannot read task file "${args.taskFile}": ${(error as Error).message}`,
      );
    }
    if (text.trim() === "") {
      throw new UsageError(`Task file "${args.taskFile}" is empty`);
    }
    const name = basename(path, extname(path));
    return { text, basename: name };
  }
  if (args.inlineTask !== null) {
    return { text: args.inlineTask, basename: undefined };
  }
  if (!args.interactive) {
    throw new UsageError(
      'No task given: pass an inline task ("..."), --task FILE, or -i for interactive mode',
    );
  }
  return { text: null, basename: undefined };
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

async function resolveKey(
  args: CoderArgs,
  config: ModelConfig,
  settings: CoderSettings,
  env: Record<string, string>,
): Promise<{ key: string | undefined; envVar: string }> {
  const dotenv = await readOptionalText(resolve(settings.configDir, ".env"));
  if (config.api_key_env && config.api_key_env !== OPENROUTER_KEY_ENV) {
    const envVar = config.api_key_env;
    if (args.apiKey) return { key: args.apiKey, envVar };
    let key = env[envVar] || undefined;
    if (!key && dotenv !== undefined) {
      const { parseEnv } = await import("node:util");
      key = (parseEnv(dotenv) as Record<string, string | undefined>)[envVar] ||
        undefined;
    }
    return { key, envVar };
  }
  return {
    key: resolveApiKey(args.apiKey ?? undefined, dotenv, env),
    envVar: OPENROUTER_KEY_ENV,
  };
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Summary {
  status: "success" | "step_limit_reached" | "error";
  final_response: string | null;
  files_written: string[];
  stats: AgentStats | null;
  log_path: string | null;
  error?: string;
}

function readLines(
  stream: ReadableStream<Uint8Array>,
): { next(): Promise<string | null>; close(): Promise<void> } {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let done = false;
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
        const chunk = await reader.read();
        if (chunk.done) done = true;
        else buffer += chunk.value;
      }
    },
    async close(): Promise<void> {
      await reader.cancel().catch(() => {});
    },
  };
}

async function runCoder(argv: string[], io: CliIo): Promise<number> {
  let args: CoderArgs;
  try {
    args = parseCoderArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      const out = new Output(io);
      out.stderr(`coder: ${error.message}\nRun coder --help for usage.\n`);
      await out.flush();
      return EXIT.usage;
    }
    throw error;
  }
  const out = new Output(io, args.apiKey ? [args.apiKey] : []);
  try {
    return await runParsed(args, io, out);
  } finally {
    await out.flush();
  }
}

async function runParsed(
  args: CoderArgs,
  io: CliIo,
  out: Output,
): Promise<number> {
  if (args.help) {
    out.stdout(HELP_TEXT);
    return EXIT.ok;
  }
  if (args.version) {
    out.stdout(`coder ${denoJson.version}\n`);
    return EXIT.ok;
  }
  const usage = (message: string): number => {
    out.stderr(`coder: ${message}\nRun coder --help for usage.\n`);
    return EXIT.usage;
  };
  if (args.init !== null) {
    try {
      const { copied, skipped } = await initTemplates(args.init, io.cwd);
      if (!args.quiet) {
        for (const file of copied) out.stdout(`Copied ${file}\n`);
        for (const file of skipped) {
          out.stdout(`Skipped ${file} (already exists)\n`);
        }
        out.stdout(
          `${copied.length} file(s) copied, ${skipped.length} skipped. Try:\n` +
            `  coder --with cpmpy --project coder-examples/cpmpy/cpmpy.md "Solve 8-queens"\n`,
        );
      }
      return EXIT.ok;
    } catch (error) {
      if (error instanceof RangeError) return usage(error.message);
      out.stderr(`Error: ${messageOf(error)}\n`);
      return EXIT.runtime;
    }
  }

  let settings: CoderSettings;
  let task: TaskInput;
  let config: ModelConfig;
  let withPackages: string[];
  try {
    settings = readSettings(io.env);
    task = await readTaskInput(args, io.cwd);
    withPackages = args.with.map((spec) => validatePackageSpec(spec));
    config = await loadModelConfig(args.model, { cwd: io.cwd });
  } catch (error) {
    if (
      error instanceof UsageError || error instanceof InvalidPackageSpecError ||
      error instanceof UnknownModelError || error instanceof ModelConfigError ||
      error instanceof RangeError
    ) {
      return usage(messageOf(error));
    }
    throw error;
  }

  let projectPrompt: string | undefined;
  let projectPackages: string[] = [];
  if (args.project !== null) {
    const text = await readOptionalText(resolve(io.cwd, args.project));
    if (text === undefined) {
      return usage(`Cannot read project file "${args.project}"`);
    }
    const project = parseProjectFile(text);
    projectPrompt = project.prompt;
    projectPackages = project.packages;
  }

  const { key, envVar } = await resolveKey(args, config, settings, io.env);
  if (!key) {
    out.stderr(missingKeyText(envVar));
    if (args.json) {
      out.stdout(JSON.stringify(errorSummary(`no API key (${envVar})`)) + "\n");
    }
    return EXIT.runtime;
  }
  out.addSecret(key);
  return await runAgentCommand({
    args,
    io,
    out,
    settings,
    config,
    key,
    task,
    withPackages,
    projectPrompt,
    projectPackages,
  });
}

/**
 * The kernel's environment: the user's, minus the variables holding API keys
 * (code written by the model runs there).
 */
function kernelEnv(
  env: Record<string, string>,
  config: ModelConfig,
): Record<string, string> {
  const copy = { ...env };
  delete copy[OPENROUTER_KEY_ENV];
  if (config.api_key_env) delete copy[config.api_key_env];
  return copy;
}

function errorSummary(message: string): Summary {
  return {
    status: "error",
    final_response: null,
    files_written: [],
    stats: null,
    log_path: null,
    error: message,
  };
}

interface AgentCommand {
  args: CoderArgs;
  io: CliIo;
  out: Output;
  settings: CoderSettings;
  config: ModelConfig;
  key: string;
  task: TaskInput;
  withPackages: string[];
  projectPrompt: string | undefined;
  projectPackages: string[];
}

async function runAgentCommand(command: AgentCommand): Promise<number> {
  const { args, io, out, settings, config } = command;
  const quiet = args.quiet;
  const color = io.isTerminal && !io.env.NO_COLOR && !args.json;
  const logger = createCliLogger(out, settings.logLevel);
  if (!quiet) out.stderr(`Using model: ${config.path}\n`);
  if (settings.verbose && !quiet) {
    out.stderr(`Model configuration:\n${JSON.stringify(config, null, 2)}\n`);
  }
  const workingDirectory = resolve(io.cwd, args.dir ?? ".");
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) Deno.exit(EXIT.interrupted);
    interrupt.abort(new DOMException("Interrupted", "AbortError"));
  };
  let listening = false;
  try {
    Deno.addSignalListener("SIGINT", onSigint);
    listening = true;
  } catch {
    // signals unsupported here: Ctrl-C ends the process
  }

  let backend: KernelBackend;
  try {
    backend = createBackend(args, settings, {
      env: kernelEnv(io.env, config),
      ...(settings.python ? { python: settings.python } : {}),
      cacheDir: settings.cacheDir,
      logger,
    });
  } catch (error) {
    out.stderr(`Error: ${messageOf(error)}\n`);
    return error instanceof BackendChoiceError ? 2 : 1;
  }

  let agent: CodingAgent | undefined;
  const runs: AgentStats[] = [];
  let last: RunAgentResult | undefined;
  try {
    try {
      await Deno.mkdir(workingDirectory, { recursive: true });
      agent = await createCodingAgent({
        workingDirectory,
        model: config,
        apiKey: command.key,
        env: io.env,
        backend,
        withPackages: command.withPackages,
        projectPackages: command.projectPackages,
        ...(command.projectPrompt
          ? { projectPrompt: command.projectPrompt }
          : {}),
        ...(command.task.text !== null ? { task: command.task.text } : {}),
        ...(command.task.basename
          ? { taskBasename: command.task.basename }
          : {}),
        todo: args.todo,
        stepLimit: args.stepLimit,
        retryDelayMs: settings.retryDelayMs,
        logger,
        onEvent: createProgressRenderer(out, {
          quiet,
          verbose: settings.verbose,
        }),
        signal: interrupt.signal,
      });
    } catch (error) {
      if (isAbort(error)) return EXIT.interrupted;
      if (error instanceof MissingApiKeyError) {
        out.stderr(missingKeyText(error.envVar));
      } else {
        out.stderr(`Error: ${messageOf(error)}\n`);
      }
      if (args.json) {
        out.stdout(JSON.stringify(errorSummary(messageOf(error))) + "\n");
      }
      return EXIT.runtime;
    }

    const printAnswer = (result: RunAgentResult): void => {
      if (quiet || args.json) return;
      if (result.status === "success") {
        out.stdout(renderMarkdown(result.finalResponse, color));
      } else {
        out.stderr(
          `Step limit (${args.stepLimit}) reached without a final answer.\n`,
        );
      }
    };

    let exitCode: number = EXIT.ok;
    try {
      if (command.task.text !== null) {
        if (!quiet) out.stderr("Working on the task...\n");
        last = await runAgent(agent, TASK_KICKOFF, {
          signal: interrupt.signal,
        });
        runs.push(last.stats);
        printAnswer(last);
        if (last.status === "step_limit_reached") exitCode = EXIT.stepLimit;
      }
      if (args.interactive) {
        exitCode = EXIT.ok;
        const lines = readLines(io.stdin);
        try {
          if (!quiet) {
            out.stderr('Interactive mode: type "exit" or "quit" to end.\n');
          }
          while (!interrupt.signal.aborted) {
            if (!quiet && !args.json) out.stdout("You: ");
            await out.flush();
            const line = await lines.next();
            if (line === null) break;
            const input = line.trim();
            if (input === "") continue;
            if (/^(exit|quit)$/i.test(input)) break;
            try {
              last = await runAgent(agent, input, { signal: interrupt.signal });
              runs.push(last.stats);
              printAnswer(last);
            } catch (error) {
              if (isAbort(error)) throw error;
              out.stderr(`Error: ${messageOf(error)}\n`);
            }
          }
        } finally {
          await lines.close();
        }
      }
    } catch (error) {
      if (isAbort(error)) {
        out.stderr("Interrupted.\n");
        return EXIT.interrupted;
      }
      out.stderr(`Error: ${messageOf(error)}\n`);
      if (args.json) {
        out.stdout(
          JSON.stringify({
            ...errorSummary(messageOf(error)),
            files_written: agent.filesWritten,
            stats: runs.length > 0 ? combineStats(runs) : null,
            log_path: agent.logPath,
          }) + "\n",
        );
      } else if (agent.logPath && !quiet) {
        out.stderr(`Log saved to: ${agent.logPath}\n`);
      }
      return EXIT.runtime;
    }

    const stats = combineStats(runs);
    if (args.json) {
      const summary: Summary = {
        status: last?.status ?? "success",
        final_response: last?.status === "success" ? last.finalResponse : null,
        files_written: agent.filesWritten,
        stats,
        log_path: agent.logPath,
      };
      out.stdout(JSON.stringify(summary) + "\n");
    }
    if (!quiet && !args.json) {
      out.stderr(`\n${formatStats(stats)}`);
      if (agent.logPath && runs.length > 0) {
        out.stderr(`Log saved to: ${agent.logPath}\n`);
      }
    } else if (!quiet && agent.logPath && runs.length > 0) {
      out.stderr(`Log saved to: ${agent.logPath}\n`);
    }
    return exitCode;
  } finally {
    await agent?.close();
    if (listening) Deno.removeSignalListener("SIGINT", onSigint);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args, processIo()));
