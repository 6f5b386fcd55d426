/**
 * Evaluation of many tasks: every (task, run) gets its own directory and its
 * own agent with its own kernel, up to `jobs` at once; each finished run is
 * appended to `results.jsonl` and yielded as an {@linkcode EvalRecord}. An
 * evaluation over the same output directory again skips the runs already
 * finished and runs errors and interrupted runs again.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { getOpenrouterLlm } from "../llm/mod.ts";
import type { CodingAgent } from "./agent.ts";
import type { CodingAgentOptions } from "./agent_options.ts";
import { createCodingAgent } from "./create.ts";
import {
  type EvalRecord,
  type EvalStatus,
  isFinished,
  readEvalResults,
  runKey,
} from "./eval_results.ts";
import type { EvalTask } from "./eval_tasks.ts";
import { TASK_KICKOFF } from "./prompt.ts";
import { SecretMasker } from "./secrets.ts";
import { emptyStats } from "./stats.ts";
import { validateSolution, type ValidationResult } from "./validate.ts";

/** Name of the records file in the output directory. */
export const RESULTS_FILE = "results.jsonl";

/** Progress of an evaluation (for a status line). */
export interface EvalProgress {
  /** Runs in this evaluation (skipped ones included). */
  total: number;
  /** Runs finished (skipped ones included). */
  done: number;
  /** Runs in progress. */
  running: number;
  /** Runs not started yet. */
  left: number;
  /** Estimated seconds until the end, or null before the first run ended. */
  etaSeconds: number | null;
}

/** Options of {@linkcode evaluateTasks}. */
export interface EvaluateOptions {
  /** Output directory: `results.jsonl` and one directory per run (created when missing). */
  outDir: string;
  /** Runs at once (default 1). */
  jobs?: number;
  /** Runs per task (default 1). */
  runs?: number;
  /**
   * Options of every run's agent (model or `llm`, key, env, backend,
   * packages, project prompt, todo, step limit, clean room...). The working
   * directory, task and file names are set per run.
   */
  agent?: Omit<
    CodingAgentOptions,
    "workingDirectory" | "task" | "taskBasename" | "signal" | "kernel"
  >;
  /** Environment of validators (plus `CODER_SOLUTION`); default: only `PATH` of `agent.env`. */
  validatorEnv?: Record<string, string>;
  /** Deadline of one validator run (default 300 s). */
  validateTimeoutMs?: number;
  /** Called whenever a run starts or ends. */
  onProgress?: (progress: EvalProgress) => void;
  /** Stops the evaluation: running runs are recorded as interrupted, queued ones not started. */
  signal?: AbortSignal;
}

interface Job {
  task: EvalTask;
  run: number;
}

function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Runs every task `runs` times, `jobs` at once, and streams one record per
 * run as it ends (after it was appended to `OUT/results.jsonl`). Runs
 * already finished in `OUT` (solved, step limit, failed validation) are not
 * run again: their records come first, marked `resumed`. Each run works in
 * `OUT/TASK/run-N/` with a kernel of its own (the directory is emptied first
 * when a run is repeated); a validator runs after that kernel is shut down,
 * on a copy of the solution (see `validate.ts`).
 *
 * @param tasks The tasks (see `loadEvalTasks`).
 * @param options Output directory, jobs, runs, agent options, signal.
 * @returns The records, as an async stream.
 * @throws {RangeError} For `jobs` or `runs` below 1.
 * @throws {MissingApiKeyError} When neither `agent.llm` nor a key is given.
 *
 * @example Evaluate a directory of tasks
 * ```ts
 * import { evaluateTasks, loadEvalTasks } from "./mod.ts";
 * const tasks = await loadEvalTasks(["examples/eval"], { cwd: Deno.cwd() });
 * for await (const record of evaluateTasks(tasks, {
 *   outDir: "coder-eval",
 *   jobs: 2,
 *   agent: { model: "sonnet45", env: Deno.env.toObject() },
 * })) {
 *   console.log(record.task, record.run, record.status, record.validation?.valid);
 * }
 * ```
 */
