/**
 * The ReAct loop: a coding agent that owns one kernel, calls the model with
 * its tools, runs the tool calls in order and stops at a final answer or the
 * step limit.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { delay } from "../base/mod.ts";
import {
  createLocalBackend,
  HOST_FILES,
  type KernelBackend,
  type KernelHandle,
  type KernelStartRequest,
  type LaunchOptions,
  type Logger,
  validatePackageSpec,
} from "../kernel/mod.ts";
import {
  apiKeyCandidates,
  type AssistantMessage,
  type ChatClient,
  type ChatCompletion,
  type ChatMessage,
  getOpenrouterLlm,
  LlmResponseError,
  type ModelConfig,
  type ToolDefinition,
} from "../llm/mod.ts";
import { AgentLog } from "./log.ts";
import { runLoggedCleanRoom } from "./clean_room.ts";
import { llmResponseEvent, sessionEvent } from "./log_records.ts";
import { SecretMasker } from "./secrets.ts";
import {
  builtinSystemPrompt,
  composeSystemPrompt,
  CONTINUE_MESSAGE,
  packageNameOf,
  packageSection,
  TASK_KICKOFF,
} from "./prompt.ts";
import { type AgentStats, emptyStats } from "./stats.ts";
import {
  type AgentTool,
  createAgentTools,
  fail,
  type TodoItem,
  type ToolHost,
  type ToolOutcome,
} from "./tools.ts";

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

/**
 * A coding agent: conversation, tools, its own kernel, its log. Create it with
 * {@linkcode createCodingAgent}, run turns with {@linkcode runAgent}, close it
 * with `close()` or `await using`.
 */
export class CodingAgent implements AsyncDisposable {
  /** Working directory (absolute). */
  readonly workingDirectory: string;
  /** The chat client. */
  readonly llm: ChatClient;
  /** Path of the code file `save_code` writes. */
  readonly codeFilePath: string;
  /** Path of the JSON Lines log, or null when logging is off. */
  readonly logPath: string | null;
  /** The JSON Lines log (all runs of this agent). */
  readonly log: AgentLog;
  /** Tools offered to the model. */
  readonly tools: ReadonlyMap<string, AgentTool>;
  /** Default step limit. */
  readonly stepLimit: number;

  readonly #messages: ChatMessage[];
  readonly #codeFileName: string;
  readonly #filesWritten = new Set<string>();
  readonly #ownsKernel: boolean;
  readonly #backend: KernelBackend;
  readonly #startRequest: KernelStartRequest;
  readonly #onEvent: ((event: AgentEvent) => void) | undefined;
  readonly #retryDelayMs: number;
  readonly #execTimeoutMs: number;
  readonly #task: string | undefined;
  readonly #masker: SecretMasker;
  readonly #cleanRoomTimeoutMs: number | null;
  #kernel: KernelHandle;
  #todos: TodoItem[] = [];
  readonly #runStats: AgentStats[] = [];
  #running = false;
  #closed = false;

  /** @internal Use {@linkcode createCodingAgent}. */
  constructor(init: {
    workingDirectory: string;
    llm: ChatClient;
    kernel: KernelHandle;
    ownsKernel: boolean;
    backend: KernelBackend;
    startRequest: KernelStartRequest;
    systemPrompt: string;
    task: string | undefined;
    codeFileName: string;
    logPath: string | null;
    log: AgentLog;
    masker: SecretMasker;
    todo: boolean;
    stepLimit: number;
    onEvent: ((event: AgentEvent) => void) | undefined;
    retryDelayMs: number;
    execTimeoutMs: number;
    /** Deadline of clean-room runs, or null when the check is off. */
    cleanRoomTimeoutMs: number | null;
  }) {
    this.workingDirectory = init.workingDirectory;
    this.llm = init.llm;
    this.#kernel = init.kernel;
    this.#ownsKernel = init.ownsKernel;
    this.#backend = init.backend;
    this.#startRequest = init.startRequest;
    this.#codeFileName = init.codeFileName;
    this.#task = init.task;
    this.codeFilePath = join(init.workingDirectory, init.codeFileName);
    this.logPath = init.logPath;
    this.log = init.log;
    this.#masker = init.masker;
    this.tools = createAgentTools({
      todo: init.todo,
      codeFileName: init.codeFileName,
    });
    this.stepLimit = init.stepLimit;
    this.#onEvent = init.onEvent;
    this.#retryDelayMs = init.retryDelayMs;
    this.#execTimeoutMs = init.execTimeoutMs;
    this.#cleanRoomTimeoutMs = init.cleanRoomTimeoutMs;
    this.#messages = [{ role: "system", content: init.systemPrompt }];
  }

