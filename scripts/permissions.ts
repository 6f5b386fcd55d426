/**
 * Permission flags of the two programs, shared by `scripts/compile.ts` (the
 * compiled binaries) and the tests that hold the `deno.json` tasks `coder` and
 * `ipython_mcp` to the same lists.
 *
 * Neither list grants `-A`, `--allow-all` or `--allow-ffi`: the ZeroMQ
 * transport is TypeScript on Deno's sockets, so no native addon is loaded.
 * `coder` reaches its chat API (any host); `ipython_mcp` reaches 127.0.0.1
 * only. A mode that needs more gets it from {@linkcode runFlags} (and the
 * README): `--sandbox` needs the whole network permission (see
 * {@linkcode SANDBOX_NET_FLAG}), `--gateway URL` its host, `--http` its
 * listen address ({@linkcode httpRunFlags}). The programs check at start and
 * name the flag to add.
 *
 * @example Build a `deno run` command line for coder
 * ```ts
 * import { PERMISSIONS } from "./permissions.ts";
 *
 * const argv = ["run", ...PERMISSIONS.coder, "src/cli/coder.ts"];
 * ```
 *
 * @module
 */

/** Names of the programs that get their own permission list. */
export type ProgramName = "coder" | "ipython_mcp";

/**
 * Permissions of `coder`: the agent launches kernels (`run`), reads and writes
 * the working directory, reads its configuration from the environment and
 * talks to the chat API over the network.
 */
export const CODER_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-net",
  "--allow-sys",
]);

/**
 * Permissions of `ipython_mcp`: those of {@linkcode CODER_PERMISSIONS}
 * but network access to 127.0.0.1 only (its local kernels).
 */
export const IPYTHON_MCP_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-net=127.0.0.1",
  "--allow-sys",
]);

/**
 * The network flag `ipython_mcp --sandbox` needs. The server connects only
 * to its kernels, but a sandboxed kernel's ZeroMQ sockets are unix socket
 * files with fresh paths in a private runtime directory, and Deno 2.9 grants
 * a unix socket only by its exact path (`--allow-net=unix:/path`;
 * directories, globs and a bare `unix` are refused, measured), so no fixed
 * list can name them. (`--allow-run` already lets the server start programs
 * with full network access; the boundary that holds is the sandbox.)
 */
export const SANDBOX_NET_FLAG = "--allow-net";

/** Permission list per program name. */
export const PERMISSIONS: Readonly<Record<ProgramName, readonly string[]>> =
  Object.freeze({
    coder: CODER_PERMISSIONS,
    ipython_mcp: IPYTHON_MCP_PERMISSIONS,
  });

/**
 * V8 flags baked into each program next to its permissions. `ipython_mcp`
 * caps the young generation's semi-space at 1 MB: measured with
 * `deno task bench`, the server's RSS after 1000 calls then stays ~30 MB
 * lower with the same round-trip latency (V8 otherwise grows the semi-space
 * to its maximum under a steady message load).
 */
export const RUNTIME_FLAGS: Readonly<Record<ProgramName, readonly string[]>> =
  Object.freeze({
    coder: Object.freeze([]),
    ipython_mcp: Object.freeze(["--v8-flags=--max-semi-space-size=1"]),
  });

/** Modes that widen `ipython_mcp`'s network permission. */
export interface RunMode {
  /** `--sandbox`: unix sockets at fresh paths ({@linkcode SANDBOX_NET_FLAG}). */
  sandbox?: boolean;
  /** `--gateway URL`: the gateway's `host:port` is added to 127.0.0.1. */
  gatewayHost?: string;
}

/**
 * Every `deno run`/`deno compile` flag of a program: permissions, then
 * runtime flags, widened for the given mode.
 *
 * @param program The program.
 * @param mode Sandbox or gateway mode of `ipython_mcp`.
 * @returns The flags, in order.
 * @example The flags of a sandboxed server
 * ```ts
 * import { runFlags } from "./permissions.ts";
 * runFlags("ipython_mcp", { sandbox: true }); // [..., "--allow-net", ...]
 * ```
 */
export function runFlags(program: ProgramName, mode: RunMode = {}): string[] {
  const net = mode.sandbox
    ? SANDBOX_NET_FLAG
    : mode.gatewayHost
    ? `--allow-net=127.0.0.1,${mode.gatewayHost}`
    : undefined;
  return [
    ...PERMISSIONS[program].map((flag) =>
      net && flag.startsWith("--allow-net=") ? net : flag
    ),
    ...RUNTIME_FLAGS[program],
  ];
}

/**
 * The flags for an `ipython_mcp` command line, from its own arguments:
 * `--sandbox` gets {@linkcode SANDBOX_NET_FLAG}, anything else the default.
 *
 * @param args The server's arguments.
 * @param env Its environment (`CODER_SANDBOX=1` counts as `--sandbox`).
 * @returns The flags.
 */
export function mcpRunFlags(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): string[] {
  const sandbox = args.includes("--sandbox") ||
    (!!env.CODER_SANDBOX && env.CODER_SANDBOX !== "0");
  return runFlags("ipython_mcp", { sandbox });
}

/**
 * The flags of `ipython_mcp --http HOST:PORT` for a host its default
 * `--allow-net=127.0.0.1` does not cover (another address, a wildcard
 * bind): the listen permission for that host and port only is added.
 * Loopback on 127.0.0.1 (any port) needs nothing more.
 *
 * @param hostname The `--http` host (IPv6 without brackets).
 * @param port The `--http` port.
 * @returns `runFlags("ipython_mcp")` with the widened `--allow-net`.
 * @example A server on all interfaces, port 8000
 * ```ts
 * import { httpRunFlags } from "./permissions.ts";
 * httpRunFlags("0.0.0.0", 8000); // [..., "--allow-net=127.0.0.1,0.0.0.0:8000", ...]
 * ```
 */
export function httpRunFlags(hostname: string, port: number): string[] {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return runFlags("ipython_mcp").map((flag) =>
    flag === "--allow-net=127.0.0.1" && hostname !== "127.0.0.1"
      ? `${flag},${host}:${port}`
      : flag
  );
}
