/**
 * ipython_mcp: an MCP server giving any MCP client persistent Python
 * kernels through seven tools (`python_exec`, `python_job`, `python_reset`,
 * `python_status`, `python_interrupt`, `python_export`, `submit_code`),
 * background jobs, MCP tasks and saved outputs as resources.
 *
 * The server reads no environment: its owner creates the
 * {@linkcode KernelRegistry}, a stderr logger and a transport, and shuts the
 * registry down when the transport closes.
 *
 * @example Serving on stdio
 * ```ts ignore
 * import { KernelRegistry } from "../kernel/mod.ts";
 * import { serveStdioConnection, WebStreamServerTransport } from "./mod.ts";
 *
 * await using registry = new KernelRegistry({ cwd: Deno.cwd(), launch: { env: Deno.env.toObject() } });
 * const transport = new WebStreamServerTransport(Deno.stdin.readable, Deno.stdout.writable);
 * serveStdioConnection({ transport, registry, logger, cwd: Deno.cwd() });
 * await transport.closed;
 * ```
 *
 * @module
 */

export {
  createIpythonMcpServer,
  createNamespace,
  DEFAULT_TASK_GRACE_MS,
  evictedMessage,
  type IpythonMcpServerOptions,
  MAX_RESULT_SIZE_CHARS,
  type McpNamespace,
  MIN_RESULT_SIZE_CHARS,
  ProgressReporter,
  type ProgressToken,
  requestedResultSize,
  type SendProgress,
  SERVER_INSTRUCTIONS,
  SERVER_NAME,
} from "./server.ts";
export { WebStreamServerTransport } from "./stdio.ts";
export { type OutputEntry, withOutputList } from "./outputs.ts";
export {
  serveStdioConnection,
  type ServeStdioConnectionOptions,
  type StdioConnection,
} from "./serve_stdio.ts";
export { McpHttpService, type McpHttpServiceOptions } from "./http.ts";
export {
  DEFAULT_MAX_BODY_BYTES,
  isLoopbackHost,
  isWildcardHost,
  type ListenAddress,
  MCP_HTTP_PATH,
  parseListenAddress,
  type ParseListenAddressOptions,
} from "./http_guards.ts";
export { DEFAULT_RECLAIM_AFTER_MS, type SlotCount } from "./http_reclaim.ts";
export {
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_TTL_MS,
  type SessionRegistry,
} from "./http_sessions.ts";
export { DEFAULT_USER, type McpUser } from "./http_users.ts";
export {
  describeMcpHint,
  type McpErrorHint,
  type McpHintAdvice,
  type McpHintOption,
  type McpHintRenderer,
} from "./hints.ts";
export { BoundedEventStore, type EventStoreLimits } from "./http_events.ts";
export {
  type ConnectionLimits,
  DEFAULT_HEADER_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  type GuardedServer,
  serveGuarded,
} from "./http_front.ts";
export {
  callTool,
  createToolContext,
  DEFAULT_JOB_TIMEOUT_SECONDS,
  DEFAULT_JOB_WAIT_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  maskAnswer,
  MAX_JOB_TIMEOUT_SECONDS,
  MAX_JOB_WAIT_SECONDS,
  MAX_TIMEOUT_SECONDS,
  type McpKernelRegistry,
  type McpTool,
  type ToolCallExtra,
  type ToolContext,
  TOOLS,
} from "./tools.ts";
export { RESULT_LIMIT_CHARS, TEXT_LIMIT_BYTES } from "./exec_result.ts";
export { IMAGE_INLINE_LIMIT_BYTES, MAX_INLINE_IMAGES } from "./images.ts";
export {
  type ContentItem,
  type ImageItem,
  OUTPUT_DIR_NAME,
  type ResourceLinkItem,
  type TextItem,
  type ToolAnswer,
} from "./tool_answer.ts";
export {
  type Job,
  JOB_RETENTION_MS,
  JobManager,
  type JobStatus,
} from "./jobs.ts";
export {
  DEFAULT_TASK_RETENTION_MS,
  legacyTaskView,
  MAX_TASK_RETENTION_MS,
  modernTaskView,
  TaskBook,
  TaskNotFoundError,
  type TaskRecord,
  type TaskResult,
  TASKS_EXTENSION,
  type TaskStatus,
} from "./tasks.ts";
export type { FileToSave } from "./tool_answer.ts";
export type { ListedResource, ResourceContents } from "./resources.ts";
export {
  createPrivateStore,
  type OutputStore,
  outputStoreFor,
  workingDirStore,
} from "./output_store.ts";
export {
  listFilesIn,
  listSavedOutputs,
  readResource,
  ResourcePathError,
  safePathIn,
} from "./resources.ts";
