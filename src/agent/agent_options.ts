/**
 * What a coding agent is configured with and what its runs report: the
 * defaults, the options of {@linkcode CodingAgent}'s creation and runs, the
 * events it emits and a run's result.
 *
 * @module
 */

import type {
  KernelBackend,
  KernelHandle,
  LaunchOptions,
  Logger,
} from "../kernel/mod.ts";
import type { ChatClient, ChatMessage, ModelConfig } from "../llm/mod.ts";
import type { SecretMasker } from "./secrets.ts";
import type { AgentStats } from "./stats.ts";

/** Default step limit (chat completions per run). */
export const DEFAULT_STEP_LIMIT = 200;
/** Retries of an error envelope before the run fails. */
export const ENVELOPE_RETRIES = 3;
/** Default base delay between envelope retries (doubles each time). */
export const DEFAULT_RETRY_DELAY_MS = 1000;
/** Default deadline of one `python_exec` call. */
export const DEFAULT_EXEC_TIMEOUT_MS = 300_000;

/** Progress reported while an agent works (for CLIs and UIs). */
export type AgentEvent =
  | { type: "kernel_started"; pid: number | null; python: string }
  | { type: "packages"; versions: Record<string, string | null> }
  | { type: "step"; step: number }
  | { type: "assistant"; content: string; final: boolean }
  | { type: "tool_call"; tool: string; args: Record<string, unknown> | null }
  | {
    type: "tool_result";
    tool: string;
    success: boolean;
    error: string | null;
  }
  | { type: "retry"; attempt: number; delayMs: number; error: string }
  | { type: "continue"; reason: "length" };

/** Options of {@linkcode createCodingAgent}. */
export interface CodingAgentOptions {
  /** Working directory: kernel cwd, where code and log files go (created when missing; default: process cwd). */
  workingDirectory?: string;
  /** Model name, JSON file or configuration (default `sonnet45`); ignored when `llm` is given. */
  model?: string | ModelConfig;
  /** Custom system prompt (wins over `systemPromptPath` and the built-in one). */
  systemPrompt?: string;
  /** File holding a custom system prompt. */
  systemPromptPath?: string;
  /** Domain-specific instructions appended to the system prompt. */
  projectPrompt?: string;
  /** Packages whose availability is checked in the kernel and listed in the prompt (a project file's packages block). */
  projectPackages?: readonly string[];
  /** The task, embedded in the system prompt as `<task>…</task>`. */
  task?: string;
  /** Package specs the kernel is started with (validated; they count as available). */
  withPackages?: readonly string[];
  /** API key of the model endpoint; else looked up in `env`. */
  apiKey?: string;
  /**
   * Masks secrets in tool results (before they go to the model) and in the
   * log. The agent adds the API key and the key variables of `env` to it.
   * Pass the same masker the program's output uses (default: a new one).
   */
  masker?: SecretMasker;
  /** Environment for key lookup and, unless `launch.env` is given, the kernel (pass `Deno.env.toObject()`). */
  env?: Record<string, string>;
  /** Offer the `todo_write` tool and use the todo system prompt. */
  todo?: boolean;
  /** Chat completions per run before stopping (default 200). */
  stepLimit?: number;
  /** Base name of output files: `NAME_code.py` and `NAME.jsonl` (default `solution.py`, `log.jsonl`). */
  taskBasename?: string;
  /** Write the JSON Lines log (default true). */
  saveLog?: boolean;
  /** A pre-built chat client. */
  llm?: ChatClient;
  /** A kernel to use instead of starting one; the caller keeps ownership. */
  kernel?: KernelHandle;
  /** Starts the agent's kernel (local, sandboxed or remote); default: a local backend over `launch`. */
  backend?: KernelBackend;
  /** Kernel launch options of the default local backend (interpreter, cache dir, env, logger). */
  launch?: Partial<LaunchOptions>;
  /** Receives diagnostics. */
  logger?: Logger;
  /** Receives progress events. */
  onEvent?: (event: AgentEvent) => void;
  /** Base delay between error-envelope retries (default 1000 ms). */
  retryDelayMs?: number;
  /** Deadline of one `python_exec` call (default 300 s). */
  execTimeoutMs?: number;
  /**
   * Run every `save_code` submission on its own in a fresh kernel of the same
   * backend first, and refuse it when it fails there (default true).
   */
  cleanRoom?: boolean;
  /** Deadline of the clean-room run of a submission (default: `execTimeoutMs`). */
  cleanRoomTimeoutMs?: number;
  /** Cancels kernel start-up. */
  signal?: AbortSignal;
}

/** Options of {@linkcode runAgent}. */
export interface RunAgentOptions {
  /** Step limit of this run (default: the agent's). */
  stepLimit?: number;
  /** Cancels the run (the current request or execution is abandoned). */
  signal?: AbortSignal;
  /** Receives progress events of this run (in addition to the agent's). */
  onEvent?: (event: AgentEvent) => void;
  /** Accepted for parity with the original API; the library never prints. */
  quiet?: boolean;
}

/** How a run ended. */
export type RunStatus = "success" | "step_limit_reached";

/** Result of {@linkcode runAgent}. */
export interface RunAgentResult {
  /** The whole conversation so far (system message first). */
  messages: ChatMessage[];
  /** Statistics of this run. */
  stats: AgentStats;
  /** `success` (final answer) or `step_limit_reached`. */
  status: RunStatus;
  /** The final answer text ("" when none). */
  finalResponse: string;
}
