/**
 * Replay of a logged session: the model's recorded answers (the log's
 * `llm_response` records) are played back instead of calling an API, the
 * tool calls run again in a fresh kernel, and today's tool results are
 * compared with the logged ones (`tool_result` records). No key, no network.
 *
 * @module
 */

import type { KernelBackend, LaunchOptions, Logger } from "../kernel/mod.ts";
import {
  type ChatClient,
  type ChatCompletion,
  type ModelConfig,
  parseModelConfig,
} from "../llm/mod.ts";
import type { AgentEvent, RunStatus } from "./agent_options.ts";
import { createCodingAgent } from "./create.ts";
import type {
  LlmResponseEvent,
  LogEvent,
  SessionEvent,
  ToolResultEvent,
} from "./log.ts";
import { TASK_KICKOFF } from "./prompt.ts";

/** A log that cannot be replayed (not JSON Lines, or without the replay records). */
export class ReplayLogError extends Error {
  /**
   * Creates a replay error.
   *
   * @param message What is wrong with the log.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReplayLogError";
  }
}

/** One run (turn) of a logged session, as a replay needs it. */
export interface ReplayRun {
  /** The user message of the run (the kick-off for a task run). */
  input: string;
  /** The model's answers, in order. */
  answers: LlmResponseEvent[];
  /** The tool results the model saw, in order. */
  toolResults: ToolResultEvent[];
  /** How the logged run ended (`complete.status`), or null when the log stops first. */
  status: string | null;
}

/** A parsed log: the session and its runs. */
export interface ReplayPlan {
  /** The `session` record. */
  session: SessionEvent;
  /** The task of the first run, when it was in the system prompt. */
  task: string | undefined;
  /** The runs in order. */
  runs: ReplayRun[];
}

/**
 * Parses a log (format 2) into what a replay needs.
 *
 * @param text The log's JSON Lines.
 * @param name The log's name, for errors.
 * @returns The session and its runs.
 * @throws {ReplayLogError} For a line that is not JSON, or a log without a
 *   `session` record or without model answers (written before format 2).
 *
 * @example Parse a log
 * ```ts
 * import { parseReplayLog } from "./replay.ts";
 * const plan = parseReplayLog(await Deno.readTextFile("log.jsonl"), "log.jsonl");
 * console.log(plan.runs.length);
 * ```
 */
export function parseReplayLog(text: string, name: string): ReplayPlan {
  const events: LogEvent[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    try {
      events.push(JSON.parse(line) as LogEvent);
    } catch (error) {
      throw new ReplayLogError(
        `Cannot replay "${name}": line ${index + 1} is not JSON: ${
          (error as Error).message
        }`,
      );
    }
  });
  const session = events.find((event): event is SessionEvent =>
    event.event === "session"
  );
  if (!session) {
    throw new ReplayLogError(
      `Cannot replay "${name}": it has no "session" record (a log written before format 2, or not a coder log); see docs/log-format.md`,
    );
  }
  const runs: ReplayRun[] = [];
  let task: string | undefined;
  for (const event of events) {
    if (event.event === "start") {
      const first = runs.length === 0 && session.task_in_prompt;
      if (first) task = event.task;
      runs.push({
        input: first ? TASK_KICKOFF : event.task,
        answers: [],
        toolResults: [],
        status: null,
      });
      continue;
    }
    const run = runs.at(-1);
    if (!run) continue;
    if (event.event === "llm_response") run.answers.push(event);
    else if (event.event === "tool_result") run.toolResults.push(event);
    else if (event.event === "complete") run.status = event.status;
  }
  if (!runs.some((run) => run.answers.length > 0)) {
    throw new ReplayLogError(
      `Cannot replay "${name}": it records no model answers ("llm_response" records)`,
    );
  }
  return { session, task, runs };
}

/** Where a replayed tool result differs from the logged one. */
export interface ReplayDifference {
  /** Run (turn) of the session, 1-based. */
  run: number;
  /** Tool call within the run, 1-based. */
  call: number;
  /** Tool name. */
  tool: string;
  /** The call's id. */
  toolCallId: string;
  /** The logged result (null: the logged run had none here). */
  logged: string | null;
  /** Today's result (null: the replay produced none here). */
  replayed: string | null;
}

/** Result of {@linkcode replayLog}. */
export interface ReplayResult {
  /** The model recorded in the log. */
  model: string;
  /** Runs replayed. */
  runs: number;
  /** Tool calls run again. */
  toolCalls: number;
  /** Tool results that differ from the logged ones (empty: a faithful replay). */
  differences: ReplayDifference[];
  /** How each logged run ended. */
  loggedStatus: (string | null)[];
  /** How each replayed run ended (`error` with the message when it failed). */
  replayedStatus: (RunStatus | "error")[];
  /** Errors of replayed runs that failed (null for runs that did not). */
  errors: (string | null)[];
}

/** Options of {@linkcode replayLog}. */
export interface ReplayOptions {
  /** Kernel working directory (default: the process cwd). */
  workingDirectory?: string;
  /** Starts the kernels (default: a local backend over `launch`/`env`). */
  backend?: KernelBackend;
  /** Launch options of the default local backend. */
  launch?: Partial<LaunchOptions>;
  /** Environment of the default local backend's kernels. */
  env?: Record<string, string>;
  /** Packages added to the logged ones. */
  withPackages?: readonly string[];
  /** Clean-room check of saves (default: as logged). */
  cleanRoom?: boolean;
  /** Write the replay's own log as `NAME.replay.jsonl`-style files (default false: only the code file is written again). */
  saveLog?: boolean;
  /** Base name of the replay's files (code file `NAME_code.py`); default: the logged code file's. */
  taskBasename?: string;
  /** Deadline of one `python_exec` call. */
  execTimeoutMs?: number;
  /** Receives diagnostics. */
  logger?: Logger;
  /** Receives progress events. */
  onEvent?: (event: AgentEvent) => void;
  /** Cancels the replay. */
  signal?: AbortSignal;
}

