/**
 * LLM layer: bundled model configurations, their lookup rules, and a chat
 * client over any OpenAI-compatible endpoint (OpenRouter by default).
 * Imports nothing else of this project.
 *
 * @example Ask a model one question
 * ```ts
 * import { getOpenrouterLlm } from "./mod.ts";
 *
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
  buildRequestBody,
  type ChatClient,
  type ChatClientOptions,
  type ChatCompletion,
  type ChatMessage,
  type ChatRequest,
  createChatClient,
  getOpenrouterLlm,
  type GetOpenrouterLlmOptions,
  type LlmLogger,
  OPENROUTER_BASE_URL,
  readCompletion,
  type SystemMessage,
  type TokenUsage,
  type ToolCall,
  type ToolDefinition,
  type ToolMessage,
  type UserMessage,
} from "./client.ts";
export {
  apiKeyCandidates,
  apiKeyEnvOf,
  type ApiKeySources,
  OPENROUTER_KEY_ENV,
  resolveApiKey,
  type ResolvedApiKey,
} from "./api_key.ts";
export {
  LlmError,
  LlmRequestError,
  LlmResponseError,
  MissingApiKeyError,
  ModelConfigError,
  UnknownModelError,
} from "./errors.ts";
export {
  DEFAULT_MODEL,
  listAvailableModels,
  loadModelConfig,
  type LoadModelConfigOptions,
  type ModelConfig,
  parseModelConfig,
} from "./models.ts";
