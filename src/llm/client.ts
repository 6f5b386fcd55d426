/**
 * Chat completions over any OpenAI-compatible endpoint (default OpenRouter),
 * using npm:openai with every environment-derived default pinned.
 *
 * @module
 */

import { SILENT_LOGGER } from "../base/mod.ts";
import OpenAI from "openai";
import { apiKeyEnvOf, resolveApiKey } from "./api_key.ts";
import { LlmError, LlmRequestError, MissingApiKeyError } from "./errors.ts";
import {
  DEFAULT_MODEL,
  loadModelConfig,
  type ModelConfig,
  parseModelConfig,
} from "./models.ts";
import type {
  ChatClient,
  ChatCompletion,
  ChatRequest,
  LlmLogger,
} from "./chat_types.ts";
import {
  buildRequestBody,
  OPENROUTER_BASE_URL,
  readCompletion,
} from "./chat_wire.ts";

export type {
  AssistantMessage,
  ChatClient,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  LlmLogger,
  SystemMessage,
  TokenUsage,
  ToolCall,
  ToolDefinition,
  ToolMessage,
  UserMessage,
} from "./chat_types.ts";
export {
  buildRequestBody,
  OPENROUTER_BASE_URL,
  readCompletion,
} from "./chat_wire.ts";

/** Attribution headers OpenRouter uses for its app rankings. */
const OPENROUTER_ATTRIBUTION: Readonly<Record<string, string>> = Object.freeze({
  "HTTP-Referer": "https://github.com/szeider/agentic-python-coder",
  "X-Title": "Agentic Python Coder",
});

/** Default per-request timeout when the model sets no `request_timeout`. */
const DEFAULT_TIMEOUT_MS = 600_000;

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
 * import {
  createChatClient,
} from "./client.ts";
 * import {
  parseModelConfig,
} from "./models.ts";
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
 * import {
  getOpenrouterLlm,
} from "./client.ts";
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
