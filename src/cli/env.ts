/**
 * Reads the environment once into a typed settings object.
 *
 * Precedence rules are pure functions over an env record so library users can
 * call them with `Deno.env.toObject()` themselves.
 *
 * @module
 */

import { join } from "node:path";

/** Log levels understood by `CODER_LOG_LEVEL`. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** Settings read from CODER_* variables and the user's config. */
export interface CoderSettings {
  /** Explicit interpreter (`CODER_PYTHON`). */
  python: string | undefined;
  /** Maximum live kernels (`CODER_MAX_KERNELS`, default 10). */
  maxKernels: number;
  /** Warm spare kernels (`CODER_POOL_SIZE`, default 1). */
  poolSize: number;
  /** Stderr log level (`CODER_LOG_LEVEL`, default warning). */
  logLevel: LogLevel;
  /** Print the model configuration (`CODER_VERBOSE`). */
  verbose: boolean;
  /** Base delay between retries of a model error envelope (`CODER_RETRY_DELAY_MS`, default 1000). */
  retryDelayMs: number;
  /** User cache dir for managed venvs. */
  cacheDir: string;
  /** User config dir (`~/.config/coder`). */
  configDir: string;
  /** Home directory. */
  home: string;
  /** Run kernels in the sandbox (`CODER_SANDBOX=1`). */
  sandbox: boolean;
  /** Kernel memory cap (`CODER_MEMORY_LIMIT`, e.g. "4G"). */
  memoryLimit: string | undefined;
  /** Hosts sandboxed kernels may reach (`CODER_SANDBOX_ALLOW_HOSTS`, comma-separated). */
  sandboxAllowHosts: string | undefined;
  /** Remote kernels' server (`CODER_GATEWAY_URL`). */
  gatewayUrl: string | undefined;
  /** Token for the gateway (`CODER_GATEWAY_TOKEN`; never a flag). */
  gatewayToken: string | undefined;
  /** Authorization scheme for the gateway (`CODER_GATEWAY_AUTH_SCHEME`, default "token"). */
  gatewayAuthScheme: string;
  /** Kernel spec name on the gateway (`CODER_GATEWAY_KERNEL`, default "python3"). */
  gatewayKernel: string;
  /** KERNEL_USERNAME sent to the gateway (`CODER_GATEWAY_USER`, else the local user). */
  gatewayUser: string;
  /** Bearer token of the HTTP server (`CODER_MCP_TOKEN`). */
  mcpToken: string | undefined;
  /** Idle seconds before an HTTP session ends (`CODER_MCP_SESSION_TTL`, default 1800). */
  mcpSessionTtl: number;
}

function flag(raw: string | undefined): boolean {
  return !!raw && !["0", "false", "no", "off"].includes(raw.toLowerCase());
}

function positiveInt(
  raw: string | undefined,
  fallback: number,
  name: string,
  min = 1,
): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(
      `Cannot read ${name}: expected an integer >= ${min}, got "${raw}"`,
    );
  }
  return n;
}

/**
 * Reads coder settings from an environment record.
 *
 * @param env Environment variables.
 * @returns The typed settings.
 * @throws {RangeError} When a numeric variable is not a valid integer.
 */
export function readSettings(env: Record<string, string>): CoderSettings {
  const home = env.HOME || env.USERPROFILE || "/tmp";
  const level = (env.CODER_LOG_LEVEL || "warning").toLowerCase();
  const logLevel: LogLevel = level === "warn"
    ? "warning"
    : (["debug", "info", "warning", "error"].includes(level)
      ? level as LogLevel
      : "warning");
  const cacheBase = env.XDG_CACHE_HOME ||
    (env.LOCALAPPDATA ? env.LOCALAPPDATA : join(home, ".cache"));
  const configBase = env.XDG_CONFIG_HOME || join(home, ".config");
  return {
    python: env.CODER_PYTHON || undefined,
    maxKernels: positiveInt(env.CODER_MAX_KERNELS, 10, "CODER_MAX_KERNELS"),
    poolSize: positiveInt(env.CODER_POOL_SIZE, 1, "CODER_POOL_SIZE", 0),
    logLevel,
    verbose: !!env.CODER_VERBOSE && env.CODER_VERBOSE !== "0",
    retryDelayMs: positiveInt(
      env.CODER_RETRY_DELAY_MS,
      1000,
      "CODER_RETRY_DELAY_MS",
      0,
    ),
    cacheDir: join(cacheBase, "agentic-python-coder"),
    configDir: join(configBase, "coder"),
    home,
    sandbox: flag(env.CODER_SANDBOX),
    memoryLimit: env.CODER_MEMORY_LIMIT || undefined,
    sandboxAllowHosts: env.CODER_SANDBOX_ALLOW_HOSTS || undefined,
    gatewayUrl: env.CODER_GATEWAY_URL || undefined,
    gatewayToken: env.CODER_GATEWAY_TOKEN || undefined,
    gatewayAuthScheme: env.CODER_GATEWAY_AUTH_SCHEME || "token",
    gatewayKernel: env.CODER_GATEWAY_KERNEL || "python3",
    gatewayUser: env.CODER_GATEWAY_USER || env.USER || env.LOGNAME ||
      env.USERNAME || "coder",
    mcpToken: env.CODER_MCP_TOKEN || undefined,
    mcpSessionTtl: positiveInt(
      env.CODER_MCP_SESSION_TTL,
      1800,
      "CODER_MCP_SESSION_TTL",
    ),
  };
}

/**
 * Reads `~/.config/coder/.env` (under the settings' config dir). The API key
 * lookup itself is `resolveApiKey` of the LLM layer.
 *
 * @param settings Settings holding the config dir.
 * @returns The file's text, or undefined when it cannot be read.
 */
export async function readDotenvText(
  settings: Pick<CoderSettings, "configDir">,
): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(join(settings.configDir, ".env"));
  } catch {
    return undefined;
  }
}
