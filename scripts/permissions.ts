/**
 * Permission flags of the two programs, shared by `scripts/compile.ts` (the
 * compiled binaries) and the tests that hold the `deno.json` tasks `coder` and
 * `ipython_mcp` to the same lists.
 *
 * Neither list grants `-A`, `--allow-all` or `--allow-ffi`: the ZeroMQ
 * transport is TypeScript on Deno's sockets, so no native addon is loaded.
 * `ipython_mcp` reaches the network only on the loopback interface, where its
 * kernels listen.
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
 * Permissions of `ipython_mcp`: as {@linkcode CODER_PERMISSIONS}, but the
 * network is limited to 127.0.0.1, where the kernels' ZeroMQ ports are.
 */
export const IPYTHON_MCP_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-net=127.0.0.1",
  "--allow-sys",
]);

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

/**
 * Every `deno run`/`deno compile` flag of a program: permissions, then
 * runtime flags.
 *
 * @param program The program.
 * @returns The flags, in order.
 */
export function runFlags(program: ProgramName): string[] {
  return [...PERMISSIONS[program], ...RUNTIME_FLAGS[program]];
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
