import assert from "node:assert/strict";
import { join } from "node:path";
import { assertValidNotebook } from "../_helpers/notebook.ts";
import { main } from "../../src/cli/coder.ts";
import { testEnv } from "../_helpers/agent_env.ts";
import {
  errorEnvelope,
  type FakeReply,
  type RecordedRequest,
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";
import { memoryIo } from "../_helpers/memory_io.ts";

/** A key distinctive enough to grep for in every output and file. */
const SECRET = "sk-or-v1-ZZ-distinctive-test-key-7f3a9c";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  requests: RecordedRequest[];
  dir: string;
}

/**
 * Runs `main(args, io)` in a fresh temp dir against a fake model server.
 * `MODEL` in args is replaced by the fake model file.
 */
async function runCoder(
  args: string[],
  replies: FakeReply[],
  options: {
    env?: Record<string, string>;
    input?: string;
    model?: Record<string, unknown>;
    setup?: (dir: string) => Promise<void>;
    check?: (run: Run) => Promise<void>;
  } = {},
): Promise<Run> {
  const dir = await Deno.makeTempDir({ prefix: "coder_cli_" });
  try {
    await using server = startFakeOpenAI({ replies });
    const model = await writeFakeModel(dir, server.baseURL, options.model);
    await options.setup?.(dir);
    const mem = memoryIo({
      cwd: dir,
      env: testEnv({
        XDG_CONFIG_HOME: join(dir, ".config"),
        FAKE_LLM_KEY: SECRET,
        CODER_RETRY_DELAY_MS: "1",
        ...options.env,
      }),
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
    const code = await main(
      args.map((a) => (a === "MODEL" ? model : a)),
      mem.io,
    );
    const run = {
      code,
      stdout: mem.stdout(),
      stderr: mem.stderr(),
      requests: server.requests,
      dir,
    };
    await options.check?.(run);
    return run;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function toolResults(request: RecordedRequest): Record<string, unknown>[] {
  return (request.body.messages as { role: string; content: string }[])
    .filter((m) => m.role === "tool")
    .map((m) => JSON.parse(m.content));
}

function systemPrompt(request: RecordedRequest): string {
  return (request.body.messages as { content: string }[])[0]!.content;
}

async function allFilesText(dir: string): Promise<string> {
  let text = "";
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) text += await allFilesText(path);
    else if (entry.isFile) text += await Deno.readTextFile(path);
  }
  return text;
}

Deno.test("coder with an inline task", async (t) => {
  await t.step(
    "writes solution.py and log.jsonl and prints progress, answer, stats",
    async () => {
      await runCoder(["--model", "MODEL", "Write fib"], [
        toolCallsReply([{
          name: "python_exec",
          args: {
            code:
              "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\nprint(fib(10))",
          },
        }]),
        toolCallsReply([{
          name: "save_code",
          args: { code: "def fib(n):\n    return n\n" },
        }]),
        textReply("Done: `fib(10)` is **55**."),
      ], {
        check: async ({ code, stdout, stderr, requests, dir }) => {
          assert.equal(code, 0, stderr);
          assert.equal(toolResults(requests[1]!)[0]?.stdout, "55\n");
          assert.equal(
            await Deno.readTextFile(join(dir, "solution.py")),
            "def fib(n):\n    return n\n",
          );
          const log = (await Deno.readTextFile(join(dir, "log.jsonl"))).trim()
            .split("\n")
            .map((line) => JSON.parse(line))
            // format 2's replay records are tested in replay_test.ts
            .filter((e) =>
              !["session", "llm_response", "tool_result", "clean_room"]
                .includes(e.event)
            );
          assert.deepEqual(log.map((e) => e.event), [
            "start",
            "python_exec",
            "tool_response",
            "save_code",
            "tool_response",
            "statistics",
            "complete",
          ]);
          assert.match(stdout, /Done: `fib\(10\)` is \*\*55\*\*\./);
          // The session notebook beside the log, valid for nbformat.
          const notebookPath = join(dir, "solution.ipynb");
          await assertValidNotebook(notebookPath);
          const notebook = JSON.parse(await Deno.readTextFile(notebookPath));
          assert.equal(notebook.cells.length, 1);
          assert.match(notebook.cells[0].source.join(""), /def fib/);
          assert.deepEqual(notebook.cells[0].outputs, [
            { output_type: "stream", name: "stdout", text: ["55\n"] },
          ]);
          assert.match(
            stderr,
            /python_exec: defining function fib\(\), printing fib\(10\)/,
          );
          assert.match(stderr, /save_code: saving the final program/);
          assert.match(stderr, /Tool calls: 2 \(python_exec 1, save_code 1\)/);
          assert.match(stderr, /Tokens: 45 \(input 30, output 15\)/);
          assert.match(
            stderr,
            new RegExp(`Log saved to: ${join(dir, "log.jsonl")}`),
          );
          assert.match(
            systemPrompt(requests[0]!),
            /<task>\nWrite fib\n<\/task>/,
          );
        },
      });
    },
  );

  await t.step("--quiet prints nothing", async () => {
    const run = await runCoder(["--model", "MODEL", "-q", "hi"], [
      textReply("hello"),
    ]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, "");
  });
});

Deno.test("coder --task FILE --dir DIR", async () => {
  await runCoder(
    ["--model", "MODEL", "--task", "problem.md", "--dir", "out/nested"],
    [
      toolCallsReply([{
        name: "python_exec",
        args: { code: "import os\nprint(os.getcwd())" },
      }]),
      toolCallsReply([{ name: "save_code", args: { code: "print(1)" } }]),
      textReply("ok"),
    ],
    {
      setup: (dir) =>
        Deno.writeTextFile(join(dir, "problem.md"), "# Problem\nPrint 1."),
      check: async ({ code, requests, dir, stderr }) => {
        assert.equal(code, 0, stderr);
        const out = join(dir, "out", "nested");
        assert.equal(toolResults(requests[1]!)[0]?.stdout, `${out}\n`);
        assert.equal(
          await Deno.readTextFile(join(out, "problem_code.py")),
          "print(1)\n",
        );
        assert.ok((await Deno.stat(join(out, "problem.jsonl"))).isFile);
        await assert.rejects(Deno.stat(join(dir, "solution.py")));
        assert.match(
          systemPrompt(requests[0]!),
          /<task>\n# Problem\nPrint 1.\n<\/task>/,
        );
      },
    },
  );
});

Deno.test("coder exit codes", async (t) => {
  await t.step("a persistent error envelope exits 1", async () => {
    const run = await runCoder(
      ["--model", "MODEL", "x"],
      Array(5).fill(errorEnvelope("boom")),
    );
    assert.equal(run.code, 1);
    assert.equal(run.requests.length, 4);
    assert.match(run.stderr, /retry 1\/3/);
    assert.match(run.stderr, /Error: .*boom/);
  });

  await t.step(
    "an envelope that clears up is retried and succeeds",
    async () => {
      const run = await runCoder(["--model", "MODEL", "x"], [
        errorEnvelope(),
        textReply("fine"),
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /fine/);
    },
  );

  await t.step("--step-limit 2 exits 3 with step_limit_reached", async () => {
    const loop = toolCallsReply([{
      name: "python_exec",
      args: { code: "pass" },
    }]);
    const run = await runCoder(
      ["--model", "MODEL", "--step-limit", "2", "--json", "loop"],
      [loop, loop, loop],
    );
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.requests.length, 2);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.status, "step_limit_reached");
    assert.equal(summary.stats.step_limit_reached, true);
    assert.equal(summary.final_response, null);
  });

  const usage: [string, string[], RegExp][] = [
    [
      "an unknown model",
      ["--model", "no-such-model", "x"],
      /no-such-model.*sonnet45/,
    ],
    ["an invalid --with spec", [
      "--model",
      "MODEL",
      "--with",
      "numpy; rm -rf /",
      "x",
    ], /numpy; rm -rf/],
    ["no task", ["--model", "MODEL"], /No task given/],
    ["an unknown flag", ["--bogus"], /bogus/],
    [
      "a missing task file",
      ["--model", "MODEL", "-t", "nope.md"],
      /Cannot read task file "nope.md"/,
    ],
    [
      "a missing project file",
      ["--model", "MODEL", "-p", "nope.md", "x"],
      /project file "nope.md"/,
    ],
  ];
  for (const [label, args, pattern] of usage) {
    await t.step(`${label} exits 2`, async () => {
      const run = await runCoder(args, []);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, pattern);
      assert.match(run.stderr, /--help/);
      assert.equal(run.requests.length, 0);
    });
  }
});

