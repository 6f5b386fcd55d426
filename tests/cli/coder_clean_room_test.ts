/**
 * The clean-room check of `save_code` through `coder` (in-process, fake
 * model, real kernels): a program that relies on the session's state is
 * refused with the error and the fixed one is accepted; `--no-clean-room`
 * turns the check off; under `--sandbox` the clean-room run is sandboxed
 * too (it cannot see a host file that the unsandboxed run reads).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/coder.ts";
import { testEnv } from "../_helpers/agent_env.ts";
import {
  type RecordedRequest,
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";
import { memoryIo } from "../_helpers/memory_io.ts";

interface Run {
  code: number;
  stderr: string;
  requests: RecordedRequest[];
  dir: string;
}

/** Runs coder in a fresh directory under `base` against scripted replies. */
async function runCoder(
  base: string,
  flags: string[],
  replies: Record<string, unknown>[],
): Promise<Run> {
  const dir = await Deno.makeTempDir({ dir: base, prefix: "work_" });
  await using server = startFakeOpenAI({ replies });
  const model = await writeFakeModel(base, server.baseURL);
  const mem = memoryIo({
    cwd: dir,
    env: testEnv({
      XDG_CONFIG_HOME: join(base, ".config"),
      FAKE_LLM_KEY: "sk-clean-room-test",
      CODER_RETRY_DELAY_MS: "1",
    }),
  });
  const code = await main(["--model", model, ...flags, "Print 42"], mem.io);
  return { code, stderr: mem.stderr(), requests: [...server.requests], dir };
}

/** The tool results of the last request, parsed. */
function lastToolResults(run: Run): Record<string, unknown>[] {
  const messages = run.requests.at(-1)!.body.messages as {
    role: string;
    content: string;
  }[];
  return messages.filter((m) => m.role === "tool").map((m) =>
    JSON.parse(m.content)
  );
}

async function logRecords(dir: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(join(dir, "log.jsonl"))).trim().split("\n")
    .map((line) => JSON.parse(line));
}

const RELIES_ON_STATE = "print(helper())";
const SELF_CONTAINED = "def helper():\n    return 42\n\nprint(helper())";

function stateScript(): Record<string, unknown>[] {
  return [
    toolCallsReply([{
      name: "python_exec",
      args: { code: "def helper():\n    return 42\nprint(helper())" },
    }]),
    toolCallsReply([{ name: "save_code", args: { code: RELIES_ON_STATE } }]),
    toolCallsReply([{ name: "save_code", args: { code: SELF_CONTAINED } }]),
    textReply("Saved."),
  ];
}

async function assertRefusedThenAccepted(run: Run): Promise<void> {
  assert.equal(run.code, 0, run.stderr);
  const [exec, refused, accepted] = lastToolResults(run);
  assert.equal(exec?.stdout, "42\n", "the session itself has helper()");
  assert.equal(refused?.success, false);
  assert.match(String(refused?.error), /Clean-room check failed/);
  assert.match(
    String(refused?.error),
    /NameError: name 'helper' is not defined/,
  );
  assert.match(String(refused?.error), /Nothing was saved/);
  assert.equal(accepted?.success, true, JSON.stringify(accepted));
  assert.deepEqual(accepted?.clean_room, {
    ran_on_its_own: true,
    stdout: "42\n",
  });
  assert.equal(
    await Deno.readTextFile(join(run.dir, "solution.py")),
    `${SELF_CONTAINED}\n`,
  );
  // The log holds the session's cell and both clean-room runs.
  const log = await logRecords(run.dir);
  assert.equal(log.filter((e) => e.event === "python_exec").length, 1);
  const rooms = log.filter((e) => e.event === "clean_room");
  assert.deepEqual(rooms.map((e) => e.success), [false, true]);
  assert.match(String(rooms[0]?.error), /NameError/);
  assert.equal(rooms[1]?.stdout, "42\n");
}

