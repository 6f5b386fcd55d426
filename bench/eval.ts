/**
 * Bench section `eval`: what `evaluateTasks` (`coder eval`) costs beyond the
 * model's and the code's own time, and how it scales with `jobs`.
 *
 * - Overhead: tasks whose model (a fake server on 127.0.0.1) answers at once
 *   with `save_code("print(1)")` then a final answer, run one at a time,
 *   against the floor any kernel-per-run design pays: a kernel started by
 *   the same (local) backend, one execution and shutdown, measured in the
 *   same run. With the
 *   clean-room check on, each save adds a second kernel.
 * - Scaling: 6 tasks whose code sleeps 1 s, with `jobs` 1 and 2 (2 cores on
 *   the build machine): the ratio of wall times (ideal 0.5x).
 *
 * @module
 */

import { join } from "node:path";
import {
  type EvalRecord,
  evaluateTasks,
  loadEvalTasks,
} from "../src/agent/mod.ts";
import { createLocalBackend, resolvePython } from "../src/kernel/mod.ts";
import { createChatClient, parseModelConfig } from "../src/llm/mod.ts";
import {
  startFakeOpenAI,
  textReply,
  toolCallsReply,
} from "../tests/_helpers/fake_openai.ts";
import { routeByTask, type TaskScript } from "../tests/_helpers/task_router.ts";
import {
  formatMs,
  formatRatio,
  median,
  type SectionInput,
  type SectionResult,
} from "./report.ts";

async function writeTasks(dir: string, names: string[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of names) {
    await Deno.writeTextFile(join(dir, `${name}.md`), `TASK-ID ${name}\n`);
  }
}

/** Wall time of one evaluation of `names` with the given scripts. */
async function evalWall(
  input: SectionInput,
  label: string,
  options: {
    names: string[];
    script: TaskScript;
    jobs: number;
    cleanRoom: boolean;
    python: string;
  },
): Promise<{ ms: number; records: EvalRecord[] }> {
  const dir = await Deno.makeTempDir({ dir: input.tmp, prefix: `${label}-` });
  await writeTasks(join(dir, "tasks"), options.names);
  const scripts = Object.fromEntries(
    options.names.map((name) => [name, options.script]),
  );
  await using server = startFakeOpenAI({ replies: routeByTask(scripts) });
  const llm = createChatClient({
    config: parseModelConfig("fake", {
      path: "fake/model",
      base_url: server.baseURL,
    }),
    apiKey: "bench",
    maxRetries: 0,
  });
  const tasks = await loadEvalTasks([join(dir, "tasks")], { cwd: dir });
  const records: EvalRecord[] = [];
  const t0 = performance.now();
  for await (
    const record of evaluateTasks(tasks, {
      outDir: join(dir, "out"),
      jobs: options.jobs,
      agent: {
        llm,
        launch: { env: input.env, python: options.python },
        cleanRoom: options.cleanRoom,
      },
    })
  ) records.push(record);
  const ms = performance.now() - t0;
  const bad = records.find((record) => record.status !== "solved");
  if (bad) throw new Error(`eval bench: ${JSON.stringify(bad)}`);
  return { ms, records };
}

async function bareKernelRun(
  input: SectionInput,
  python: string,
): Promise<number> {
  const backend = createLocalBackend({ env: input.env, python });
  const t0 = performance.now();
  const kernel = await backend.start({ cwd: input.tmp, packages: [] });
  try {
    await kernel.execute("print(1)");
  } finally {
    await kernel.shutdown();
  }
  return performance.now() - t0;
}

/**
 * Runs the section.
 *
 * @param input Environment, scratch directory, iteration count, progress log.
 * @returns Timings, the ratios, and the table rows.
 */
export async function benchEval(input: SectionInput): Promise<SectionResult> {
  const full = input.n >= 1000;
  const python = await resolvePython({ env: input.env });
  const tasks = full ? 6 : 3;
  const names = Array.from({ length: tasks }, (_, i) => `t${i}`);
  const quick: TaskScript = [
    toolCallsReply([{ name: "save_code", args: { code: "print(1)" } }]),
    textReply("done"),
  ];
  input.log("eval: bare kernel runs");
  const bareMs: number[] = [];
  for (let i = 0; i < tasks; i++) {
    bareMs.push(await bareKernelRun(input, python));
  }
  input.log("eval: overhead, clean room off");
  const off = await evalWall(input, "off", {
    names,
    script: quick,
    jobs: 1,
    cleanRoom: false,
    python,
  });
  input.log("eval: overhead, clean room on");
  const on = await evalWall(input, "on", {
    names,
    script: quick,
    jobs: 1,
    cleanRoom: true,
    python,
  });
  const sleepy: TaskScript = [
    toolCallsReply([{
      name: "python_exec",
      args: { code: "import time\ntime.sleep(1)" },
    }]),
    textReply("done"),
  ];
  const scaleNames = Array.from({ length: 6 }, (_, i) => `s${i}`);
  input.log("eval: 6 sleeping tasks, jobs 1");
  const one = await evalWall(input, "jobs1", {
    names: scaleNames,
    script: sleepy,
    jobs: 1,
    cleanRoom: false,
    python,
  });
  input.log("eval: 6 sleeping tasks, jobs 2");
  const two = await evalWall(input, "jobs2", {
    names: scaleNames,
    script: sleepy,
    jobs: 2,
    cleanRoom: false,
    python,
  });
  const bare = median(bareMs);
  const perTaskOff = off.ms / tasks;
  const perTaskOn = on.ms / tasks;
  const offOverBare = perTaskOff / bare;
  const onOverBare = perTaskOn / bare;
  const twoOverOne = two.ms / one.ms;
  return {
    data: {
      bareMs,
      offMs: off.ms,
      onMs: on.ms,
      tasks,
      jobs1Ms: one.ms,
      jobs2Ms: two.ms,
    },
    ratios: {
      eval_task_over_bare_kernel: offOverBare,
      eval_task_clean_room_over_bare_kernel: onOverBare,
      eval_jobs2_over_jobs1: twoOverOne,
    },
    rows: [
      {
        measurement:
          `eval per task, model answering at once (${tasks} tasks, jobs 1) / bare kernel start+exec+stop`,
        value: `${formatMs(perTaskOff)} / ${formatMs(bare)}`,
        compare: `${formatRatio(offOverBare)}, overhead ${
          formatMs(perTaskOff - bare)
        }`,
        target: `<= 1.5x: ${offOverBare <= 1.5 ? "pass" : "miss"}`,
      },
      {
        measurement: "same with the clean-room check (a 2nd kernel per save)",
        value: formatMs(perTaskOn),
        compare: `${formatRatio(onOverBare)} of bare`,
      },
      {
        measurement: "6 tasks sleeping 1 s: eval jobs 2 / jobs 1",
        value: `${formatMs(two.ms)} / ${formatMs(one.ms)}`,
        compare: formatRatio(twoOverOne),
        target: `<= 0.6x: ${twoOverOne <= 0.6 ? "pass" : "miss"}`,
      },
    ],
  };
}
