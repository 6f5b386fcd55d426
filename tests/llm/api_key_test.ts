import assert from "node:assert/strict";
import {
  apiKeyCandidates,
  parseModelConfig,
  resolveApiKey,
} from "../../src/llm/mod.ts";

const custom = parseModelConfig("custom", {
  path: "m",
  base_url: "http://127.0.0.1:1/v1",
  api_key_env: "MY_KEY",
});

Deno.test("resolveApiKey() follows one order: flag, .env, environment", async (t) => {
  const cases: {
    name: string;
    config: typeof custom | undefined;
    flag?: string;
    dotenv?: string;
    env?: Record<string, string>;
    key: string | undefined;
    envVar: string;
    source: string | null;
  }[] = [
    {
      name: "the flag wins",
      config: undefined,
      flag: "f",
      dotenv: "OPENROUTER_API_KEY=d",
      env: { OPENROUTER_API_KEY: "e" },
      key: "f",
      envVar: "OPENROUTER_API_KEY",
      source: "flag",
    },
    {
      name: ".env before the environment",
      config: undefined,
      dotenv: 'OPENROUTER_API_KEY="d"',
      env: { OPENROUTER_API_KEY: "e" },
      key: "d",
      envVar: "OPENROUTER_API_KEY",
      source: "dotenv",
    },
    {
      name: "the environment last",
      config: undefined,
      env: { OPENROUTER_API_KEY: "e" },
      key: "e",
      envVar: "OPENROUTER_API_KEY",
      source: "env",
    },
    {
      name: "api_key_env: same order, its own variable",
      config: custom,
      dotenv: "OPENROUTER_API_KEY=other\nMY_KEY=d",
      env: { MY_KEY: "e", OPENROUTER_API_KEY: "other" },
      key: "d",
      envVar: "MY_KEY",
      source: "dotenv",
    },
    {
      name: "api_key_env: another variable's key is not used",
      config: custom,
      env: { OPENROUTER_API_KEY: "other" },
      key: undefined,
      envVar: "MY_KEY",
      source: null,
    },
    {
      name: "an unreadable .env is skipped",
      config: undefined,
      dotenv: "\0\0=",
      env: { OPENROUTER_API_KEY: "e" },
      key: "e",
      envVar: "OPENROUTER_API_KEY",
      source: "env",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual(
        resolveApiKey(c.config, {
          flag: c.flag ?? null,
          dotenvText: c.dotenv ?? null,
          env: c.env ?? {},
        }),
        { key: c.key, envVar: c.envVar, source: c.source },
      );
    });
  }
});

Deno.test("apiKeyCandidates() lists every key value the sources hold", () => {
  assert.deepEqual(
    apiKeyCandidates(custom, {
      flag: "f",
      dotenvText: "OPENROUTER_API_KEY=d1\nMY_KEY=d2\nOTHER=x",
      env: { OPENROUTER_API_KEY: "e1", MY_KEY: "e2", HOME: "/h" },
    }),
    ["f", "d1", "e1", "d2", "e2"],
  );
});
