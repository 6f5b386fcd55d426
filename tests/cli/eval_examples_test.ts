/**
 * The worked example of the README: `coder eval examples/eval` with correct
 * solutions passes all three validators (exit 0); a wrong one is caught.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/coder.ts";
import { testEnv } from "../_helpers/agent_env.ts";
import {
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";
import { memoryIo } from "../_helpers/memory_io.ts";
import { routeByTask, type TaskScript } from "../_helpers/task_router.ts";

const EXAMPLES = fileURLToPath(import.meta.resolve("../../examples/eval"));

const SOLUTIONS: Record<string, string> = {
  "Primes below 100": `primes = [n for n in range(2, 100)
          if all(n % d for d in range(2, int(n ** 0.5) + 1))]
print(" ".join(map(str, primes)))`,
  "Eight queens": `def count(row, cols, d1, d2, n=8):
    if row == n:
        return 1
    return sum(count(row + 1, cols | {c}, d1 | {row - c}, d2 | {row + c})
               for c in range(n)
               if c not in cols and row - c not in d1 and row + c not in d2)

print(count(0, set(), set(), set()))`,
  "Longest Collatz chain": `def length(n):
    steps = 1
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps

best = max(range(1, 10000), key=length)
print(best, length(best))`,
};

function scripts(
  solutions: Record<string, string>,
): Record<string, TaskScript> {
  return Object.fromEntries(
    Object.entries(solutions).map(([task, code]) => [task, [
      toolCallsReply([{ name: "save_code", args: { code } }]),
      textReply("Saved."),
    ]]),
  );
}

async function evalExamples(
  base: string,
  solutions: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  await using server = startFakeOpenAI({
    replies: routeByTask(scripts(solutions)),
  });
  const model = await writeFakeModel(base, server.baseURL);
  const mem = memoryIo({
    cwd: base,
    env: testEnv({
      XDG_CONFIG_HOME: join(base, ".config"),
      FAKE_LLM_KEY: "sk-examples",
    }),
  });
  const code = await main(
    ["eval", EXAMPLES, "--model", model, "--jobs", "2", "--out", "out"],
    mem.io,
  );
  return { code, stdout: mem.stdout(), stderr: mem.stderr() };
}

Deno.test("coder eval examples/eval", async (t) => {
  const base = await Deno.makeTempDir({ prefix: "eval_examples_" });
  try {
    await t.step("correct solutions pass every validator", async () => {
      const run = await evalExamples(base, SOLUTIONS);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      assert.match(run.stdout, /3\/3 runs passed/);
      for (const task of ["collatz", "primes", "queens"]) {
        assert.match(
          run.stdout,
          new RegExp(`\\n${task}\\s+1\\s+1\\s+1\\s+0\\s+0`),
        );
      }
    });
    await t.step("a wrong solution fails its validator", async () => {
      await Deno.remove(join(base, "out"), { recursive: true });
      const run = await evalExamples(base, {
        ...SOLUTIONS,
        "Eight queens": "print(91)",
      });
      assert.equal(run.code, 1);
      assert.match(run.stdout, /\nqueens\s+1\s+1\s+0\s+1\s+0/);
      const records =
        (await Deno.readTextFile(join(base, "out", "results.jsonl")))
          .trim().split("\n").map((line) => JSON.parse(line));
      const queens = records.find((r) => r.task === "queens");
      assert.match(queens.validation.output_tail, /expected '92', got '91'/);
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
