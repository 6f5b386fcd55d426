/**
 * Agent layer: a ReAct coding agent over the kernel and LLM layers. Each agent
 * owns one Python kernel, offers `python_exec`, `save_code` (and optionally
 * `todo_write`) to the model, writes a JSON Lines log and reports statistics.
 *
 * @example Solve a task end to end
 * ```ts
 * import { getFinalResponse, solveTask } from "./mod.ts";
 *
 * const { messages, stats, logPath } = await solveTask(
 *   "Write a function that returns the n-th Fibonacci number",
 *   { workingDirectory: "/tmp/workspace", env: Deno.env.toObject() },
 * );
 * console.log(getFinalResponse(messages));
 * console.log(stats.token_consumption, logPath);
 * ```
 *
 * @module
 */

export { CodingAgent } from "./agent.ts";
export {
  type AgentEvent,
  type CodingAgentOptions,
  DEFAULT_EXEC_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_STEP_LIMIT,
  ENVELOPE_RETRIES,
  type RunAgentOptions,
  type RunAgentResult,
  type RunStatus,
} from "./agent_options.ts";
export {
  answerDanglingToolCalls,
  CANCELLED_TOOL_CALL,
  getFinalResponse,
} from "./transcript.ts";
export {
  createCodingAgent,
  runAgent,
  solveTask,
  type SolveTaskOptions,
  type SolveTaskResult,
} from "./create.ts";
export {
  AgentLog,
  type CleanRoomEvent,
  type LlmResponseEvent,
  LOG_FORMAT_VERSION,
  type LogEvent,
  type LoggedTodo,
  type SessionEvent,
  type ToolResultEvent,
} from "./log.ts";
export {
  cleanRoomCell,
  type CleanRoomOptions,
  type CleanRoomResult,
  runCleanRoom,
} from "./clean_room.ts";
export {
  parseReplayLog,
  type ReplayDifference,
  replayLog,
  ReplayLogError,
  type ReplayOptions,
  type ReplayPlan,
  type ReplayResult,
  type ReplayRun,
} from "./replay.ts";
export { REDACTED, SecretMasker } from "./secrets.ts";
export {
  builtinSystemPrompt,
  composeSystemPrompt,
  packageNameOf,
  packageSection,
  parseProjectFile,
  type ProjectFile,
  type SystemPromptParts,
  TASK_KICKOFF,
} from "./prompt.ts";
export {
  type AgentStats,
  combineStats,
  emptyStats,
  type TokenConsumption,
} from "./stats.ts";
export {
  type AgentTool,
  renderTodos,
  type TodoItem,
  type TodoPriority,
  type TodoStatus,
  type ToolHost,
  type ToolOutcome,
  validateTodos,
} from "./tools.ts";
export {
  type EvalProgress,
  type EvaluateOptions,
  evaluateTasks,
  RESULTS_FILE,
} from "./eval.ts";
export {
  type EvalRecord,
  type EvalStatus,
  type EvalTaskSummary,
  isFinished,
  isPassed,
  readEvalResults,
  runKey,
  summarizeEval,
} from "./eval_results.ts";
export {
  type EvalTask,
  EvalTaskError,
  type EvalValidator,
  loadEvalTasks,
  type LoadEvalTasksOptions,
  shellValidator,
} from "./eval_tasks.ts";
export {
  DEFAULT_VALIDATE_TIMEOUT_MS,
  readRegularFileNoFollow,
  type ValidateOptions,
  validateSolution,
  type ValidationResult,
} from "./validate.ts";
