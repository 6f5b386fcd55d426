/**
 * Pieces every agent-running command of `coder` shares (the single-task
 * agent and `coder eval`): the kernels' environment and the missing-key hint.
 *
 * @module
 */

import { type ModelConfig, OPENROUTER_KEY_ENV } from "../llm/mod.ts";

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
 * The kernel's environment: the user's, minus the variables holding API keys
 * and tokens (code written by the model runs there). This is no isolation:
 * the kernel can still read its parent's /proc entries and the user's files;
 * that takes `--sandbox`.
 *
 * @param env The user's environment.
 * @param config The model configuration (its key variable is removed too).
 * @returns A copy without the secrets' variables.
 */
export function kernelEnv(
  env: Record<string, string>,
  config: ModelConfig | null,
): Record<string, string> {
  const copy = { ...env };
  for (
    const name of [
      OPENROUTER_KEY_ENV,
      config?.api_key_env,
      "CODER_GATEWAY_TOKEN",
      "CODER_MCP_TOKEN",
    ]
  ) {
    if (name) delete copy[name];
  }
  return copy;
}