export async function* evaluateTasks(
  tasks: readonly EvalTask[],
  options: EvaluateOptions,
): AsyncGenerator<EvalRecord> {
  const jobs = options.jobs ?? 1;
  const runs = options.runs ?? 1;
  for (const [name, value] of [["jobs", jobs], ["runs", runs]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(
        `Invalid ${name} ${value}: expected an integer >= 1`,
      );
    }
  }
  const outDir = resolve(options.outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const resultsPath = join(outDir, RESULTS_FILE);
  const previous = await readEvalResults(resultsPath);
  const agentOptions = options.agent ?? {};
  const masker = agentOptions.masker ?? new SecretMasker();
  const llm = agentOptions.llm ?? await getOpenrouterLlm(agentOptions.model, {
    env: agentOptions.env ?? {},
    ...(agentOptions.apiKey ? { apiKey: agentOptions.apiKey } : {}),
  });

  const skipped: EvalRecord[] = [];
  const queue: Job[] = [];
  for (const task of tasks) {
    for (let run = 1; run <= runs; run++) {
      const before = previous.get(runKey(task.name, run));
      if (before && isFinished(before)) skipped.push(before);
      else queue.push({ task, run });
    }
  }
  const total = skipped.length + queue.length;
  for (const record of skipped) yield { ...record, resumed: true };

  const stop = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, stop.signal])
    : stop.signal;
  const started = performance.now();
  let done = skipped.length;
  let doneHere = 0;
  let running = 0;
  const progress = (): void => {
    const left = queue.length;
    const elapsed = (performance.now() - started) / 1000;
    options.onProgress?.({
      total,
      done,
      running,
      left,
      etaSeconds: doneHere === 0
        ? null
        : Math.round(elapsed / doneHere * (left + running)),
    });
  };

  // Appends are serialized; a file cut short by a crash gets a line break first.
  let writes: Promise<void> = (async () => {
    try {
      const text = await Deno.readTextFile(resultsPath);
      if (text !== "" && !text.endsWith("\n")) {
        await Deno.writeTextFile(resultsPath, "\n", { append: true });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  })();
  const append = (record: EvalRecord): Promise<void> => {
    writes = writes.then(() =>
      Deno.writeTextFile(resultsPath, JSON.stringify(record) + "\n", {
        append: true,
      })
    );
    return writes;
  };

  const ready: EvalRecord[] = [];
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  const worker = async (): Promise<void> => {
    while (!signal.aborted) {
      const job = queue.shift();
      if (!job) return;
      running++;
      progress();
      const record = await runOne(job, {
        outDir,
        llm,
        masker,
        agentOptions,
        options,
        signal,
      });
      await append(record);
      running--;
      done++;
      doneHere++;
      progress();
      ready.push(record);
      notify();
    }
  };
  let finished = false;
  let failure: unknown = null;
  const workers = Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, worker),
  ).catch((error) => {
    failure = error;
    stop.abort();
  }).finally(() => {
    finished = true;
    notify();
  });
  progress();
  try {
    while (true) {
      const record = ready.shift();
      if (record) {
        yield record;
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure !== null) throw failure;
  } finally {
    stop.abort();
    await workers;
    await writes.catch(() => {});
  }
}

interface RunContext {
  outDir: string;
  llm: NonNullable<CodingAgentOptions["llm"]>;
  masker: SecretMasker;
  agentOptions: NonNullable<EvaluateOptions["agent"]>;
  options: EvaluateOptions;
  signal: AbortSignal;
}

/** Runs one (task, run): agent, kernel shut down, then validation. */
async function runOne(job: Job, context: RunContext): Promise<EvalRecord> {
  const { task, run } = job;
  const started = performance.now();
  const dir = join(context.outDir, task.name, `run-${run}`);
  let status: EvalStatus = "error";
  let error: string | undefined;
  let finalResponse: string | undefined;
  let steps = 0;
  let agent: CodingAgent | undefined;
  let stats = emptyStats();
  let solution: string | null = null;
  const onEvent = context.agentOptions.onEvent;
  try {
    await Deno.remove(dir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.mkdir(dir, { recursive: true });
    agent = await createCodingAgent({
      ...context.agentOptions,
      llm: context.llm,
      masker: context.masker,
      workingDirectory: dir,
      task: task.text,
      taskBasename: task.name,
      signal: context.signal,
      onEvent: (event) => {
        if (event.type === "step") steps++;
        onEvent?.(event);
      },
    });
    const result = await agent.run(TASK_KICKOFF, { signal: context.signal });
    status = result.status === "success" ? "solved" : "step_limit";
    if (result.status === "success") finalResponse = result.finalResponse;
  } catch (caught) {
    status = isAbortError(caught) || context.signal.aborted
      ? "interrupted"
      : "error";
    error = context.masker.mask(
      caught instanceof Error ? caught.message : String(caught),
    );
  } finally {
    if (agent) {
      const all = agent.runStats;
      if (all[0]) stats = all[0];
      if (agent.filesWritten.includes(agent.codeFilePath)) {
        solution = agent.codeFilePath;
      }
      // The kernel is gone before anything reads the run's directory.
      await agent.close();
    }
  }
  let validation: ValidationResult | null = null;
  if (status === "solved" && task.validator !== null) {
    validation = await validateSolution(
      solution ?? join(dir, `${task.name}_code.py`),
      task.validator,
      {
        cwd: dir,
        env: context.options.validatorEnv ??
          (context.agentOptions.env?.PATH
            ? { PATH: context.agentOptions.env.PATH }
            : {}),
        ...(context.options.validateTimeoutMs
          ? { timeoutMs: context.options.validateTimeoutMs }
          : {}),
        signal: context.signal,
      },
    );
    validation = {
      ...validation,
      output_tail: context.masker.mask(validation.output_tail),
    };
    if (context.signal.aborted) {
      status = "interrupted";
      error = "stopped during validation";
    }
  }
  return {
    task: task.name,
    task_file: task.file,
    model: context.llm.config.path,
    run,
    status,
    steps,
    tokens: { ...stats.token_consumption },
    cost_usd: stats.cost_usd ?? null,
    wall_time_seconds: round2((performance.now() - started) / 1000),
    validation,
    dir,
    solution,
    ...(finalResponse !== undefined ? { final_response: finalResponse } : {}),
    ...(error !== undefined ? { error } : {}),
    finished_at: new Date().toISOString(),
  };
}
