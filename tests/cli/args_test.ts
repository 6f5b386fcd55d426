import assert from "node:assert/strict";
import { HELP_TEXT, parseCoderArgs, UsageError } from "../../src/cli/args.ts";

Deno.test("parseCoderArgs()", async (t) => {
  await t.step("defaults", () => {
    assert.deepEqual(parseCoderArgs(["do it"]), {
      help: false,
      version: false,
      init: null,
      taskFile: null,
      inlineTask: "do it",
      model: "sonnet45",
      project: null,
      with: [],
      dir: null,
      apiKey: null,
      todo: false,
      quiet: false,
      json: false,
      interactive: false,
      stepLimit: 200,
      sandbox: false,
      memoryLimit: null,
      gateway: null,
      allowHost: [],
      cleanRoom: true,
      replay: null,
    });
  });

  const cases: [
    string,
    string[],
    Partial<ReturnType<typeof parseCoderArgs>>,
  ][] = [
    ["short flags", [
      "-t",
      "p.md",
      "-p",
      "proj.md",
      "-d",
      "out",
      "-q",
      "-i",
      "-V",
    ], {
      taskFile: "p.md",
      project: "proj.md",
      dir: "out",
      quiet: true,
      interactive: true,
      version: true,
      inlineTask: null,
    }],
    ["repeatable --with", ["--with", "numpy", "--with", "pandas>=2", "x"], {
      with: ["numpy", "pandas>=2"],
    }],
    ["--model, --api-key, --todo, --json, --step-limit", [
      "--model",
      "m.json",
      "--api-key",
      "k",
      "--todo",
      "--json",
      "--step-limit",
      "7",
      "x",
    ], { model: "m.json", apiKey: "k", todo: true, json: true, stepLimit: 7 }],
    ["positionals are joined", ["solve", "the", "puzzle"], {
      inlineTask: "solve the puzzle",
    }],
    ["bare --init means all", ["--init"], { init: "all" }],
    ["--init NAME", ["--init", "cpmpy"], { init: "cpmpy" }],
    ["--init=NAME", ["--init=regex"], { init: "regex" }],
    ["--init followed by a flag", ["--init", "-q"], {
      init: "all",
      quiet: true,
    }],
    ["--help", ["--help"], { help: true }],
    ["--no-clean-room", ["--no-clean-room", "x"], { cleanRoom: false }],
    ["--replay LOG", ["--replay", "log.jsonl"], { replay: "log.jsonl" }],
  ];
  for (const [label, argv, expected] of cases) {
    await t.step(label, () => {
      const parsed = parseCoderArgs(argv);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(parsed[key as keyof typeof parsed], value, key);
      }
    });
  }

  const bad: [string, string[], RegExp][] = [
    ["unknown flag", ["--frobnicate"], /frobnicate/],
    ["missing value", ["--model"], /model/],
    ["step limit zero", ["--step-limit", "0", "x"], /--step-limit/],
    ["step limit not a number", ["--step-limit", "ten", "x"], /--step-limit/],
    ["boolean with value", ["--todo=yes", "x"], /todo/],
  ];
  for (const [label, argv, pattern] of bad) {
    await t.step(`rejects ${label} with a UsageError`, () => {
      assert.throws(() => parseCoderArgs(argv), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }
});

Deno.test("HELP_TEXT documents every flag", () => {
  for (
    const flag of [
      "--version",
      "-V",
      "--init",
      "--task",
      "-t",
      "--model",
      "--project",
      "-p",
      "--with",
      "--dir",
      "-d",
      "--api-key",
      "--todo",
      "--quiet",
      "-q",
      "--step-limit",
      "--interactive",
      "-i",
      "--json",
      "--help",
      "mcp",
    ]
  ) {
    assert.ok(HELP_TEXT.includes(flag), flag);
  }
  assert.match(
    HELP_TEXT,
    /deepseek31, gemini25, gemini31, gemini3flash, gemini3pro, gpt52, gpt56sol, gpt56terra, grok41, opus45, opus48, qwen3, sonnet45, sonnet46, sonnet5/,
  );
});