  /** The agent's current kernel. */
  get kernel(): KernelHandle {
    return this.#kernel;
  }

  /** The conversation so far (a copy; system message first). */
  get messages(): ChatMessage[] {
    return structuredClone(this.#messages);
  }

  /** Files the agent wrote (absolute paths). */
  get filesWritten(): string[] {
    return [...this.#filesWritten];
  }

  /** The current todo list. */
  get todos(): TodoItem[] {
    return structuredClone(this.#todos);
  }

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Statistics of every run so far (copies), including a run in progress
   * and runs that failed or were aborted.
   */
  get runStats(): AgentStats[] {
    return structuredClone(this.#runStats);
  }

  /**
   * Writes (replaces) the log file now, with what was logged so far (for a
   * program that must exit before the run unwinds).
   *
   * @returns The log path, or null when logging is off.
   */
  async saveLog(): Promise<string | null> {
    await this.#writeLog();
    return this.logPath;
  }

  /**
   * Shuts the kernel down when the agent started it. Idempotent.
   *
   * @returns Resolves when the kernel is gone.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsKernel) await this.#kernel.shutdown();
  }

  /** Same as {@linkcode CodingAgent.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal One run; see {@linkcode runAgent}. */
  async run(
    input: string,
    options: RunAgentOptions = {},
  ): Promise<RunAgentResult> {
    if (this.#closed) throw new Error("Cannot run the agent: it is closed");
    if (this.#running) {
      throw new Error("Cannot run the agent: a run is already in progress");
    }
    this.#running = true;
    const started = performance.now();
    const stats = emptyStats();
    this.#runStats.push(stats);
    const stepLimit = options.stepLimit ?? this.stepLimit;
    const emit = (event: AgentEvent): void => {
      this.#onEvent?.(event);
      options.onEvent?.(event);
    };
    const finish = (): void => {
      stats.execution_time_seconds =
        Math.round((performance.now() - started) / 10) / 100;
      this.log.add({
        event: "statistics",
        tool_usage: { ...stats.tool_usage },
        tokens: { ...stats.token_consumption },
        execution_time: stats.execution_time_seconds,
      });
    };
    // The first run of an agent created with a task logs the task itself.
    const logged = this.#runStats.length === 1 && this.#task !== undefined
      ? this.#task
      : input;
    this.log.add({ event: "start", task: logged });
    answerDanglingToolCalls(this.#messages);
    this.#messages.push({ role: "user", content: input });
    try {
      let status: RunStatus = "step_limit_reached";
      let finalResponse = "";
      for (let step = 1; step <= stepLimit; step++) {
        emit({ type: "step", step });
        const completion = await this.#complete(stats, emit, options.signal);
        this.log.add(llmResponseEvent(step, completion));
        const message = completion.message;
        this.#messages.push(message);
        const calls = message.tool_calls ?? [];
        if (calls.length > 0) {
          if (message.content?.trim()) {
            emit({ type: "assistant", content: message.content, final: false });
          }
          for (const call of calls) {
            const outcome = await this.#runTool(
              call.function.name,
              call.function.arguments,
              stats,
              emit,
              options.signal,
            );
            // Code in the kernel can read secrets (/proc, ~/.config): mask
            // them before the result reaches the model endpoint.
            const content = this.#masker.mask(outcome.content);
            this.#messages.push({
              role: "tool",
              tool_call_id: call.id,
              content,
            });
            this.log.add({
              event: "tool_result",
              tool_call_id: call.id,
              tool: call.function.name,
              content,
            });
          }
          continue;
        }
        if (completion.finishReason === "length") {
          emit({ type: "continue", reason: "length" });
          this.#messages.push({ role: "user", content: CONTINUE_MESSAGE });
          continue;
        }
        status = "success";
        finalResponse = message.content ?? "";
        emit({ type: "assistant", content: finalResponse, final: true });
        break;
      }
      stats.step_limit_reached = status === "step_limit_reached";
      finish();
      this.log.add({ event: "complete", status });
      await this.#writeLog();
      return { messages: this.messages, stats, status, finalResponse };
    } catch (error) {
      answerDanglingToolCalls(this.#messages);
      finish();
      this.log.add(
        isAbortError(error) ? { event: "complete", status: "interrupted" } : {
          event: "complete",
          status: "error",
          error: error instanceof Error ? error.message : String(error),
        },
      );
      await this.#writeLog().catch(() => {});
      throw error;
    } finally {
      this.#running = false;
    }
  }

  async #writeLog(): Promise<void> {
    if (this.logPath !== null) {
      await this.#writeFile(this.logPath, this.log.toJsonLines());
      this.#filesWritten.add(this.logPath);
      // The session notebook beside the log: solution.ipynb or NAME.ipynb.
      const notebook = this.logPath.endsWith("/log.jsonl")
        ? this.logPath.replace(/log\.jsonl$/, "solution.ipynb")
        : this.logPath.replace(/\.jsonl$/, ".ipynb");
      await this.#writeFile(notebook, this.log.notebookText());
      this.#filesWritten.add(notebook);
    }
  }

  /**
   * Writes a file of the working directory the way the backend says: from
   * inside the sandbox for a sandboxed kernel, which may have planted links
   * there (SPEC §12).
   */
  #writeFile(path: string, text: string): Promise<string> {
    return (this.#backend.workspace ?? HOST_FILES).writeFile(
      this.workingDirectory,
      path,
      text,
    );
  }

  #toolDefinitions(): ToolDefinition[] {
    return [...this.tools.values()].map((tool) => tool.definition);
  }

  async #complete(
    stats: AgentStats,
    emit: (event: AgentEvent) => void,
    signal: AbortSignal | undefined,
  ): Promise<ChatCompletion> {
    for (let attempt = 0;; attempt++) {
      stats.llm_calls++;
      try {
        const completion = await this.llm.complete({
          messages: this.#messages,
          tools: this.#toolDefinitions(),
          ...(signal ? { signal } : {}),
        });
        if (completion.usage) {
          stats.token_consumption.input_tokens += completion.usage.inputTokens;
          stats.token_consumption.output_tokens +=
            completion.usage.outputTokens;
          stats.token_consumption.total_tokens += completion.usage.totalTokens;
          if (completion.usage.costUsd !== null) {
            stats.cost_usd = (stats.cost_usd ?? 0) + completion.usage.costUsd;
          }
        }
        return completion;
      } catch (error) {
        if (
          !(error instanceof LlmResponseError) || attempt >= ENVELOPE_RETRIES
        ) throw error;
        const delayMs = this.#retryDelayMs * 2 ** attempt;
        emit({
          type: "retry",
          attempt: attempt + 1,
          delayMs,
          error: error.message,
        });
        await delay(delayMs, signal ? { signal } : {});
      }
    }
  }

