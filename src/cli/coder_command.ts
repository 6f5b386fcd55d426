/**
 * The `coder` command: the autonomous coding agent CLI, and `coder mcp`
 * (the ipython_mcp server). Loaded by the entry file `coder.ts` once the
 * Deno version gate passed.
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
  apiKeyCandidates,
  type ApiKeySources,
  loadModelConfig,
  MissingApiKeyError,
  type ModelConfig,
  ModelConfigError,
  resolveApiKey,
  UnknownModelError,
} from "../llm/mod.ts";
import {
  type CoderArgs,
  HELP_TEXT,
  parseCoderArgs,
  UsageError,
} from "./args.ts";
import { type CoderSettings, readDotenvText, readSettings } from "./env.ts";
import { serverSecrets } from "./secrets.ts";
import { BackendChoiceError, createBackend } from "./backend.ts";
import { type CliIo, readLines } from "./io.ts";
import { exitCodeOf, listenForStop, type StopSignal } from "./signals.ts";

export type { CliIo } from "./io.ts";
import { runMcpServer } from "./mcp_command.ts";
import {
  createCliLogger,
  createProgressRenderer,
  formatStats,
  type Output,
  renderMarkdown,
  runWithOutput,
} from "./render.ts";
import { initTemplates } from "./templates.ts";
import { kernelEnv, missingKeyText } from "./agent_setup.ts";
import { runEvalCommand } from "./eval_command.ts";
import { runReplayCommand } from "./replay_command.ts";

export { missingKeyText } from "./agent_setup.ts";

/** Exit codes of `coder`. */
export const EXIT: Readonly<{
  ok: 0;
  runtime: 1;
  usage: 2;
  stepLimit: 3;
  interrupted: 130;
  terminated: 143;
}> = Object.freeze({
  /** A final answer was given. */
  ok: 0,
  /** Runtime failure: API, missing key, kernel. */
  runtime: 1,
  /** Bad command line, no task, unknown model, invalid package spec. */
  usage: 2,
  /** Step limit reached without a final answer. */
  stepLimit: 3,
  /** Interrupted with Ctrl-C (SIGINT). */
  interrupted: 130,
  /** Stopped by SIGTERM. */
  terminated: 143,
});

type Command = (args: string[], io: CliIo) => Promise<number>;

/** Subcommands, by first argument; anything else runs the agent. */
const COMMANDS: ReadonlyMap<string, Command> = new Map([
  ["mcp", runMcpServer],
  ["eval", runEvalCommand],
]);

/**
 * Runs `coder` with the given arguments against the given streams.
 *
 * @param args Command-line arguments (without the program name).
 * @param io Streams, environment and working directory.
 * @returns The exit code (0 answer, 1 runtime error, 2 usage error, 3 step
 *   limit, 130 SIGINT, 143 SIGTERM).
 */
