/**
 * The chat types of the LLM layer: messages, tool calls and definitions,
 * token usage, a completion, a request, and the client interface.
 *
 * @module
 */

import type { Logger } from "../base/mod.ts";
import type { ModelConfig } from "./models.ts";

/** The logger the LLM client takes: the floor-0 {@linkcode Logger}. */
export type LlmLogger = Logger;

/** A tool call requested by the model (OpenAI wire shape). */
export interface ToolCall {
  /** Id the tool result must quote. */
  id: string;
  /** Always `function`. */
  type: "function";
  /** Which function, with JSON-encoded arguments. */
  function: { name: string; arguments: string };
}

/** System message. */
export interface SystemMessage {
  /** Role. */
  role: "system";
  /** Text. */
  content: string;
}

/** User message. */
export interface UserMessage {
  /** Role. */
  role: "user";
  /** Text. */
  content: string;
}

/** Assistant message, possibly with tool calls. */
export interface AssistantMessage {
  /** Role. */
  role: "assistant";
  /** Text (null when the model only called tools). */
  content: string | null;
  /** Tool calls, in the order they are to run. */
  tool_calls?: ToolCall[];
}

/** Result of one tool call. */
export interface ToolMessage {
  /** Role. */
  role: "tool";
  /** The call this answers. */
  tool_call_id: string;
  /** Result text (JSON for our tools). */
  content: string;
}

/** A message of the conversation (OpenAI wire shape). */
export type ChatMessage =
  | SystemMessage
  | UserMessage
  | AssistantMessage
  | ToolMessage;

/** A tool offered to the model (OpenAI wire shape). */
export interface ToolDefinition {
  /** Always `function`. */
  type: "function";
  /** Name, description for the model, and JSON schema of the arguments. */
  function: {
    name: string;
    description: string;
    parameters: Record<string, unknown>;
  };
}

/** Token counts (and cost, when the provider reports it) of one completion. */
export interface TokenUsage {
  /** Prompt tokens. */
  inputTokens: number;
  /** Completion tokens. */
  outputTokens: number;
  /** Sum as reported by the provider. */
  totalTokens: number;
  /** Cost in USD (OpenRouter usage accounting), or null. */
  costUsd: number | null;
}

/** One chat completion, reduced to what the agent uses. */
export interface ChatCompletion {
  /** The assistant message. */
  message: AssistantMessage;
  /** `stop`, `tool_calls`, `length`, ... or null. */
  finishReason: string | null;
  /** Token usage, when reported. */
  usage: TokenUsage | null;
}

/** One request to {@linkcode ChatClient.complete}. */
export interface ChatRequest {
  /** The conversation so far. */
  messages: readonly ChatMessage[];
  /** Tools offered (sent with `tool_choice: "auto"`). */
  tools?: readonly ToolDefinition[];
  /** Cancels the request. */
  signal?: AbortSignal;
}

/** Anything that turns a conversation into the next assistant message. */
export interface ChatClient {
  /** The model configuration requests are built from. */
  readonly config: ModelConfig;
  /**
   * Requests one completion.
   *
   * @param request Conversation, tools and signal.
   * @returns The completion.
   * @throws {LlmResponseError} When the endpoint answered with an error envelope.
   * @throws {LlmRequestError} When the request itself failed.
   */
  complete(request: ChatRequest): Promise<ChatCompletion>;
}
