/**
 * Package environments for kernels with packages: `uv run --with` when uv
 * is on PATH, else a managed venv per package set under the cache
 * directory; and the launch plan that starts a kernel in one.
 *
 * @module
 */

import { join } from "node:path";
import { KernelStartError } from "./errors.ts";
import { SILENT_LOGGER } from "./messages.ts";
import {
  defaultCacheDir,
  KERNEL_LAUNCH_ARGS,
  type LaunchOptions,
  type LaunchPlan,
  runInstallStep,
} from "./launch_options.ts";
import { tailLines, which } from "./commands.ts";
import {
  findPython,
  installHelp,
  PYTHON_HINT,
  shortHash,
} from "./interpreter.ts";

const IS_WINDOWS = Deno.build.os === "windows";
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/** Deadline for installing packages (pip into a managed venv, or uv at kernel start). */
export const PACKAGE_INSTALL_TIMEOUT_MS = INSTALL_TIMEOUT_MS;

function venvPython(dir: string): string {
  return IS_WINDOWS
    ? join(dir, "Scripts", "python.exe")
    : join(dir, "bin", "python");
}

/**
 * Returns (creating on first use) a venv with `packages`, built from `python`
 * with system site-packages visible so ipykernel comes along. Keyed by the
 * interpreter and the sorted package set; a second request reuses it.
 * Creation goes to a temporary folder renamed into place, so concurrent
 * creators never see a half-built venv.
 */
async function managedVenv(
  python: string,
  packages: readonly string[],
  options: LaunchOptions & { signal?: AbortSignal },
): Promise<string> {
  const logger = options.logger ?? SILENT_LOGGER;
  const real = await Deno.realPath(python).catch(() => python);
  const key = await shortHash([real, [...packages].sort()]);
  const root = join(options.cacheDir ?? defaultCacheDir(options.env), "venvs");
  const dir = join(root, key);
  const marker = join(dir, ".coder-complete");
  try {
    await Deno.stat(marker);
    logger.debug(`Reusing managed venv ${dir}`);
    return venvPython(dir);
  } catch {
    // build it
  }
  await Deno.mkdir(root, { recursive: true });
  const building = await Deno.makeTempDir({ dir: root, prefix: `.${key}-` });
  try {
    logger.info(`Creating managed venv for ${packages.join(", ")} in ${dir}`);
    const step = {
      python,
      writable: [building],
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const venv = await runInstallStep({
      ...step,
      command: python,
      args: ["-m", "venv", "--system-site-packages", building],
      timeoutMs: 120_000,
    }, options);
    options.signal?.throwIfAborted();
    if (!venv.ok) {
      throw new KernelStartError(
        `Cannot create a virtual environment with ${python}: ${
          tailLines(venv.stdout + venv.stderr, 3)
        }`,
        { tried: [python], stderrTail: tailLines(venv.stdout + venv.stderr) },
      );
    }
    const pip = await runInstallStep({
      ...step,
      command: venvPython(building),
      args: [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        ...packages,
      ],
      timeoutMs: INSTALL_TIMEOUT_MS,
    }, options);
    options.signal?.throwIfAborted();
    if (!pip.ok) {
      const output = pip.stdout + pip.stderr;
      throw new KernelStartError(
        `Cannot install ${packages.join(", ")} with pip: ${
          tailLines(output, 4)
        }`,
        { tried: [python], stderrTail: tailLines(output) },
      );
    }
    await Deno.writeTextFile(join(building, ".coder-complete"), "");
    try {
      await Deno.rename(building, dir);
    } catch {
      // Another process finished first: use theirs.
      await Deno.remove(building, { recursive: true }).catch(() => {});
      await Deno.stat(marker);
    }
    return venvPython(dir);
  } catch (error) {
    await Deno.remove(building, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** `uv run --no-project --with ipykernel --with PKG... python <launch args>`. */
function uvPlan(uv: string, packages: readonly string[]): LaunchPlan {
  const withs = ["ipykernel", ...packages].flatMap((p) => ["--with", p]);
  const shown = packages.length > 0 ? packages : ["ipykernel"];
  return {
    command: uv,
    args: ["run", "--no-project", ...withs, "python", ...KERNEL_LAUNCH_ARGS],
    description: `uv run --with ${shown.join(" --with ")}`,
    installs: true,
  };
}

/**
 * Decides how to start a kernel for a package set (SPEC §1 order): explicit
 * interpreter; with packages, `uv run --with` when uv is on PATH (and no
 * explicit interpreter) else a managed venv; without packages, the first
 * interpreter with ipykernel, then uv.
 *
 * @param packages Validated package specs.
 * @param options Launch options; `signal` aborts a managed-venv build.
 * @returns The plan.
 * @throws {KernelStartError} When nothing can start a kernel.
 */
export async function planLaunch(
  packages: readonly string[],
  options: LaunchOptions & { signal?: AbortSignal },
): Promise<LaunchPlan> {
  const uv = options.python ? undefined : await which("uv", options.env);
  if (packages.length > 0 && uv) return uvPlan(uv, packages);
  const found = await findPython(options);
  if (found.python) {
    const python = packages.length > 0
      ? await managedVenv(found.python, packages, options)
      : found.python;
    return {
      command: python,
      args: [...KERNEL_LAUNCH_ARGS],
      description: python,
      installs: false,
    };
  }
  if (uv) return uvPlan(uv, []);
  if (options.python) {
    throw new KernelStartError(
      `Cannot start a kernel with the configured interpreter: ${
        found.tried.join("; ")
      }. ${installHelp(options)}`,
      { tried: found.tried },
      { hints: [PYTHON_HINT] },
    );
  }
  throw new KernelStartError(
    `Cannot find a Python interpreter with ipykernel, and uv is not on PATH. Tried: ${
      found.tried.join("; ") || "nothing"
    }. ${installHelp(options)}`,
    { tried: found.tried },
    { hints: [PYTHON_HINT] },
  );
}
