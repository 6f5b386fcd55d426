/**
 * agentic-python-coder for Deno: an autonomous ReAct coding agent over any
 * OpenAI-compatible chat API (OpenRouter by default), running its code in
 * persistent IPython kernels driven over the Jupyter protocol.
 *
 * This entry point is the agent:
 * {@linkcode solveTask} for a whole task, {@linkcode createCodingAgent} +
 * {@linkcode runAgent} for several turns, {@linkcode getFinalResponse};
 * {@linkcode evaluateTasks} for many tasks at once (a stream of
 * {@linkcode EvalRecord}s) and {@linkcode replayLog} to run a logged session
 * again without a model. The other parts have entry points of their own:
 *
 * - `@agentic/agentic-python-coder/kernel`: kernels, the registry, backends;
 * - `@agentic/agentic-python-coder/llm`: model configurations, chat client;
 * - `@agentic/agentic-python-coder/mcp`: the MCP server and its transports;
 * - `@agentic/agentic-python-coder/zmtp`: the ZeroMQ transport;
 * - `@agentic/agentic-python-coder/coder` and `.../ipython-mcp`: the programs.
 *
 * Nothing here reads the environment on its own: pass `env` (for example
 * `Deno.env.toObject()`) so the agent can find the API key and the kernel can
 * find Python. Needs `--allow-read --allow-write --allow-run --allow-env
 * --allow-net --allow-sys`.
 *
 * @example Solve a task
 * ```ts
 * import { getFinalResponse, solveTask } from "@agentic/agentic-python-coder";
 *
 * const { messages, stats, logPath } = await solveTask(
 *   "Write a function that returns the n-th Fibonacci number",
 *   { workingDirectory: "/tmp/workspace", model: "sonnet45", env: Deno.env.toObject() },
 * );
 * console.log(getFinalResponse(messages));
 * console.log(stats.token_consumption, stats.cost_usd, logPath);
 * ```
 *
 * @example Several turns with one agent (state persists)
 * ```ts
 * import { createCodingAgent, getFinalResponse, runAgent } from "@agentic/agentic-python-coder";
 *
 * await using agent = await createCodingAgent({
 *   workingDirectory: "/tmp/workspace",
 *   model: "deepseek31",
 *   withPackages: ["pandas"],
 *   env: Deno.env.toObject(),
 * });
 * await runAgent(agent, "Load data.csv");
 * const { messages, stats } = await runAgent(agent, "Now plot column A");
 * console.log(getFinalResponse(messages), stats.tool_usage);
 * ```
 *
 * @example Evaluate a directory of tasks, then replay one run
 * ```ts
 * import { evaluateTasks, loadEvalTasks, replayLog } from "@agentic/agentic-python-coder";
 *
 * const tasks = await loadEvalTasks(["examples/eval"], { cwd: Deno.cwd() });
 * for await (const record of evaluateTasks(tasks, {
 *   outDir: "coder-eval",
 *   jobs: 2,
 *   agent: { model: "sonnet45", env: Deno.env.toObject() },
 * })) {
 *   console.log(record.task, record.status, record.validation?.valid);
 * }
 * const replay = await replayLog("coder-eval/primes/run-1/primes.jsonl", {
 *   workingDirectory: "coder-eval/primes/run-1",
 *   env: Deno.env.toObject(),
 * });
 * console.log(replay.differences.length); // 0 when today's results match
 * ```
 *
 * @module
 */

export {
  type AgentEvent,
  type AgentLog,
  type AgentStats,
  type AgentTool,
  type CleanRoomEvent,
  type CleanRoomResult,
  type CodingAgent,
  type CodingAgentOptions,
  combineStats,
  createCodingAgent,
  DEFAULT_STEP_LIMIT,
  type EvalProgress,
  type EvalRecord,
  type EvalStatus,
  type EvalTask,
  EvalTaskError,
  type EvalTaskSummary,
  type EvaluateOptions,
  evaluateTasks,
  type EvalValidator,
  getFinalResponse,
  isPassed,
  type LlmResponseEvent,
  loadEvalTasks,
  type LoadEvalTasksOptions,
  LOG_FORMAT_VERSION,
  type LogEvent,
  type LoggedTodo,
  readEvalResults,
  type ReplayDifference,
  replayLog,
  ReplayLogError,
  type ReplayOptions,
  type ReplayResult,
  type ReplayRun,
  RESULTS_FILE,
  runAgent,
  type RunAgentOptions,
  type RunAgentResult,
  type RunStatus,
  type SecretMasker,
  type SessionEvent,
  shellValidator,
  solveTask,
  type SolveTaskOptions,
  type SolveTaskResult,
  summarizeEval,
  type TodoItem,
  type TodoPriority,
  type TodoStatus,
  type TokenConsumption,
  type ToolHost,
  type ToolOutcome,
  type ToolResultEvent,
  type ValidationResult,
} from "./src/agent/mod.ts";
export type {
  AssistantMessage,
  ChatClient,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ModelConfig,
  SystemMessage,
  TokenUsage,
  ToolCall,
  ToolDefinition,
  ToolMessage,
  UserMessage,
} from "./src/llm/public.ts";
export type {
  BackendKind,
  ExecuteOptions,
  ExecuteResult,
  HtmlOutput,
  KernelBackend,
  KernelCapabilities,
  KernelExit,
  KernelExitReason,
  KernelHandle,
  KernelImage,
  KernelStartRequest,
  KernelState,
  LaunchOptions,
  Logger,
  OutputChunk,
  PythonError,
} from "./src/kernel/public.ts";
