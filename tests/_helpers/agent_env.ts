/**
 * Environment for tests that start kernels through the agent or the CLI.
 * Test env vars are read only here.
 *
 * @module
 */

import { testEnv as processEnv } from "./kernel_env.ts";

/** Interpreter with ipykernel used by agent/CLI tests (`CODER_PYTHON`, default /usr/bin/python3). */
export function testPython(): string {
  return Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";
}

/**
 * The process environment plus `CODER_PYTHON`, without any real API keys.
 *
 * @param extra Variables to add.
 * @returns An env record for `io.env` or `launch.env`.
 */
export function testEnv(
  extra: Record<string, string> = {},
): Record<string, string> {
  const env = processEnv();
  delete env.OPENROUTER_API_KEY;
  for (const name of Object.keys(env)) {
    if (name.startsWith("OPENAI_") || name.startsWith("CODER_")) {
      delete env[name];
    }
  }
  return { ...env, CODER_PYTHON: testPython(), NO_COLOR: "1", ...extra };
}
