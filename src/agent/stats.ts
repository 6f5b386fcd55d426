/**
 * Run statistics: tool usage, tokens, cost, time, step limit.
 *
 * @module
 */

/** Token counts (wire casing: these go into logs and `--json` output). */
export interface TokenConsumption {
  /** Prompt tokens over all completions. */
  input_tokens: number;
  /** Completion tokens over all completions. */
  output_tokens: number;
  /** Sum as reported. */
  total_tokens: number;
}

/** Statistics of one agent run (or several, combined). */
export interface AgentStats {
  /** Calls per tool name. */
  tool_usage: Record<string, number>;
  /** Token counts. */
  token_consumption: TokenConsumption;
  /** Cost in USD, present only when the provider reported it. */
  cost_usd?: number;
  /** Wall time of the run. */
  execution_time_seconds: number;
  /** Chat completions requested. */
  llm_calls: number;
  /** True when the run stopped at the step limit without a final answer. */
  step_limit_reached: boolean;
}

/**
 * Statistics with nothing counted yet.
 *
 * @returns Zeroed statistics.
 */
export function emptyStats(): AgentStats {
  return {
    tool_usage: {},
    token_consumption: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
    execution_time_seconds: 0,
    llm_calls: 0,
    step_limit_reached: false,
  };
}

/**
 * Adds the statistics of several runs (interactive turns) together.
 *
 * @param runs Statistics to add.
 * @returns The sums; `step_limit_reached` when any run reached it.
 *
 * @example Sum two turns
 * ```ts
 * import { combineStats, emptyStats } from "./stats.ts";
 * const total = combineStats([emptyStats(), emptyStats()]);
 * console.log(total.llm_calls); // 0
 * ```
 */
export function combineStats(runs: readonly AgentStats[]): AgentStats {
  const total = emptyStats();
  for (const run of runs) {
    for (const [tool, count] of Object.entries(run.tool_usage)) {
      total.tool_usage[tool] = (total.tool_usage[tool] ?? 0) + count;
    }
    total.token_consumption.input_tokens += run.token_consumption.input_tokens;
    total.token_consumption.output_tokens +=
      run.token_consumption.output_tokens;
    total.token_consumption.total_tokens += run.token_consumption.total_tokens;
    if (run.cost_usd !== undefined) {
      total.cost_usd = (total.cost_usd ?? 0) + run.cost_usd;
    }
    total.execution_time_seconds += run.execution_time_seconds;
    total.llm_calls += run.llm_calls;
    total.step_limit_reached ||= run.step_limit_reached;
  }
  total.execution_time_seconds =
    Math.round(total.execution_time_seconds * 100) / 100;
  return total;
}