Deno.test("coder save_code clean-room check", async (t) => {
  const base = await Deno.makeTempDir({ prefix: "coder_clean_room_" });
  try {
    await t.step(
      "refuses a program that relies on kernel state, accepts the fixed one",
      async () => {
        const run = await runCoder(base, [], stateScript());
        await assertRefusedThenAccepted(run);
      },
    );

    await t.step(
      "a refused save writes nothing (the first save had no file to keep)",
      async () => {
        const run = await runCoder(base, [], [
          toolCallsReply([{ name: "python_exec", args: { code: "y = 1" } }]),
          toolCallsReply([{ name: "save_code", args: { code: "print(y)" } }]),
          textReply("Gave up."),
        ]);
        assert.equal(run.code, 0, run.stderr);
        await assert.rejects(Deno.stat(join(run.dir, "solution.py")));
      },
    );

    await t.step(
      "runs with the builtins of python FILE: exit(0) ends well, IPython's display() is absent, another status is refused",
      async () => {
        const run = await runCoder(base, [], [
          toolCallsReply([{
            name: "save_code",
            args: { code: "import sys\nprint('bye')\nsys.exit(3)" },
          }]),
          toolCallsReply([{ name: "save_code", args: { code: "display(1)" } }]),
          toolCallsReply([{
            name: "save_code",
            args: { code: "print('bye')\nexit(0)" },
          }]),
          textReply("ok"),
        ]);
        const [three, display, zero] = lastToolResults(run);
        assert.equal(three?.success, false);
        assert.match(String(three?.error), /exited with status 3/);
        assert.equal(display?.success, false);
        assert.match(
          String(display?.error),
          /NameError: name 'display' is not defined/,
        );
        assert.equal(zero?.success, true, JSON.stringify(zero));
        assert.deepEqual(zero?.clean_room, {
          ran_on_its_own: true,
          stdout: "bye\n",
        });
      },
    );

    await t.step("--no-clean-room accepts the program as before", async () => {
      const run = await runCoder(base, ["--no-clean-room"], stateScript());
      assert.equal(run.code, 0, run.stderr);
      const [, first] = lastToolResults(run);
      assert.equal(first?.success, true);
      assert.equal(first?.clean_room, undefined);
      const log = await logRecords(run.dir);
      assert.equal(log.filter((e) => e.event === "clean_room").length, 0);
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("coder --sandbox runs the clean-room check sandboxed", async (t) => {
  const base = await Deno.makeTempDir({ prefix: "coder_clean_room_sbx_" });
  // A host file outside the working directory: the sandbox hides /tmp.
  const secretDir = await Deno.makeTempDir({
    prefix: "coder_clean_room_host_",
  });
  const secret = join(secretDir, "host.txt");
  await Deno.writeTextFile(secret, "HOST-ONLY-CONTENT");
  const probe = `import os\nprint("visible" if os.path.exists(${
    JSON.stringify(secret)
  }) else "hidden")`;
  const probeScript = () => [
    toolCallsReply([{ name: "save_code", args: { code: probe } }]),
    textReply("ok"),
  ];
  try {
    await t.step(
      "without --sandbox the clean-room run sees the host file",
      async () => {
        const run = await runCoder(base, [], probeScript());
        assert.equal(run.code, 0, run.stderr);
        const [saved] = lastToolResults(run);
        assert.deepEqual(saved?.clean_room, {
          ran_on_its_own: true,
          stdout: "visible\n",
        });
      },
    );

    await t.step("with --sandbox it does not", async () => {
      const run = await runCoder(base, ["--sandbox"], probeScript());
      assert.equal(run.code, 0, run.stderr);
      const [saved] = lastToolResults(run);
      assert.deepEqual(saved?.clean_room, {
        ran_on_its_own: true,
        stdout: "hidden\n",
      });
    });

    await t.step(
      "with --sandbox a program relying on kernel state is refused, the fixed one accepted",
      async () => {
        const run = await runCoder(base, ["--sandbox"], stateScript());
        await assertRefusedThenAccepted(run);
      },
    );
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(secretDir, { recursive: true });
  }
});