Deno.test("coder API key handling", async (t) => {
  await t.step("a missing key exits 1 with the setup commands", async () => {
    const run = await runCoder(["--model", "sonnet45", "x"], [], {
      env: { OPENROUTER_API_KEY: "" },
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /mkdir -p ~\/.config\/coder/);
    assert.match(run.stderr, /OPENROUTER_API_KEY=.*> ~\/.config\/coder\/.env/);
    assert.equal(run.requests.length, 0);
  });

  await t.step("a missing api_key_env key names the variable", async () => {
    const run = await runCoder(["--model", "MODEL", "x"], [], {
      env: { FAKE_LLM_KEY: "" },
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /FAKE_LLM_KEY/);
  });

  await t.step("the key is read from ~/.config/coder/.env", async () => {
    const run = await runCoder(["--model", "MODEL", "x"], [textReply("ok")], {
      model: { api_key_env: "OPENROUTER_API_KEY" },
      env: { OPENROUTER_API_KEY: "" },
      setup: async (dir) => {
        await Deno.mkdir(join(dir, ".config", "coder"), { recursive: true });
        await Deno.writeTextFile(
          join(dir, ".config", "coder", ".env"),
          `OPENROUTER_API_KEY="${SECRET}"\n`,
        );
      },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.requests[0]!.headers.get("authorization"),
      `Bearer ${SECRET}`,
    );
  });

  await t.step(
    "one lookup order for every model: --api-key, then .env, then the environment",
    async () => {
      const setup = async (dir: string) => {
        await Deno.mkdir(join(dir, ".config", "coder"), { recursive: true });
        await Deno.writeTextFile(
          join(dir, ".config", "coder", ".env"),
          `FAKE_LLM_KEY="sk-from-dotenv-file"\n`,
        );
      };
      const env = { FAKE_LLM_KEY: "sk-from-environment" };
      const fromFile = await runCoder(["--model", "MODEL", "x"], [
        textReply("ok"),
      ], { env, setup });
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(
        fromFile.requests[0]!.headers.get("authorization"),
        "Bearer sk-from-dotenv-file",
      );
      const fromFlag = await runCoder(
        [
          "--model",
          "MODEL",
          "--api-key",
          "sk-from-flag",
          "x",
        ],
        [textReply("ok")],
        { env, setup },
      );
      assert.equal(
        fromFlag.requests[0]!.headers.get("authorization"),
        "Bearer sk-from-flag",
      );
      const fromEnv = await runCoder(["--model", "MODEL", "x"], [
        textReply("ok"),
      ], { env });
      assert.equal(
        fromEnv.requests[0]!.headers.get("authorization"),
        "Bearer sk-from-environment",
      );
    },
  );

  await t.step(
    "the key never appears in output, logs or files, nor in the kernel env",
    async () => {
      const leak = `import os\nprint(os.environ.get("FAKE_LLM_KEY"))\nprint(${
        JSON.stringify(SECRET)
      })`;
      await runCoder([
        "--model",
        "MODEL",
        "--api-key",
        SECRET,
        "--json",
        `task mentioning ${SECRET}`,
      ], [
        toolCallsReply([{ name: "python_exec", args: { code: leak } }]),
        toolCallsReply([{ name: "save_code", args: { code: "print(2)" } }]),
        textReply(`answer quoting ${SECRET}`),
      ], {
        env: { CODER_VERBOSE: "1" },
        check: async ({ code, stdout, stderr, requests, dir }) => {
          assert.equal(code, 0, stderr);
          assert.equal(
            requests[0]!.headers.get("authorization"),
            `Bearer ${SECRET}`,
          );
          assert.equal(
            toolResults(requests[1]!)[0]?.stdout,
            "None\n[REDACTED]\n",
          );
          assert.match(stderr, /Model configuration/);
          assert.ok(!stdout.includes(SECRET), "stdout leaks the key");
          assert.ok(!stderr.includes(SECRET), "stderr leaks the key");
          assert.ok(
            !(await allFilesText(dir)).includes(SECRET),
            "a file leaks the key",
          );
          assert.match(
            await Deno.readTextFile(join(dir, "log.jsonl")),
            /\[REDACTED\]/,
          );
          // The session notebook masks it as the log does.
          const notebook = await Deno.readTextFile(join(dir, "solution.ipynb"));
          assert.match(notebook, /\[REDACTED\]/);
          assert.ok(!notebook.includes(SECRET));
        },
      });
    },
  );
});

Deno.test("coder --json prints one parsable summary", async () => {
  await runCoder(["--model", "MODEL", "--json", "x"], [
    toolCallsReply([{ name: "save_code", args: { code: "print(3)" } }], {
      prompt_tokens: 10,
      completion_tokens: 5,
      cost: 0.5,
    }),
    textReply("# Result\n\nThree.", "stop", {
      prompt_tokens: 20,
      completion_tokens: 5,
      cost: 0.25,
    }),
  ], {
    check: ({ code, stdout, dir }) => {
      assert.equal(code, 0);
      const summary = JSON.parse(stdout);
      assert.deepEqual(Object.keys(summary).sort(), [
        "files_written",
        "final_response",
        "log_path",
        "stats",
        "status",
      ]);
      assert.equal(summary.status, "success");
      assert.equal(summary.final_response, "# Result\n\nThree.");
      assert.deepEqual(summary.files_written.sort(), [
        join(dir, "log.jsonl"),
        join(dir, "solution.ipynb"),
        join(dir, "solution.py"),
      ]);
      assert.equal(summary.log_path, join(dir, "log.jsonl"));
      assert.equal(summary.stats.cost_usd, 0.75);
      assert.deepEqual(summary.stats.token_consumption, {
        input_tokens: 30,
        output_tokens: 10,
        total_tokens: 40,
      });
      assert.deepEqual(summary.stats.tool_usage, { save_code: 1 });
      return Promise.resolve();
    },
  });
});

Deno.test("coder request shape", async (t) => {
  await t.step(
    "carries path, sampling params and extras from the model JSON",
    async () => {
      const run = await runCoder(["--model", "MODEL", "x"], [textReply("ok")], {
        model: {
          path: "vendor/special-model",
          temperature: 0.42,
          max_tokens: 1234,
          top_p: 0.8,
          top_k: 11,
          provider: { only: ["groq"] },
          reasoning: { effort: "high" },
        },
      });
      assert.equal(run.code, 0, run.stderr);
      const body = run.requests[0]!.body;
      assert.equal(body.model, "vendor/special-model");
      assert.equal(body.temperature, 0.42);
      assert.equal(body.max_tokens, 1234);
      assert.equal(body.top_p, 0.8);
      assert.equal(body.top_k, 11);
      assert.deepEqual(body.provider, { only: ["groq"] });
      assert.deepEqual(body.reasoning, { effort: "high" });
      assert.equal(body.tool_choice, "auto");
      assert.equal(run.requests[0]!.headers.get("x-title"), null);
    },
  );

  await t.step(
    "--todo offers todo_write and its validation errors reach the model",
    async () => {
      const run = await runCoder(["--model", "MODEL", "--todo", "x"], [
        toolCallsReply([{
          name: "todo_write",
          args: { todos: [{ id: "1", content: "a" }] },
        }]),
        textReply("ok"),
      ]);
      assert.equal(run.code, 0, run.stderr);
      const tools =
        (run.requests[0]!.body.tools as { function: { name: string } }[])
          .map((tool) => tool.function.name);
      assert.deepEqual(tools, ["python_exec", "save_code", "todo_write"]);
      const [result] = toolResults(run.requests[1]!);
      assert.equal(result?.success, false);
      assert.match(
        String(result?.error),
        /^Invalid arguments for todo_write: todos\[0\]\.status: must be one of pending, in_progress, completed; todos\[0\]\.priority: must be one of high, medium, low\./,
      );
      assert.match(systemPrompt(run.requests[0]!), /todo_write/);
      // The JSON schemas the model sees are generated from the zod schemas.
      const parameters = Object.fromEntries(
        (run.requests[0]!.body.tools as {
          function: { name: string; parameters: Record<string, unknown> };
        }[]).map((tool) => [tool.function.name, tool.function.parameters]),
      );
      assert.deepEqual(parameters.python_exec, {
        type: "object",
        properties: {
          code: {
            type: "string",
            description: "Python code to run (may span many lines).",
          },
        },
        required: ["code"],
        additionalProperties: false,
      });
      const item = (parameters.todo_write as {
        properties: { todos: { items: Record<string, unknown> } };
      }).properties.todos.items;
      assert.deepEqual(item.required, ["id", "content", "status", "priority"]);
      assert.deepEqual(
        (item.properties as { status: { enum: string[] } }).status.enum,
        ["pending", "in_progress", "completed"],
      );
    },
  );

  await t.step(
    "a project file's unavailable package is named in the system prompt",
    async () => {
      const run = await runCoder(["--model", "MODEL", "-p", "proj.md", "x"], [
        textReply("ok"),
      ], {
        setup: (dir) =>
          Deno.writeTextFile(
            join(dir, "proj.md"),
            "```packages\njson\nno_such_package_qq\n```\n\nUse the json module for output.\n",
          ),
      });
      assert.equal(run.code, 0, run.stderr);
      const prompt = systemPrompt(run.requests[0]!);
      assert.match(prompt, /Use the json module for output\./);
      assert.match(prompt, /NOT available[\s\S]*`no_such_package_qq`/);
      assert.doesNotMatch(prompt, /```packages/);
      assert.match(run.stderr, /package "no_such_package_qq" is not available/);
    },
  );
});

Deno.test("coder -i keeps state and conversation across turns", async () => {
  await runCoder(["--model", "MODEL", "-i"], [
    toolCallsReply([{
      name: "python_exec",
      args: { code: "secret_number = 1234" },
    }]),
    textReply("Stored."),
    toolCallsReply([{
      name: "python_exec",
      args: { code: "print(secret_number + 1)" },
    }]),
    textReply("It is 1235."),
  ], {
    input: "store a number\n\nprint it plus one\nexit\nnever sent\n",
    check: async ({ code, stdout, stderr, requests, dir }) => {
      assert.equal(code, 0, stderr);
      assert.equal(requests.length, 4);
      assert.equal(toolResults(requests[3]!)[1]?.stdout, "1235\n");
      const users =
        (requests[3]!.body.messages as { role: string; content: string }[])
          .filter((m) => m.role === "user").map((m) => m.content);
      assert.deepEqual(users, ["store a number", "print it plus one"]);
      assert.equal(
        stdout.match(/You: /g)?.length,
        4,
        "one prompt per line read",
      );
      assert.match(stdout, /Stored\.[\s\S]*It is 1235\./);
      assert.match(stderr, /Tool calls: 2 \(python_exec 2\)/);
      const log = (await Deno.readTextFile(join(dir, "log.jsonl"))).trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      assert.equal(log.filter((e) => e.event === "start").length, 2);
      assert.equal(log.filter((e) => e.event === "complete").length, 2);
    },
  });
});

Deno.test("coder --init copies templates and skips existing ones", async () => {
  await runCoder(["--init", "regex"], [], {
    check: async ({ code, stdout, dir }) => {
      assert.equal(code, 0);
      assert.match(stdout, /Copied coder-examples\/regex\/regex\.md/);
      const again = memoryIo({ cwd: dir, env: testEnv() });
      assert.equal(await main(["--init", "regex"], again.io), 0);
      assert.match(again.stdout(), /Skipped coder-examples\/regex\/regex\.md/);
      assert.match(again.stdout(), /0 file\(s\) copied/);
      const bad = memoryIo({ cwd: dir, env: testEnv() });
      assert.equal(await main(["--init", "nonsense"], bad.io), 2);
      assert.match(bad.stderr(), /nonsense/);
    },
  });
});

Deno.test("coder mcp dispatches to the MCP server", async () => {
  const mem = memoryIo({ cwd: Deno.cwd(), env: testEnv() });
  assert.equal(await main(["mcp", "--help"], mem.io), 0);
  assert.match(mem.stdout(), /ipython_mcp/);
});
