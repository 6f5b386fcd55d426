/**
 * `coder eval DIR|FILE...`: runs many task files through the agent (see
 * `evaluateTasks`), shows progress on a terminal, prints a summary table
 * (or one JSON summary with `--json`), and exits 0 only when every run
 * solved its task (and passed its validator, when there is one).
 *
 * @module
 */

import { join, resolve } from "node:path";
import {
  type EvalRecord,
  EvalTaskError,
  evaluateTasks,
  isPassed,
  loadEvalTasks,
  parseProjectFile,
  RESULTS_FILE,
  runKey,
  summarizeEval,
} from "../agent/mod.ts";
import {
  InvalidPackageSpecError,
  type KernelBackend,
  validatePackageSpec,
} from "../kernel/mod.ts";
import {
  apiKeyCandidates,
  type ChatClient,
  createChatClient,
  loadModelConfig,
  ModelConfigError,
  resolveApiKey,
  UnknownModelError,
} from "../llm/mod.ts";
import { kernelEnv, missingKeyText } from "./agent_setup.ts";
import { UsageError } from "./args.ts";
import { BackendChoiceError, createBackend } from "./backend.ts";
import { readDotenvText, readSettings } from "./env.ts";
import { EVAL_HELP_TEXT, type EvalArgs, parseEvalArgs } from "./eval_args.ts";
import { formatProgress, formatSummaryTable } from "./eval_render.ts";
import type { CliIo } from "./io.ts";
import { createCliLogger, type Output, runWithOutput } from "./render.ts";
import { exitCodeOf, listenForStop } from "./signals.ts";

const OK = 0;
const FAILED = 1;
const USAGE = 2;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `coder eval` with the arguments after `eval`.
 *
 * @param argv Arguments after the subcommand.
 * @param io Streams, environment and working directory.
 * @returns 0 when every run passed, 1 when some did not (or a runtime
 *   error), 2 for a usage error, 130/143 when stopped by a signal.
 */
export async function runEvalCommand(
  argv: string[],
  io: CliIo,
): Promise<number> {
  return await runWithOutput(
    "coder eval",
    io,
    () => parseEvalArgs(argv),
    (args, out) => runParsedEval(args, io, out),
    USAGE,
  );
}

async function runParsedEval(
  args: EvalArgs,
  io: CliIo,
  out: Output,
): Promise<number> {
  if (args.help) {
    out.stdout(EVAL_HELP_TEXT);
    return OK;
  }
  const usage = (message: string): number => {
    out.stderr(`coder eval: ${message}\nRun coder eval --help for usage.\n`);
    return USAGE;
  };
  let settings;
  let config;
  let withPackages: string[];
  let tasks;
  let projectPrompt: string | undefined;
  let projectPackages: string[] = [];
  try {
    settings = readSettings(io.env);
    withPackages = args.with.map((spec) => validatePackageSpec(spec));
    config = await loadModelConfig(args.model, { cwd: io.cwd });
    tasks = await loadEvalTasks(args.paths, {
      cwd: io.cwd,
      validate: args.validate,
      python: settings.python ?? "python3",
    });
    if (args.project !== null) {
      let text: string;
      try {
        text = await Deno.readTextFile(resolve(io.cwd, args.project));
      } catch {
        throw new UsageError(`Cannot read project file "${args.project}"`);
      }
      const project = parseProjectFile(text);
      projectPrompt = project.prompt;
      projectPackages = project.packages;
    }
  } catch (error) {
    if (
      error instanceof UsageError || error instanceof InvalidPackageSpecError ||
      error instanceof UnknownModelError || error instanceof ModelConfigError ||
      error instanceof EvalTaskError || error instanceof RangeError
    ) return usage(messageOf(error));
    throw error;
  }

  const sources = {
    flag: args.apiKey,
    dotenvText: await readDotenvText(settings) ?? null,
    env: io.env,
  };
  for (const secret of apiKeyCandidates(config, sources)) {
    out.masker.add(secret);
  }
  out.masker.add(settings.gatewayToken);
  out.masker.add(settings.mcpToken);
  const { key, envVar } = resolveApiKey(config, sources);
  const jsonError = (message: string): void => {
    if (args.json) {
      out.stdout(JSON.stringify({ status: "error", error: message }) + "\n");
    }
  };
  if (!key) {
    out.stderr(missingKeyText(envVar));
    jsonError(`no API key (${envVar})`);
    return FAILED;
  }
  const logger = createCliLogger(out, settings.logLevel);
  const env = kernelEnv(io.env, config, key);
  let backend: KernelBackend;
  try {
    backend = createBackend(args, settings, {
      env,
      ...(settings.python ? { python: settings.python } : {}),
      cacheDir: settings.cacheDir,
      logger,
    });
  } catch (error) {
    out.stderr(`Error: ${messageOf(error)}\n`);
    jsonError(messageOf(error));
    return error instanceof BackendChoiceError ? USAGE : FAILED;
  }
  const llm: ChatClient = createChatClient({ config, apiKey: key, logger });
  const outDir = resolve(io.cwd, args.out);
  const showProgress = io.isTerminal && !args.json && !args.quiet;
  let progressShown = false;

  using stop = listenForStop({
    onForce: (signal) => {
      out.stderr(`Stopping now (${signal}).\n`);
      void out.flush().then(() => io.exit(exitCodeOf(signal)));
    },
  });
  const latest = new Map<string, EvalRecord>();
  try {
    for await (
      const record of evaluateTasks(tasks, {
        outDir,
        jobs: args.jobs,
        runs: args.runs,
        agent: {
          llm,
          env: io.env,
          backend,
          withPackages,
          projectPackages,
          ...(projectPrompt ? { projectPrompt } : {}),
          todo: args.todo,
          stepLimit: args.stepLimit,
          cleanRoom: args.cleanRoom,
          retryDelayMs: settings.retryDelayMs,
          masker: out.masker,
          logger,
        },
        validatorEnv: env,
        signal: stop.signal,
        onProgress: (progress) => {
          if (!showProgress) return;
          progressShown = true;
          out.stderr(`\r\x1b[K${formatProgress(progress)}`);
        },
      })
    ) {
      latest.set(runKey(record.task, record.run), record);
    }
  } catch (error) {
    if (progressShown) out.stderr("\n");
    out.stderr(`Error: ${messageOf(error)}\n`);
    jsonError(messageOf(error));
    return FAILED;
  }
  if (progressShown) out.stderr("\n");
  const records = [...latest.values()];
  const rows = summarizeEval(
    tasks.flatMap((task) =>
      records.filter((record) => record.task === task.name)
        .sort((a, b) => a.run - b.run)
    ),
  );
  const expected = tasks.length * args.runs;
  const passed = records.filter(isPassed).length;
  const interrupted = stop.signal.aborted;
  const allPassed = !interrupted && records.length === expected &&
    passed === expected;
  const resultsFile = join(outDir, RESULTS_FILE);
  if (args.json) {
    out.stdout(
      JSON.stringify({
        status: interrupted ? "interrupted" : allPassed ? "passed" : "failed",
        runs: expected,
        recorded: records.length,
        passed,
        resumed: records.filter((record) => record.resumed).length,
        results_file: resultsFile,
        out_dir: outDir,
        tasks: rows,
      }) + "\n",
    );
  } else if (!args.quiet) {
    out.stdout(formatSummaryTable(rows));
    out.stdout(
      `${passed}/${expected} runs passed. Records: ${resultsFile}\n`,
    );
  }
  if (interrupted) return exitCodeOf(stop.received ?? "SIGINT");
  return allPassed ? OK : FAILED;
}
