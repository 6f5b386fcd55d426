/**
 * Finding a Python interpreter with ipykernel: the explicit one, PATH's and
 * the system's, probed in order; the answer is cached per candidate list
 * and checked with a few `stat` calls.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { describeHint, type ErrorHint, KernelStartError } from "./errors.ts";
import { defaultCacheDir, type LaunchOptions } from "./launch_options.ts";
import { runCommand, tailLines, which } from "./commands.ts";

// find_spec locates ipykernel without importing it (an import costs ~0.3 s).
const PROBE = "import importlib.util as u, sys\n" +
  "if u.find_spec('ipykernel') is None: sys.exit('No module named ipykernel')\n" +
  "print(sys.executable)";
const IS_WINDOWS = Deno.build.os === "windows";

/** Asks a candidate interpreter whether it can import ipykernel (the abort signal ends the probe). */
async function probe(
  python: string,
  env: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ ok: true; executable: string } | { ok: false; why: string }> {
  const result = await runCommand(python, ["-c", PROBE], env, 20_000, signal);
  if (result.ok) {
    return { ok: true, executable: result.stdout.trim() || python };
  }
  return { ok: false, why: tailLines(result.stderr, 1) || "failed" };
}

const SYSTEM_PYTHONS = IS_WINDOWS ? [] : [
  "/usr/bin/python3",
  "/usr/local/bin/python3",
  "/opt/homebrew/bin/python3",
  "/usr/bin/python",
];

/** The hint of a start that found no interpreter with ipykernel. */
export const PYTHON_HINT: ErrorHint = { option: "python", advice: "set" };

/**
 * What to do when no interpreter has ipykernel.
 *
 * @param options `renderHint` words the hint to set `python`.
 * @returns The advice, one sentence.
 */
export function installHelp(
  options: Pick<LaunchOptions, "renderHint">,
): string {
  return "Install ipykernel for your Python (`python3 -m pip install ipykernel`, " +
    "or `apt-get install python3-ipykernel` on Debian/Ubuntu), install uv " +
    `(https://docs.astral.sh/uv/), or ${
      (options.renderHint ?? describeHint)(PYTHON_HINT)
    }: an interpreter that has ipykernel`;
}

/**
 * Finds an interpreter that can import ipykernel: the explicit one, else
 * `python3`/`python` on PATH, else the usual system locations.
 *
 * @param options Launch options (env, explicit python).
 * @param signal Ends the probes.
 * @returns The interpreter path.
 * @throws {KernelStartError} Naming everything tried and how to install ipykernel.
 * @example Resolving the interpreter
 * ```ts
 * import { resolvePython } from "./launcher.ts";
 * const python = await resolvePython({ env: { PATH: "/usr/bin" } });
 * ```
 */
export async function resolvePython(
  options: LaunchOptions,
  signal?: AbortSignal,
): Promise<string> {
  const found = await findPython(options, signal);
  signal?.throwIfAborted();
  if (found.python) return found.python;
  throw new KernelStartError(
    `Cannot find a Python interpreter with ipykernel. Tried: ${
      found.tried.join("; ")
    }. ${installHelp(options)}`,
    { tried: found.tried },
    { hints: [PYTHON_HINT] },
  );
}

/** The interpreters to try, in order, each with its real path (duplicates and missing ones left out). */
async function pythonCandidates(
  options: LaunchOptions,
): Promise<{ path: string; real: string }[]> {
  const candidates: string[] = [];
  for (const name of ["python3", "python"]) {
    const path = await which(name, options.env);
    if (path) candidates.push(path);
  }
  candidates.push(...SYSTEM_PYTHONS);
  const seen = new Set<string>();
  const unique: { path: string; real: string }[] = [];
  for (const path of candidates) {
    const real = await Deno.realPath(path).catch(() => null);
    if (real === null || seen.has(real)) continue; // missing or a duplicate
    seen.add(real);
    unique.push({ path, real });
  }
  return unique;
}

/**
 * Probes the candidates in order (explicit interpreter, PATH's, the
 * system's).
 *
 * @param options Launch options.
 * @param signal Ends the probes (those cut count as failed).
 * @returns The first with ipykernel, and every candidate tried.
 */
