/**
 * The LLM part of the package (`@agentic/agentic-python-coder/llm`): the
 * bundled model configurations, their lookup rules, and a chat client for
 * any OpenAI-compatible endpoint (OpenRouter by default).
 *
 * @example Ask a model one question
 * ```ts
 * import { getOpenrouterLlm, listAvailableModels } from "@agentic/agentic-python-coder/llm";
 *
 * console.log(listAvailableModels()); // ["deepseek31", ..., "sonnet5"]
 * const llm = await getOpenrouterLlm("sonnet45", { env: Deno.env.toObject() });
 * const { message, usage } = await llm.complete({
 *   messages: [{ role: "user", content: "Say hi" }],
 * });
 * console.log(message.content, usage?.totalTokens);
 * ```
 *
 * @module
 */

export {
  type AssistantMessage,
  type ChatClient,
  type ChatClientOptions,
  type ChatCompletion,
  type ChatMessage,
  type ChatRequest,
  createChatClient,
  DEFAULT_MODEL,
  getOpenrouterLlm,
  type GetOpenrouterLlmOptions,
  listAvailableModels,
  LlmError,
  type LlmLogger,
  LlmRequestError,
  LlmResponseError,
  loadModelConfig,
  type LoadModelConfigOptions,
  MissingApiKeyError,
  type ModelConfig,
  ModelConfigError,
  OPENROUTER_BASE_URL,
  parseModelConfig,
  type SystemMessage,
  type TokenUsage,
  type ToolCall,
  type ToolDefinition,
  type ToolMessage,
  UnknownModelError,
  type UserMessage,
} from "./mod.ts";
