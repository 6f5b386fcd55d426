import assert from "node:assert/strict";
import { CODER_PERMISSIONS } from "../../scripts/permissions.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../../deno.json" with { type: "json" };
import { testEnv } from "../_helpers/agent_env.ts";
import {
  startFakeOpenAI,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";

const ENTRY = fileURLToPath(import.meta.resolve("../../src/cli/coder.ts"));

async function coder(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...CODER_PERMISSIONS, ENTRY, ...args],
    cwd: options.cwd,
    env: testEnv({
      XDG_CONFIG_HOME: join(options.cwd, ".config"),
      ...options.env,
    }),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("coder as a process", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "coder_proc_" });
  try {
    await t.step("--help prints the usage and exits 0", async () => {
      const run = await coder(["--help"], { cwd: dir });
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^coder: .*\n\nUsage:/);
      assert.equal(run.stderr, "");
    });

    await t.step("--version prints the deno.json version", async () => {
      const run = await coder(["-V"], { cwd: dir });
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `coder ${denoJson.version}\n`);
    });

    await t.step("a bad flag exits 2 with nothing on stdout", async () => {
      const run = await coder(["--nope"], { cwd: dir });
      assert.equal(run.code, 2);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /coder: .*--nope[\s\S]*--help/);
    });

    await t.step(
      "--init reads its templates from the module graph, not the checkout",
      async () => {
        // Reads and writes are limited to an unrelated directory: the
        // templates can only come from the module graph.
        const target = await Deno.makeTempDir({ prefix: "coder_init_" });
        try {
          const output = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              `--allow-read=${target}`,
              `--allow-write=${target}`,
              "--allow-env",
              ENTRY,
              "--init",
              "all",
            ],
            cwd: target,
            env: testEnv(),
            clearEnv: true,
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
          const examples = fileURLToPath(
            import.meta.resolve("../../examples/"),
          );
          for (const name of ["cpmpy", "clingo", "regex"]) {
            for await (const entry of Deno.readDir(join(examples, name))) {
              assert.equal(
                await Deno.readTextFile(
                  join(target, "coder-examples", name, entry.name),
                ),
                await Deno.readTextFile(join(examples, name, entry.name)),
              );
            }
          }
        } finally {
          await Deno.remove(target, { recursive: true });
        }
      },
    );

    await t.step("no task exits 2", async () => {
      const run = await coder([], {
        cwd: dir,
        env: { OPENROUTER_API_KEY: "k-unused" },
      });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /No task given/);
    });

    await t.step(
      "a missing API key exits 1 with the setup commands",
      async () => {
        const run = await coder(["hello"], { cwd: dir });
        assert.equal(run.code, 1);
        assert.equal(run.stdout, "");
        assert.match(run.stderr, /mkdir -p ~\/.config\/coder/);
      },
    );

    await t.step(
      "--json --step-limit 1 exits 3 with one JSON document on stdout",
      async () => {
        await using server = startFakeOpenAI({
          replies: [
            toolCallsReply([{
              name: "python_exec",
              args: { code: "print('hi')" },
            }]),
          ],
        });
        const model = await writeFakeModel(dir, server.baseURL);
        const run = await coder([
          "--model",
          model,
          "--json",
          "--step-limit",
          "1",
          "loop",
        ], {
          cwd: dir,
          env: { FAKE_LLM_KEY: "sk-process-test" },
        });
        assert.equal(run.code, 3, run.stderr);
        const lines = run.stdout.trimEnd().split("\n");
        assert.equal(lines.length, 1);
        const summary = JSON.parse(lines[0]!);
        assert.equal(summary.status, "step_limit_reached");
        assert.equal(summary.log_path, join(dir, "log.jsonl"));
        assert.match(run.stderr, /python_exec: printing 'hi'/);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
