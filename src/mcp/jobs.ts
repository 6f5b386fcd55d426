/**
 * Background jobs (SPEC §8): code started with `python_exec(background:
 * true)` runs on its kernel while the model polls it with `python_job`.
 * Each poll takes only the output that is new since the previous poll.
 *
 * One {@linkcode JobManager} per server; it owns no kernel (the registry
 * does), so a server shutdown ends running jobs by killing their kernels.
 *
 * @module
 */

import {
  type ExecuteResult,
  ExecutionTimeoutError,
  KernelDiedError,
  type KernelExit,
  type KernelHandle,
} from "../kernel/mod.ts";

/** How a job stands. */
export type JobStatus =
  | "running"
  | "completed"
  | "failed"
  | "timed_out"
  | "interrupted"
  | "kernel_died";

/** How long an ended job is kept: 1 hour. */
export const JOB_RETENTION_MS = 60 * 60 * 1000;
/** Most unread characters kept per stream; the rest is counted as dropped. */
export const JOB_PENDING_LIMIT_CHARS = 16 * 1024 * 1024;

/**
 * Most characters of each stream kept for the notebook view (the tail);
 * polls are not affected.
 */
export const JOB_VIEW_TAIL_CHARS = 256 * 1024;

/** What a poll takes from a job. */
export interface JobPoll {
  /** The job. */
  job: Job;
  /** Stdout since the previous poll. */
  stdout: string;
  /** Stderr since the previous poll. */
  stderr: string;
  /** Characters of unread output dropped past the pending cap. */
  dropped: { stdout: number; stderr: number };
}

/** One background execution. */
export interface Job {
  /** Job id (`job-` + 8 hex digits). */
  readonly id: string;
  /** Registry id of its kernel. */
  readonly kernelId: string;
  /** The code. */
  readonly code: string;
  /** When it started (ms since epoch). */
  readonly startedAt: number;
  /** When it ended, or null while running. */
  endedAt: number | null;
  /** Current status. */
  status: JobStatus;
  /** The execution's final result (result, images, Python error), once ended. */
  result: ExecuteResult | null;
  /** Our own failure message (timeout, dead kernel), once ended. */
  failure: string | null;
  /** Resolves when the job ends. */
  readonly done: Promise<void>;
}

/** Messages for job endings; injected so messages.ts stays the one source. */
export interface JobMessages {
  /** Timeout message. */
  timeout(seconds: number, kernelAlive: boolean): string;
  /** Kernel death message. */
  kernelDied(kernelId: string, exit: KernelExit): string;
}

/** Options of {@linkcode JobManager.start}. */
export interface StartJobOptions {
  /** Registry id of the kernel. */
  kernelId: string;
  /** The kernel to run on. */
  kernel: KernelHandle;
  /** Python source. */
  code: string;
  /** Deadline in seconds. */
  timeoutSeconds: number;
  /** Called with the final result when the job ends (e.g. notebook history). */
  onEnd?: (result: ExecuteResult | null) => void;
}

interface JobState extends Job {
  pending: { stdout: string[]; stderr: string[] };
  pendingChars: { stdout: number; stderr: number };
  dropped: { stdout: number; stderr: number };
  tail: { stdout: string; stderr: string };
  interruptRequested: boolean;
  /** True once a poll returned the job's final state. */
  resultTaken: boolean;
  wake: (() => void)[];
}

/** Keeps the background jobs of one server. */
export class JobManager {
  readonly #jobs = new Map<string, JobState>();
  readonly #messages: JobMessages;
  readonly #now: () => number;

  /**
   * @param messages Texts for timeouts and kernel deaths.
   * @param options Clock (tests).
   */
  constructor(messages: JobMessages, options: { now?: () => number } = {}) {
    this.#messages = messages;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Starts code on a kernel in the background.
   *
   * @param options Kernel, code, deadline.
   * @returns The running job.
   */
  start(options: StartJobOptions): Job {
    this.#sweep();
    let id = newJobId();
    while (this.#jobs.has(id)) id = newJobId();
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => resolveDone = resolve);
    const job: JobState = {
      id,
      kernelId: options.kernelId,
      code: options.code,
      startedAt: this.#now(),
      endedAt: null,
      status: "running",
      result: null,
      failure: null,
      done,
      pending: { stdout: [], stderr: [] },
      pendingChars: { stdout: 0, stderr: 0 },
      dropped: { stdout: 0, stderr: 0 },
      tail: { stdout: "", stderr: "" },
      interruptRequested: false,
      resultTaken: false,
      wake: [],
    };
    this.#jobs.set(id, job);
    const end = (
      status: JobStatus,
      result: ExecuteResult | null,
      failure: string | null,
    ) => {
      job.status = status;
      job.result = result;
      job.failure = failure;
      job.endedAt = this.#now();
      options.onEnd?.(result);
      resolveDone();
      for (const wake of job.wake.splice(0)) wake();
    };
    options.kernel.execute(options.code, {
      timeoutMs: options.timeoutSeconds * 1000,
      onOutput: (chunk) => this.#append(job, chunk.name, chunk.text),
    }).then((result) => {
      if (result.error === null) return end("completed", result, null);
      const interrupted = job.interruptRequested &&
        result.error.ename === "KeyboardInterrupt";
      end(interrupted ? "interrupted" : "failed", result, null);
    }, (error) => {
      if (error instanceof ExecutionTimeoutError) {
        end(
          error.kernelAlive ? "timed_out" : "kernel_died",
          error.partial,
          this.#messages.timeout(options.timeoutSeconds, error.kernelAlive),
        );
      } else if (error instanceof KernelDiedError) {
        end(
          "kernel_died",
          error.partial,
          this.#messages.kernelDied(options.kernelId, error.exit),
        );
      } else {
        end(
          "failed",
          null,
          error instanceof Error ? error.message : String(error),
        );
      }
    });
    return job;
  }

  #append(job: JobState, name: "stdout" | "stderr", text: string): void {
    const tail = job.tail[name] + text;
    job.tail[name] = tail.length > 2 * JOB_VIEW_TAIL_CHARS
      ? tail.slice(-JOB_VIEW_TAIL_CHARS)
      : tail;
    const room = JOB_PENDING_LIMIT_CHARS - job.pendingChars[name];
    const kept = text.length <= room ? text : text.slice(0, Math.max(0, room));
    if (kept.length > 0) {
      job.pending[name].push(kept);
      job.pendingChars[name] += kept.length;
    }
    job.dropped[name] += text.length - kept.length;
  }

