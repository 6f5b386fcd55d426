/**
 * Builds the replay records of the log (format 2, see docs/log-format.md)
 * from what the agent has at hand.
 *
 * @module
 */

import type { ChatCompletion, ModelConfig } from "../llm/mod.ts";
import {
  type LlmResponseEvent,
  LOG_FORMAT_VERSION,
  type SessionEvent,
} from "./log.ts";

/**
 * The `session` record opening a log.
 *
 * @param init What the agent was created with.
 * @returns The record.
 */
export function sessionEvent(init: {
  model: ModelConfig;
  codeFileName: string;
  todo: boolean;
  withPackages: readonly string[];
  cleanRoom: boolean;
  taskInPrompt: boolean;
}): SessionEvent {
  return {
    event: "session",
    format: LOG_FORMAT_VERSION,
    model: init.model.path,
    code_file: init.codeFileName,
    todo: init.todo,
    with_packages: [...init.withPackages],
    clean_room: init.cleanRoom,
    task_in_prompt: init.taskInPrompt,
  };
}

/**
 * The `llm_response` record of one completion.
 *
 * @param step Step of the run (1-based).
 * @param completion The completion.
 * @returns The record.
 */
export function llmResponseEvent(
  step: number,
  completion: ChatCompletion,
): LlmResponseEvent {
  const { message, usage } = completion;
  return {
    event: "llm_response",
    step,
    message: {
      role: "assistant",
      content: message.content ?? null,
      ...(message.tool_calls?.length
        ? {
          tool_calls: message.tool_calls.map((call) => ({
            id: call.id,
            type: "function" as const,
            function: {
              name: call.function.name,
              arguments: call.function.arguments,
            },
          })),
        }
        : {}),
    },
    finish_reason: completion.finishReason,
    usage: usage
      ? {
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        total_tokens: usage.totalTokens,
        cost_usd: usage.costUsd,
      }
      : null,
  };
}
