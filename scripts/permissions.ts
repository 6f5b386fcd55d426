/**
 * Permission flags of the two programs, shared by `scripts/compile.ts` (the
 * compiled binaries) and the tests that hold the `deno.json` tasks `coder` and
 * `ipython_mcp` to the same lists.
 *
 * Neither list grants `-A`, `--allow-all` or `--allow-ffi`: the ZeroMQ
 * transport is TypeScript on Deno's sockets, so no native addon is loaded.
 * Both grant the whole network: `ipython_mcp` talks only to its kernels, but
 * a sandboxed kernel's sockets are unix socket files with fresh paths, which
 * Deno can only allow one exact path at a time.
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
 * Permissions of `ipython_mcp`: the same as {@linkcode CODER_PERMISSIONS}.
 * The server itself connects only to its kernels: TCP on 127.0.0.1 for
 * local kernels, and unix socket files for sandboxed ones (`--sandbox`).
 * Deno 2.9 grants a unix socket only by its exact path
 * (`--allow-net=unix:/path/to/socket`; directories, globs and a bare
 * `unix` are refused, measured), and every sandboxed kernel gets fresh
 * socket paths in a private runtime directory, so no fixed list can name
 * them: the network permission is unscoped. (`--allow-run` already lets the
 * server start programs with full network access, so a narrower
 * `--allow-net` was never a boundary; the sandbox around the kernel is.)
 */
export const IPYTHON_MCP_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-net",
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
