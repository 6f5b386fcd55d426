/**
 * Model configurations: the bundled JSON files and the lookup rules.
 *
 * @module
 */

import { isAbsolute, join, resolve } from "node:path";
import { ModelConfigError, UnknownModelError } from "./errors.ts";
import deepseek31 from "./models/deepseek31.json" with { type: "json" };
import gemini25 from "./models/gemini25.json" with { type: "json" };
import gemini3pro from "./models/gemini3pro.json" with { type: "json" };
import gpt52 from "./models/gpt52.json" with { type: "json" };
import grok41 from "./models/grok41.json" with { type: "json" };
import opus45 from "./models/opus45.json" with { type: "json" };
import qwen3 from "./models/qwen3.json" with { type: "json" };
import sonnet45 from "./models/sonnet45.json" with { type: "json" };
import gemini31 from "./models/gemini31.json" with { type: "json" };
import gemini3flash from "./models/gemini3flash.json" with { type: "json" };
import gpt56sol from "./models/gpt56sol.json" with { type: "json" };
import gpt56terra from "./models/gpt56terra.json" with { type: "json" };
import opus48 from "./models/opus48.json" with { type: "json" };
import sonnet46 from "./models/sonnet46.json" with { type: "json" };
import sonnet5 from "./models/sonnet5.json" with { type: "json" };

/** The model used when none is named. */
export const DEFAULT_MODEL = "sonnet45";

const BUNDLED: Readonly<Record<string, unknown>> = Object.freeze({
  deepseek31,
  gemini25,
  gemini3pro,
  gpt52,
  grok41,
  opus45,
  qwen3,
  sonnet45,
  gemini31,
  gemini3flash,
  gpt56sol,
  gpt56terra,
  opus48,
  sonnet46,
  sonnet5,
});

/**
 * A model configuration. Keys keep the snake_case of the JSON files they come
 * from; `name` is the bundled name or the file's base name.
 */
export interface ModelConfig {
  /** Bundled name, or the file name without `.json`. */
  readonly name: string;
  /** Model id sent as `model` in the request (e.g. `anthropic/claude-sonnet-4.5`). */
  readonly path: string;
  /** Sampling temperature. */
  readonly temperature?: number;
  /** Upper bound of output tokens per completion. */
  readonly max_tokens?: number;
  /** Nucleus sampling. */
  readonly top_p?: number;
  /** Frequency penalty. */
  readonly frequency_penalty?: number;
  /** Presence penalty. */
  readonly presence_penalty?: number;
  /** Top-k sampling (sent in the request body; OpenRouter understands it). */
  readonly top_k?: number;
  /** OpenRouter provider routing preferences, sent as is. */
  readonly provider?: Readonly<Record<string, unknown>>;
  /** Reasoning settings, sent as is. */
  readonly reasoning?: Readonly<Record<string, unknown>>;
  /** Per-request timeout in seconds. */
  readonly request_timeout?: number;
  /** Send only `max_tokens` (models that refuse sampling parameters). */
  readonly no_sampling_params?: boolean;
  /** Any OpenAI-compatible endpoint instead of OpenRouter. */
  readonly base_url?: string;
  /** Environment variable that holds the key for `base_url`. */
  readonly api_key_env?: string;
}

/** Options of {@linkcode loadModelConfig}. */
export interface LoadModelConfigOptions {
  /** Directory that relative file names and `./NAME.json` are resolved against (default: the process cwd). */
  cwd?: string;
}

const NUMBER_KEYS = [
  "temperature",
  "max_tokens",
  "top_p",
  "frequency_penalty",
  "presence_penalty",
  "top_k",
  "request_timeout",
] as const;
const OBJECT_KEYS = ["provider", "reasoning"] as const;
const STRING_KEYS = ["base_url", "api_key_env"] as const;

/**
 * Names of the bundled model configurations, sorted.
 *
 * @returns The names accepted by `--model` without a file.
 *
 * @example List the bundled models
 * ```ts
 * import { listAvailableModels } from "./models.ts";
 * console.log(listAvailableModels().join(", "));
 * ```
 */