  /**
   * Finds a job (running, or ended less than an hour ago).
   *
   * @param id Job id.
   * @returns The job, or undefined.
   */
  get(id: string): Job | undefined {
    this.#sweep();
    return this.#jobs.get(id);
  }

  /**
   * What a job printed so far (the last {@linkcode JOB_VIEW_TAIL_CHARS} or
   * a little more of each stream), without taking it from the next poll.
   *
   * @param id Job id.
   * @returns Stdout and stderr so far, or undefined for an unknown id.
   */
  outputSoFar(id: string): { stdout: string; stderr: string } | undefined {
    const job = this.#jobs.get(id);
    return job ? { ...job.tail } : undefined;
  }

  /**
   * The running job on a kernel, if any.
   *
   * @param kernelId Registry id.
   * @returns The job, or undefined.
   */
  runningOn(kernelId: string): Job | undefined {
    for (const job of this.#jobs.values()) {
      if (job.kernelId === kernelId && job.status === "running") return job;
    }
    return undefined;
  }

  /**
   * Marks the running job of a kernel as interrupted on purpose, so its
   * KeyboardInterrupt ends it as `interrupted` (the caller sends SIGINT).
   *
   * @param kernelId Registry id.
   * @returns The job, or undefined when none runs there.
   */
  markInterrupted(kernelId: string): Job | undefined {
    const job = this.runningOn(kernelId) as JobState | undefined;
    if (job) job.interruptRequested = true;
    return job;
  }

  /**
   * A job that must keep its namespace (and so its kernel) alive: one still
   * running, or one that ended and whose result no poll has taken yet while
   * it is kept ({@linkcode JOB_RETENTION_MS}). Idle expiry waits for it.
   *
   * @returns Such a job, or undefined.
   */
  holding(): Job | undefined {
    this.#sweep();
    for (const job of this.#jobs.values()) {
      if (job.status === "running" || !job.resultTaken) return job;
    }
    return undefined;
  }

  /** Every kept job, oldest first. */
  list(): Job[] {
    this.#sweep();
    return [...this.#jobs.values()];
  }

  /**
   * Waits until the job ends or `waitMs` passes, then takes its new output.
   *
   * @param id Job id.
   * @param waitMs Longest wait.
   * @param signal Ends the wait early (client cancellation).
   * @returns The poll, or undefined for an unknown id.
   */
  async poll(
    id: string,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<JobPoll | undefined> {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    if (job.status === "running" && waitMs > 0 && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", finish);
          job.wake = job.wake.filter((w) => w !== finish);
          resolve();
        };
        const timer = setTimeout(finish, waitMs);
        signal?.addEventListener("abort", finish, { once: true });
        job.wake.push(finish);
      });
    }
    const take = (name: "stdout" | "stderr") => {
      const text = job.pending[name].join("");
      job.pending[name] = [];
      job.pendingChars[name] = 0;
      return text;
    };
    if (job.status !== "running") job.resultTaken = true;
    const dropped = { ...job.dropped };
    job.dropped = { stdout: 0, stderr: 0 };
    return { job, stdout: take("stdout"), stderr: take("stderr"), dropped };
  }

  /**
   * Seconds a job has run (until it ended).
   *
   * @param job The job.
   * @returns Elapsed seconds, rounded to 0.1.
   */
  elapsedSeconds(job: Job): number {
    const end = job.endedAt ?? this.#now();
    return Math.round((end - job.startedAt) / 100) / 10;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, job] of this.#jobs) {
      if (job.endedAt !== null && now - job.endedAt > JOB_RETENTION_MS) {
        this.#jobs.delete(id);
      }
    }
  }
}

function newJobId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return "job-" +
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
