/**
 * Making and running coding agents: {@linkcode createCodingAgent} (model,
 * key, packages, kernel, system prompt), {@linkcode runAgent} and the
 * one-call {@linkcode solveTask}.
 *
 * @module
 */

import { join, resolve } from "node:path";
import {
  createLocalBackend,
  type KernelStartRequest,
  validatePackageSpec,
} from "../kernel/mod.ts";
import { apiKeyCandidates, getOpenrouterLlm } from "../llm/mod.ts";
import { AgentLog } from "./log.ts";
import { sessionEvent } from "./log_records.ts";
import { SecretMasker } from "./secrets.ts";
import {
  builtinSystemPrompt,
  composeSystemPrompt,
  packageNameOf,
  packageSection,
  TASK_KICKOFF,
} from "./prompt.ts";

import { CodingAgent } from "./agent.ts";
import {
  type CodingAgentOptions,
  DEFAULT_EXEC_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_STEP_LIMIT,
  type RunAgentOptions,
  type RunAgentResult,
} from "./agent_options.ts";

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
 * import {
  createCodingAgent,
  runAgent,
} from "./create.ts";
 *  *
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
 * import {
  createCodingAgent,
  runAgent,
} from "./create.ts";
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
 * import {
  solveTask,
} from "./create.ts";
 *  * const { messages, stats, logPath } = await solveTask("Write a fibonacci function", {
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
