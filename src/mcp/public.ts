/**
 * The MCP part of the package (`@agentic/agentic-python-coder/mcp`): the
 * `ipython_mcp` server, its stdio transport and its Streamable HTTP service,
 * for programs that embed the server instead of running the `ipython_mcp`
 * binary.
 *
 * The server reads no environment: its owner creates the kernel registry
 * (from `@agentic/agentic-python-coder/kernel`), a logger and a transport,
 * and shuts the registry down when the transport closes.
 *
 * @example Serve on stdio
 * ```ts
 * import { KernelRegistry } from "@agentic/agentic-python-coder/kernel";
 * import {
 *   serveStdioConnection,
 *   WebStreamServerTransport,
 *   workingDirStore,
 * } from "@agentic/agentic-python-coder/mcp";
 *
 * const cwd = Deno.cwd();
 * const logger = {
 *   debug: () => {},
 *   info: () => {},
 *   warn: (message: string) => console.error(message),
 *   error: (message: string) => console.error(message),
 * };
 * await using registry = new KernelRegistry({ cwd, launch: { env: Deno.env.toObject() } });
 * const transport = new WebStreamServerTransport(Deno.stdin.readable, Deno.stdout.writable);
 * serveStdioConnection({ transport, registry, logger, cwd, outputs: workingDirStore(cwd) });
 * await transport.closed;
 * ```
 *
 * @module
 */

export {
  type ConnectionLimits,
  DEFAULT_HEADER_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_RECLAIM_AFTER_MS,
  DEFAULT_SESSION_TTL_MS,
  DEFAULT_USER,
  describeMcpHint,
  type EventStoreLimits,
  type FileToSave,
  type GuardedServer,
  isLoopbackHost,
  isWildcardHost,
  type ListedResource,
  type ListenAddress,
  MCP_HTTP_PATH,
  type McpErrorHint,
  type McpHintAdvice,
  type McpHintOption,
  type McpHintRenderer,
  McpHttpService,
  type McpHttpServiceOptions,
  type McpKernelRegistry,
  type McpUser,
  type OutputStore,
  outputStoreFor,
  parseListenAddress,
  type ParseListenAddressOptions,
  type ResourceContents,
  serveGuarded,
  SERVER_NAME,
  serveStdioConnection,
  type ServeStdioConnectionOptions,
  type SessionRegistry,
  type SlotCount,
  type StdioConnection,
  WebStreamServerTransport,
  workingDirStore,
} from "./mod.ts";
export type * from "../kernel/public.ts";
