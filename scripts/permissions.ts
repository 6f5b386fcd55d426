/**
 * Permission flags of the two programs, shared by `scripts/compile.ts` (the
 * compiled binaries) and the tests that hold the `deno.json` tasks `coder` and
 * `ipython_mcp` to the same lists.
 *
 * Neither list grants `-A`, `--allow-all` or `--allow-ffi`: the ZeroMQ
 * transport is TypeScript on Deno's sockets, so no native addon is loaded.
 * Both programs get the same list (SPEC §6a): read, write, run, env, sys and
 * an unscoped network permission, so every mode (`--sandbox`, `--gateway`,
 * `--http`) works from the tasks and the binaries alike.
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
 * Permissions of `ipython_mcp` (SPEC §6a): the same as
 * {@linkcode CODER_PERMISSIONS}, so every documented mode works from the
 * task and the binary: a sandboxed kernel's ZeroMQ sockets are unix socket
 * files at fresh paths (Deno 2.9 grants a unix socket only by its exact
 * path), `--gateway URL` reaches any host, `--http` listens on any address.
 * `--allow-run` already makes Deno's flags no boundary for a kernel server;
 * the boundary is the sandbox.
 */
export const IPYTHON_MCP_PERMISSIONS: readonly string[] = CODER_PERMISSIONS;

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
 * How `deno run` loads a program, beyond its runtime flags (not for
 * `deno compile`, which embeds the whole graph). `ipython_mcp` loads its
 * dynamic imports when they run and fetches only the npm packages it
 * imports: the stdio handshake is answered before the kernel layer, the MCP
 * SDK or any npm package is loaded (a fresh clone without the set-up command
 * answers `initialize` before its first download instead of after fetching
 * every package of the lockfile, ~30 s; a warm start skips resolving the
 * whole graph up front, ~40 ms of CPU before `initialize`).
 */
export const LOADING_FLAGS: Readonly<Record<ProgramName, readonly string[]>> =
  Object.freeze({
    coder: Object.freeze([]),
    ipython_mcp: Object.freeze([
      "--unstable-lazy-dynamic-imports",
      "--unstable-npm-lazy-caching",
    ]),
  });

/**
 * Every `deno run` flag of a program: permissions, runtime flags, then
 * loading flags. The same in every mode (SPEC §6a).
 *
 * @param program The program.
 * @returns The flags, in order.
 * @example The flags of the server
 * ```ts
 * import { runFlags } from "./permissions.ts";
 * runFlags("ipython_mcp"); // [..., "--allow-net", ...]
 * ```
 */
export function runFlags(program: ProgramName): string[] {
  return [
    ...PERMISSIONS[program],
    ...RUNTIME_FLAGS[program],
    ...LOADING_FLAGS[program],
  ];
}
