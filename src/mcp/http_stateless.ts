/**
 * The 2026-07-28 side of the HTTP service: stateless requests are served
 * by the SDK's per-request handler on their user's namespace (kernels,
 * jobs, tasks), made on first use and kept until the service closes; a
 * -32022 answer lists every version served, both eras.
 *
 * @module
 */

import {
  createMcpHandler,
  type McpHttpHandler,
  type Server,
} from "@modelcontextprotocol/server";
import type { Logger } from "../kernel/mod.ts";
import type { SessionRegistry } from "./http_sessions.ts";
import { DEFAULT_USER } from "./http_users.ts";
import type { McpNamespace } from "./server.ts";

/** Protocol versions served: the 2026 revision and the 2025 ones. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [
  "2026-07-28",
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
];

/** The kernels and namespace of one user's stateless requests. */
export interface StatelessSpace {
  /** The user's kernels. */
  readonly registry: SessionRegistry;
  /** The user's tools' state and tasks. */
  readonly namespace: McpNamespace;
}

/** Options of {@linkcode StatelessRequests}. */
export interface StatelessRequestsOptions {
  /** Makes a user's space (nothing is spawned yet). */
  createSpace: (user: string) => StatelessSpace;
  /** Creates the server object that answers one request on a namespace. */
  createServer: (namespace: McpNamespace) => Server;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Diagnostics. */
  logger: Logger;
  /** Shuts a space's kernels down when the service closes. */
  shutdownRegistry: (registry: SessionRegistry) => Promise<void>;
}

/**
 * Puts the whole supported list (both eras) into a -32022 answer, where the
 * SDK's per-request handler names only the 2026 revision.
 */
async function withSupportedVersions(response: Response): Promise<Response> {
  if (
    response.status !== 400 ||
    !response.headers.get("content-type")?.includes("application/json")
  ) {
    return response;
  }
  const text = await response.text();
  let body: { error?: { code?: number; data?: Record<string, unknown> } };
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, response);
  }
  if (body.error?.code === -32022) {
    body.error.data = {
      ...body.error.data,
      supported: [...SUPPORTED_PROTOCOL_VERSIONS],
    };
  }
  return new Response(JSON.stringify(body), {
    status: response.status,
    headers: response.headers,
  });
}

/** Each user's stateless space and the handler serving them. */
export class StatelessRequests {
  readonly #options: StatelessRequestsOptions;
  readonly #spaces = new Map<string, StatelessSpace>();
  #handler: McpHttpHandler | undefined;

  /**
   * Creates the (empty) set of spaces.
   *
   * @param options Space and server factories, body cap, logger.
   */
  constructor(options: StatelessRequestsOptions) {
    this.#options = options;
  }

  /**
   * A user's space, made on first use.
   *
   * @param user The user.
   * @returns The space.
   */
  space(user: string): StatelessSpace {
    let space = this.#spaces.get(user);
    if (!space) {
      space = this.#options.createSpace(user);
      this.#spaces.set(user, space);
    }
    return space;
  }

  /**
   * The spaces made so far, by user.
   *
   * @returns An iterator of `[user, space]`.
   */
  entries(): IterableIterator<[string, StatelessSpace]> {
    return this.#spaces.entries();
  }

  /**
   * Serves one 2026-07-28 request of `user`'s (stateless, per-request
   * server).
   *
   * @param request The request (its body already read).
   * @param body The parsed body, when it was a POST.
   * @param user The user whose token it carries.
   * @returns The SDK's answer, a -32022 one listing both eras.
   */
  async serve(
    request: Request,
    body: unknown,
    user: string,
  ): Promise<Response> {
    const { logger } = this.#options;
    this.#handler ??= createMcpHandler(
      (context) =>
        this.#options.createServer(
          this.space(context.authInfo?.clientId ?? DEFAULT_USER).namespace,
        ),
      {
        legacy: "reject",
        maxRequestBodySize: this.#options.maxBodyBytes,
        onerror: (error) => logger.debug(`HTTP (2026): ${error.message}`),
      },
    );
    const response = await this.#handler.fetch(request, {
      authInfo: { token: "", clientId: user, scopes: [] },
      ...(body === undefined ? {} : { parsedBody: body }),
    });
    return await withSupportedVersions(response);
  }

  /**
   * Closes the handler and shuts every space's kernels down.
   *
   * @returns When done.
   */
  async close(): Promise<void> {
    const spaces = [...this.#spaces.values()];
    await Promise.all([
      this.#handler?.close().catch(() => {}),
      ...spaces.map(async (space) => {
        space.namespace.tasks.close();
        await this.#options.shutdownRegistry(space.registry).catch((error) =>
          this.#options.logger.error(
            `Shutting down the stateless kernels failed: ${error}`,
          )
        );
      }),
    ]);
  }
}
