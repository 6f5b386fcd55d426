/**
 * Package installs in a sandbox of their own (SPEC §12): an installer step
 * (`python -m venv`, `pip install`, `uv run --with`) runs under bwrap with
 * the home and working directories hidden, the reduced environment of
 * `installEnv`, writable only where the environment is built, and network
 * only to the package index hosts through the filtering proxy. Also finds,
 * without running it, what a built environment's interpreter is made of, so
 * that no package code (`.pth` files) runs on the host.
 *
 * @module
 */

import { basename, dirname, join, resolve, sep } from "node:path";
import { runUnderBwrap } from "./bwrap_run.ts";
import { KernelStartError } from "./errors.ts";
import { indexHosts, installEnv, localIndexDirs } from "./install_env.ts";
import type { CommandResult, InstallStep } from "./launcher.ts";
import type { Logger } from "./messages.ts";

/** What {@linkcode runSandboxedInstall} needs from the sandbox backend. */
export interface InstallSandboxContext {
  /** The bwrap executable. */
  bwrap: string;
  /** The server's environment (reduced before use). */
  env: Record<string, string>;
  /** Directories the sandbox hides (home, /tmp, /run...). */
  hidden: readonly string[];
  /** bwrap's isolation arguments with these binds, starting in /tmp. */
  isolation(binds: { readOnly: string[]; readWrite: string[] }): string[];
  /** Directories to bind so that an interpreter works inside. */
  interpreterDirs(python: string): Promise<string[]>;
  /** Where refusals are logged. */
  logger?: Logger;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

const INDEX_HINT =
  "it is not a package index host: name the index in PIP_INDEX_URL / PIP_EXTRA_INDEX_URL " +
  "(pip) or UV_DEFAULT_INDEX / UV_INDEX (uv)";

/**
 * Runs one installer step in its own sandbox. Temporary files go to a
 * folder inside the first writable directory (on disk, not the size-capped
 * /tmp), removed afterwards. A failure caused by a refused host gets a last
 * line naming the host and how to allow it.
 *
 * @param step The step.
 * @param context The sandbox backend's parts.
 * @returns Exit status and output (never throws for a failed step).
 */
export async function runSandboxedInstall(
  step: InstallStep,
  context: InstallSandboxContext,
): Promise<CommandResult> {
  const env = context.env;
  const hiddenOnly = (dirs: string[]) =>
    dirs.filter((dir) => context.hidden.some((h) => within(resolve(dir), h)));
  const readOnly = [
    ...(step.python ? await context.interpreterDirs(step.python) : []),
    ...hiddenOnly([...(step.readOnly ?? []), ...localIndexDirs(env)]),
  ];
  const scratch = step.writable[0]
    ? join(step.writable[0], ".coder-install-tmp")
    : null;
  if (scratch) await Deno.mkdir(scratch, { recursive: true });
  const refused: string[] = [];
  try {
    const out = await runUnderBwrap({
      bwrap: context.bwrap,
      isolation: context.isolation({ readOnly, readWrite: step.writable }),
      command: [step.command, ...step.args],
      env: { ...installEnv(env), ...step.env, TMPDIR: scratch ?? "/tmp" },
      ...(step.python
        ? {
          network: {
            allow: indexHosts(env),
            python: step.python,
            hint: () => INDEX_HINT,
            onRefused: (target: string) => {
              refused.push(target);
              context.logger?.warn(
                `Install sandbox: refused a connection to ${target} (${INDEX_HINT})`,
              );
            },
          },
        }
        : {}),
      timeoutMs: step.timeoutMs,
      ...(step.signal ? { signal: step.signal } : {}),
    });
    if (out.ok || refused.length === 0) return out;
    const hosts = [...new Set(refused)].join(", ");
    return {
      ...out,
      stderr:
        `${out.stderr}\nThe install sandbox refused ${hosts}: ${INDEX_HINT}.\n`,
    };
  } finally {
    if (scratch) {
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
    }
  }
}

/**
 * Whether an interpreter belongs to a built environment (a venv or uv
 * environment: `pyvenv.cfg` one level above its directory), and if so the
 * environment's root and the interpreter it was made from: the target of
 * its python link, or (for a copied interpreter) the one in pyvenv.cfg's
 * `home`; never an interpreter inside the environment, whose start would
 * run the environment's `.pth` files.
 *
 * @param python The interpreter path.
 * @returns Root and base interpreter, or null for a plain interpreter.
 * @throws {KernelStartError} An environment whose base cannot be found outside it.
 */
export async function builtEnvironment(
  python: string,
): Promise<{ root: string; base: string } | null> {
  const root = dirname(dirname(resolve(python)));
  const cfg = await Deno.readTextFile(join(root, "pyvenv.cfg")).catch(() =>
    null
  );
  if (cfg === null) return null;
  const real = await Deno.realPath(python).catch(() => python);
  if (!within(real, root)) return { root, base: real };
  const home = cfg.match(/^\s*home\s*=\s*(.+?)\s*$/m)?.[1];
  const candidate = home ? join(home, basename(python)) : "";
  const base = candidate
    ? await Deno.realPath(candidate).catch(() => null)
    : null;
  if (base === null || within(base, root)) {
    throw new KernelStartError(
      `Cannot find the interpreter the environment ${root} was made from (pyvenv.cfg names none outside it)`,
      { tried: [python] },
    );
  }
  return { root, base };
}
