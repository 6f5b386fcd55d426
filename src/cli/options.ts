/**
 * The options `coder`, `coder eval` and `ipython_mcp` (`coder mcp`) share:
 * one `parseArgs` definition and one help text per option, so the three
 * programs cannot drift apart. Imports nothing of the LLM layer (the MCP
 * server's module graph stays free of it).
 *
 * @example Parse and describe the kernel options
 * ```ts
 * import { optionHelp, parseOptions } from "./options.ts";
 * const values = parseOptions(["--sandbox", "--with", "numpy"], ["sandbox", "with"]);
 * console.log(values.sandbox, values.with); // true ["numpy"]
 * console.log(optionHelp(["sandbox", "with"]));
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A command-line mistake: exit code 2, message plus a hint to `--help`. */
export class UsageError extends Error {
  /** Exit code of usage errors. */
  readonly exitCode = 2;

  /**
   * @param message What is wrong with the command line.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** One command-line option: its `parseArgs` definition and its help. */
export interface OptionSpec {
  /** `string` options take a value. */
  readonly type: "string" | "boolean";
  /** One-letter alias. */
  readonly short?: string;
  /** Repeatable (values collected into an array). */
  readonly multiple?: boolean;
  /** Name of the value in the help (`DIR`, `SIZE`). */
  readonly value?: string;
  /** Help text (one sentence or two; wrapped when printed). */
  readonly help: string;
}

/** Default `--step-limit`. */
export const DEFAULT_STEP_LIMIT = 200;

/** The shared options, by long name. */
export const OPTIONS = {
  help: { type: "boolean", short: "h", help: "Print this help" },
  version: { type: "boolean", short: "V", help: "Print the version" },
  dir: {
    type: "string",
    short: "d",
    value: "DIR",
    help: "Working directory of the kernels and of the files written " +
      "(created when missing)",
  },
  with: {
    type: "string",
    multiple: true,
    value: "PKG",
    help: "Package for the kernels (repeatable), e.g. --with numpy",
  },
  sandbox: {
    type: "boolean",
    help: "Run kernels in an OS sandbox (Linux, bubblewrap): no network, " +
      "no home directory, writes only in the working directory",
  },
  "memory-limit": {
    type: "string",
    value: "SIZE",
    help: "Memory cap per kernel, e.g. 4G or none (default 4G with --sandbox)",
  },
  "allow-host": {
    type: "string",
    multiple: true,
    value: "HOST[,HOST...]",
    help: "With --sandbox: let kernels reach these hosts (HOST: ports " +
      "80/443; HOST:PORT: that port) over HTTP and HTTPS through a " +
      "filtering proxy; repeatable. Default: no network at all",
  },
  gateway: {
    type: "string",
    value: "URL",
    help: "Run kernels on a Jupyter Server, Kernel/Enterprise Gateway or " +
      "JupyterHub user server (token in CODER_GATEWAY_TOKEN)",
  },
  model: {
    type: "string",
    value: "NAME|FILE",
    help: "Model name or JSON config file (default: sonnet45)",
  },
  project: {
    type: "string",
    short: "p",
    value: "FILE",
    help: "Project template with domain instructions",
  },
  "api-key": {
    type: "string",
    value: "KEY",
    help: "API key (overrides the config file and the environment)",
  },
  todo: { type: "boolean", help: "Give the agent a todo list tool" },
  "step-limit": {
    type: "string",
    value: "N",
    help: `Maximum agent steps per run (default: ${DEFAULT_STEP_LIMIT})`,
  },
  "no-clean-room": {
    type: "boolean",
    help: "Accept save_code without first running the program on its own " +
      "in a fresh kernel",
  },
} as const satisfies Record<string, OptionSpec>;

/** Name of a shared option. */
export type OptionName = keyof typeof OPTIONS;

/** Parsed values of shared options, as `parseArgs` gives them. */
export interface OptionValues {
  /** `--help`. */
  help?: boolean;
  /** `--version`. */
  version?: boolean;
  /** `--dir`. */
  dir?: string;
  /** `--with`, every occurrence. */
  with?: string[];
  /** `--sandbox`. */
  sandbox?: boolean;
  /** `--memory-limit`. */
  "memory-limit"?: string;
  /** `--allow-host`, every occurrence. */
  "allow-host"?: string[];
  /** `--gateway`. */
  gateway?: string;
  /** `--model`. */
  model?: string;
  /** `--project`. */
  project?: string;
  /** `--api-key`. */
  "api-key"?: string;
  /** `--todo`. */
  todo?: boolean;
  /** `--step-limit`. */
  "step-limit"?: string;
  /** `--no-clean-room`. */
  "no-clean-room"?: boolean;
}

/**
 * The `parseArgs` `options` object for some shared options.
 *
 * @param names The shared options a program takes.
 * @returns Definitions for `node:util` `parseArgs`.
 */
export function parseArgsOptions(
  names: readonly OptionName[],
): Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean }
> {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const name of names) {
    const spec: OptionSpec = OPTIONS[name];
    options[name] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  return options;
}

