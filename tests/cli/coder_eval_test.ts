/**
 * `coder eval` in-process against the fake model (real kernels): records,
 * summary table, exit code, validators, isolation of runs, --runs, --jobs
 * (proved by two tasks that can only finish together), resume, progress,
 * and the validator's no-follow copy of a solution under --sandbox.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { EvalRecord } from "../../src/agent/mod.ts";
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
import { spawnCoder } from "../_helpers/coder_process.ts";
import {
  routeByTask,
  taskOf,
  type TaskScript,
} from "../_helpers/task_router.ts";

interface EvalRun {
  code: number;
  stdout: string;
  stderr: string;
  requests: RecordedRequest[];
}

async function coderEval(
  base: string,
  args: string[],
  scripts: Record<string, TaskScript>,
  options: { isTerminal?: boolean } = {},
): Promise<EvalRun> {
  await using server = startFakeOpenAI({ replies: routeByTask(scripts) });
  const model = await writeFakeModel(base, server.baseURL);
  const mem = memoryIo({
    cwd: base,
    env: testEnv({
      XDG_CONFIG_HOME: join(base, ".config"),
      FAKE_LLM_KEY: "sk-eval-test-key",
      CODER_RETRY_DELAY_MS: "1",
    }),
    ...(options.isTerminal ? { isTerminal: true } : {}),
  });
  const code = await main(["eval", "--model", model, ...args], mem.io);
  return {
    code,
    stdout: mem.stdout(),
    stderr: mem.stderr(),
    requests: [...server.requests],
  };
}

async function readRecords(path: string): Promise<EvalRecord[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").map((line) =>
    JSON.parse(line)
  );
}

/** Prints whether `x` is already defined and the cwd, then defines it. */
const PROBE = "import os\nprint('x' in globals(), os.getcwd())\nx = 1";

const SCRIPTS: Record<string, TaskScript> = {
  good: [
    toolCallsReply([{ name: "python_exec", args: { code: PROBE } }]),
    toolCallsReply([{ name: "save_code", args: { code: "print(6 * 7)" } }]),
    textReply("Prints 42."),
  ],
  wrong: [
    toolCallsReply([{ name: "python_exec", args: { code: PROBE } }]),
    toolCallsReply([{ name: "save_code", args: { code: "print(41)" } }]),
    textReply("Prints 41."),
  ],
  loop: [1, 2, 3, 4].map((n) =>
    toolCallsReply([{ name: "python_exec", args: { code: `${n}` } }])
  ),
  broken: [{
    status: 400,
    body: { error: { message: "bad request for broken" } },
  }],
};

const GOOD_VALIDATOR = `import os, subprocess, sys
path = sys.argv[1]
assert path == os.environ["CODER_SOLUTION"], "path and CODER_SOLUTION differ"
assert not path.startswith(os.getcwd()), "got the run's own file, not a copy"
out = subprocess.run([sys.executable, path], capture_output=True, text=True).stdout
print("validator saw", out.strip())
sys.exit(0 if out.strip() == "42" else 1)
`;

async function writeTasks(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of Object.keys(SCRIPTS)) {
    await Deno.writeTextFile(
      join(dir, `${name}.md`),
      `TASK-ID ${name}\nPrint 42.\n`,
    );
  }
  await Deno.writeTextFile(join(dir, "good.validate.py"), GOOD_VALIDATOR);
}

