/**
 * Command-line flags of `coder eval`, parsed with `node:util` `parseArgs`.
 *
 * @module
 */

import { DEFAULT_MODEL } from "../llm/mod.ts";
import {
  DEFAULT_STEP_LIMIT,
  optionHelp,
  type OptionName,
  type OptionValues,
  parseWith,
  positiveCount,
  UsageError,
} from "./options.ts";

/** Default `--out` directory of `coder eval`. */
export const DEFAULT_EVAL_OUT = "coder-eval";

/** The shared options `coder eval` takes (see `options.ts`). */
const EVAL_SHARED_OPTIONS: readonly OptionName[] = [
  "model",
  "project",
  "with",
  "api-key",
  "todo",
  "step-limit",
  "no-clean-room",
  "sandbox",
  "memory-limit",
  "gateway",
  "help",
];

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
${
    optionHelp([
      ["    --jobs N", "Runs at once (default: 1)"],
      ["    --runs R", "Runs per task (default: 1)"],
      [
        "    --validate CMD",
        "Check each solution: CMD runs in the run's directory with the solution's path appended (also in CODER_SOLUTION); exit 0 means valid. NAME.validate.py beside NAME.md overrides it for that task.",
      ],
      ["    --out DIR", `Output directory (default: ./${DEFAULT_EVAL_OUT}/)`],
      [
        "    --json",
        "Print one JSON summary on stdout (no table, no progress)",
      ],
      ...EVAL_SHARED_OPTIONS.filter((name) => name !== "help"),
      ["-q, --quiet", "Print nothing but errors (and --json)"],
      "help",
    ])
  }
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
  const { values: raw, positionals } = parseWith(
    args,
    EVAL_SHARED_OPTIONS,
    {
      jobs: { type: "string" },
      runs: { type: "string" },
      validate: { type: "string" },
      out: { type: "string" },
      json: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
    },
    true,
  );
  const values = raw as OptionValues & {
    jobs?: string;
    runs?: string;
    validate?: string;
    out?: string;
    json?: boolean;
    quiet?: boolean;
  };
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
    jobs: positiveCount(values.jobs, "--jobs", 1),
    runs: positiveCount(values.runs, "--runs", 1),
    validate: values.validate ?? null,
    out: values.out ?? DEFAULT_EVAL_OUT,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    model: values.model ?? DEFAULT_MODEL,
    project: values.project ?? null,
    with: values.with ?? [],
    apiKey: values["api-key"] ?? null,
    todo: values.todo ?? false,
    stepLimit: positiveCount(
      values["step-limit"],
      "--step-limit",
      DEFAULT_STEP_LIMIT,
    ),
    cleanRoom: !(values["no-clean-room"] ?? false),
    sandbox: values.sandbox ?? false,
    memoryLimit: values["memory-limit"] ?? null,
    gateway: values.gateway ?? null,
  };
}
