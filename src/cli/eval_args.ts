/**
 * Command-line flags of `coder eval`, parsed with `node:util` `parseArgs`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_MODEL } from "../llm/mod.ts";
import { DEFAULT_STEP_LIMIT, UsageError } from "./args.ts";

/** Default `--out` directory of `coder eval`. */
export const DEFAULT_EVAL_OUT = "coder-eval";

/** Help text of `coder eval`. */
export const EVAL_HELP_TEXT =
  `coder eval: run many task files, each in its own kernel and directory

Usage:
  coder eval DIR|FILE... [OPTIONS]

Every *.md of a DIR (and each FILE) is a task. Each run works in
OUT/TASK/run-N/ with a kernel of its own; one JSON record per run is appended
to OUT/results.jsonl; a summary table follows. The same --out again skips the
runs already finished (solved, step limit, failed validation) and runs errors
and interrupted runs again.

Options:
      --jobs N           Runs at once (default: 1)
      --runs R           Runs per task (default: 1)
      --validate CMD     Check each solution: CMD runs in the run's directory
                         with the solution's path appended (also in
                         CODER_SOLUTION); exit 0 means valid. NAME.validate.py
                         beside NAME.md overrides it for that task.
      --out DIR          Output directory (default: ./${DEFAULT_EVAL_OUT}/)
      --json             Print one JSON summary on stdout (no table, no progress)
      --model NAME|FILE  Model name or JSON config file (default: ${DEFAULT_MODEL})
  -p, --project FILE     Project template with domain instructions
      --with PKG         Package for the kernels (repeatable)
      --api-key KEY      API key (overrides the config file and env)
      --todo             Give the agent a todo list tool
      --step-limit N     Maximum agent steps per run (default: ${DEFAULT_STEP_LIMIT})
      --no-clean-room    Accept save_code without running the program on its own
      --sandbox          Run the kernels in an OS sandbox (Linux, bubblewrap)
      --memory-limit SIZE  Memory cap per kernel
      --gateway URL      Run the kernels on a Jupyter Server / gateway
  -q, --quiet            Print nothing but errors (and --json)
  -h, --help             Print this help

Exit codes: 0 every run solved (and validated, with a validator), 1 some run
did not (or a runtime error), 2 usage error, 130/143 stopped by a signal.
`;

/** Parsed `coder eval` flags. */
export interface EvalArgs {
  /** `--help`. */
  help: boolean;
  /** Task files and directories. */
  paths: string[];
  /** `--jobs`. */
  jobs: number;
  /** `--runs`. */
  runs: number;
  /** `--validate`, or null. */
  validate: string | null;
  /** `--out`. */
  out: string;
  /** `--json`. */
  json: boolean;
  /** `--quiet`. */
  quiet: boolean;
  /** `--model`. */
  model: string;
  /** `--project`, or null. */
  project: string | null;
  /** `--with` packages. */
  with: string[];
  /** `--api-key`, or null. */
  apiKey: string | null;
  /** `--todo`. */
  todo: boolean;
  /** `--step-limit`. */
  stepLimit: number;
  /** False with `--no-clean-room`. */
  cleanRoom: boolean;
  /** `--sandbox`. */
  sandbox: boolean;
  /** `--memory-limit`, or null. */
  memoryLimit: string | null;
  /** `--gateway`, or null. */
  gateway: string | null;
}

function count(
  raw: string | undefined,
  flag: string,
  fallback: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(
      `Invalid ${flag} "${raw}": expected a whole number >= 1`,
    );
  }
  return value;
}

/**
 * Parses the arguments of `coder eval` (after the subcommand).
 *
 * @param args Command-line arguments.
 * @returns The parsed flags.
 * @throws {UsageError} For unknown flags, missing values, bad numbers, or no task paths (unless `--help`).
 *
 * @example Parse a command line
 * ```ts
 * import { parseEvalArgs } from "./eval_args.ts";
 * const args = parseEvalArgs(["tasks/", "--jobs", "4"]);
 * console.log(args.paths, args.jobs); // ["tasks/"] 4
 * ```
 */
export function parseEvalArgs(args: readonly string[]): EvalArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        jobs: { type: "string" },
        runs: { type: "string" },
        validate: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        model: { type: "string" },
        project: { type: "string", short: "p" },
        with: { type: "string", multiple: true },
        "api-key": { type: "string" },
        todo: { type: "boolean" },
        "step-limit": { type: "string" },
        "no-clean-room": { type: "boolean" },
        sandbox: { type: "boolean" },
        "memory-limit": { type: "string" },
        gateway: { type: "string" },
      },
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw error;
  }
  const { values, positionals } = parsed;
  const help = values.help ?? false;
  if (positionals.length === 0 && !help) {
    throw new UsageError(
      "coder eval needs task files or directories: coder eval DIR|FILE...",
    );
  }
  if (values.validate !== undefined && values.validate.trim() === "") {
    throw new UsageError("--validate needs a command");
  }
  return {
    help,
    paths: positionals,
    jobs: count(values.jobs, "--jobs", 1),
    runs: count(values.runs, "--runs", 1),
    validate: values.validate ?? null,
    out: values.out ?? DEFAULT_EVAL_OUT,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    model: values.model ?? DEFAULT_MODEL,
    project: values.project ?? null,
    with: values.with ?? [],
    apiKey: values["api-key"] ?? null,
    todo: values.todo ?? false,
    stepLimit: count(values["step-limit"], "--step-limit", DEFAULT_STEP_LIMIT),
    cleanRoom: !(values["no-clean-room"] ?? false),
    sandbox: values.sandbox ?? false,
    memoryLimit: values["memory-limit"] ?? null,
    gateway: values.gateway ?? null,
  };
}
