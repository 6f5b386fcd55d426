import assert from "node:assert/strict";
import { join } from "node:path";
import { buildNotebook, type ExecuteResult } from "../../src/kernel/mod.ts";
import { assertValidNotebook } from "../_helpers/notebook.ts";

function result(overrides: Partial<ExecuteResult> = {}): ExecuteResult {
  return {
    status: "ok",
    stdout: "",
    stderr: "",
    result: null,
    images: [],
    error: null,
    executionCount: 1,
    droppedBytes: { stdout: 0, stderr: 0 },
    ...overrides,
  };
}

Deno.test("buildNotebook()", async (t) => {
  await t.step("writes every output kind, valid under nbformat", async () => {
    const notebook = buildNotebook([
      { code: "print('a')\nprint('b')", result: result({ stdout: "a\nb\n" }) },
      {
        code: "import sys; sys.stderr.write('w')",
        result: result({ stderr: "w", executionCount: 2 }),
      },
      {
        code: "svg()",
        result: result({
          images: [{ mimeType: "image/svg+xml", data: "<svg>\n</svg>" }],
          executionCount: 3,
        }),
      },
      {
        code: "1/0",
        result: result({
          status: "error",
          error: {
            ename: "ZeroDivisionError",
            evalue: "division by zero",
            traceback: "Traceback\n  line 1\nZeroDivisionError",
          },
          executionCount: 4,
        }),
      },
      { code: "never ran", result: null },
    ], { pythonVersion: "3.11.2" });
    const dir = await Deno.makeTempDir({ prefix: "nb_test_" });
    try {
      const path = join(dir, "n.ipynb");
      await Deno.writeTextFile(path, JSON.stringify(notebook));
      await assertValidNotebook(path);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const cells = notebook.cells as Record<string, unknown>[];
    assert.deepEqual(cells[0]!.source, ["print('a')\n", "print('b')"]);
    assert.deepEqual(cells[0]!.outputs, [
      { output_type: "stream", name: "stdout", text: ["a\n", "b\n"] },
    ]);
    assert.equal(cells[4]!.execution_count, null);
    assert.deepEqual(cells[4]!.outputs, []);
  });

  await t.step("masks every text it writes", () => {
    const notebook = buildNotebook([{
      code: "key = 'sk-secret'",
      result: result({ stdout: "sk-secret\n", result: "'sk-secret'" }),
    }], { mask: (text) => text.replaceAll("sk-secret", "[REDACTED]") });
    const text = JSON.stringify(notebook);
    assert.ok(!text.includes("sk-secret"));
    assert.match(text, /\[REDACTED\]/);
  });
});
