/**
 * Reading and repairing a conversation: the final answer, and tool calls
 * an aborted run left unanswered.
 *
 * @module
 */

import type { AssistantMessage, ChatMessage } from "../llm/mod.ts";
import { fail } from "./tools.ts";

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

/**
 * The final answer of a conversation: the last assistant message with text and
 * no tool calls (else the last assistant text at all).
 *
 * @param messages A conversation.
 * @returns The answer, or "" when there is none.
 *
 * @example Read the answer
 * ```ts
 * import {
  getFinalResponse,
} from "./transcript.ts";
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
