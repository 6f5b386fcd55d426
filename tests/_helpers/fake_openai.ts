/**
 * A scripted OpenAI-compatible chat completions server on 127.0.0.1 for tests.
 * The real openai client talks to it; it replays the scripted replies in order
 * and records every request.
 *
 * @module
 */

/** One request the server received. */
export interface RecordedRequest {
  /** URL path (e.g. `/v1/chat/completions`). */
  path: string;
  /** Parsed JSON body. */
  body: Record<string, unknown>;
  /** Request headers. */
  headers: Headers;
}

/** A reply with an explicit HTTP status. */
export interface StatusReply {
  /** HTTP status. */
  status: number;
  /** JSON body. */
  body: unknown;
}

/**
 * A scripted reply: a full response body (status 200), a status + body, or a
 * function of the request returning either.
 */
export type FakeReply =
  | Record<string, unknown>
  | StatusReply
  | ((
    request: RecordedRequest,
    index: number,
  ) => FakeReplyValue | Promise<FakeReplyValue>);

/** A reply value after functions are applied. */
export type FakeReplyValue = Record<string, unknown> | StatusReply;

/** Options of {@linkcode startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** Replies in order; after the last one the server answers HTTP 400. */
  replies: FakeReply[];
}

/** A running fake server. */
export interface FakeOpenAI extends AsyncDisposable {
  /** Base URL to put in a model config's `base_url` (ends in `/v1`). */
  baseURL: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
}

function isStatusReply(value: FakeReplyValue): value is StatusReply {
  return typeof (value as StatusReply).status === "number" && "body" in value;
}

/**
 * Starts the fake server on 127.0.0.1, port 0.
 *
 * @param options The scripted replies.
 * @returns The server handle; dispose it with `await using`.
 */
export function startFakeOpenAI(options: FakeOpenAIOptions): FakeOpenAI {
  const requests: RecordedRequest[] = [];
  let next = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      let body: Record<string, unknown> = {};
      try {
        body = await req.json();
      } catch {
        // not JSON: recorded as {}
      }
      const recorded: RecordedRequest = {
        path: url.pathname,
        body,
        headers: req.headers,
      };
      requests.push(recorded);
      const index = next++;
      const scripted = options.replies[index];
      if (scripted === undefined) {
        return Response.json({
          error: { message: `fake server: no scripted reply #${index}` },
        }, { status: 400 });
      }
      const value = typeof scripted === "function"
        ? await scripted(recorded, index)
        : scripted;
      if (isStatusReply(value)) {
        return Response.json(value.body, { status: value.status });
      }
      return Response.json(value);
    },
  );
  const { port } = server.addr as Deno.NetAddr;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A tool call to script: name and arguments (object, or a raw string for bad JSON). */
export interface ScriptedCall {
  /** Tool name. */
  name: string;
  /** Arguments; a string is sent verbatim. */
  args: Record<string, unknown> | string;
  /** Call id (default `call_N`). */
  id?: string;
}

/** Usage to report. */
export interface ScriptedUsage {
  /** Prompt tokens. */
  prompt_tokens: number;
  /** Completion tokens. */
  completion_tokens: number;
  /** OpenRouter cost in USD. */
  cost?: number;
}

/** Wraps one choice in a chat.completion body with its usage. */
function completion(
  choice: Record<string, unknown>,
  usage: ScriptedUsage,
): Record<string, unknown> {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 0,
    model: "fake",
    choices: [{ index: 0, ...choice }],
    usage: {
      ...usage,
      total_tokens: usage.prompt_tokens + usage.completion_tokens,
    },
  };
}

/**
 * A completion body whose assistant message calls tools.
 *
 * @param calls The tool calls.
 * @param usage Token usage to report.
 * @returns The response body.
 */
export function toolCallsReply(
  calls: ScriptedCall[],
  usage: ScriptedUsage = { prompt_tokens: 10, completion_tokens: 5 },
): Record<string, unknown> {
  return completion({
    finish_reason: "tool_calls",
    message: {
      role: "assistant",
      content: null,
      tool_calls: calls.map((call) => ({
        id: call.id ?? `call_${crypto.randomUUID().slice(0, 8)}`,
        type: "function",
        function: {
          name: call.name,
          arguments: typeof call.args === "string"
            ? call.args
            : JSON.stringify(call.args),
        },
      })),
    },
  }, usage);
}

/**
 * A completion body with a text answer.
 *
 * @param text The answer.
 * @param finishReason finish_reason (default `stop`).
 * @param usage Token usage to report.
 * @returns The response body.
 */
export function textReply(
  text: string,
  finishReason = "stop",
  usage: ScriptedUsage = { prompt_tokens: 10, completion_tokens: 5 },
): Record<string, unknown> {
  return completion({
    finish_reason: finishReason,
    message: { role: "assistant", content: text },
  }, usage);
}

/**
 * An OpenRouter-style error envelope with HTTP 200.
 *
 * @param message The provider's error message.
 * @returns The response body.
 */
export function errorEnvelope(
  message = "Provider returned error",
): Record<string, unknown> {
  return { choices: null, error: { message, code: 502 } };
}

/**
 * Writes a model JSON file pointing at the fake server.
 *
 * @param dir Directory to write into.
 * @param baseURL The fake server URL.
 * @param extra More keys for the config.
 * @returns The file path.
 */
export async function writeFakeModel(
  dir: string,
  baseURL: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const path = `${dir}/fake_model.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      path: "fake/model",
      base_url: baseURL,
      api_key_env: "FAKE_LLM_KEY",
      ...extra,
    }),
  );
  return path;
}
