import assert from "node:assert/strict";
import { join } from "node:path";
import {
  listAvailableModels,
  loadModelConfig,
  ModelConfigError,
  parseModelConfig,
  UnknownModelError,
} from "../../src/llm/mod.ts";

const BUNDLED: Record<string, Record<string, unknown>> = {
  sonnet45: {
    path: "anthropic/claude-sonnet-4.5",
    temperature: 0,
    max_tokens: 16384,
  },
  opus45: {
    path: "anthropic/claude-opus-4.5",
    temperature: 0,
    max_tokens: 16384,
  },
  deepseek31: {
    path: "deepseek/deepseek-chat-v3.1",
    temperature: 0.2,
    max_tokens: 8192,
    top_p: 1.0,
  },
  grok41: {
    path: "x-ai/grok-4.1-fast",
    temperature: 0.15,
    max_tokens: 2000,
    top_p: 0.9,
  },
  qwen3: {
    path: "qwen/qwen3-coder",
    temperature: 0.15,
    max_tokens: 2048,
    top_p: 0.9,
  },
  gemini25: {
    path: "google/gemini-2.5-pro",
    temperature: 0.3,
    max_tokens: 2048,
    top_p: 0.9,
    request_timeout: 60,
  },
  gemini3pro: {
    path: "google/gemini-3-pro-preview",
    temperature: 0.3,
    max_tokens: 16384,
    top_p: 0.9,
    request_timeout: 120,
  },
  gpt52: {
    path: "openai/gpt-5.2",
    max_tokens: 16384,
    no_sampling_params: true,
  },
  // SPEC §10: the upstream tool's newer models.
  sonnet46: {
    path: "anthropic/claude-sonnet-4.6",
    temperature: 0,
    max_tokens: 16384,
  },
  sonnet5: {
    path: "anthropic/claude-sonnet-5",
    temperature: 0,
    max_tokens: 32768,
  },
  opus48: {
    path: "anthropic/claude-opus-4.8",
    temperature: 0,
    max_tokens: 16384,
  },
  gemini31: {
    path: "google/gemini-3.1-pro-preview",
    temperature: 0,
    max_tokens: 16384,
    request_timeout: 120,
  },
  gemini3flash: {
    path: "google/gemini-3-flash-preview",
    temperature: 0.3,
    max_tokens: 16384,
  },
  gpt56sol: {
    path: "openai/gpt-5.6-sol",
    max_tokens: 16384,
    no_sampling_params: true,
  },
  gpt56terra: {
    path: "openai/gpt-5.6-terra",
    max_tokens: 16384,
    no_sampling_params: true,
  },
};

Deno.test("listAvailableModels() lists the fifteen bundled models sorted", () => {
  assert.deepEqual(listAvailableModels(), Object.keys(BUNDLED).sort());
});

Deno.test("loadModelConfig()", async (t) => {
  for (const [name, expected] of Object.entries(BUNDLED)) {
    await t.step(`bundled ${name} has the documented parameters`, async () => {
      const config = await loadModelConfig(name, { cwd: "/" });
      assert.deepEqual({ ...config }, { name, ...expected });
    });
  }

  await t.step("defaults to sonnet45", async () => {
    const config = await loadModelConfig(undefined, { cwd: "/" });
    assert.equal(config.path, "anthropic/claude-sonnet-4.5");
  });

  const dir = await Deno.makeTempDir();
  try {
    await t.step(
      "a name ending in .json is a path relative to cwd",
      async () => {
        await Deno.mkdir(join(dir, "cfg"));
        await Deno.writeTextFile(
          join(dir, "cfg", "mine.json"),
          JSON.stringify({
            path: "x/y",
            top_k: 40,
            provider: { order: ["a"] },
            base_url: "http://h/v1",
          }),
        );
        const config = await loadModelConfig("cfg/mine.json", { cwd: dir });
        assert.equal(config.name, "mine");
        assert.equal(config.path, "x/y");
        assert.equal(config.top_k, 40);
        assert.deepEqual(config.provider, { order: ["a"] });
        assert.equal(config.base_url, "http://h/v1");
      },
    );

    await t.step(
      "./NAME.json in the working directory wins over the bundled one",
      async () => {
        await Deno.writeTextFile(
          join(dir, "sonnet45.json"),
          JSON.stringify({ path: "local/override" }),
        );
        const config = await loadModelConfig("sonnet45", { cwd: dir });
        assert.equal(config.path, "local/override");
      },
    );

    await t.step("a missing .json file is a ModelConfigError", async () => {
      await assert.rejects(
        loadModelConfig("nope.json", { cwd: dir }),
        ModelConfigError,
      );
    });

    await t.step("invalid JSON is a ModelConfigError", async () => {
      await Deno.writeTextFile(join(dir, "broken.json"), "{ path: ");
      await assert.rejects(
        loadModelConfig("broken.json", { cwd: dir }),
        /invalid JSON/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  await t.step("an unknown name lists the bundled names", async () => {
    const error = await loadModelConfig("gpt99", { cwd: "/" }).catch((e) => e);
    assert.ok(error instanceof UnknownModelError);
    assert.equal(error.model, "gpt99");
    for (const name of Object.keys(BUNDLED)) {
      assert.match(error.message, new RegExp(name));
    }
  });
});

Deno.test("parseModelConfig() validates keys", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["missing path", { temperature: 0 }, /"path"/],
    ["not an object", [1], /JSON object/],
    [
      "string temperature",
      { path: "a", temperature: "0" },
      /"temperature" must be a number/,
    ],
    [
      "provider as string",
      { path: "a", provider: "x" },
      /"provider" must be a JSON object/,
    ],
    [
      "bad base_url",
      { path: "a", base_url: "not a url" },
      /"base_url" is not a URL/,
    ],
    [
      "non-boolean no_sampling_params",
      { path: "a", no_sampling_params: 1 },
      /boolean/,
    ],
  ];
  for (const [label, raw, pattern] of cases) {
    await t.step(`rejects ${label}`, () => {
      assert.throws(() => parseModelConfig("x", raw), (e: unknown) => {
        assert.ok(e instanceof ModelConfigError);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
  await t.step("returns a frozen config", () => {
    const config = parseModelConfig("x", {
      path: "a/b",
      reasoning: { effort: "high" },
    });
    assert.ok(Object.isFrozen(config));
    assert.deepEqual(config.reasoning, { effort: "high" });
  });
});
