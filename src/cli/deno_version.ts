/**
 * The Deno version gate of the entry files. It imports nothing, so an entry
 * can check the runtime before it loads modules that need a newer Deno (the
 * prompts, model files and kernel start-up code are text imports, stable
 * since Deno 2.8).
 *
 * @module
 */

/** The oldest Deno the programs run on. */
export const MIN_DENO_VERSION = "2.8.0";

function parts(version: string): number[] {
  return version.split(/[.+-]/).slice(0, 3).map((p) => Number.parseInt(p, 10))
    .map((n) => Number.isFinite(n) ? n : 0);
}

/**
 * Says why a Deno version is too old, or returns null when it will do.
 *
 * @param version A Deno version such as `Deno.version.deno` (`2.7.4`).
 * @param program The program's name, for the message.
 * @returns One line for stderr, or null.
 * @example Checking the running Deno
 * ```ts
 * import { denoVersionProblem } from "./deno_version.ts";
 * const problem = denoVersionProblem("2.7.4", "ipython_mcp");
 * // "ipython_mcp needs Deno 2.8.0 or newer (this is Deno 2.7.4): run `deno upgrade`"
 * ```
 */
export function denoVersionProblem(
  version: string,
  program: string,
): string | null {
  const have = parts(version);
  const need = parts(MIN_DENO_VERSION);
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (a > b) return null;
    if (a < b) {
      return `${program} needs Deno ${MIN_DENO_VERSION} or newer (this is Deno ${version}): run \`deno upgrade\``;
    }
  }
  return null;
}
