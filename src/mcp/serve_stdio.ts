/**
 * ipython_mcp over stdio for both MCP eras: the SDK's `serveStdio` picks the
 * era from the connection's first message (`server/discover` or a 2026
 * request: 2026-07-28; `initialize`: 2025) over our own line transport; every
 * server object it makes for the connection (including a discarded probe
 * instance) works on one namespace, so kernels, jobs and tasks are shared.
 *
 * @module
 */

import type { OutputStore } from "./output_store.ts";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import type { Logger } from "../kernel/mod.ts";
import type { McpHintRenderer } from "./hints.ts";
import {
  createIpythonMcpServer,
  createNamespace,
  type McpNamespace,
} from "./server.ts";
import {
  EarlyAnswerMismatchError,
  type WebStreamServerTransport,
} from "./stdio.ts";
import type { McpKernelRegistry } from "./tools.ts";

/** Options of {@linkcode serveStdioConnection}. */
export interface ServeStdioConnectionOptions {
  /** The line transport over stdin/stdout (not yet started). */
  transport: WebStreamServerTransport;
  /** The kernels; the caller shuts them down. */
  registry: McpKernelRegistry;
  /** Diagnostics; must not write to stdout. */
  logger: Logger;
  /** Working directory of the kernels and saved outputs. */
  cwd: string;
  /** Where saved outputs go; default the working directory's `.ipython_mcp/`. */
  outputs?: OutputStore;
  /** Masks every known secret in answers and saved outputs; default none. */
  mask?: (text: string) => string;
  /** Version reported to clients. */
  version?: string;
  /** Words the settings a kernel-limit refusal names; default option names. */
  renderHint?: McpHintRenderer;
}

/** A connection being served. */
export interface StdioConnection {
  /**
   * The namespace (tools' state, tasks) of the connection.
   *
   * @internal
   */
  readonly namespace: McpNamespace;
  /** Closes the server objects and the transport; ends running tasks. */
  close(): Promise<void>;
}

/**
 * Serves one stdio connection in either era.
 *
 * @param options Transport, registry, logger, working directory.
 * @returns The connection; close it at shutdown.
 * @example Serving stdin/stdout
 * ```ts ignore
 * const transport = new WebStreamServerTransport(Deno.stdin.readable, Deno.stdout.writable);
 * const connection = serveStdioConnection({ transport, registry, logger, cwd });
 * ```
 */
export function serveStdioConnection(
  options: ServeStdioConnectionOptions,
): StdioConnection {
  const { logger } = options;
  const namespace = createNamespace({
    registry: options.registry,
    logger,
    cwd: options.cwd,
    ...(options.outputs ? { outputs: options.outputs } : {}),
    ...(options.mask ? { mask: options.mask } : {}),
    ...(options.renderHint ? { renderHint: options.renderHint } : {}),
  });
  const handle = serveStdio(
    () =>
      createIpythonMcpServer({
        namespace,
        logger,
        ...(options.version ? { version: options.version } : {}),
      }),
    {
      transport: options.transport,
      onerror: (error) =>
        error instanceof EarlyAnswerMismatchError
          ? logger.warn(`stdio: ${error.message}`)
          : logger.debug(`stdio: ${error.message}`),
    },
  );
  return {
    namespace,
    async close() {
      namespace.tasks.close();
      await handle.close();
    },
  };
}
