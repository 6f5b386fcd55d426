/**
 * The ReAct loop: a coding agent that owns one kernel, calls the model with
 * its tools, runs the tool calls in order and stops at a final answer or the
 * step limit.
 *
 * @module
 */

import { join } from "node:path";
import { delay } from "../base/mod.ts";
import {
  HOST_FILES,
  type KernelBackend,
  type KernelHandle,
  type KernelStartRequest,
} from "../kernel/mod.ts";
import {
  type ChatClient,
  type ChatCompletion,
  type ChatMessage,
  LlmResponseError,
  type ToolDefinition,
} from "../llm/mod.ts";
import type { AgentLog } from "./log.ts";
import { runLoggedCleanRoom } from "./clean_room.ts";
import { llmResponseEvent } from "./log_records.ts";
import type { SecretMasker } from "./secrets.ts";
import { CONTINUE_MESSAGE } from "./prompt.ts";
import { type AgentStats, emptyStats } from "./stats.ts";
import {
  type AgentTool,
  createAgentTools,
  fail,
  type TodoItem,
  type ToolHost,
  type ToolOutcome,
} from "./tools.ts";

import {
  type AgentEvent,
  ENVELOPE_RETRIES,
  type RunAgentOptions,
  type RunAgentResult,
  type RunStatus,
} from "./agent_options.ts";
import { answerDanglingToolCalls } from "./transcript.ts";

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

function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
