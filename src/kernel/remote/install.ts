/**
 * Installing packages into a remote kernel's own interpreter: pip (uv when
 * pip is missing) run as a subprocess with an argument list from a
 * throw-away namespace, its outcome read back through the tooling channel,
 * and a clear error for each way it fails (PEP 668, no installer, a
 * deadline).
 *
 * @module
 */

import {
  describeHint,
  type HintRenderer,
  KernelStartError,
} from "../errors.ts";
import { KERNEL_NAME_HINT } from "./rest.ts";
import { evaluateTooling, type ExecuteSender } from "../tooling.ts";

/** What {@linkcode installPackages} needs. */
export interface InstallPackagesOptions {
  /** Sends the silent install execution (the kernel's tooling sender). */
  send: ExecuteSender;
  /** Validated package specs. */
  packages: readonly string[];
  /** The kernel's interpreter, for messages. */
  python: string;
  /** How the kernel was started, for messages. */
  launchedWith: string;
  /** Install deadline in ms. */
  timeoutMs: number;
  /** Aborted when the kernel dies. */
  death: AbortSignal;
  /** The caller's abort. */
  signal?: AbortSignal;
  /** Words the hint of an externally managed Python (default `describeHint`). */
  renderHint?: HintRenderer;
}

/**
 * Installs packages in a remote kernel.
 *
 * @param options Sender, specs, deadline and signals.
 * @throws {KernelStartError} The install failed, named with its output tail.
 */
export async function installPackages(
  options: InstallPackagesOptions,
): Promise<void> {
  const { timeoutMs, signal, death, launchedWith } = options;
  const stop = AbortSignal.any([
    AbortSignal.timeout(timeoutMs),
    death,
    ...(signal ? [signal] : []),
  ]);
  const outcome = await evaluateTooling<
    { code?: number; tool?: string; tail?: string } | null
  >(options.send, "install_result()", {
    code: installCode(options.packages),
    silent: true,
    signal: stop,
  }).catch((error) => {
    if (signal?.aborted || death.aborted) throw error;
    throw new KernelStartError(
      stop.aborted
        ? `Cannot install packages in the remote kernel: not done within ${
          timeoutMs / 1000
        }s`
        : `Cannot install packages in the remote kernel: ${
          error instanceof Error ? error.message : String(error)
        }`,
      { tried: [launchedWith] },
      { cause: error },
    );
  }) ?? {};
  if (outcome.code === 0) return;
  const tail = (outcome.tail ?? "").trim().split("\n").slice(-12).join("\n");
  const specs = options.packages.join(" ");
  if (/externally.managed|PEP 668/i.test(outcome.tail ?? "")) {
    throw new KernelStartError(
      `Cannot install ${specs} in the remote kernel: its Python environment (${options.python}) is externally managed (PEP 668), so ${
        outcome.tool ?? "pip"
      } refuses to install into it. Use a kernel spec whose Python is a virtual environment (${
        (options.renderHint ?? describeHint)(KERNEL_NAME_HINT)
      }), or install the packages on the server.\n${tail}`,
      { tried: [launchedWith], stderrTail: tail },
      { hints: [KERNEL_NAME_HINT] },
    );
  }
  throw new KernelStartError(
    outcome.code === undefined
      ? `Cannot install ${specs} in the remote kernel: ${
        tail || "no pip or uv found"
      }`
      : `Cannot install ${specs} in the remote kernel: ${
        outcome.tool ?? "pip"
      } exited with code ${outcome.code}:\n${tail}`,
    { tried: [launchedWith], stderrTail: tail },
  );
}

/**
 * Python that installs packages into the kernel's own interpreter with pip
 * (uv when pip is missing) as a subprocess with an argument list: no shell,
 * no IPython magics. Runs in a throw-away namespace; the outcome is read
 * back with `_coder_tools.install_result()`.
 */
function installCode(specs: readonly string[]): string {
  const source = `
import importlib, shutil, subprocess, sys
def _run():
    try:
        import pip  # noqa: F401
        cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *SPECS]
        tool = "pip"
    except ImportError:
        uv = shutil.which("uv")
        if not uv:
            return {"tail": "neither pip nor uv is available to the remote kernel's Python " + sys.executable}
        cmd = [uv, "pip", "install", "--python", sys.executable, *SPECS]
        tool = "uv"
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    importlib.invalidate_caches()
    return {"code": p.returncode, "tool": tool, "tail": p.stdout[-4000:]}
sys.modules["_coder_tools"].last_install = _run()
`;
  return `exec(${JSON.stringify(source)}, {"SPECS": ${
    JSON.stringify([...specs])
  }})`;
}
