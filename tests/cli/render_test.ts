import assert from "node:assert/strict";
import {
  describeCode,
  describeToolCall,
  formatStats,
  renderMarkdown,
} from "../../src/cli/render.ts";
import { emptyStats } from "../../src/agent/mod.ts";

Deno.test("describeCode() says what code does", async (t) => {
  const cases: [string, string][] = [
    [
      "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)",
      "defining function fib()",
    ],
    ["import numpy as np", "importing numpy"],
    ["import os, sys\nfrom math import sqrt", "importing os, sys, math"],
    ['print("hello")', 'printing "hello"'],
    ["class Board:\n    pass", "defining class Board"],
    ["x = 5", "setting x"],
    ["a, b = 1, 2", "setting a,b"],
    ["total += 1", "setting total"],
    ["for i in range(3):\n    print(i)", "running a loop"],
    ["fib(10)", "evaluating fib(10)"],
    ["# only a comment\n", "running code"],
    [
      "import numpy\ndef fib(n):\n    pass\nprint(fib(10))",
      "importing numpy, defining function fib(), printing fib(10)",
    ],
  ];
  for (const [code, expected] of cases) {
    await t.step(JSON.stringify(code.split("\n")[0]), () => {
      assert.equal(describeCode(code), expected);
    });
  }
  await t.step("long descriptions are cut", () => {
    const code = Array.from(
      { length: 20 },
      (_, i) => `def function_number_${i}(): pass`,
    ).join("\n");
    assert.ok(describeCode(code).length <= 80);
    assert.match(describeCode(code), /…$/);
  });
});

Deno.test("describeToolCall()", () => {
  assert.equal(
    describeToolCall("python_exec", { code: "import re" }),
    "python_exec: importing re",
  );
  assert.equal(
    describeToolCall("python_exec", null),
    "python_exec: (invalid arguments)",
  );
  assert.equal(
    describeToolCall("save_code", { code: "a = 1\n\nprint(a)\n" }),
    "save_code: saving the final program (2 lines)",
  );
  assert.equal(
    describeToolCall("todo_write", {
      todos: [
        { status: "completed", content: "a" },
        { status: "in_progress", content: "write tests" },
      ],
    }),
    "todo_write: 1/2 done; now: write tests",
  );
  assert.equal(describeToolCall("bogus", {}), "bogus: (unknown tool)");
});

Deno.test("renderMarkdown()", async (t) => {
  await t.step("without colour returns the Markdown unchanged", () => {
    assert.equal(
      renderMarkdown("# Title\n\n**bold**", false),
      "# Title\n\n**bold**\n",
    );
  });
  await t.step("with colour drops the Markdown markers", () => {
    const text = renderMarkdown("Some **bold** text", true);
    assert.ok(!text.includes("**"), text);
    assert.match(text, /bold/);
  });
});

Deno.test("formatStats() lists tool calls, tokens, cost and time", () => {
  const stats = emptyStats();
  stats.tool_usage = { python_exec: 3, save_code: 1 };
  stats.token_consumption = {
    input_tokens: 1200,
    output_tokens: 34,
    total_tokens: 1234,
  };
  stats.execution_time_seconds = 2.5;
  const text = formatStats(stats);
  assert.match(text, /Tool calls: 4 \(python_exec 3, save_code 1\)/);
  assert.match(text, /Tokens: 1,234 \(input 1,200, output 34\)/);
  assert.match(text, /Time: 2\.5 s/);
  assert.doesNotMatch(text, /Cost/);
  stats.cost_usd = 0.01234;
  assert.match(formatStats(stats), /Cost: \$0\.0123/);
});
