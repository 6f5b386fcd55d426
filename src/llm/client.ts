/**
 * Chat completions over any OpenAI-compatible endpoint (default OpenRouter),
 * using npm:openai with every environment-derived default pinned.
 *
 * @module
 */

import { type Logger, SILENT_LOGGER } from "../base/mod.ts";
import OpenAI from "openai";
import { apiKeyEnvOf, resolveApiKey } from "./api_key.ts";
import {
  LlmError,
  LlmRequestError,
  LlmResponseError,
  MissingApiKeyError,
} from "./errors.ts";
import {
  DEFAULT_MODEL,
  loadModelConfig,
  type ModelConfig,
  parseModelConfig,
} from "./models.ts";

/** The endpoint used when a model configuration has no `base_url`. */
export const OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1";

/** Attribution headers OpenRouter uses for its app rankings. */
const OPENROUTER_ATTRIBUTION: Readonly<Record<string, string>> = Object.freeze({
  "HTTP-Referer": "https://github.com/szeider/agentic-python-coder",
  "X-Title": "Agentic Python Coder",
});

/** Default per-request timeout when the model sets no `request_timeout`. */
const DEFAULT_TIMEOUT_MS = 600_000;

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

/** Options of {@linkcode createChatClient}. */
export interface ChatClientOptions {
  /** Model configuration (from {@linkcode loadModelConfig}). */
  config: ModelConfig;
  /** API key of the endpoint. Never logged. */
  apiKey: string;
  /** HTTP retries of the SDK for 408/409/429/5xx and connection errors (default 2). */
  maxRetries?: number;
  /** Receives SDK warnings (default: none). */
  logger?: LlmLogger;
  /** Custom fetch (a test transport, a proxy). */
  fetch?: typeof globalThis.fetch;
}

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
 * import { buildRequestBody } from "./client.ts";
 * import { loadModelConfig } from "./models.ts";
 * const body = buildRequestBody(await loadModelConfig("gpt52"), {
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

function sdkLogger(logger: LlmLogger) {
  const join = (message: string, rest: unknown[]): string =>
    [
      message,
      ...rest.map((item) => {
        try {
          return typeof item === "string" ? item : JSON.stringify(item);
        } catch {
          return String(item);
        }
      }),
    ].join(" ");
  return {
    debug: (message: string, ...rest: unknown[]) =>
      logger.debug(join(message, rest)),
    info: (message: string, ...rest: unknown[]) =>
      logger.info(join(message, rest)),
    warn: (message: string, ...rest: unknown[]) =>
      logger.warn(join(message, rest)),
    error: (message: string, ...rest: unknown[]) =>
      logger.error(join(message, rest)),
  };
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

function mapSdkError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (error instanceof LlmError) return error;
  if (signal?.aborted) return signal.reason ?? error;
  if (error instanceof OpenAI.APIUserAbortError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new LlmRequestError("timed out", null, { cause: error });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new LlmRequestError(
      `cannot connect: ${
        error.cause instanceof Error ? error.cause.message : error.message
      }`,
      null,
      { cause: error },
    );
  }
  if (error instanceof OpenAI.APIError) {
    const status = typeof error.status === "number" ? error.status : null;
    return new LlmRequestError(
      `${status === null ? "" : `HTTP ${status}: `}${error.message}`,
      status,
      { cause: error },
    );
  }
  return error;
}

/**
 * Creates a chat client for a model configuration. Every option the openai SDK
 * would otherwise read from `OPENAI_*` environment variables is set explicitly.
 * OpenRouter attribution headers are sent only to the default OpenRouter URL.
 *
 * @param options Configuration, key and transport options.
 * @returns The client.
 * @throws {MissingApiKeyError} When `apiKey` is empty.
 *
 * @example Talk to a local OpenAI-compatible server
 * ```ts
 * import { createChatClient } from "./client.ts";
 * import { parseModelConfig } from "./models.ts";
 * const llm = createChatClient({
 *   config: parseModelConfig("local", { path: "qwen", base_url: "http://127.0.0.1:8080/v1" }),
 *   apiKey: "unused",
 * });
 * console.log(llm.config.path);
 * ```
 */
export function createChatClient(options: ChatClientOptions): ChatClient {
  const { config } = options;
  if (!options.apiKey) {
    throw new MissingApiKeyError(apiKeyEnvOf(config));
  }
  const baseURL = config.base_url ?? OPENROUTER_BASE_URL;
  const timeout = config.request_timeout !== undefined
    ? Math.max(1, Math.round(config.request_timeout * 1000))
    : DEFAULT_TIMEOUT_MS;
  const sdk = new OpenAI({
    apiKey: options.apiKey,
    adminAPIKey: null,
    baseURL,
    organization: null,
    project: null,
    webhookSecret: null,
    logLevel: options.logger ? "warn" : "off",
    logger: sdkLogger(options.logger ?? SILENT_LOGGER),
    maxRetries: options.maxRetries ?? 2,
    timeout,
    defaultHeaders: config.base_url === undefined
      ? { ...OPENROUTER_ATTRIBUTION }
      : {},
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return {
    config,
    async complete(request: ChatRequest): Promise<ChatCompletion> {
      request.signal?.throwIfAborted();
      const body = buildRequestBody(config, request);
      let raw: unknown;
      try {
        raw = await sdk.chat.completions.create(
          body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
          request.signal ? { signal: request.signal } : {},
        );
      } catch (error) {
        throw mapSdkError(error, request.signal);
      }
      return readCompletion(raw);
    },
  };
}

/** Options of {@linkcode getOpenrouterLlm}. */
export interface GetOpenrouterLlmOptions {
  /** API key; else looked up by {@linkcode resolveApiKey} in `dotenvText`, then `env`. */
  apiKey?: string;
  /** Contents of `~/.config/coder/.env` (the caller reads the file). */
  dotenvText?: string;
  /** Environment to read the key from (pass `Deno.env.toObject()`); nothing is read otherwise. */
  env?: Record<string, string>;
  /** Directory for `./NAME.json` and relative file names. */
  cwd?: string;
  /** HTTP retries of the SDK (default 2). */
  maxRetries?: number;
  /** Receives SDK warnings. */
  logger?: LlmLogger;
  /** Custom fetch. */
  fetch?: typeof globalThis.fetch;
}

/**
 * Loads a model configuration and creates its chat client (OpenRouter unless
 * the configuration names a `base_url`).
 *
 * @param model Model name, JSON file, or a configuration object (default `sonnet45`).
 * @param options Key, environment and transport options.
 * @returns The client.
 * @throws {UnknownModelError} When the model name is unknown.
 * @throws {ModelConfigError} When the configuration is invalid.
 * @throws {MissingApiKeyError} When no key is given or found in `env`.
 *
 * @example Create a client for the default model
 * ```ts
 * import { getOpenrouterLlm } from "./client.ts";
 * const llm = await getOpenrouterLlm("sonnet45", { env: Deno.env.toObject() });
 * console.log(llm.config.path);
 * ```
 */
export async function getOpenrouterLlm(
  model: string | ModelConfig = DEFAULT_MODEL,
  options: GetOpenrouterLlmOptions = {},
): Promise<ChatClient> {
  const config = typeof model === "string"
    ? await loadModelConfig(model, options.cwd ? { cwd: options.cwd } : {})
    : parseModelConfig(model.name, model);
  const { key: apiKey, envVar } = resolveApiKey(config, {
    flag: options.apiKey ?? null,
    dotenvText: options.dotenvText ?? null,
    env: options.env ?? {},
  });
  if (!apiKey) throw new MissingApiKeyError(envVar);
  return createChatClient({
    config,
    apiKey,
    ...(options.maxRetries !== undefined
      ? { maxRetries: options.maxRetries }
      : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
