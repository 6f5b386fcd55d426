import assert from "node:assert/strict";
import { EVAL_HELP_TEXT, parseEvalArgs } from "../../src/cli/eval_args.ts";
import { UsageError } from "../../src/cli/args.ts";

Deno.test("parseEvalArgs()", async (t) => {
  await t.step("defaults", () => {
    assert.deepEqual(parseEvalArgs(["tasks"]), {
      help: false,
      paths: ["tasks"],
      jobs: 1,
      runs: 1,
      validate: null,
      out: "coder-eval",
      json: false,
      quiet: false,
      model: "sonnet45",
      project: null,
      with: [],
      apiKey: null,
      todo: false,
      stepLimit: 200,
      cleanRoom: true,
      sandbox: false,
      memoryLimit: null,
      gateway: null,
    });
  });
  await t.step("every flag", () => {
    const args = parseEvalArgs([
      "a",
      "b.md",
      "--jobs",
      "3",
      "--runs",
      "2",
      "--validate",
      "grep -q ok",
      "--out",
      "o",
      "--json",
      "--with",
      "numpy",
      "--step-limit",
      "9",
      "--no-clean-room",
      "--sandbox",
      "-p",
      "proj.md",
    ]);
    assert.deepEqual(args.paths, ["a", "b.md"]);
    assert.equal(args.jobs, 3);
    assert.equal(args.runs, 2);
    assert.equal(args.validate, "grep -q ok");
    assert.equal(args.out, "o");
    assert.equal(args.json, true);
    assert.deepEqual(args.with, ["numpy"]);
    assert.equal(args.stepLimit, 9);
    assert.equal(args.cleanRoom, false);
    assert.equal(args.sandbox, true);
    assert.equal(args.project, "proj.md");
  });
  await t.step("--help needs no paths", () => {
    assert.equal(parseEvalArgs(["--help"]).help, true);
  });
  const bad: [string[], RegExp][] = [
    [[], /needs task files/],
    [["t", "--jobs", "0"], /--jobs "0"/],
    [["t", "--runs", "x"], /--runs "x"/],
    [["t", "--validate", " "], /--validate needs a command/],
    [["t", "--interactive"], /interactive/],
  ];
  for (const [argv, pattern] of bad) {
    await t.step(`rejects ${argv.join(" ") || "(nothing)"}`, () => {
      assert.throws(
        () => parseEvalArgs(argv),
        (error: unknown) =>
          error instanceof UsageError && pattern.test(error.message),
      );
    });
  }
  await t.step("the help text names every flag", () => {
    for (
      const flag of [
        "--jobs",
        "--runs",
        "--validate",
        "--out",
        "--json",
        "--model",
        "--project",
        "--with",
        "--api-key",
        "--todo",
        "--step-limit",
        "--no-clean-room",
        "--sandbox",
        "--memory-limit",
        "--gateway",
        "--quiet",
        "--help",
      ]
    ) assert.ok(EVAL_HELP_TEXT.includes(flag), flag);
  });
});
