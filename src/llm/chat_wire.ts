/**
 * The OpenAI-compatible wire format: the request body built from a model
 * configuration, and a completion read from a response body (usage, tool
 * calls, error envelopes).
 *
 * @module
 */

import { LlmResponseError } from "./errors.ts";
import type { ModelConfig } from "./models.ts";
import type {
  AssistantMessage,
  ChatCompletion,
  ChatRequest,
  TokenUsage,
  ToolCall,
} from "./chat_types.ts";

/** The endpoint used when a model configuration has no `base_url`. */
export const OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1";

/**
 * Whether a base URL is OpenRouter's (usage accounting is requested there).
 *
 * @param baseUrl The endpoint.
 * @returns True for openrouter.ai.
 */
function isOpenRouter(baseUrl: string): boolean {
  try {
    const host = new URL(baseUrl).hostname;
    return host === "openrouter.ai" || host.endsWith(".openrouter.ai");
  } catch {
    return false;
  }
}

/**
 * Builds the JSON body of a chat completion request from a model
 * configuration: sampling parameters (or only `max_tokens` with
 * `no_sampling_params`), the `top_k`/`provider`/`reasoning` extras, the tools
 * with `tool_choice: "auto"`, and OpenRouter usage accounting.
 *
 * @param config The model configuration.
 * @param request Messages and tools.
 * @returns The request body.
 *
 * @example Inspect a request body
 * ```ts
 * import {
  buildRequestBody,
} from "./client.ts";
 *  * const body = buildRequestBody(await loadModelConfig("gpt52"), {
 *   messages: [{ role: "user", content: "hi" }],
 * });
 * console.log(body.max_tokens); // 16384
 * ```
 */
export function buildRequestBody(
  config: ModelConfig,
  request: Pick<ChatRequest, "messages" | "tools">,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: config.path,
    messages: request.messages,
  };
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools;
    body.tool_choice = "auto";
  }
  if (config.max_tokens !== undefined) body.max_tokens = config.max_tokens;
  if (!config.no_sampling_params) {
    for (
      const key of [
        "temperature",
        "top_p",
        "frequency_penalty",
        "presence_penalty",
        "top_k",
      ] as const
    ) {
      if (config[key] !== undefined) body[key] = config[key];
    }
  }
  if (config.provider !== undefined) body.provider = config.provider;
  if (config.reasoning !== undefined) body.reasoning = config.reasoning;
  if (isOpenRouter(config.base_url ?? OPENROUTER_BASE_URL)) {
    body.usage = { include: true };
  }
  return body;
}

function toNumber(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function readUsage(raw: unknown): TokenUsage | null {
  if (typeof raw !== "object" || raw === null) return null;
  const usage = raw as Record<string, unknown>;
  const inputTokens = toNumber(usage.prompt_tokens);
  const outputTokens = toNumber(usage.completion_tokens);
  const totalTokens = typeof usage.total_tokens === "number"
    ? usage.total_tokens
    : inputTokens + outputTokens;
  const costUsd = typeof usage.cost === "number" && Number.isFinite(usage.cost)
    ? usage.cost
    : null;
  return { inputTokens, outputTokens, totalTokens, costUsd };
}

function describeEnvelopeError(raw: unknown): {
  detail: string;
  code: string | number | null;
} {
  if (typeof raw === "object" && raw !== null) {
    const error = raw as Record<string, unknown>;
    const message = typeof error.message === "string"
      ? error.message
      : JSON.stringify(error);
    const code =
      typeof error.code === "string" || typeof error.code === "number"
        ? error.code
        : null;
    return {
      detail: code === null ? message : `${message} (code ${code})`,
      code,
    };
  }
  if (typeof raw === "string") return { detail: raw, code: null };
  return { detail: "no choices in the response", code: null };
}

function readToolCalls(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  const calls: ToolCall[] = [];
  raw.forEach((item, index) => {
    if (typeof item !== "object" || item === null) return;
    const call = item as Record<string, unknown>;
    const fn = (call.function ?? {}) as Record<string, unknown>;
    const args = fn.arguments;
    calls.push({
      id: typeof call.id === "string" && call.id !== ""
        ? call.id
        : `call_${index}`,
      type: "function",
      function: {
        name: typeof fn.name === "string" ? fn.name : "",
        arguments: typeof args === "string"
          ? args
          : args === undefined || args === null
          ? ""
          : JSON.stringify(args),
      },
    });
  });
  return calls;
}

/**
 * Reduces a raw response body to a {@linkcode ChatCompletion}, detecting
 * error envelopes.
 *
 * @param raw The parsed response body.
 * @returns The completion.
 * @throws {LlmResponseError} When the body carries an error, no choices, or finish_reason `error`.
 */
export function readCompletion(raw: unknown): ChatCompletion {
  if (typeof raw !== "object" || raw === null) {
    throw new LlmResponseError("the response is not a JSON object");
  }
  const body = raw as Record<string, unknown>;
  const choices = body.choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    const { detail, code } = describeEnvelopeError(body.error);
    throw new LlmResponseError(detail, code);
  }
  const choice = choices[0] as Record<string, unknown>;
  const finishReason = typeof choice.finish_reason === "string"
    ? choice.finish_reason
    : null;
  if (
    finishReason === "error" ||
    (body.error !== undefined && body.error !== null)
  ) {
    const { detail, code } = describeEnvelopeError(
      choice.error ?? body.error ?? 'finish_reason is "error"',
    );
    throw new LlmResponseError(detail, code);
  }
  const rawMessage = (choice.message ?? {}) as Record<string, unknown>;
  const toolCalls = readToolCalls(rawMessage.tool_calls);
  const message: AssistantMessage = {
    role: "assistant",
    content: typeof rawMessage.content === "string" ? rawMessage.content : null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return { message, finishReason, usage: readUsage(body.usage) };
}
