/**
 * Launch options for tests: the test process's environment, read here only.
 *
 * @module
 */

import type { LaunchOptions } from "../../src/kernel/mod.ts";

/**
 * The environment tests pass to kernels and child processes: this process's
 * env without `INIT_CWD`, which `deno task test` sets and which would make a
 * child program treat the repo root as its working directory.
 */
export function testEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  return env;
}

/** Launch options using the test environment. */
export function testLaunch(extra: Partial<LaunchOptions> = {}): LaunchOptions {
  return { env: testEnv(), ...extra };
}
