/**
 * The context every ipython_mcp tool handler gets (kernels, jobs, history,
 * saved outputs, masking), the per-call extras and the tool interface.
 *
 * @module
 */

import type { KernelHandle, KernelRegistry, Logger } from "../../kernel/mod.ts";
import type { KernelLimitFacts } from "../limit_refusal.ts";
import { kernelDiedMessage, timeoutMessage } from "../messages.ts";
import type { ToolAnswer } from "../tool_answer.ts";
import type { McpHintRenderer } from "../hints.ts";
import { JobManager } from "../jobs.ts";
import { NotebookHistory } from "../notebook.ts";
import { type OutputStore, workingDirStore } from "../output_store.ts";

/** The part of {@linkcode KernelRegistry} the tools use. */
export type McpKernelRegistry = Pick<
  KernelRegistry,
  | "has"
  | "died"
  | "get"
  | "ensureDefault"
  | "create"
  | "restart"
  | "interrupt"
  | "list"
  | "checkSyntax"
  | "backend"
>;

/** What every tool handler gets from the server. */
export interface ToolContext {
  /** The kernels. */
  registry: McpKernelRegistry;
  /** Diagnostics (stderr). */
  logger: Logger;
  /** Working directory: kernel cwd, parent of `.ipython_mcp/`. */
  cwd: string;
  /** Background jobs of this server. */
  jobs: JobManager;
  /** Executed cells per kernel, for python_export. */
  history: NotebookHistory;
  /** Kernels python_reset replaced (their in-flight calls are told so). */
  replaced: WeakSet<KernelHandle>;
  /** Where saved outputs go and are served from. */
  outputs: OutputStore;
  /** Masks every known secret in a text (answers, saved outputs, notebooks). */
  mask: (text: string) => string;
  /**
   * Set when several namespaces share one working directory (HTTP
   * sessions of a user): the default notebook is then
   * `.ipython_mcp/<kernel_id>-<tag>.ipynb`, so one session never
   * overwrites another's. Unset: `.ipython_mcp/<kernel_id>.ipynb`.
   */
  exportTag?: string;
  /**
   * Which kernel limit applies when a start is refused (HTTP: the user's
   * share or the server's); unset: the server's (`CODER_MAX_KERNELS`),
   * every kernel the caller's own.
   */
  kernelLimit?: () => KernelLimitFacts;
  /**
   * Words the settings a kernel-limit refusal names; default
   * `describeMcpHint` (option names). The CLI passes its variables.
   */
  renderHint?: McpHintRenderer;
  /**
   * When a call last named each kernel (ms since the epoch), as argument or
   * in its answer: how long a kernel of a namespace many clients share
   * (stateless requests) has gone unused.
   */
  lastCall: Map<string, number>;
}

/**
 * Creates the per-server state the tools share (jobs, cell history).
 *
 * @param base Registry, logger, cwd; optionally the output store (default:
 *   the working directory's `.ipython_mcp/`) and the secret masker (default:
 *   none).
 * @returns The full tool context.
 */
export function createToolContext(
  base:
    & Pick<ToolContext, "registry" | "logger" | "cwd">
    & Partial<
      Pick<
        ToolContext,
        "outputs" | "mask" | "exportTag" | "kernelLimit" | "renderHint"
      >
    >,
): ToolContext {
  return {
    outputs: workingDirStore(base.cwd),
    mask: (text) => text,
    ...base,
    jobs: new JobManager({
      timeout: timeoutMessage,
      kernelDied: kernelDiedMessage,
    }),
    history: new NotebookHistory(),
    replaced: new WeakSet(),
    lastCall: new Map(),
  };
}

/** Per-call extras from the protocol layer. */
export interface ToolCallExtra {
  /** Aborted when the client cancels the request. */
  signal?: AbortSignal;
  /** Receives stdout chunks while code runs (progress notifications). */
  onStdout?: (text: string) => void;
  /**
   * Inline size of each text field (the client's
   * `anthropic/maxResultSizeChars`); default {@linkcode TEXT_LIMIT_BYTES}.
   */
  textLimitBytes?: number;
}

/** A tool as the server lists and calls it. */
export interface McpTool {
  /** Tool name (SPEC §2). */
  readonly name: string;
  /** Short human title. */
  readonly title: string;
  /** Documentation for the model: what it does and when to use it. */
  readonly description: string;
  /** JSON Schema of the arguments. */
  readonly inputSchema: Record<string, unknown>;
  /** JSON Schema of the answer's JSON object (`structuredContent`). */
  readonly outputSchema: Record<string, unknown>;
  /** MCP behaviour hints. */
  readonly annotations: Record<string, unknown>;
  /**
   * Validates the arguments and runs the handler; never throws.
   *
   * @param args Raw arguments from the client.
   * @param context Registry, logger, cwd.
   * @param extra Cancellation and progress.
   * @returns The answer (failures have `isError: true`).
   */
  call(
    args: unknown,
    context: ToolContext,
    extra?: ToolCallExtra,
  ): Promise<ToolAnswer>;
}
