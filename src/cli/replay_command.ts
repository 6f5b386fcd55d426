/**
 * `coder --replay LOG.jsonl`: runs a logged session again with the model's
 * recorded answers (no API key, no network), in a fresh kernel in the
 * working directory (`--dir`, else the current one), and reports where
 * today's tool results differ from the logged ones.
 *
 * @module
 */

import { resolve } from "node:path";
import {
  type ReplayDifference,
  replayLog,
  ReplayLogError,
  type ReplayResult,
} from "../agent/mod.ts";
import { InvalidPackageSpecError, validatePackageSpec } from "../kernel/mod.ts";
import { kernelEnv } from "./agent_setup.ts";
import type { CoderArgs } from "./args.ts";
import { BackendChoiceError, createBackend } from "./backend.ts";
import { readSettings } from "./env.ts";
import type { CliIo } from "./io.ts";
import {
  createCliLogger,
  createProgressRenderer,
  type Output,
} from "./render.ts";
import { exitCodeOf, listenForStop } from "./signals.ts";

/** Longest excerpt of a differing result printed on the terminal. */
const EXCERPT_CHARS = 600;

function excerpt(text: string | null): string {
  if (text === null) return "(none)";
  const clipped = text.length > EXCERPT_CHARS
    ? `${text.slice(0, EXCERPT_CHARS)} [...]`
    : text;
  return clipped.split("\n").map((line) => `      ${line}`).join("\n");
}

/**
 * Formats the differences of a replay for the terminal.
 *
 * @param difference One difference.
 * @returns Lines for stderr.
 */
export function formatDifference(difference: ReplayDifference): string {
  return `  run ${difference.run}, tool call ${difference.call} (${difference.tool}, ${difference.toolCallId}):\n` +
    `    logged:\n${excerpt(difference.logged)}\n    today:\n${
      excerpt(difference.replayed)
    }\n`;
}

/**
 * Runs the replay a parsed `coder --replay` command line asks for.
 *
 * @param args The parsed flags (`replay` set).
 * @param io Streams, environment and working directory.
 * @param out Output of the command.
 * @returns 0 when no tool result differs, 1 when some do (or the replay
 *   failed), 2 for a usage error, 130/143 when stopped.
 */
export async function runReplayCommand(
  args: CoderArgs,
  io: CliIo,
  out: Output,
): Promise<number> {
  const usage = (message: string): number => {
    out.stderr(`coder: ${message}\nRun coder --help for usage.\n`);
    return 2;
  };
  if (args.taskFile !== null || args.inlineTask !== null || args.interactive) {
    return usage("--replay takes no task: the task comes from the log");
  }
  let settings;
  let withPackages: string[];
  try {
    settings = readSettings(io.env);
    withPackages = args.with.map((spec) => validatePackageSpec(spec));
  } catch (error) {
    if (
      error instanceof InvalidPackageSpecError || error instanceof RangeError
    ) return usage(error.message);
    throw error;
  }
  const logger = createCliLogger(out, settings.logLevel);
  let backend;
  try {
    backend = createBackend(args, settings, {
      env: kernelEnv(io.env, null),
      ...(settings.python ? { python: settings.python } : {}),
      cacheDir: settings.cacheDir,
      logger,
    });
  } catch (error) {
    out.stderr(`Error: ${(error as Error).message}\n`);
    return error instanceof BackendChoiceError ? 2 : 1;
  }
  const logPath = resolve(io.cwd, args.replay!);
  const workingDirectory = resolve(io.cwd, args.dir ?? ".");
  using stop = listenForStop({
    onForce: (signal) => {
      void out.flush().then(() => io.exit(exitCodeOf(signal)));
    },
  });
  if (!args.quiet && !args.json) out.stderr(`Replaying ${logPath}\n`);
  let result: ReplayResult;
  try {
    await Deno.mkdir(workingDirectory, { recursive: true });
    result = await replayLog(logPath, {
      workingDirectory,
      backend,
      env: io.env,
      withPackages,
      ...(args.cleanRoom ? {} : { cleanRoom: false }),
      logger,
      onEvent: createProgressRenderer(out, {
        quiet: args.quiet || args.json,
        verbose: settings.verbose,
      }),
      signal: stop.signal,
    });
  } catch (error) {
    if (stop.signal.aborted) {
      out.stderr("Interrupted.\n");
      return exitCodeOf(stop.received ?? "SIGINT");
    }
    if (error instanceof ReplayLogError) {
      out.stderr(`Error: ${error.message}\n`);
      return 1;
    }
    out.stderr(`Error: ${(error as Error).message}\n`);
    return 1;
  }
  const same = result.differences.length === 0;
  if (args.json) {
    out.stdout(
      JSON.stringify({
        status: same ? "same" : "differs",
        model: result.model,
        runs: result.runs,
        tool_calls: result.toolCalls,
        logged_status: result.loggedStatus,
        replayed_status: result.replayedStatus,
        errors: result.errors,
        differences: result.differences.map((d) => ({
          run: d.run,
          call: d.call,
          tool: d.tool,
          tool_call_id: d.toolCallId,
          logged: d.logged,
          replayed: d.replayed,
        })),
      }) + "\n",
    );
  } else if (!args.quiet) {
    for (const [i, error] of result.errors.entries()) {
      if (error !== null) out.stderr(`Run ${i + 1} failed: ${error}\n`);
    }
    if (same) {
      out.stderr(
        `Replay matches the log: ${result.toolCalls} tool result(s) in ${result.runs} run(s) are the same.\n`,
      );
    } else {
      out.stderr(
        `Replay differs from the log in ${result.differences.length} of ${result.toolCalls} tool result(s):\n`,
      );
      for (const difference of result.differences) {
        out.stderr(formatDifference(difference));
      }
    }
  }
  return same ? 0 : 1;
}
