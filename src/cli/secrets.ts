/**
 * The programs' secrets (SPEC §12): which environment variables hold them,
 * the kernels' environment without them, and the values every answer, log
 * and notebook masks.
 *
 * A kernel runs code a model wrote, so it never gets the server's
 * credentials in its environment, sandboxed or not: the HTTP bearer token(s),
 * the gateway token, and API keys. A local (unsandboxed) kernel can still read
 * the user's files; that takes `--sandbox`.
 *
 * @module
 */

/** Variables that hold the programs' own secrets, removed by name. */
export const SECRET_VARIABLES: readonly string[] = Object.freeze([
  "CODER_MCP_TOKEN",
  "CODER_MCP_TOKENS_FILE",
  "CODER_GATEWAY_TOKEN",
  "OPENROUTER_API_KEY",
]);

/** Other names treated as API keys: `*_API_KEY` (OPENAI_API_KEY, ...). */
const API_KEY_NAME = /_API_KEY$/i;

/**
 * Whether a variable holds a secret by its name alone.
 *
 * @param name Variable name.
 * @returns True for {@linkcode SECRET_VARIABLES} and `*_API_KEY` names.
 */
export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLES.includes(name) || API_KEY_NAME.test(name);
}

/**
 * The secret values in an environment: those of the secret variables, plus
 * extra secrets the program holds elsewhere (a generated token, a key from
 * `--api-key` or a `.env` file).
 *
 * @param env The program's environment.
 * @param extra More secrets (empty and missing ones are skipped).
 * @returns The distinct non-empty values.
 */
export function serverSecrets(
  env: Record<string, string>,
  extra: Iterable<string | null | undefined> = [],
): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value && isSecretVariable(name)) found.add(value);
  }
  for (const value of extra) if (value) found.add(value);
  return [...found];
}

/**
 * The environment kernels (and package installers) get: the program's,
 * without the secret variables and without any variable whose value is
 * one of the secrets (a key exported under another name).
 *
 * @param env The program's environment.
 * @param secrets Secret values (from {@linkcode serverSecrets}).
 * @param names More variable names to drop (a model's `api_key_env`).
 * @returns A new environment.
 * @example
 * ```ts
 * import { kernelEnvironment, serverSecrets } from "./secrets.ts";
 * const env = { PATH: "/usr/bin", CODER_MCP_TOKEN: "t0ps3cr3t", MY_COPY: "t0ps3cr3t" };
 * kernelEnvironment(env, serverSecrets(env)); // { PATH: "/usr/bin" }
 * ```
 */
export function kernelEnvironment(
  env: Record<string, string>,
  secrets: readonly string[],
  names: Iterable<string | null | undefined> = [],
): Record<string, string> {
  const dropped = new Set<string>();
  for (const name of names) if (name) dropped.add(name);
  const values = new Set(secrets.filter((value) => value.length >= 4));
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (isSecretVariable(name) || dropped.has(name) || values.has(value)) {
      continue;
    }
    kept[name] = value;
  }
  return kept;
}
