/**
 * Launch options for tests: the test process's environment, read here only.
 *
 * @module
 */

import type { LaunchOptions } from "../../src/kernel/mod.ts";

/** The environment tests pass to kernels and servers. */
export function testEnv(): Record<string, string> {
  return Deno.env.toObject();
}

/** Launch options using the test environment. */
export function testLaunch(extra: Partial<LaunchOptions> = {}): LaunchOptions {
  return { env: testEnv(), ...extra };
}
