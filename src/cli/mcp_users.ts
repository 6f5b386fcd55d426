/**
 * The users of `ipython_mcp --http`: `CODER_MCP_TOKENS_FILE` (one
 * `user:token` line each, mode 0600 or refused), and the kernel slots each
 * user draws from (`CODER_MAX_KERNELS_PER_USER` within the server's
 * `CODER_MAX_KERNELS`).
 *
 * @module
 */

import { KernelSlots, type ReleaseSlot } from "../kernel/mod.ts";
import type { McpUser } from "../mcp/mod.ts";

/** Shortest token accepted on a non-loopback bind or in a tokens file. */
export const MIN_TOKEN_LENGTH = 16;

/** A tokens file that cannot be used; the message says why and what to do. */
export class TokensFileError extends Error {
  /** @param message What is wrong and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "TokensFileError";
  }
}

/**
 * Reads and checks a tokens file: owner-only permissions (no group or other
 * bits), one `user:token` line per user (blank lines and `#` comments
 * skipped), user names of letters, digits, `.`, `_`, `-`, tokens of at
 * least 16 characters, no repeated user or token.
 *
 * @param path The file (`CODER_MCP_TOKENS_FILE`).
 * @returns The users.
 * @throws {TokensFileError} When the file is unreadable, too open or malformed.
 */
export async function readTokensFile(path: string): Promise<McpUser[]> {
  let info: Deno.FileInfo;
  let text: string;
  try {
    info = await Deno.stat(path);
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new TokensFileError(
      `cannot read CODER_MCP_TOKENS_FILE "${path}": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
  const mode = (info.mode ?? 0) & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new TokensFileError(
      `CODER_MCP_TOKENS_FILE "${path}" has mode ${
        mode.toString(8).padStart(4, "0")
      }: others can read the tokens. Run: chmod 600 ${path}`,
    );
  }
  const users: McpUser[] = [];
  const names = new Set<string>();
  const tokens = new Set<string>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `${path} line ${index + 1}`;
    const at = line.indexOf(":");
    const name = at < 0 ? "" : line.slice(0, at).trim();
    const token = at < 0 ? "" : line.slice(at + 1).trim();
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || token === "") {
      throw new TokensFileError(
        `${where}: expected "user:token" (user of letters, digits, ".", "_", "-")`,
      );
    }
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new TokensFileError(
        `${where}: the token of ${name} must be at least ${MIN_TOKEN_LENGTH} characters without spaces`,
      );
    }
    if (names.has(name)) {
      throw new TokensFileError(`${where}: user ${name} is listed twice`);
    }
    if (tokens.has(token)) {
      throw new TokensFileError(
        `${where}: this token is already another user's`,
      );
    }
    names.add(name);
    tokens.add(token);
    users.push({ name, token });
  });
  if (users.length === 0) {
    throw new TokensFileError(`CODER_MCP_TOKENS_FILE "${path}" lists no user`);
  }
  return users;
}

/**
 * Kernel slots of one user: a slot is taken from the user's share and from
 * the server's slots at once, so neither limit is passed.
 *
 * @example Two users sharing ten slots, four each at most
 * ```ts
 * import { KernelSlots } from "../kernel/mod.ts";
 * import { UserSlots } from "./mcp_users.ts";
 * const server = new KernelSlots(10);
 * const alice = new UserSlots(4, server);
 * alice.tryAcquire()?.();
 * ```
 */
export class UserSlots extends KernelSlots {
  readonly #server: KernelSlots;

  /**
   * @param limit The user's share.
   * @param server The server's slots.
   */
  constructor(limit: number, server: KernelSlots) {
    super(Math.min(limit, server.limit));
    this.#server = server;
  }

  /**
   * Takes a slot from the user's share and from the server.
   *
   * @returns The release function, or null when either limit is reached.
   */
  override tryAcquire(): ReleaseSlot | null {
    const outer = this.#server.tryAcquire();
    if (outer === null) return null;
    const inner = super.tryAcquire();
    if (inner === null) {
      outer();
      return null;
    }
    return () => {
      inner();
      outer();
    };
  }
}
