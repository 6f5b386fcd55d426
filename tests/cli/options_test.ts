import assert from "node:assert/strict";
import { HELP_TEXT, parseCoderArgs } from "../../src/cli/args.ts";
import { EVAL_HELP_TEXT, parseEvalArgs } from "../../src/cli/eval_args.ts";
import { MCP_HELP_TEXT } from "../../src/cli/mcp_command.ts";
import {
  optionHelp,
  OPTIONS,
  parseOptions,
  positiveCount,
  UsageError,
} from "../../src/cli/options.ts";
import { DEFAULT_MODEL } from "../../src/llm/mod.ts";

const KERNEL_OPTIONS = [
  "--sandbox",
  "--memory-limit",
  "2G",
  "--gateway",
  "http://127.0.0.1:8888/",
  "--with",
  "numpy",
  "--with",
  "pandas>=2",
] as const;

Deno.test("each shared option has one help text, printed the same by every program", () => {
  const programs: [string, string][] = [
    ["coder", HELP_TEXT],
    ["coder eval", EVAL_HELP_TEXT],
    ["ipython_mcp", MCP_HELP_TEXT],
  ];
  let shown = 0;
  for (const name of Object.keys(OPTIONS) as (keyof typeof OPTIONS)[]) {
    const block = optionHelp([name]);
    for (const [program, help] of programs) {
      if (!new RegExp(`--${name}\\b`).test(help)) continue;
      // A program that names the flag prints exactly the shared block.
      if (help.includes(`  --${name}`) || help.includes(`, --${name}`)) {
        assert.ok(help.includes(block), `${program}: --${name}:\n${block}`);
        shown++;
      }
    }
  }
  assert.ok(shown >= 25, `only ${shown} shared help blocks found`);
  assert.match(OPTIONS.model.help, new RegExp(`default: ${DEFAULT_MODEL}\\b`));
});

Deno.test("the kernel options parse to the same values in coder and coder eval", () => {
  const coder = parseCoderArgs([...KERNEL_OPTIONS, "task"]);
  const evaluate = parseEvalArgs([...KERNEL_OPTIONS, "tasks/"]);
  const shared = parseOptions(KERNEL_OPTIONS, [
    "sandbox",
    "memory-limit",
    "gateway",
    "with",
  ]);
  for (const parsed of [coder, evaluate]) {
    assert.equal(parsed.sandbox, true);
    assert.equal(parsed.memoryLimit, "2G");
    assert.equal(parsed.gateway, "http://127.0.0.1:8888/");
    assert.deepEqual(parsed.with, ["numpy", "pandas>=2"]);
  }
  assert.deepEqual({ ...shared }, {
    sandbox: true,
    "memory-limit": "2G",
    gateway: "http://127.0.0.1:8888/",
    with: ["numpy", "pandas>=2"],
  });
});

Deno.test("bad command lines are usage errors with the flag named", () => {
  assert.throws(
    () => parseOptions(["--allow-host"], ["allow-host"]),
    (e) => e instanceof UsageError && /--allow-host/.test(e.message),
  );
  assert.throws(
    () => parseOptions(["--http", "8000"], ["dir"]),
    (e) => e instanceof UsageError && /--http/.test(e.message),
  );
  assert.throws(
    () => parseOptions(["stray"], ["dir"]),
    UsageError,
  );
  for (const bad of ["0", "-1", "1.5", "two", ""]) {
    assert.throws(
      () => positiveCount(bad, "--jobs", 1),
      (e) => e instanceof UsageError && e.message.includes(`--jobs "${bad}"`),
    );
  }
  assert.equal(positiveCount(undefined, "--jobs", 3), 3);
  assert.equal(positiveCount("4", "--jobs", 1), 4);
});

Deno.test("help lines wrap at 79 columns", () => {
  for (const help of [HELP_TEXT, EVAL_HELP_TEXT, MCP_HELP_TEXT]) {
    const block = help.slice(
      help.indexOf("Options:"),
      help.indexOf("\n\n", help.indexOf("Options:")),
    );
    for (const line of block.split("\n")) {
      assert.ok(line.length <= 79, line);
    }
  }
});