Deno.test("coder eval", async (t) => {
  const base = await Deno.makeTempDir({ prefix: "coder_eval_" });
  const tasks = join(base, "tasks");
  const out = join(base, "out");
  const results = join(out, "results.jsonl");
  const args = [
    "tasks",
    "--runs",
    "2",
    "--jobs",
    "2",
    "--step-limit",
    "3",
    "--validate",
    "grep -q 42",
    "--out",
    "out",
  ];
  try {
    await writeTasks(tasks);

    await t.step(
      "records every run, prints the table, exits 1 when a run fails",
      async () => {
        const run = await coderEval(base, args, SCRIPTS);
        assert.equal(run.code, 1, run.stderr);
        assert.doesNotMatch(run.stderr, /eval: /, "no progress without a TTY");
        const records = await readRecords(results);
        assert.equal(records.length, 8);
        const of = (task: string) =>
          records.filter((r) => r.task === task).sort((a, b) => a.run - b.run);
        for (const record of of("good")) {
          assert.equal(record.status, "solved");
          assert.equal(record.model, "fake/model");
          assert.equal(record.steps, 3);
          assert.equal(record.tokens.total_tokens, 45);
          assert.equal(record.final_response, "Prints 42.");
          // good.validate.py overrides --validate (grep finds no "42" in "print(6 * 7)").
          assert.equal(record.validation?.valid, true, JSON.stringify(record));
          assert.match(record.validation!.output_tail, /validator saw 42/);
          assert.equal(record.dir, join(out, "good", `run-${record.run}`));
          assert.equal(record.solution, join(record.dir, "good_code.py"));
          assert.ok(record.wall_time_seconds > 0);
        }
        assert.deepEqual(of("good").map((r) => r.run), [1, 2]);
        for (const record of of("wrong")) {
          assert.equal(record.status, "solved");
          assert.equal(record.validation?.valid, false);
          assert.equal(record.validation?.exit_code, 1);
        }
        for (const record of of("loop")) {
          assert.equal(record.status, "step_limit");
          assert.equal(record.steps, 3);
          assert.equal(record.validation, null);
        }
        for (const record of of("broken")) {
          assert.equal(record.status, "error");
          assert.match(String(record.error), /bad request for broken/);
        }
        // Each run had a kernel of its own, in its own directory.
        const probes = run.requests.filter((r) =>
          ["good", "wrong"].includes(taskOf(r) ?? "") &&
          (r.body.messages as unknown[]).length === 4
        ).map((r) => {
          const tool = (r.body.messages as { role: string; content: string }[])
            .find((m) => m.role === "tool")!;
          return JSON.parse(tool.content).stdout;
        }).sort();
        assert.deepEqual(probes, [
          `False ${join(out, "good", "run-1")}\n`,
          `False ${join(out, "good", "run-2")}\n`,
          `False ${join(out, "wrong", "run-1")}\n`,
          `False ${join(out, "wrong", "run-2")}\n`,
        ]);
        // Each run keeps its files: code, log, notebook.
        assert.ok(
          (await Deno.stat(join(out, "good", "run-2", "good.jsonl"))).isFile,
        );
        // The table: one row per task, then the total.
        assert.match(
          run.stdout,
          /task\s+runs\s+solved\s+validated\s+failed\s+errors\s+tokens\s+cost/,
        );
        assert.match(run.stdout, /\ngood\s+2\s+2\s+2\s+0\s+0\s+90\s+-\n/);
        assert.match(run.stdout, /\nwrong\s+2\s+2\s+0\s+2\s+0\s+90\s+-\n/);
        assert.match(run.stdout, /\nloop\s+2\s+0\s+0\s+2\s+0\s+90\s+-\n/);
        assert.match(run.stdout, /\nbroken\s+2\s+0\s+0\s+0\s+2\s+0\s+-\n/);
        assert.match(run.stdout, /\ntotal\s+8\s+4\s+2\s+4\s+2\s+270\s+-\n/);
        assert.match(run.stdout, /2\/8 runs passed/);
      },
    );

    await t.step("the same --out again reruns only the errors", async () => {
      const run = await coderEval(base, args, SCRIPTS);
      assert.equal(run.code, 1);
      assert.deepEqual(
        [...new Set(run.requests.map(taskOf))],
        ["broken"],
        "finished runs are not run again",
      );
      const records = await readRecords(results);
      assert.equal(records.length, 10);
      assert.deepEqual(records.slice(8).map((r) => [r.task, r.status]).sort(), [
        ["broken", "error"],
        ["broken", "error"],
      ]);
      assert.match(run.stdout, /\ngood\s+2\s+2\s+2\s+0\s+0\s+90/);
    });

    await t.step("--json prints one summary instead of the table", async () => {
      const run = await coderEval(base, [...args, "--json"], SCRIPTS);
      assert.equal(run.code, 1);
      const summary = JSON.parse(run.stdout);
      assert.equal(summary.status, "failed");
      assert.equal(summary.runs, 8);
      assert.equal(summary.passed, 2);
      assert.equal(summary.resumed, 6);
      assert.equal(summary.results_file, results);
      assert.deepEqual(summary.tasks.map((row: { task: string }) => row.task), [
        "broken",
        "good",
        "loop",
        "wrong",
      ]);
    });

    await t.step(
      "exit 0 when every run passed; progress on a terminal",
      async () => {
        const run = await coderEval(
          base,
          [join(tasks, "good.md"), "--out", "out-good"],
          SCRIPTS,
          { isTerminal: true },
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /eval: 0\/1 done, 1 running, 0 waiting/);
        assert.match(
          run.stderr,
          /eval: 1\/1 done, 0 running, 0 waiting, about \d+s left/,
        );
        assert.match(run.stdout, /1\/1 runs passed/);
      },
    );

    await t.step("coder eval --help prints the options", async () => {
      const run = await coderEval(base, ["--help"], SCRIPTS);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /coder eval DIR\|FILE\.\.\. \[OPTIONS\]/);
      assert.match(run.stdout, /--validate CMD/);
    });

    await t.step(
      "no API key: exit 1 with the setup hint, a JSON error",
      async () => {
        const mem = memoryIo({
          cwd: base,
          env: testEnv({ XDG_CONFIG_HOME: join(base, ".config") }),
        });
        const model = await writeFakeModel(base, "http://127.0.0.1:9/v1");
        const code = await main(
          ["eval", "--model", model, "tasks", "--json"],
          mem.io,
        );
        assert.equal(code, 1);
        assert.match(mem.stderr(), /no API key found.*FAKE_LLM_KEY/s);
        assert.deepEqual(JSON.parse(mem.stdout()), {
          status: "error",
          error: "no API key (FAKE_LLM_KEY)",
        });
      },
    );

    await t.step("usage errors exit 2 with the reason", async () => {
      for (
        const [argv, pattern] of [
          [[], /needs task files or directories/],
          [["missing-dir"], /Cannot find "missing-dir"/],
          [["tasks", "--jobs", "0"], /Invalid --jobs "0"/],
          [["tasks", "--frob"], /frob/],
        ] as const
      ) {
        const run = await coderEval(base, [...argv], SCRIPTS);
        assert.equal(run.code, 2, argv.join(" "));
        assert.match(run.stderr, pattern);
      }
    });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

/** Creates its own file, then waits (bounded) for the other task's file. */
function meetCode(shared: string, mine: string, theirs: string): string {
  return `import os, time
open(${JSON.stringify(join(shared, mine))}, "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(${JSON.stringify(join(shared, theirs))}):
    if time.monotonic() > deadline:
        raise TimeoutError("the other task never ran at the same time")
    time.sleep(0.02)
print("met")`;
}

Deno.test("coder eval --jobs 2 runs two tasks at once", async () => {
  const base = await Deno.makeTempDir({ prefix: "coder_eval_jobs_" });
  try {
    const shared = join(base, "shared");
    await Deno.mkdir(shared);
    await Deno.mkdir(join(base, "tasks"));
    for (const name of ["ping", "pong"]) {
      await Deno.writeTextFile(
        join(base, "tasks", `${name}.md`),
        `TASK-ID ${name}\n`,
      );
    }
    const script = (mine: string, theirs: string): TaskScript => [
      toolCallsReply([{
        name: "python_exec",
        args: { code: meetCode(shared, mine, theirs) },
      }]),
      textReply("met"),
    ];
    const run = await coderEval(
      base,
      ["tasks", "--jobs", "2", "--no-clean-room"],
      { ping: script("ping", "pong"), pong: script("pong", "ping") },
    );
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const met = run.requests.filter((r) =>
      (r.body.messages as { role: string; content: string }[]).some((m) =>
        m.role === "tool" && JSON.parse(m.content).stdout === "met\n"
      )
    ).map(taskOf).sort();
    assert.deepEqual(met, ["ping", "pong"]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("coder eval --sandbox validates a copy, never a planted link", async () => {
  const base = await Deno.makeTempDir({ prefix: "coder_eval_link_" });
  const hostDir = await Deno.makeTempDir({ prefix: "coder_eval_host_" });
  try {
    const secret = join(hostDir, "secret.txt");
    await Deno.writeTextFile(secret, "HOST-SECRET-7731\n");
    await Deno.mkdir(join(base, "tasks"));
    await Deno.writeTextFile(join(base, "tasks", "evil.md"), "TASK-ID evil\n");
    // After a clean save, the kernel swaps the solution for a link to a host
    // file (hidden inside the sandbox, present on the host).
    const plant = `import os
os.remove("evil_code.py")
os.symlink(${JSON.stringify(secret)}, "evil_code.py")
print(os.path.islink("evil_code.py"))`;
    const run = await coderEval(
      base,
      ["tasks", "--sandbox", "--validate", "cat", "--json"],
      {
        evil: [
          toolCallsReply([{ name: "save_code", args: { code: "print(42)" } }]),
          toolCallsReply([{ name: "python_exec", args: { code: plant } }]),
          textReply("done"),
        ],
      },
    );
    assert.equal(run.code, 1, run.stderr);
    const [record] = await readRecords(
      join(base, "coder-eval", "results.jsonl"),
    );
    assert.equal(record?.status, "solved");
    const planted = join(record!.dir, "evil_code.py");
    // The attack is real: a host read that follows the link gets the secret.
    assert.ok((await Deno.lstat(planted)).isSymlink);
    assert.equal(await Deno.readTextFile(planted), "HOST-SECRET-7731\n");
    // The validator never saw it.
    assert.equal(record?.validation?.valid, false);
    assert.match(String(record?.validation?.error), /not a regular file/);
    assert.doesNotMatch(JSON.stringify(record), /HOST-SECRET/);
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(hostDir, { recursive: true });
  }
});

Deno.test("coder eval stopped by SIGINT, then resumed", async () => {
  const base = await Deno.makeTempDir({ prefix: "coder_eval_sigint_" });
  try {
    await Deno.mkdir(join(base, "tasks"));
    for (const name of ["quick", "slow"]) {
      await Deno.writeTextFile(
        join(base, "tasks", `${name}.md`),
        `TASK-ID ${name}\n`,
      );
    }
    const solve: TaskScript = [
      toolCallsReply([{ name: "save_code", args: { code: "print(1)" } }]),
      textReply("done"),
    ];
    const { promise: slowAsked, resolve } = Promise.withResolvers<void>();
    const routed = routeByTask({
      quick: solve,
      slow: [
        toolCallsReply([{
          name: "python_exec",
          args: { code: "import time\ntime.sleep(120)" },
        }]),
      ],
    });
    const replies = routed.map((reply) =>
      typeof reply === "function"
        ? (request: RecordedRequest, index: number) => {
          if (taskOf(request) === "slow") resolve();
          return reply(request, index);
        }
        : reply
    );
    {
      await using server = startFakeOpenAI({ replies });
      const model = await writeFakeModel(base, server.baseURL);
      await using child = spawnCoder(
        ["eval", "--model", model, "tasks", "--no-clean-room"],
        {
          cwd: base,
          env: testEnv({
            XDG_CONFIG_HOME: join(base, ".config"),
            FAKE_LLM_KEY: "sk-eval-test-key",
          }),
        },
      );
      await slowAsked;
      child.kill("SIGINT");
      const { status, stderr } = await child.done;
      assert.equal(status.code, 130, stderr);
    }
    const records = await readRecords(
      join(base, "coder-eval", "results.jsonl"),
    );
    assert.deepEqual(records.map((r) => [r.task, r.status]), [
      ["quick", "solved"],
      ["slow", "interrupted"],
    ]);
    const run = await coderEval(base, ["tasks", "--no-clean-room"], {
      quick: solve,
      slow: solve,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([...new Set(run.requests.map(taskOf))], ["slow"]);
    assert.match(run.stdout, /2\/2 runs passed/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