export async function main(args: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = args;
  const command = first === undefined ? undefined : COMMANDS.get(first);
  if (command) return await command(rest, io);
  return await runCoder(args, io);
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

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Summary {
  status: "success" | "step_limit_reached" | "interrupted" | "error";
  final_response: string | null;
  files_written: string[];
  stats: AgentStats | null;
  log_path: string | null;
  error?: string;
}

function runCoder(argv: string[], io: CliIo): Promise<number> {
  return runWithOutput(
    "coder",
    io,
    () => parseCoderArgs(argv),
    (args, out) => runParsed(args, io, out),
    EXIT.usage,
  );
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
  if (args.replay !== null) return await runReplayCommand(args, io, out);
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

  const sources: ApiKeySources = {
    flag: args.apiKey,
    dotenvText: await readDotenvText(settings) ?? null,
    env: io.env,
  };
  // Every known secret is masked in output, log and tool results, used or not.
  for (const secret of apiKeyCandidates(config, sources)) {
    out.masker.add(secret);
  }
  for (const secret of serverSecrets(io.env)) out.masker.add(secret);
  out.masker.add(settings.gatewayToken);
  out.masker.add(settings.mcpToken);
  const { key, envVar } = resolveApiKey(config, sources);
  if (!key) {
    out.stderr(missingKeyText(envVar));
    if (args.json) {
      out.stdout(JSON.stringify(errorSummary(`no API key (${envVar})`)) + "\n");
    }
    return EXIT.runtime;
  }
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

/** How long a forced stop waits for the kernel to go before exiting. */
const FORCED_SHUTDOWN_DEADLINE_MS = 3_000;

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

  let agent: CodingAgent | undefined;
  let last: RunAgentResult | undefined;
  let reported = false;
  /** The summary (`--json`) or statistics and log path; printed once. */
  const report = (status: Summary["status"], error?: string): void => {
    if (reported) return;
    reported = true;
    const runs = agent?.runStats ?? [];
    const stats = runs.length > 0 ? combineStats(runs) : null;
    const logPath = agent?.logPath ?? null;
    const logWritten = logPath !== null &&
      (agent?.filesWritten.includes(logPath) ?? false);
    if (args.json) {
      const summary: Summary = {
        status,
        final_response: status === "success" && last?.status === "success"
          ? last.finalResponse
          : null,
        files_written: agent?.filesWritten ?? [],
        stats,
        log_path: logWritten ? logPath : null,
        ...(error !== undefined ? { error } : {}),
      };
      out.stdout(JSON.stringify(summary) + "\n");
    }
    if (quiet) return;
    if (!args.json && stats && status !== "error") {
      out.stderr(`\n${formatStats(stats)}`);
    }
    if (logWritten) out.stderr(`Log saved to: ${logPath}\n`);
  };

  /** A second stop request: write the log and summary, end the kernel, exit. */
  const forceStop = async (signal: StopSignal): Promise<void> => {
    out.stderr(`Stopping now (${signal}).\n`);
    if (agent) {
      if (agent.running) {
        agent.log.add({ event: "complete", status: "interrupted" });
      }
      await agent.saveLog().catch(() => {});
    }
    report("interrupted");
    await Promise.race([
      agent?.close(),
      new Promise((resolve) =>
        setTimeout(resolve, FORCED_SHUTDOWN_DEADLINE_MS)
      ),
    ]);
    await out.flush();
    io.exit(exitCodeOf(stop.received ?? signal));
  };
  using stop = listenForStop({ onForce: (signal) => void forceStop(signal) });
  const interrupted = (): number => {
    out.stderr("Interrupted.\n");
    report("interrupted");
    return exitCodeOf(stop.received ?? "SIGINT");
  };

  let backend: KernelBackend;
  try {
    backend = createBackend(args, settings, {
      env: kernelEnv(io.env, config, command.key),
      ...(settings.python ? { python: settings.python } : {}),
      cacheDir: settings.cacheDir,
      logger,
    });
  } catch (error) {
    out.stderr(`Error: ${messageOf(error)}\n`);
    return error instanceof BackendChoiceError ? EXIT.usage : EXIT.runtime;
  }

  try {
    try {
      await Deno.mkdir(workingDirectory, { recursive: true });
      agent = await createCodingAgent({
        workingDirectory,
        model: config,
        apiKey: command.key,
        masker: out.masker,
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
        cleanRoom: args.cleanRoom,
        stepLimit: args.stepLimit,
        retryDelayMs: settings.retryDelayMs,
        logger,
        onEvent: createProgressRenderer(out, {
          quiet,
          verbose: settings.verbose,
        }),
        signal: stop.signal,
      });
    } catch (error) {
      if (isAbort(error)) return interrupted();
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
        last = await runAgent(agent, TASK_KICKOFF, { signal: stop.signal });
        printAnswer(last);
        if (last.status === "step_limit_reached") exitCode = EXIT.stepLimit;
      }
      if (args.interactive) {
        exitCode = EXIT.ok;
        await interactiveLoop(agent, {
          io,
          out,
          quiet,
          json: args.json,
          signal: stop.signal,
          onAnswer: (result) => {
            last = result;
            printAnswer(result);
          },
        });
      }
    } catch (error) {
      if (isAbort(error)) return interrupted();
      out.stderr(`Error: ${messageOf(error)}\n`);
      report("error", messageOf(error));
      return EXIT.runtime;
    }
    if (stop.signal.aborted) return interrupted();
    report(last?.status ?? "success");
    return exitCode;
  } finally {
    await agent?.close();
  }
}

interface InteractiveOptions {
  io: CliIo;
  out: Output;
  quiet: boolean;
  json: boolean;
  signal: AbortSignal;
  onAnswer: (result: RunAgentResult) => void;
}

/** Reads turns from stdin until exit/quit, end of input or a stop request. */
async function interactiveLoop(
  agent: CodingAgent,
  options: InteractiveOptions,
): Promise<void> {
  const { out, quiet, json, signal } = options;
  const lines = readLines(options.io.stdin, signal);
  try {
    if (!quiet) out.stderr('Interactive mode: type "exit" or "quit" to end.\n');
    while (!signal.aborted) {
      if (!quiet && !json) out.stdout("You: ");
      await out.flush();
      const line = await lines.next();
      if (line === null) break;
      const input = line.trim();
      if (input === "") continue;
      if (/^(exit|quit)$/i.test(input)) break;
      try {
        options.onAnswer(await runAgent(agent, input, { signal }));
      } catch (error) {
        if (isAbort(error)) throw error;
        out.stderr(`Error: ${messageOf(error)}\n`);
      }
    }
  } finally {
    await lines.close();
  }
}
