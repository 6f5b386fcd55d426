/**
 * `coder --sandbox` as a process (the documented permission flags) against
 * the fake OpenAI server: it solves a scripted task, and its kernel cannot
 * read the API key, which the same script reads without `--sandbox`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CODER_PERMISSIONS } from "../../scripts/permissions.ts";
import { testEnv } from "../_helpers/agent_env.ts";
import {
  type RecordedRequest,
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";

const ENTRY = fileURLToPath(import.meta.resolve("../../src/cli/coder.ts"));
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const KEY = "sk-fake-SANDBOX-API-KEY-5d1e";

/** Kernel code: solves the task and reports what it could read of the key. */
const TASK_CODE = `import os
total = sum(range(1, 101))
open("answer.txt", "w").write(str(total))
found = []
for path in [os.path.expanduser("~/.config/coder/.env")]:
    try:
        found.append(open(path).read().strip())
    except OSError as e:
        found.append(type(e).__name__)
found += [f"{k}={v}" for k, v in os.environ.items() if "KEY" in k]
open("found.txt", "w").write(repr(found))
print("FOUND", found)`;

async function coder(
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...CODER_PERMISSIONS, ENTRY, ...args],
    cwd: options.cwd,
    env: testEnv(options.env),
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

/** The tool result the agent sent back to the model. */
function toolResults(requests: RecordedRequest[]): string {
  return requests.map((r) =>
    JSON.stringify(
      (r.body.messages as { role: string }[] | undefined ?? []).filter((m) =>
        m.role === "tool"
      ),
    )
  ).join("\n");
}

Deno.test("coder --sandbox", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "coder_sbx_home_" });
  const work = await Deno.makeTempDir({ prefix: "coder_sbx_work_" });
  await Deno.mkdir(join(home, ".config", "coder"), { recursive: true });
  await Deno.writeTextFile(
    join(home, ".config", "coder", ".env"),
    `FAKE_LLM_KEY=${KEY}\n`,
  );
  const env = { HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
  const run = async (sandbox: boolean) => {
    const dir = join(work, sandbox ? "sandboxed" : "local");
    await Deno.mkdir(dir);
    await using server = startFakeOpenAI({
      replies: [
        toolCallsReply([{ name: "python_exec", args: { code: TASK_CODE } }]),
        textReply("The sum is 5050."),
      ],
    });
    const model = await writeFakeModel(work, server.baseURL);
    const result = await coder(
      [...(sandbox ? ["--sandbox"] : []), "--model", model, "add 1..100"],
      { cwd: dir, env },
    );
    return {
      result,
      dir,
      sent: toolResults(server.requests),
      auth: server.requests[0]?.headers.get("authorization") ?? "",
    };
  };
  try {
    await t.step(
      "solves a scripted task; its kernel cannot read the API key",
      async () => {
        const { result, dir, sent, auth } = await run(true);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /5050/);
        assert.equal(auth, `Bearer ${KEY}`);
        assert.equal(await Deno.readTextFile(join(dir, "answer.txt")), "5050");
        assert.doesNotMatch(
          await Deno.readTextFile(join(dir, "found.txt")),
          /SANDBOX-API-KEY/,
        );
        assert.match(sent, /FOUND \['FileNotFoundError'\]/);
        assert.doesNotMatch(
          sent + result.stdout + result.stderr,
          /SANDBOX-API-KEY/,
        );
      },
    );

    await t.step(
      "without --sandbox the same script reads the key",
      async () => {
        const { result, dir, sent } = await run(false);
        assert.equal(result.code, 0, result.stderr);
        // The probe reads the key unsandboxed (coder masks it in what it
        // sends to the model, so look at what the kernel wrote).
        assert.match(
          await Deno.readTextFile(join(dir, "found.txt")),
          /SANDBOX-API-KEY/,
        );
        assert.doesNotMatch(sent, /SANDBOX-API-KEY/);
      },
    );

    await t.step(
      "links the kernel planted for solution.py, log.jsonl and solution.ipynb are replaced, never followed",
      async () => {
        const dir = join(work, "planted");
        await Deno.mkdir(dir);
        const victim = await Deno.makeTempDir({
          dir: REPO,
          prefix: ".victim_",
        });
        const targets = ["sitecustomize.py", "log.txt", "nb.txt"].map((name) =>
          join(victim, name)
        );
        for (const target of targets) {
          await Deno.writeTextFile(target, "original\n");
        }
        const plant =
          `import os\nfor name, target in zip(["solution.py", "log.jsonl", "solution.ipynb"], ${
            JSON.stringify(targets)
          }):\n    os.symlink(target, name)\nprint(sorted(os.listdir(".")))`;
        try {
          await using server = startFakeOpenAI({
            replies: [
              toolCallsReply([{ name: "python_exec", args: { code: plant } }]),
              toolCallsReply([{
                name: "save_code",
                args: { code: "print('owned')" },
              }]),
              textReply("Saved."),
            ],
          });
          const model = await writeFakeModel(work, server.baseURL);
          const result = await coder(
            ["--sandbox", "--model", model, "save something"],
            { cwd: dir, env },
          );
          assert.equal(result.code, 0, result.stderr);
          for (const target of targets) {
            assert.equal(await Deno.readTextFile(target), "original\n");
          }
          for (const name of ["solution.py", "log.jsonl", "solution.ipynb"]) {
            const info = await Deno.lstat(join(dir, name));
            assert.ok(
              info.isFile && !info.isSymlink,
              `${name} is a regular file`,
            );
          }
          assert.equal(
            await Deno.readTextFile(join(dir, "solution.py")),
            "print('owned')\n",
          );
        } finally {
          await Deno.remove(victim, { recursive: true });
        }
      },
    );

    await t.step("bwrap missing: exit 1 with what to install", async () => {
      const empty = await Deno.makeTempDir({ prefix: "coder_sbx_path_" });
      try {
        await using server = startFakeOpenAI({ replies: [] });
        const model = await writeFakeModel(work, server.baseURL);
        const result = await coder(["--sandbox", "--model", model, "task"], {
          cwd: work,
          env: { ...env, PATH: empty },
        });
        assert.equal(result.code, 1, result.stderr);
        assert.match(
          result.stderr,
          /bubblewrap \(bwrap\).*apt-get install bubblewrap/,
        );
        assert.equal(server.requests.length, 0);
      } finally {
        await Deno.remove(empty, { recursive: true });
      }
    });

    await t.step("a bad --memory-limit is a usage error (exit 2)", async () => {
      const model = await writeFakeModel(work, "http://127.0.0.1:9/v1");
      const result = await coder(
        ["--sandbox", "--memory-limit", "4X", "--model", model, "task"],
        {
          cwd: work,
          env,
        },
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /Invalid memory size "4X"/);
    });
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(work, { recursive: true });
  }
});