export async function findPython(
  options: LaunchOptions,
  signal?: AbortSignal,
): Promise<{ python?: string; tried: string[] }> {
  const tried: string[] = [];
  if (options.python) {
    if (options.pythonChecked) return { python: options.python, tried };
    const result = await probe(options.python, options.env, signal);
    if (result.ok) return { python: options.python, tried };
    tried.push(`${options.python} (${result.why})`);
    return { tried };
  }
  const unique = (await pythonCandidates(options)).map((c) => c.path);
  // Probe in parallel (pyenv shims take ~1 s each), keep the first in order.
  const results = await Promise.all(
    unique.map((candidate) => probe(candidate, options.env, signal)),
  );
  for (const [i, result] of results.entries()) {
    if (result.ok) return { python: unique[i]!, tried };
    tried.push(`${unique[i]} (${result.why})`);
  }
  return { tried };
}

/** An interpreter with ipykernel and where the answer came from. */
export interface ResolvedPython {
  /** The interpreter path. */
  python: string;
  /** True when it came from the resolution cache without a probe. */
  cached: boolean;
}

/**
 * The first 16 hex digits of the SHA-256 of a value's JSON: a cache key.
 * Web Crypto, not `node:crypto`, whose loading would delay the first spawn.
 */
export async function shortHash(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(value)),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("").slice(0, 16);
}

/** The cache file of one candidate list (explicit interpreter, or PATH's and the system's). */
async function resolutionCacheFile(
  options: LaunchOptions,
): Promise<string> {
  const candidates = options.python
    ? [{
      path: options.python,
      real: await Deno.realPath(options.python).catch(() => options.python),
    }]
    : await pythonCandidates(options);
  const key = await shortHash(candidates);
  return join(
    options.cacheDir ?? defaultCacheDir(options.env),
    "interpreters",
    `${key}.json`,
  );
}

/** Size and mtime of an interpreter's real file: the cache entry's check. */
async function fingerprint(python: string): Promise<string | null> {
  try {
    const real = await Deno.realPath(python);
    const stat = await Deno.stat(real);
    return `${real}:${stat.size}:${stat.mtime?.getTime() ?? 0}`;
  } catch {
    return null;
  }
}

/**
 * Like {@linkcode resolvePython}, but answers from a cache under the cache
 * directory when the same candidates were resolved before and the chosen
 * interpreter's file is unchanged (a few `stat` calls instead of starting
 * Python). A kernel that then fails to start should call
 * {@linkcode forgetResolvedPython} and resolve again.
 *
 * @param options Launch options (env, explicit python, cache dir).
 * @param signal Ends the probes; once it fires nothing is written to the cache.
 * @returns The interpreter and whether it came from the cache.
 * @throws {KernelStartError} Naming everything tried and how to install ipykernel.
 * @example Resolving the interpreter quickly on later runs
 * ```ts
 * import { resolvePythonCached } from "./launcher.ts";
 * const { python, cached } = await resolvePythonCached({ env: { PATH: "/usr/bin" } });
 * ```
 */
export async function resolvePythonCached(
  options: LaunchOptions,
  signal?: AbortSignal,
): Promise<ResolvedPython> {
  const file = await resolutionCacheFile(options);
  try {
    const entry = JSON.parse(await Deno.readTextFile(file));
    if (
      typeof entry.python === "string" &&
      typeof entry.fingerprint === "string" &&
      await fingerprint(entry.python) === entry.fingerprint
    ) {
      return { python: entry.python, cached: true };
    }
  } catch {
    // no usable entry
  }
  const python = await resolvePython(options, signal);
  const print = await fingerprint(python);
  // An aborted resolution (its owner shut down) leaves no file behind.
  if (print !== null && !signal?.aborted) {
    let temp: string | null = null;
    try {
      await Deno.mkdir(dirname(file), { recursive: true });
      temp = await Deno.makeTempFile({
        dir: dirname(file),
        prefix: ".resolve-",
      });
      await Deno.writeTextFile(
        temp,
        JSON.stringify({ python, fingerprint: print }),
      );
      await Deno.rename(temp, file);
    } catch {
      // A read-only cache only costs the probe next time.
      if (temp !== null) await Deno.remove(temp).catch(() => {});
    }
  }
  return { python, cached: false };
}

/**
 * Drops the cached resolution for these options (after a kernel started
 * from it failed).
 *
 * @param options The launch options the resolution was made for.
 */
export async function forgetResolvedPython(
  options: LaunchOptions,
): Promise<void> {
  await Deno.remove(await resolutionCacheFile(options)).catch(() => {});
}