export function listAvailableModels(): string[] {
  return Object.keys(BUNDLED).sort();
}

/**
 * Validates a parsed configuration object.
 *
 * @param name Name given to the configuration.
 * @param raw The parsed JSON value.
 * @returns The frozen, validated configuration.
 * @throws {ModelConfigError} When `path` is missing or a key has the wrong type.
 *
 * @example Validate an inline configuration
 * ```ts
 * import { parseModelConfig } from "./models.ts";
 * const config = parseModelConfig("local", { path: "llama3", base_url: "http://127.0.0.1:8080/v1" });
 * console.log(config.path);
 * ```
 */
export function parseModelConfig(name: string, raw: unknown): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ModelConfigError(name, "expected a JSON object");
  }
  const record = raw as Record<string, unknown>;
  if (typeof record.path !== "string" || record.path.trim() === "") {
    throw new ModelConfigError(name, `"path" must be a non-empty string`);
  }
  const config: Record<string, unknown> = { name, path: record.path.trim() };
  for (const key of NUMBER_KEYS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ModelConfigError(name, `"${key}" must be a number`);
    }
    config[key] = value;
  }
  for (const key of OBJECT_KEYS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new ModelConfigError(name, `"${key}" must be a JSON object`);
    }
    config[key] = structuredClone(value);
  }
  for (const key of STRING_KEYS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || value.trim() === "") {
      throw new ModelConfigError(name, `"${key}" must be a non-empty string`);
    }
    config[key] = value.trim();
  }
  if (record.no_sampling_params !== undefined) {
    if (typeof record.no_sampling_params !== "boolean") {
      throw new ModelConfigError(
        name,
        `"no_sampling_params" must be a boolean`,
      );
    }
    config.no_sampling_params = record.no_sampling_params;
  }
  if (typeof config.base_url === "string") {
    try {
      new URL(config.base_url);
    } catch (error) {
      throw new ModelConfigError(name, `"base_url" is not a URL`, {
        cause: error,
      });
    }
  }
  return Object.freeze(config) as unknown as ModelConfig;
}

async function readConfigFile(file: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new ModelConfigError(
      file,
      error instanceof Deno.errors.NotFound ? "file not found" : String(error),
      { cause: error },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelConfigError(
      file,
      `invalid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const base = file.replace(/\\/g, "/").split("/").pop() ?? file;
  return parseModelConfig(base.replace(/\.json$/i, ""), raw);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Finds a model configuration: a name ending in `.json` is a file path; else
 * `NAME.json` in the working directory; else a bundled configuration.
 *
 * @param model Model name or JSON file (default {@linkcode DEFAULT_MODEL}).
 * @param options Where relative names are resolved.
 * @returns The validated configuration.
 * @throws {UnknownModelError} When nothing matches; the message lists the bundled names.
 * @throws {ModelConfigError} When the file cannot be read or holds invalid values.
 *
 * @example Load the default model
 * ```ts
 * import { loadModelConfig } from "./models.ts";
 * const config = await loadModelConfig("sonnet45");
 * console.log(config.path); // anthropic/claude-sonnet-4.5
 * ```
 */
export async function loadModelConfig(
  model: string = DEFAULT_MODEL,
  options: LoadModelConfigOptions = {},
): Promise<ModelConfig> {
  const cwd = options.cwd ?? Deno.cwd();
  const name = model.trim();
  if (name === "") throw new UnknownModelError(model, listAvailableModels());
  if (name.toLowerCase().endsWith(".json")) {
    return await readConfigFile(isAbsolute(name) ? name : resolve(cwd, name));
  }
  const local = join(cwd, `${name}.json`);
  if (!name.includes("/") && !name.includes("\\") && await isFile(local)) {
    return await readConfigFile(local);
  }
  if (Object.hasOwn(BUNDLED, name)) {
    return parseModelConfig(name, BUNDLED[name]);
  }
  throw new UnknownModelError(name, listAvailableModels());
}
