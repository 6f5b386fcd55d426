/**
 * The one API-key lookup of the project (SPEC §3): `--api-key`, then
 * `~/.config/coder/.env`, then the environment. The variable looked up is the
 * model configuration's `api_key_env`, else `OPENROUTER_API_KEY`.
 *
 * Pure functions over values the caller read: the entry layer reads the
 * `.env` file and the environment, library users pass what they have.
 *
 * @module
 */

import { parseEnv } from "node:util";
import type { ModelConfig } from "./models.ts";

/** Environment variable holding the OpenRouter key. */
export const OPENROUTER_KEY_ENV = "OPENROUTER_API_KEY";

/** Where an API key may come from, in the order they are consulted. */
export interface ApiKeySources {
  /** The `--api-key` value (or a key given in code). */
  flag?: string | null;
  /** Contents of `~/.config/coder/.env`, when the file exists. */
  dotenvText?: string | null;
  /** Environment variables. */
  env?: Readonly<Record<string, string>>;
}

/** The outcome of {@linkcode resolveApiKey}. */
export interface ResolvedApiKey {
  /** The key, or undefined when none is configured. */
  key: string | undefined;
  /** The variable the key is read from (named in the missing-key hint). */
  envVar: string;
  /** Where the key came from. */
  source: "flag" | "dotenv" | "env" | null;
}

function dotenvValues(
  text: string | null | undefined,
): Record<string, string | undefined> {
  if (!text) return {};
  try {
    return parseEnv(text) as Record<string, string | undefined>;
  } catch {
    return {};
  }
}

/**
 * The variable a model's key is read from: its `api_key_env`, else
 * `OPENROUTER_API_KEY`.
 *
 * @param config The model configuration (or just its `api_key_env`).
 * @returns The variable name.
 */
export function apiKeyEnvOf(
  config: Pick<ModelConfig, "api_key_env"> | undefined,
): string {
  return config?.api_key_env ?? OPENROUTER_KEY_ENV;
}

/**
 * Picks the API key of a model: the explicit flag, then the model's variable
 * in `~/.config/coder/.env`, then the same variable in the environment.
 *
 * @param config The model configuration (its `api_key_env` names the variable).
 * @param sources Flag, `.env` text and environment.
 * @returns The key (or undefined), the variable name and the source.
 *
 * @example The flag wins over the .env file and the environment
 * ```ts
 * import { resolveApiKey } from "./api_key.ts";
 * const { key, source } = resolveApiKey(undefined, {
 *   flag: "sk-flag",
 *   dotenvText: 'OPENROUTER_API_KEY="sk-file"',
 *   env: { OPENROUTER_API_KEY: "sk-env" },
 * });
 * console.log(key, source); // sk-flag flag
 * ```
 */
export function resolveApiKey(
  config: Pick<ModelConfig, "api_key_env"> | undefined,
  sources: ApiKeySources,
): ResolvedApiKey {
  const envVar = apiKeyEnvOf(config);
  if (sources.flag) return { key: sources.flag, envVar, source: "flag" };
  const fromFile = dotenvValues(sources.dotenvText)[envVar];
  if (fromFile) return { key: fromFile, envVar, source: "dotenv" };
  const fromEnv = sources.env?.[envVar];
  if (fromEnv) return { key: fromEnv, envVar, source: "env" };
  return { key: undefined, envVar, source: null };
}

/**
 * Every key value the sources hold for a model (the flag, and both
 * `OPENROUTER_API_KEY` and the model's `api_key_env` in the `.env` file and
 * the environment), whether or not it is the one used: all of them are
 * secrets to mask.
 *
 * @param config The model configuration.
 * @param sources Flag, `.env` text and environment.
 * @returns The distinct non-empty values.
 */
export function apiKeyCandidates(
  config: Pick<ModelConfig, "api_key_env"> | undefined,
  sources: ApiKeySources,
): string[] {
  const names = new Set([OPENROUTER_KEY_ENV, apiKeyEnvOf(config)]);
  const file = dotenvValues(sources.dotenvText);
  const values = [sources.flag];
  for (const name of names) values.push(file[name], sources.env?.[name]);
  return [...new Set(values.filter((v): v is string => !!v))];
}
