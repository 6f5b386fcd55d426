/**
 * A sandbox's filtered way out (SPEC §12 `--allow-host`): a filtering proxy
 * in this process on a unix socket in a private directory, and the relay
 * (`_relay.py`) that runs first inside the sandbox, listens on the
 * sandbox's own loopback and forwards to that socket. The sandboxed
 * programs get `HTTP_PROXY`/`HTTPS_PROXY` (and the lower-case forms)
 * pointing at the relay, so pip, uv, requests and urllib go through it;
 * any other connection finds no network at all.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { AllowedHost } from "./allow_hosts.ts";
import {
  type FilteringProxy,
  type ProxyLimits,
  startFilteringProxy,
} from "./proxy.ts";
import RELAY_SOURCE from "./_relay.py" with { type: "text" };

/** Port the relay listens on inside the sandbox's network namespace. */
export const RELAY_PORT = 3128;

/** Name of the proxy's socket file in its directory. */
export const PROXY_SOCKET_NAME = "net.sock";

/** Options of {@linkcode openSandboxNetwork}. */
export interface SandboxNetworkOptions {
  /** Hosts the sandbox may reach. */
  allow: readonly AllowedHost[];
  /**
   * Private directory (mode 0700, see {@linkcode makeSocketDir}) for the
   * socket, bound read-only into the sandbox by {@linkcode withRelay}.
   */
  dir: string;
  /** Interpreter that runs the relay inside the sandbox (run with `-I -S`: no site, no .pth). */
  python: string;
  /** How a refused host can be allowed (for the 403 answer). */
  hint?: (host: string) => string;
  /** Called for each refused request. */
  onRefused?: (target: string, why: string) => void;
  /** Caps and timeouts of the proxy. */
  limits?: ProxyLimits;
}

/** A started proxy and what a sandboxed command needs to use it. */
export interface SandboxNetwork extends AsyncDisposable {
  /** The proxy's unix socket. */
  readonly socket: string;
  /** Environment for the sandboxed command (proxy variables). */
  readonly env: Record<string, string>;
  /**
   * Puts the relay in front of a command line that runs inside the sandbox.
   *
   * @param argv The command and its arguments.
   * @returns The relay's command line, ending with `argv`.
   */
  command(argv: readonly string[]): string[];
  /** Stops the proxy and removes its socket. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the proxy for one sandbox.
 *
 * @param options Allow list, socket directory, relay interpreter.
 * @returns The network; close it when the sandbox ends.
 * @example
 * ```ts
 * import { openSandboxNetwork } from "./sandbox_net.ts";
 * import { parseAllowHosts } from "./allow_hosts.ts";
 * const dir = await Deno.makeTempDir();
 * await using net = openSandboxNetwork({
 *   allow: parseAllowHosts("pypi.org"),
 *   dir,
 *   python: "/usr/bin/python3",
 * });
 * const argv = net.command(["python3", "-m", "pip", "download", "six"]);
 * ```
 */
export function openSandboxNetwork(
  options: SandboxNetworkOptions,
): SandboxNetwork {
  const socket = join(options.dir, PROXY_SOCKET_NAME);
  const proxy: FilteringProxy = startFilteringProxy({
    path: socket,
    allow: options.allow,
    ...(options.hint ? { hint: options.hint } : {}),
    ...(options.onRefused ? { onRefused: options.onRefused } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const url = `http://127.0.0.1:${RELAY_PORT}`;
  return {
    socket,
    env: {
      HTTP_PROXY: url,
      HTTPS_PROXY: url,
      http_proxy: url,
      https_proxy: url,
      ALL_PROXY: url,
      all_proxy: url,
      NO_PROXY: "",
      no_proxy: "",
    },
    command: (argv) => [
      options.python,
      "-I",
      "-S",
      "-c",
      RELAY_SOURCE,
      socket,
      String(RELAY_PORT),
      ...argv,
    ],
    close: () => proxy.close(),
    [Symbol.asyncDispose]: () => proxy.close(),
  };
}

/**
 * Adds to a bwrap command line a read-only bind of the proxy's directory
 * (before the `--` that ends bwrap's own arguments) and the relay in front
 * of the command, and the proxy variables to its environment.
 *
 * @param args bwrap's arguments: options, `--`, the command.
 * @param env The command's environment.
 * @param net The sandbox's network.
 * @returns The new arguments and environment.
 */
export function withRelay(
  args: readonly string[],
  env: Record<string, string>,
  net: SandboxNetwork,
): { args: string[]; env: Record<string, string> } {
  const at = args.indexOf("--");
  if (at < 0) throw new Error("bwrap arguments without --");
  const dir = dirname(net.socket);
  return {
    args: [
      ...args.slice(0, at),
      "--ro-bind",
      dir,
      dir,
      "--",
      ...net.command(args.slice(at + 1)),
    ],
    env: { ...env, ...net.env },
  };
}

/**
 * Makes a private directory (mode 0700) for a proxy socket. Its name starts
 * with `coder-kernel-<pid>-`, so a later run sweeps it when this process
 * was killed before removing it.
 *
 * @returns The directory's path.
 */
export async function makeSocketDir(): Promise<string> {
  const dir = await Deno.makeTempDir({
    prefix: `coder-kernel-${Deno.pid}-net-`,
  });
  await Deno.chmod(dir, 0o700);
  return dir;
}
