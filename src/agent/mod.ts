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

export {
  type AgentEvent,
  CodingAgent,
  type CodingAgentOptions,
  createCodingAgent,
  DEFAULT_EXEC_TIMEOUT_MS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_STEP_LIMIT,
  ENVELOPE_RETRIES,
  getFinalResponse,
  runAgent,
  type RunAgentOptions,
  type RunAgentResult,
  type RunStatus,
  solveTask,
  type SolveTaskOptions,
  type SolveTaskResult,
} from "./agent.ts";
export { AgentLog, type LogEvent, type LoggedTodo } from "./log.ts";
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