  async #runTool(
    name: string,
    rawArgs: string,
    stats: AgentStats,
    emit: (event: AgentEvent) => void,
    signal: AbortSignal | undefined,
  ): Promise<ToolOutcome> {
    stats.tool_usage[name] = (stats.tool_usage[name] ?? 0) + 1;
    const tool = this.tools.get(name);
    let args: Record<string, unknown> | null = null;
    let outcome: ToolOutcome | null = null;
    try {
      const parsed: unknown = rawArgs.trim() === "" ? {} : JSON.parse(rawArgs);
      if (
        typeof parsed !== "object" || parsed === null || Array.isArray(parsed)
      ) {
        outcome = fail(`The arguments of ${name} must be a JSON object.`);
      } else {
        args = parsed as Record<string, unknown>;
      }
    } catch (error) {
      outcome = fail(
        `Invalid JSON in the arguments of ${name}: ${
          (error as Error).message
        }. Send the arguments as one JSON object.`,
      );
    }
    this.#logCall(name, tool !== undefined ? args : null);
    emit({ type: "tool_call", tool: name, args });
    if (outcome === null && tool === undefined) {
      outcome = fail(
        `Unknown tool "${name}". Available tools: ${
          [...this.tools.keys()].join(", ")
        }.`,
      );
    }
    if (outcome === null && tool !== undefined && args !== null) {
      try {
        outcome = await tool.run(args, this.#host(), signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        outcome = fail(
          `${name} failed: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
      }
    }
    const result = outcome ?? fail(`${name} failed`);
    this.log.add({
      event: "tool_response",
      success: result.success,
      error: result.error,
    });
    emit({
      type: "tool_result",
      tool: name,
      success: result.success,
      error: result.error,
    });
    return result;
  }

  #logCall(name: string, args: Record<string, unknown> | null): void {
    const code = typeof args?.code === "string" ? args.code : null;
    if (name === "python_exec" && code !== null) {
      this.log.add({ event: "python_exec", code_length: code.length, code });
    } else if (name === "save_code" && code !== null) {
      this.log.add({ event: "save_code", code_length: code.length });
    } else if (name === "todo_write" && args !== null) {
      const todos = Array.isArray(args.todos) ? args.todos : [];
      this.log.add({
        event: "todo",
        action: "update",
        count: todos.length,
        tasks: todos.map((todo: unknown) => {
          const item =
            (typeof todo === "object" && todo !== null ? todo : {}) as Record<
              string,
              unknown
            >;
          return {
            content: String(item.content ?? ""),
            status: String(item.status ?? ""),
          };
        }),
      });
    } else {
      this.log.add({ event: "tool_call", tool: name });
    }
  }

  #host(): ToolHost {
    return {
      workingDirectory: this.workingDirectory,
      codeFileName: this.#codeFileName,
      execTimeoutMs: this.#execTimeoutMs,
      // A kernel whose interpreter is not on this machine (remote): the
      // syntax check of save_code runs locally, with python3 from PATH.
      python: this.#kernel.capabilities.localPython
        ? this.#kernel.python
        : "python3",
      kernel: () => this.#liveKernel(),
      writeFile: (name, text) => this.#writeFile(name, text),
      recordFile: (path) => this.#filesWritten.add(path),
      recordCell: (code, result) => this.log.recordCell(code, result),
      replaceTodos: (todos) => {
        this.#todos = todos;
      },
      ...(this.#cleanRoomTimeoutMs !== null
        ? {
          cleanRoom: (code: string, signal?: AbortSignal) =>
            runLoggedCleanRoom(code, {
              backend: this.#backend,
              request: this.#startRequest,
              file: this.codeFilePath,
              timeoutMs: this.#cleanRoomTimeoutMs!,
              log: this.log,
              ...(signal ? { signal } : {}),
            }),
        }
        : {}),
    };
  }

  async #liveKernel(): Promise<KernelHandle> {
    if (this.#kernel.alive || !this.#ownsKernel) return this.#kernel;
    await this.#kernel.shutdown().catch(() => {});
    this.#kernel = await this.#backend.start(this.#startRequest);
    this.#onEvent?.({
      type: "kernel_started",
      pid: this.#kernel.pid,
      python: this.#kernel.python,
    });
    return this.#kernel;
  }
}

/** What the model is told about a tool call whose run was aborted. */
export const CANCELLED_TOOL_CALL =
  "Cancelled: the run was stopped before this call finished; it may not have run, or only in part.";

/**
 * Gives every tool call of the conversation a tool message: an aborted run
 * leaves an assistant message whose calls were not all answered, and every
 * OpenAI-compatible API rejects such a history. Missing answers are inserted
 * right after the answers that exist, saying the call was cancelled.
 *
 * @param messages The conversation, repaired in place.
 * @returns How many tool messages were added.
 */
export function answerDanglingToolCalls(messages: ChatMessage[]): number {
  let added = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role !== "assistant" || !message.tool_calls?.length) continue;
    let end = i + 1;
    const answered = new Set<string>();
    for (; end < messages.length; end++) {
      const next = messages[end]!;
      if (next.role !== "tool") break;
      answered.add(next.tool_call_id);
    }
    const missing = message.tool_calls
      .filter((call) => !answered.has(call.id))
      .map((call): ChatMessage => ({
        role: "tool",
        tool_call_id: call.id,
        content: fail(CANCELLED_TOOL_CALL).content,
      }));
    messages.splice(end, 0, ...missing);
    added += missing.length;
    i = end + missing.length - 1;
  }
  return added;
}

function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/**
 * Creates a coding agent: resolves the model and key, validates the package
 * specs, creates the working directory, starts the agent's own kernel (unless
 * one is given), checks package availability and builds the system prompt.
 *
 * @param options Agent options (see {@linkcode CodingAgentOptions}).
 * @returns The agent; close it when done.
 * @throws {InvalidPackageSpecError} For a bad package spec (before anything starts).
 * @throws {UnknownModelError} / {ModelConfigError} For a bad model.
 * @throws {MissingApiKeyError} When no key is given or found.
 * @throws {KernelStartError} When no kernel can be started.
 *
 * @example Two turns with one agent
 * ```ts
 * import { createCodingAgent, getFinalResponse, runAgent } from "./agent.ts";
 *
 * await using agent = await createCodingAgent({
 *   workingDirectory: "/tmp/workspace",
 *   env: Deno.env.toObject(),
 * });
 * await runAgent(agent, "Load data.csv and describe it");
 * const { messages } = await runAgent(agent, "Now plot column A");
 * console.log(getFinalResponse(messages));
 * ```
 */
export async function createCodingAgent(
  options: CodingAgentOptions = {},
): Promise<CodingAgent> {
  const withPackages = (options.withPackages ?? []).map((spec) =>
    validatePackageSpec(spec)
  );
  const workingDirectory = resolve(options.workingDirectory ?? Deno.cwd());
  const env = options.env ?? {};
  const llm = options.llm ?? await getOpenrouterLlm(options.model, {
    env,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  let base = options.systemPrompt;
  if (base === undefined && options.systemPromptPath !== undefined) {
    base = await Deno.readTextFile(options.systemPromptPath);
  }
  base ??= builtinSystemPrompt(options.todo ?? false);
  await Deno.mkdir(workingDirectory, { recursive: true });

  const backend = options.backend ?? createLocalBackend({
    ...options.launch,
    env: options.launch?.env ?? env,
    ...(options.logger && !options.launch?.logger
      ? { logger: options.logger }
      : {}),
  });
  const startRequest: KernelStartRequest = {
    cwd: workingDirectory,
    packages: withPackages,
  };
  const ownsKernel = options.kernel === undefined;
  const kernel = options.kernel ??
    await backend.start({
      ...startRequest,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  try {
    options.onEvent?.({
      type: "kernel_started",
      pid: kernel.pid,
      python: kernel.python,
    });
    const names = [
      ...new Set([
        ...(options.projectPackages ?? []).map(packageNameOf),
        ...withPackages.map(packageNameOf),
      ]),
    ].filter((name) => name !== "");
    let packages = "";
    if (names.length > 0) {
      const versions = await kernel.packageVersions(names);
      options.onEvent?.({ type: "packages", versions });
      packages = packageSection(versions);
    }
    const systemPrompt = composeSystemPrompt({
      base,
      ...(options.projectPrompt ? { project: options.projectPrompt } : {}),
      packages,
      ...(options.task ? { task: options.task } : {}),
    });
    const basename = options.taskBasename;
    const masker = options.masker ?? new SecretMasker();
    for (
      const secret of apiKeyCandidates(llm.config, {
        flag: options.apiKey ?? null,
        env,
      })
    ) masker.add(secret);
    const codeFileName = basename ? `${basename}_code.py` : "solution.py";
    const execTimeoutMs = options.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const cleanRoom = options.cleanRoom ?? true;
    const log = new AgentLog(masker);
    log.add(sessionEvent({
      model: llm.config,
      codeFileName,
      todo: options.todo ?? false,
      withPackages,
      cleanRoom,
      taskInPrompt: options.task !== undefined,
    }));
    return new CodingAgent({
      workingDirectory,
      llm,
      kernel,
      ownsKernel,
      backend,
      startRequest,
      systemPrompt,
      task: options.task,
      codeFileName,
      logPath: options.saveLog === false
        ? null
        : join(workingDirectory, basename ? `${basename}.jsonl` : "log.jsonl"),
      log,
      masker,
      todo: options.todo ?? false,
      stepLimit: options.stepLimit ?? DEFAULT_STEP_LIMIT,
      onEvent: options.onEvent,
      retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
      execTimeoutMs,
      cleanRoomTimeoutMs: cleanRoom
        ? options.cleanRoomTimeoutMs ?? execTimeoutMs
        : null,
    });
  } catch (error) {
    if (ownsKernel) await kernel.shutdown();
    throw error;
  }
}

/**
 * Runs one turn: sends `input` as a user message and loops (model call, tool
 * calls in order) until a final answer or the step limit. Error envelopes are
 * retried 3 times with backoff, then the error is thrown. The log is rewritten
 * at the end of every run.
 *
 * @param agent The agent.
 * @param input The user message.
 * @param options Step limit, signal, events.
 * @returns The conversation, this run's statistics, status and final answer.
 * @throws {LlmResponseError} When error envelopes persist past the retries.
 * @throws {LlmRequestError} When a request fails.
 *
 * @example One turn
 * ```ts
 * import { createCodingAgent, runAgent } from "./agent.ts";
 * await using agent = await createCodingAgent({ env: Deno.env.toObject() });
 * const { stats, status } = await runAgent(agent, "Print the first 10 primes");
 * console.log(status, stats.tool_usage);
 * ```
 */
export function runAgent(
  agent: CodingAgent,
  input: string,
  options: RunAgentOptions = {},
): Promise<RunAgentResult> {
  return agent.run(input, options);
}

/**
 * The final answer of a conversation: the last assistant message with text and
 * no tool calls (else the last assistant text at all).
 *
 * @param messages A conversation.
 * @returns The answer, or "" when there is none.
 *
 * @example Read the answer
 * ```ts
 * import { getFinalResponse } from "./agent.ts";
 * console.log(getFinalResponse([{ role: "assistant", content: "42" }])); // 42
 * ```
 */
export function getFinalResponse(messages: readonly ChatMessage[]): string {
  const assistants = messages.filter((m): m is AssistantMessage =>
    m.role === "assistant"
  );
  for (let i = assistants.length - 1; i >= 0; i--) {
    const message = assistants[i]!;
    if (!message.tool_calls?.length && message.content?.trim()) {
      return message.content;
    }
  }
  for (let i = assistants.length - 1; i >= 0; i--) {
    const content = assistants[i]!.content;
    if (content?.trim()) return content;
  }
  return "";
}

/** Options of {@linkcode solveTask}: agent options plus run options. */
export interface SolveTaskOptions extends Omit<CodingAgentOptions, "task"> {
  /** Accepted for parity with the original API; the library never prints. */
  quiet?: boolean;
  /** Cancels the run. */
  signal?: AbortSignal;
}

/** Result of {@linkcode solveTask}. */
export interface SolveTaskResult extends RunAgentResult {
  /** The log file, or null when `saveLog` is false. */
  logPath: string | null;
  /** Files written (code file, log). */
  filesWritten: string[];
}

/**
 * Runs a whole task: creates an agent with the task in its system prompt,
 * runs it to a final answer (or the step limit), writes the log, and shuts
 * the kernel down.
 *
 * @param task The task text.
 * @param options Agent options.
 * @returns Messages, statistics, log path, status, final answer, files written.
 * @throws Whatever {@linkcode createCodingAgent} and {@linkcode runAgent} throw.
 *
 * @example Solve a task
 * ```ts
 * import { getFinalResponse, solveTask } from "./agent.ts";
 * const { messages, stats, logPath } = await solveTask("Write a fibonacci function", {
 *   workingDirectory: "/tmp/workspace",
 *   env: Deno.env.toObject(),
 * });
 * console.log(getFinalResponse(messages), stats.token_consumption, logPath);
 * ```
 */
export async function solveTask(
  task: string,
  options: SolveTaskOptions = {},
): Promise<SolveTaskResult> {
  const { quiet: _quiet, signal, ...agentOptions } = options;
  await using agent = await createCodingAgent({
    ...agentOptions,
    task,
    ...(signal ? { signal } : {}),
  });
  const result = await agent.run(TASK_KICKOFF, signal ? { signal } : {});
  return {
    ...result,
    logPath: agent.logPath,
    filesWritten: agent.filesWritten,
  };
}