/** A chat client answering with a log's recorded completions, in order. */
class RecordedChatClient implements ChatClient {
  readonly config: ModelConfig;
  readonly #answers: LlmResponseEvent[];
  #next = 0;

  constructor(config: ModelConfig, answers: LlmResponseEvent[]) {
    this.config = config;
    this.#answers = answers;
  }

  complete(): Promise<ChatCompletion> {
    const answer = this.#answers[this.#next++];
    if (!answer) {
      return Promise.reject(
        new ReplayLogError(
          "The replay asked for more model answers than the log recorded",
        ),
      );
    }
    return Promise.resolve({
      message: structuredClone(answer.message),
      finishReason: answer.finish_reason,
      usage: answer.usage
        ? {
          inputTokens: answer.usage.input_tokens,
          outputTokens: answer.usage.output_tokens,
          totalTokens: answer.usage.total_tokens,
          costUsd: answer.usage.cost_usd,
        }
        : null,
    });
  }
}

function codeBasename(codeFile: string): string | undefined {
  if (codeFile === "solution.py") return undefined;
  return codeFile.replace(/_code\.py$/, "");
}

function compareResults(
  run: number,
  logged: readonly ToolResultEvent[],
  replayed: readonly ToolResultEvent[],
): ReplayDifference[] {
  const differences: ReplayDifference[] = [];
  const count = Math.max(logged.length, replayed.length);
  for (let i = 0; i < count; i++) {
    const before = logged[i];
    const now = replayed[i];
    if (before && now && before.content === now.content) continue;
    const any = (before ?? now)!;
    differences.push({
      run,
      call: i + 1,
      tool: any.tool,
      toolCallId: any.tool_call_id,
      logged: before?.content ?? null,
      replayed: now?.content ?? null,
    });
  }
  return differences;
}

/**
 * Replays a logged session: plays the model's recorded answers back (no API
 * key, no network), runs every tool call again in a fresh kernel, and
 * reports where today's tool results differ from the logged ones. The code
 * file is written again by `save_code`; the replay's log only with `saveLog`.
 *
 * @param logPath The log (JSON Lines, format 2).
 * @param options Working directory, backend, packages, events, signal.
 * @returns Runs, tool calls and the differences.
 * @throws {ReplayLogError} When the log cannot be read or replayed.
 * @throws {KernelStartError} When no kernel can be started.
 *
 * @example Replay a session
 * ```ts
 * import { replayLog } from "./replay.ts";
 * const result = await replayLog("log.jsonl", { env: Deno.env.toObject() });
 * console.log(result.differences.length === 0 ? "same" : result.differences);
 * ```
 */
export async function replayLog(
  logPath: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(logPath);
  } catch (error) {
    throw new ReplayLogError(
      `Cannot read the log "${logPath}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  const plan = parseReplayLog(text, logPath);
  const config = parseModelConfig("replay", { path: plan.session.model });
  const llm = new RecordedChatClient(
    config,
    plan.runs.flatMap((run) => run.answers),
  );
  const basename = options.taskBasename ??
    codeBasename(plan.session.code_file);
  const agent = await createCodingAgent({
    llm,
    ...(options.workingDirectory
      ? { workingDirectory: options.workingDirectory }
      : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.launch ? { launch: options.launch } : {}),
    env: options.env ?? {},
    withPackages: [
      ...new Set([
        ...plan.session.with_packages,
        ...(options.withPackages ?? []),
      ]),
    ],
    ...(plan.task !== undefined ? { task: plan.task } : {}),
    ...(basename ? { taskBasename: basename } : {}),
    todo: plan.session.todo,
    cleanRoom: options.cleanRoom ?? plan.session.clean_room,
    saveLog: options.saveLog ?? false,
    retryDelayMs: 0,
    ...(options.execTimeoutMs ? { execTimeoutMs: options.execTimeoutMs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const differences: ReplayDifference[] = [];
  const replayedStatus: (RunStatus | "error")[] = [];
  const errors: (string | null)[] = [];
  let toolCalls = 0;
  try {
    for (const [index, run] of plan.runs.entries()) {
      if (run.answers.length === 0) continue;
      const before = agent.log.events.length;
      try {
        const result = await agent.run(run.input, {
          stepLimit: run.answers.length,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        replayedStatus.push(result.status);
        errors.push(null);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        replayedStatus.push("error");
        errors.push(error instanceof Error ? error.message : String(error));
      }
      const replayed = agent.log.events.slice(before).filter((
        event,
      ): event is ToolResultEvent => event.event === "tool_result");
      toolCalls += replayed.length;
      differences.push(
        ...compareResults(index + 1, run.toolResults, replayed),
      );
    }
  } finally {
    await agent.close();
  }
  return {
    model: plan.session.model,
    runs: replayedStatus.length,
    toolCalls,
    differences,
    loggedStatus: plan.runs.filter((run) => run.answers.length > 0).map((
      run,
    ) => run.status),
    replayedStatus,
    errors,
  };
}
