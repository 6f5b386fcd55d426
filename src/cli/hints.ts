/**
 * Error hints in command-line terms: the one table from the kernel layer's
 * option names to our flags and environment variables, and the renderer the
 * CLI passes down (`renderHint`) so every message a user or a model reads
 * names what to change at the command line.
 *
 * @module
 */

import type { ErrorHint, HintOption } from "../kernel/mod.ts";
import type { McpErrorHint, McpHintOption } from "../mcp/mod.ts";

/** How one library option is set from the command line. */
export interface CliOptionNames {
  /** The flag, when there is one. */
  flag?: string;
  /** The environment variable. */
  env: string;
}

/** The options a hint can name that are set only by a flag. */
export type FlagOnlyOption = "listenAddress";

/**
 * Each option a hint can name (the kernel layer's and the MCP layer's) that
 * has an environment variable, as a flag and the variable.
 */
export const CLI_OPTION_NAMES: Readonly<
  Record<Exclude<HintOption | McpHintOption, FlagOnlyOption>, CliOptionNames>
> = {
  sandbox: { flag: "--sandbox", env: "CODER_SANDBOX" },
  python: { env: "CODER_PYTHON" },
  memoryLimit: { flag: "--memory-limit", env: "CODER_MEMORY_LIMIT" },
  allowHosts: { flag: "--allow-host", env: "CODER_SANDBOX_ALLOW_HOSTS" },
  token: { env: "CODER_GATEWAY_TOKEN" },
  authScheme: { env: "CODER_GATEWAY_AUTH_SCHEME" },
  kernelName: { env: "CODER_GATEWAY_KERNEL" },
  maxKernels: { env: "CODER_MAX_KERNELS" },
  maxKernelsPerUser: { env: "CODER_MAX_KERNELS_PER_USER" },
  httpToken: { env: "CODER_MCP_TOKEN" },
  httpUsers: { env: "CODER_MCP_TOKENS_FILE" },
};

/** The flag of each option set only by a flag. */
export const CLI_FLAG_ONLY_OPTIONS: Readonly<Record<FlagOnlyOption, string>> = {
  listenAddress: "--http",
};

/** A hint's value as typed at the command line (`null`: no limit). */
function shownValue(value: ErrorHint["value"]): string {
  return value === null ? "none" : String(value);
}

/**
 * Words a hint with our flags and environment variables ("run without
 * --sandbox", "set CODER_GATEWAY_TOKEN"): the `HintRenderer` the
 * CLI passes to backends, registries and the sandbox's network filter.
 *
 * @param hint The hint (the kernel layer's or the MCP layer's).
 * @returns An imperative clause; for advice `name` the variable (or the
 *   flag, when there is no variable).
 * @example
 * ```ts
 * import { renderCliHint } from "./hints.ts";
 * console.log(renderCliHint({ option: "sandbox", advice: "disable" })); // run without --sandbox
 * ```
 */
export function renderCliHint(hint: ErrorHint | McpErrorHint): string {
  const value = hint.value === undefined ? null : shownValue(hint.value);
  if (hint.option === "listenAddress") {
    return flagOnlyHint(CLI_FLAG_ONLY_OPTIONS[hint.option], hint, value);
  }
  const { flag, env } = CLI_OPTION_NAMES[hint.option];
  switch (hint.advice) {
    case "name":
      return env;
    case "disable":
      return flag ? `run without ${flag} (and ${env} unset)` : `unset ${env}`;
    case "set":
      if (value === null) return flag ? `set ${flag} or ${env}` : `set ${env}`;
      return flag
        ? `set ${flag} ${value} (${env}=${value})`
        : `set ${env}=${value}`;
    case "check":
      return `check ${env}`;
    case "add":
      return flag
        ? `restart coder / ipython_mcp with ${flag} ${value} (or ${env}=${value})`
        : `restart coder / ipython_mcp with ${value} added to ${env}`;
    case "raise":
      return flag ? `raise ${flag} (${env})` : `raise ${env}`;
  }
}

/** A hint on an option set only by a flag (`--http`). */
function flagOnlyHint(
  flag: string,
  hint: ErrorHint | McpErrorHint,
  value: string | null,
): string {
  switch (hint.advice) {
    case "name":
      return flag;
    case "disable":
      return `run without ${flag}`;
    case "set":
    case "add":
      return value === null ? `set ${flag}` : `set ${flag} ${value}`;
    case "check":
      return `check ${flag}`;
    case "raise":
      return `raise ${flag}`;
  }
}
