/**
 * Runs one short command under bubblewrap and collects its output: the
 * caller gives the isolation arguments (see `sandboxArgs` in sandbox.ts),
 * the whole environment, and optionally hosts the command may reach through
 * a filtering proxy (`sandbox_net.ts`); without them it has no network at
 * all. Used for package installs (SPEC §12), usable for any command that
 * must not run on the host with the server's rights.
 *
 * @module
 */

import type { AllowedHost } from "./allow_hosts.ts";
import { runCommand } from "./launcher.ts";
import { makeSocketDir, openSandboxNetwork, withRelay } from "./sandbox_net.ts";

/** The network of a sandboxed command: hosts through the proxy. */
export interface BwrapNetwork {
  /** Hosts it may reach. */
  allow: readonly AllowedHost[];
  /** Interpreter inside the sandbox that runs the relay (`-I -S`). */
  python: string;
  /** How a refused host can be allowed (for the 403 answer). */
  hint?: (host: string) => string;
  /** Called for each refused request. */
  onRefused?: (target: string, why: string) => void;
}

/** Options of {@linkcode runUnderBwrap}. */
export interface BwrapRunOptions {
  /** The bwrap executable. */
  bwrap: string;
  /** bwrap's isolation and bind arguments (before `--`). */
  isolation: readonly string[];
  /** The command and its arguments, as seen inside the sandbox. */
  command: readonly string[];
  /** Its whole environment. */
  env: Record<string, string>;
  /** Hosts it may reach through the proxy; absent: no network. */
  network?: BwrapNetwork;
  /** Deadline in ms; the sandbox is killed past it. */
  timeoutMs: number;
  /** Aborts it early. */
  signal?: AbortSignal;
}

/**
 * Runs a command under bwrap (with the proxy and relay when it gets
 * network), waits for it, then stops the proxy and removes its socket.
 *
 * @param options The sandbox, the command, its environment and network.
 * @returns Success, stdout and stderr (never throws for a failed command).
 * @example
 * ```ts
 * import { runUnderBwrap } from "./bwrap_run.ts";
 * import { sandboxArgs } from "./sandbox.ts";
 * const out = await runUnderBwrap({
 *   bwrap: "/usr/bin/bwrap",
 *   isolation: sandboxArgs({ chdir: "/tmp" }),
 *   command: ["/usr/bin/python3", "-c", "print(1)"],
 *   env: { PATH: "/usr/bin:/bin" },
 *   timeoutMs: 30_000,
 * });
 * ```
 */
export async function runUnderBwrap(
  options: BwrapRunOptions,
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  if (!options.network) {
    return await runCommand(
      options.bwrap,
      [...options.isolation, "--", ...options.command],
      options.env,
      options.timeoutMs,
      options.signal,
    );
  }
  const dir = await makeSocketDir();
  try {
    await using net = openSandboxNetwork({
      allow: options.network.allow,
      dir,
      python: options.network.python,
      ...(options.network.hint ? { hint: options.network.hint } : {}),
      ...(options.network.onRefused
        ? { onRefused: options.network.onRefused }
        : {}),
    });
    const run = withRelay(
      [...options.isolation, "--", ...options.command],
      options.env,
      net,
    );
    return await runCommand(
      options.bwrap,
      run.args,
      run.env,
      options.timeoutMs,
      options.signal,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
