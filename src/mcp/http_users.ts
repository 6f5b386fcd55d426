/**
 * The users of the HTTP service and their bearer tokens: who a request's
 * `Authorization` header names, compared in constant time, and what a
 * request without a valid token is told.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { describeMcpHint, type McpHintRenderer } from "./hints.ts";

/** The user of a single `token`. */
export const DEFAULT_USER = "default";

/** One user of the HTTP server and their bearer token. */
export interface McpUser {
  /** User name (letters, digits, `.`, `_`, `-`). */
  name: string;
  /** Bearer token. */
  token: string;
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/**
 * The known tokens, kept as SHA-256 digests: finds the user a bearer token
 * belongs to without the time taken telling how much of it was right.
 */
export class BearerTokens {
  readonly #users: { name: string; digest: Uint8Array }[];

  /**
   * Creates the check.
   *
   * @param token The single token (user {@linkcode DEFAULT_USER}), if any.
   * @param users Further users and their tokens.
   * @throws {TypeError} When there is no token at all or one is empty.
   */
  constructor(token: string | undefined, users: readonly McpUser[] = []) {
    const all = [
      ...(token === undefined ? [] : [{ name: DEFAULT_USER, token }]),
      ...users,
    ];
    if (all.length === 0 || all.some((user) => user.token === "")) {
      throw new TypeError("Cannot serve MCP over HTTP: a token is empty");
    }
    this.#users = all.map((user) => ({
      name: user.name,
      digest: sha256(user.token),
    }));
  }

  /** Number of users (the single token's included). */
  get count(): number {
    return this.#users.length;
  }

  /**
   * The user whose token an `Authorization` header carries.
   *
   * @param header The header's value, or null when absent.
   * @returns The user's name, or undefined for no or a wrong token.
   */
  userOf(header: string | null): string | undefined {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
    const digest = sha256(match?.[1] ?? "");
    // Equal-length digests compared in constant time, every user's: the
    // time taken tells nothing about how much of a token was right, nor
    // whose it was.
    let user: string | undefined;
    for (const candidate of this.#users) {
      if (timingSafeEqual(digest, candidate.digest)) user = candidate.name;
    }
    return match === null ? undefined : user;
  }
}

/** Where the service's tokens come from: what a 401 tells a caller to send. */
export interface TokenSources {
  /** A single token (`token`; the CLI's `CODER_MCP_TOKEN`) is set. */
  token: boolean;
  /** Users with their own tokens (`users`; `CODER_MCP_TOKENS_FILE`) are set. */
  users: boolean;
}

/**
 * The 401 answer's message: what header to send, the token named as the
 * renderer names its setting (the CLI: `CODER_MCP_TOKEN`, or the caller's own
 * token from `CODER_MCP_TOKENS_FILE`; default: `token`, `users`).
 *
 * @param renderHint Names the settings; default {@linkcode describeMcpHint}.
 * @param sources Which settings hold tokens; default the single token only.
 * @returns "Unauthorized: send Authorization: Bearer <token>".
 */
export function unauthorizedMessage(
  renderHint: McpHintRenderer = describeMcpHint,
  sources: TokenSources = { token: true, users: false },
): string {
  const named = [
    ...(sources.token
      ? [renderHint({ option: "httpToken", advice: "name" })]
      : []),
    ...(sources.users
      ? [
        `your token from ${
          renderHint({ option: "httpUsers", advice: "name" })
        }`,
      ]
      : []),
  ];
  return `Unauthorized: send Authorization: Bearer <${named.join(", or ")}>`;
}
