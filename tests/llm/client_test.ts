import assert from "node:assert/strict";
import {
  buildRequestBody,
  createChatClient,
  getOpenrouterLlm,
  LlmRequestError,
  LlmResponseError,
  loadModelConfig,
  MissingApiKeyError,
  OPENROUTER_BASE_URL,
  parseModelConfig,
  type ToolDefinition,
} from "../../src/llm/mod.ts";
import {
  startFakeOpenAI,
  textReply,
  toolCallsReply,
} from "../_helpers/fake_openai.ts";

const KEY = "sk-test-llm-0123456789";
const TOOL: ToolDefinition = {
  type: "function",
  function: {
    name: "python_exec",
    description: "run code",
    parameters: {
      type: "object",
      properties: { code: { type: "string" } },
      required: ["code"],
    },
  },
};

Deno.test("ChatClient.complete() against an OpenAI-compatible server", async (t) => {
  await using server = startFakeOpenAI({
    replies: [
      toolCallsReply(
        [{ name: "python_exec", args: { code: "1+1" }, id: "c1" }],
        {
          prompt_tokens: 12,
          completion_tokens: 3,
          cost: 0.0042,
        },
      ),
      textReply("done"),
      { choices: null, error: { message: "upstream overloaded", code: 502 } },
      {
        choices: [{
          index: 0,
          finish_reason: "error",
          message: { role: "assistant", content: "" },
        }],
      },
      { status: 401, body: { error: { message: "bad credentials" } } },
      textReply("plain"),
    ],
  });
  const config = parseModelConfig("fake", {
    path: "vendor/model-x",
    temperature: 0.25,
    max_tokens: 321,
    top_p: 0.5,
    top_k: 7,
    provider: { order: ["p1"] },
    reasoning: { effort: "low" },
    base_url: server.baseURL,
  });
  const llm = createChatClient({ config, apiKey: KEY, maxRetries: 0 });

  await t.step(
    "sends path, sampling params, extras and tools with tool_choice auto",
    async () => {
      const completion = await llm.complete({
        messages: [{ role: "user", content: "hi" }],
        tools: [TOOL],
      });
      const request = server.requests[0]!;
      assert.equal(request.path, "/v1/chat/completions");
      assert.equal(request.body.model, "vendor/model-x");
      assert.equal(request.body.temperature, 0.25);
      assert.equal(request.body.max_tokens, 321);
      assert.equal(request.body.top_p, 0.5);
      assert.equal(request.body.top_k, 7);
      assert.deepEqual(request.body.provider, { order: ["p1"] });
      assert.deepEqual(request.body.reasoning, { effort: "low" });
      assert.equal(request.body.tool_choice, "auto");
      assert.deepEqual(request.body.tools, [TOOL]);
      assert.equal(request.headers.get("authorization"), `Bearer ${KEY}`);
      assert.equal(completion.finishReason, "tool_calls");
      assert.deepEqual(completion.message.tool_calls, [
        {
          id: "c1",
          type: "function",
          function: { name: "python_exec", arguments: '{"code":"1+1"}' },
        },
      ]);
      assert.deepEqual(completion.usage, {
        inputTokens: 12,
        outputTokens: 3,
        totalTokens: 15,
        costUsd: 0.0042,
      });
    },
  );

  await t.step(
    "a custom base_url gets no OpenRouter headers and no usage accounting",
    async () => {
      const completion = await llm.complete({
        messages: [{ role: "user", content: "hi" }],
      });
      const request = server.requests[1]!;
      assert.equal(request.headers.get("http-referer"), null);
      assert.equal(request.headers.get("x-title"), null);
      assert.equal(request.body.usage, undefined);
      assert.equal(request.body.tools, undefined);
      assert.equal(completion.message.content, "done");
      assert.equal(completion.usage?.costUsd, null);
    },
  );

  await t.step(
    "a 200 answer without choices is an LlmResponseError",
    async () => {
      const error = await llm.complete({
        messages: [{ role: "user", content: "hi" }],
      }).catch((e) => e);
      assert.ok(error instanceof LlmResponseError, String(error));
      assert.match(error.message, /upstream overloaded/);
      assert.equal(error.code, 502);
    },
  );

  await t.step("finish_reason error is an LlmResponseError", async () => {
    await assert.rejects(
      llm.complete({ messages: [{ role: "user", content: "hi" }] }),
      LlmResponseError,
    );
  });

  await t.step(
    "HTTP 401 is an LlmRequestError without the key in its message",
    async () => {
      const error = await llm.complete({
        messages: [{ role: "user", content: "hi" }],
      }).catch((e) => e);
      assert.ok(error instanceof LlmRequestError, String(error));
      assert.equal(error.status, 401);
      assert.ok(!error.message.includes(KEY));
    },
  );

  await t.step("an aborted signal rejects before any request", async () => {
    const before = server.requests.length;
    await assert.rejects(
      llm.complete({
        messages: [{ role: "user", content: "x" }],
        signal: AbortSignal.abort(),
      }),
    );
    assert.equal(server.requests.length, before);
  });
});

Deno.test("OpenRouter defaults", async (t) => {
  await using server = startFakeOpenAI({ replies: [textReply("ok")] });
  await t.step(
    "the default base URL sends attribution headers and usage accounting",
    async () => {
      const config = await loadModelConfig("sonnet45", { cwd: "/" });
      const redirect: typeof fetch = (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        assert.ok(url.startsWith(OPENROUTER_BASE_URL), url);
        return fetch(url.replace(OPENROUTER_BASE_URL, server.baseURL), init);
      };
      const llm = createChatClient({
        config,
        apiKey: KEY,
        fetch: redirect,
        maxRetries: 0,
      });
      await llm.complete({ messages: [{ role: "user", content: "hi" }] });
      const request = server.requests[0]!;
      assert.equal(request.headers.get("x-title"), "Agentic Python Coder");
      assert.ok(request.headers.get("http-referer"));
      assert.deepEqual(request.body.usage, { include: true });
      assert.equal(request.body.model, "anthropic/claude-sonnet-4.5");
      assert.equal(request.body.temperature, 0);
      assert.equal(request.body.max_tokens, 16384);
    },
  );

  await t.step("no_sampling_params sends only max_tokens", async () => {
    const body = buildRequestBody(
      await loadModelConfig("gpt52", { cwd: "/" }),
      {
        messages: [],
      },
    );
    assert.equal(body.max_tokens, 16384);
    for (
      const key of [
        "temperature",
        "top_p",
        "top_k",
        "frequency_penalty",
        "presence_penalty",
      ]
    ) {
      assert.equal(body[key], undefined, key);
    }
  });
});

Deno.test("getOpenrouterLlm()", async (t) => {
  await t.step(
    "without a key it throws MissingApiKeyError naming the variable",
    async () => {
      const error = await getOpenrouterLlm("sonnet45", { env: {}, cwd: "/" })
        .catch((e) => e);
      assert.ok(error instanceof MissingApiKeyError);
      assert.equal(error.envVar, "OPENROUTER_API_KEY");
    },
  );

  await t.step("reads the key from the model's api_key_env", async () => {
    await using server = startFakeOpenAI({ replies: [textReply("ok")] });
    const llm = await getOpenrouterLlm(
      parseModelConfig("local", {
        path: "m",
        base_url: server.baseURL,
        api_key_env: "MY_KEY",
      }),
      { env: { MY_KEY: KEY, OPENROUTER_API_KEY: "other" } },
    );
    await llm.complete({ messages: [{ role: "user", content: "hi" }] });
    assert.equal(
      server.requests[0]!.headers.get("authorization"),
      `Bearer ${KEY}`,
    );
  });
});
