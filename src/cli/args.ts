/**
 * Command-line flags of `coder`, parsed with `node:util` `parseArgs`.
 *
 * @module
 */

import { DEFAULT_MODEL, listAvailableModels } from "../llm/mod.ts";
import {
  DEFAULT_STEP_LIMIT,
  optionHelp,
  type OptionValues,
  parseWith,
  positiveCount,
  UsageError,
} from "./options.ts";

export { DEFAULT_STEP_LIMIT, UsageError };

/** Help text of `coder` (kept beside the parser so both change together). */
export const HELP_TEXT =
  `coder: an autonomous Python coding agent (ReAct loop over a persistent IPython kernel)

Usage:
  coder [OPTIONS] "TASK"           solve an inline task (writes solution.py, log.jsonl)
  coder [OPTIONS] --task FILE      solve a task file (writes FILE_code.py, FILE.jsonl)
  coder [OPTIONS] -i               interactive conversation
  coder eval DIR|FILE... [OPTIONS] run many task files, validate, summarize
                                   (coder eval --help for its options)
  coder --replay LOG.jsonl         run a logged session again with the model's
                                   recorded answers (no key, no network)
  coder --init [TEMPLATE]          copy example templates to ./coder-examples/
  coder mcp [--dir DIR]            run the ipython_mcp server on stdio

Options:
${
    optionHelp([
      ["-t, --task FILE", "Read the task from a Markdown file"],
      "model",
      "project",
      "with",
      "dir",
      "api-key",
      "todo",
      "step-limit",
      "no-clean-room",
      [
        "    --replay LOG",
        "Replay a log (format 2): tool calls run again, the results are compared; exit 0 when none differs",
      ],
      "sandbox",
      "memory-limit",
      "allow-host",
      "gateway",
      ["-i, --interactive", "Interactive mode (type exit or quit to end)"],
      ["-q, --quiet", "Print nothing"],
      ["    --json", "Print one JSON summary on stdout"],
      [
        "    --init [TEMPLATE]",
        "Copy templates: cpmpy, clingo, regex or all (default: all)",
      ],
      "version",
      "help",
    ])
  }
Models: ${listAvailableModels().join(", ")},
or a JSON file with "path" and optional parameters.

API key: --api-key, then ~/.config/coder/.env, then OPENROUTER_API_KEY.
Environment: CODER_PYTHON (interpreter with ipykernel), CODER_VERBOSE (print the
model configuration), CODER_SANDBOX_ALLOW_HOSTS (like --allow-host), NO_COLOR.

Exit codes: 0 answer given, 1 runtime error, 2 usage error, 3 step limit reached,
130 stopped by SIGINT, 143 stopped by SIGTERM.
`;

/** Parsed `coder` flags. */
export interface CoderArgs {
  /** `--help`. */
  help: boolean;
  /** `--version`. */
  version: boolean;
  /** `--init` template name (`all` when no name was given), or null. */
  init: string | null;
  /** `--task` file, or null. */
  taskFile: string | null;
  /** Inline task (positionals joined by spaces), or null. */
  inlineTask: string | null;
  /** `--model` (default `sonnet45`). */
  model: string;
  /** `--project` file, or null. */
  project: string | null;
  /** `--with` packages. */
  with: string[];
  /** `--dir`, or null. */
  dir: string | null;
  /** `--api-key`, or null. */
  apiKey: string | null;
  /** `--todo`. */
  todo: boolean;
  /** `--quiet`. */
  quiet: boolean;
  /** `--json`. */
  json: boolean;
  /** `--interactive`. */
  interactive: boolean;
  /** `--step-limit`. */
  stepLimit: number;
  /** `--sandbox` (or null: decided by `CODER_SANDBOX`). */
  sandbox: boolean;
  /** `--memory-limit SIZE`, or null. */
  memoryLimit: string | null;
  /** `--gateway URL`, or null. */
  gateway: string | null;
  /** `--allow-host HOST[,HOST...]` values (repeatable). */
  allowHost: string[];
  /** False with `--no-clean-room`. */
  cleanRoom: boolean;
  /** `--replay LOG`, or null. */
  replay: string | null;
}

/**
 * `--init` takes an optional value, which `parseArgs` cannot express:
 * `--init NAME` becomes `--init=NAME` when NAME is not a flag, bare `--init`
 * becomes `--init=all`.
 */
function normalizeInit(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (arg === "--init") {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith("-")) {
        out.push(`--init=${next}`);
        i++;
      } else {
        out.push("--init=all");
      }
      continue;
    }
    out.push(arg);
  }
  return out;
}

/**
 * Parses `coder` arguments (after any subcommand was dispatched).
 *
 * @param args Command-line arguments.
 * @returns The parsed flags.
 * @throws {UsageError} For unknown flags, missing values, or a bad `--step-limit`.
 *
 * @example Parse an inline task
 * ```ts
 * import { parseCoderArgs } from "./args.ts";
 * const args = parseCoderArgs(["--with", "numpy", "Sum 1..10"]);
 * console.log(args.inlineTask, args.with); // "Sum 1..10" ["numpy"]
 * ```
 */
export function parseCoderArgs(args: readonly string[]): CoderArgs {
  const { values: raw, positionals } = parseWith(
    normalizeInit(args),
    [
      "help",
      "version",
      "model",
      "project",
      "with",
      "dir",
      "api-key",
      "todo",
      "step-limit",
      "sandbox",
      "memory-limit",
      "gateway",
      "allow-host",
      "no-clean-room",
    ],
    {
      init: { type: "string" },
      task: { type: "string", short: "t" },
      quiet: { type: "boolean", short: "q" },
      json: { type: "boolean" },
      interactive: { type: "boolean", short: "i" },
      replay: { type: "string" },
    },
    true,
  );
  const values = raw as OptionValues & {
    init?: string;
    task?: string;
    quiet?: boolean;
    json?: boolean;
    interactive?: boolean;
    replay?: string;
  };
  const stepLimit = positiveCount(
    values["step-limit"],
    "--step-limit",
    DEFAULT_STEP_LIMIT,
  );
  const inline = positionals.join(" ").trim();
  return {
    help: values.help ?? false,
    version: values.version ?? false,
    init: values.init ?? null,
    taskFile: values.task ?? null,
    inlineTask: inline === "" ? null : inline,
    model: values.model ?? DEFAULT_MODEL,
    project: values.project ?? null,
    with: values.with ?? [],
    dir: values.dir ?? null,
    apiKey: values["api-key"] ?? null,
    todo: values.todo ?? false,
    quiet: values.quiet ?? false,
    json: values.json ?? false,
    interactive: values.interactive ?? false,
    stepLimit,
    sandbox: values.sandbox ?? false,
    memoryLimit: values["memory-limit"] ?? null,
    gateway: values.gateway ?? null,
    allowHost: values["allow-host"] ?? [],
    cleanRoom: !(values["no-clean-room"] ?? false),
    replay: values.replay ?? null,
  };
}