/**
 * Parses a command line that may hold only the given shared options (no
 * positionals).
 *
 * @param args Command-line arguments.
 * @param names The shared options allowed.
 * @returns The values given.
 * @throws {UsageError} For unknown flags, missing values or positionals.
 */
export function parseOptions(
  args: readonly string[],
  names: readonly OptionName[],
): OptionValues {
  return parseWith(args, names, {}, false).values as OptionValues;
}

/**
 * `parseArgs` over shared plus program-specific options, with parse errors
 * turned into {@linkcode UsageError}s.
 *
 * @param args Command-line arguments.
 * @param names The shared options allowed.
 * @param own The program's other options (`parseArgs` definitions).
 * @param allowPositionals Whether positionals are allowed.
 * @returns `parseArgs`'s values and positionals.
 * @throws {UsageError} For unknown flags, missing values or positionals.
 */
export function parseWith(
  args: readonly string[],
  names: readonly OptionName[],
  own: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  >,
  allowPositionals: boolean,
): {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
} {
  try {
    return parseArgs({
      args: [...args],
      strict: true,
      allowPositionals,
      options: { ...parseArgsOptions(names), ...own },
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw error;
  }
}

/**
 * Reads a whole number of at least 1 from a flag's value.
 *
 * @param raw The flag's value, or undefined when not given.
 * @param flag The flag's name, for the error (`--jobs`).
 * @param fallback The value when the flag is absent.
 * @returns The number.
 * @throws {UsageError} When the value is not a whole number >= 1.
 */
export function positiveCount(
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

const HELP_COLUMN = 25;
const HELP_WIDTH = 79;

/**
 * Help lines of some options, in the order given: `  -d, --dir DIR` then the
 * help text wrapped from column 25 (on the next line when the flag is long).
 *
 * @param names Shared option names, or `[flag, help]` pairs for a program's own options.
 * @returns The lines, each ending with a newline.
 */
export function optionHelp(
  names: readonly (OptionName | readonly [string, string])[],
): string {
  let text = "";
  for (const entry of names) {
    let flag: string;
    let help: string;
    if (typeof entry === "string") {
      const spec: OptionSpec = OPTIONS[entry];
      flag = (spec.short ? `-${spec.short}, ` : "    ") + `--${entry}` +
        (spec.value ? ` ${spec.value}` : "");
      help = spec.help;
    } else {
      [flag, help] = entry;
    }
    const head = `  ${flag}`;
    const words = help.split(" ");
    const lines: string[] = [];
    let line = "";
    for (const word of words) {
      if (
        line !== "" && HELP_COLUMN + line.length + 1 + word.length > HELP_WIDTH
      ) {
        lines.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    lines.push(line);
    const pad = " ".repeat(HELP_COLUMN);
    if (head.length < HELP_COLUMN - 1) {
      text += head.padEnd(HELP_COLUMN) + lines[0] + "\n";
    } else {
      text += head + "\n" + pad + lines[0] + "\n";
    }
    for (const more of lines.slice(1)) text += pad + more + "\n";
  }
  return text;
}
