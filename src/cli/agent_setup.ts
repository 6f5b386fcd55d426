/**
 * Pieces every agent-running command of `coder` shares (the single-task
 * agent and `coder eval`): the kernels' environment and the missing-key hint.
 *
 * @module
 */

import { type ModelConfig, OPENROUTER_KEY_ENV } from "../llm/mod.ts";
import { kernelEnvironment, serverSecrets } from "./secrets.ts";

/**
 * The setup hint printed when no API key is configured.
 *
 * @param envVar The variable the model's key is read from.
 * @returns Lines for stderr.
 */
export function missingKeyText(envVar: string): string {
  if (envVar !== OPENROUTER_KEY_ENV) {
    return `Error: no API key found: the model configuration reads it from ${envVar}.\n` +
      `Set it with:\n  export ${envVar}=...\nor pass --api-key KEY.\n`;
  }
  return [
    "Error: no OpenRouter API key found. Set one up with:",
    "  mkdir -p ~/.config/coder",
    `  echo 'OPENROUTER_API_KEY="sk-or-..."' > ~/.config/coder/.env`,
    "or export OPENROUTER_API_KEY=sk-or-..., or pass --api-key sk-or-...",
    "Get a key at https://openrouter.ai/keys",
    "",
  ].join("\n");
}

/**
 * The kernel's environment: the user's, minus every secret (SPEC §12: the
 * secret variables, the model's key variable, and any variable holding the
 * key in use). This is no isolation: an unsandboxed kernel can still read
 * the user's files; that takes `--sandbox`.
 *
 * @param env The user's environment.
 * @param config The model configuration (its key variable is removed too).
 * @param key The API key in use, when known (removed under any name).
 * @returns A copy without the secrets.
 */
export function kernelEnv(
  env: Record<string, string>,
  config: ModelConfig | null,
  key?: string | null,
): Record<string, string> {
  return kernelEnvironment(env, serverSecrets(env, [key]), [
    config?.api_key_env,
  ]);
}
