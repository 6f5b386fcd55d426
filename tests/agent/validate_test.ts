/**
 * validateSolution(): what a validator gets (a private copy, its path as the
 * last argument and in CODER_SOLUTION, the run's directory as cwd) and how
 * failures read.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  readRegularFileNoFollow,
  shellValidator,
  validateSolution,
} from "../../src/agent/mod.ts";

Deno.test("validateSolution()", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "validate_" });
  const solution = join(dir, "task_code.py");
  await Deno.writeTextFile(solution, "print(42)\n");
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  try {
    await t.step(
      "runs in the run's directory on a private copy, removed after",
      async () => {
        const result = await validateSolution(
          solution,
          shellValidator(
            'pwd; echo "$CODER_SOLUTION"; cat',
          ),
          { cwd: dir, env },
        );
        assert.equal(result.valid, true, JSON.stringify(result));
        assert.equal(result.exit_code, 0);
        const [cwd, copy, arg, content] = result.output_tail.split("\n");
        assert.equal(await Deno.realPath(cwd!), await Deno.realPath(dir));
        assert.notEqual(dirname(copy!), dir);
        assert.equal(arg, "print(42)", "the path came as the last argument");
        assert.equal(content, "");
        await assert.rejects(Deno.stat(dirname(copy!)), Deno.errors.NotFound);
      },
    );

    await t.step(
      "a failing validator is invalid with its exit code and output",
      async () => {
        const result = await validateSolution(
          solution,
          shellValidator("echo nope; exit 3; true"),
          { cwd: dir, env },
        );
        assert.equal(result.valid, false);
        assert.equal(result.exit_code, 3);
        assert.equal(result.output_tail, "nope\n");
      },
    );

    await t.step(
      "a missing solution or a link is invalid, nothing runs",
      async () => {
        const marker = join(dir, "ran");
        const validator = shellValidator(`touch ${marker}; true`);
        const missing = await validateSolution(
          join(dir, "none.py"),
          validator,
          {
            cwd: dir,
            env,
          },
        );
        assert.equal(missing.valid, false);
        assert.match(String(missing.error), /no solution/);
        const link = join(dir, "link_code.py");
        await Deno.symlink(solution, link);
        const linked = await validateSolution(link, validator, {
          cwd: dir,
          env,
        });
        assert.equal(linked.valid, false);
        assert.match(String(linked.error), /not a regular file/);
        await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
        assert.equal(await readRegularFileNoFollow(link), null);
      },
    );

    await t.step(
      "a validator past its deadline is stopped and invalid",
      async () => {
        const result = await validateSolution(
          solution,
          shellValidator("sleep 60; true"),
          { cwd: dir, env, timeoutMs: 300 },
        );
        assert.equal(result.valid, false);
        assert.match(String(result.error), /did not finish within 0s/);
      },
    );

    await t.step("a validator that cannot start says so", async () => {
      const result = await validateSolution(
        solution,
        { argv: [join(dir, "no-such-program")], label: "no-such-program" },
        { cwd: dir, env },
      );
      assert.equal(result.valid, false);
      assert.match(
        String(result.error),
        /cannot run the validator "no-such-program"/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
