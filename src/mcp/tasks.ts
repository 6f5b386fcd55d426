/**
 * The MCP tasks of ipython_mcp, kept by hand for both eras: the 2025-11-25
 * experimental tasks (`tools/call` with `params.task`, `tasks/get`,
 * `tasks/result`, `tasks/list`, `tasks/cancel`) and the 2026
 * `io.modelcontextprotocol/tasks` extension (`resultType: "task"`,
 * `tasks/get` with the result inlined, `tasks/cancel`). Cancelling a task
 * aborts its work (the kernel is interrupted); a task is never deleted while
 * it runs: its time to live starts when it ends.
 *
 * @module
 */

/** How long an ended task is kept when the client asked for no TTL: 1 hour. */
export const DEFAULT_TASK_RETENTION_MS = 60 * 60 * 1000;
/** Longest retention a client may ask for: 1 day. */
export const MAX_TASK_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Poll interval suggested to clients (ms). */
export const TASK_POLL_INTERVAL_MS = 1000;
/** The 2026 extension's identifier. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** Status of a task. */
export type TaskStatus = "working" | "completed" | "failed" | "cancelled";

/** A tool result as stored for a task. */
export type TaskResult = Record<string, unknown> & { isError?: boolean };

/** One task and its outcome. */
export interface TaskRecord {
  /** Server-generated, unguessable id. */
  readonly taskId: string;
  /** Current status. */
  status: TaskStatus;
  /** Why it failed or was cancelled. */
  statusMessage?: string;
  /** ISO time of creation. */
  readonly createdAt: string;
  /** ISO time of the last change. */
  lastUpdatedAt: string;
  /** Retention after the end (ms). */
  readonly ttlMs: number;
  /** The tool result once completed. */
  result?: TaskResult;
  /** The owning 2025 session, when tasks are per session. */
  readonly owner: string | undefined;
}

interface Entry {
  record: TaskRecord;
  controller: AbortController;
  ended: PromiseWithResolvers<void>;
  timer?: ReturnType<typeof setTimeout>;
}

/** Thrown for an unknown (or another owner's) task id. */
export class TaskNotFoundError extends Error {
  /** @param taskId The id asked for. */
  constructor(taskId: string) {
    super(`Task ${taskId} not found`);
    this.name = "TaskNotFoundError";
  }
}

function isTerminal(status: TaskStatus): boolean {
  return status !== "working";
}

/**
 * The tasks of one namespace (a stdio connection, or an HTTP user).
 *
 * @example Running work as a task
 * ```ts
 * import { TaskBook } from "./tasks.ts";
 * const book = new TaskBook();
 * const task = book.create({});
 * book.complete(task.taskId, { content: [] });
 * book.close();
 * ```
 */
export class TaskBook {
  readonly #tasks = new Map<string, Entry>();
  #closed = false;

  /** Number of tasks kept (running and retained). */
  get size(): number {
    return this.#tasks.size;
  }

  /**
   * Creates a task in `working` status (no deletion timer while it runs).
   *
   * @param options Requested retention (ms, capped at one day) and owner.
   * @returns The new task.
   */
  create(options: { ttlMs?: number | null; owner?: string }): TaskRecord {
    const taskId = crypto.randomUUID();
    const now = new Date().toISOString();
    const ttlMs = options.ttlMs === undefined || options.ttlMs === null
      ? DEFAULT_TASK_RETENTION_MS
      : Math.min(Math.max(options.ttlMs, 0), MAX_TASK_RETENTION_MS);
    const record: TaskRecord = {
      taskId,
      status: "working",
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs,
      owner: options.owner,
    };
    this.#tasks.set(taskId, {
      record,
      controller: new AbortController(),
      ended: Promise.withResolvers<void>(),
    });
    return record;
  }

  #entry(taskId: string, owner?: string): Entry {
    const entry = this.#tasks.get(taskId);
    if (
      !entry ||
      (entry.record.owner !== undefined && entry.record.owner !== owner)
    ) {
      throw new TaskNotFoundError(taskId);
    }
    return entry;
  }

  /**
   * A task by id.
   *
   * @param taskId The id.
   * @param owner The asking session (must match the task's owner, if any).
   * @returns The task.
   * @throws {TaskNotFoundError} For an unknown or another owner's task.
   */
  get(taskId: string, owner?: string): TaskRecord {
    return this.#entry(taskId, owner).record;
  }

  /**
   * The abort signal of a task's work: aborted by {@linkcode cancel}.
   *
   * @param taskId The task.
   * @returns Its signal.
   */
  signalOf(taskId: string): AbortSignal {
    return this.#tasks.get(taskId)?.controller.signal ?? AbortSignal.abort();
  }

  /**
   * Waits until the task ended.
   *
   * @param taskId The task.
   * @param owner The asking session.
   * @returns The ended task.
   */
  async settled(taskId: string, owner?: string): Promise<TaskRecord> {
    const entry = this.#entry(taskId, owner);
    await entry.ended.promise;
    return entry.record;
  }

  #end(entry: Entry, status: TaskStatus, message?: string): void {
    entry.record.status = status;
    if (message !== undefined) entry.record.statusMessage = message;
    entry.record.lastUpdatedAt = new Date().toISOString();
    entry.ended.resolve();
    if (this.#closed) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(
      () => this.#tasks.delete(entry.record.taskId),
      entry.record.ttlMs,
    );
    Deno.unrefTimer(entry.timer as unknown as number);
  }

  /**
   * Stores the tool result (ignored once the task was cancelled).
   *
   * @param taskId The task.
   * @param result The tool result.
   */
  complete(taskId: string, result: TaskResult): void {
    const entry = this.#tasks.get(taskId);
    if (!entry || isTerminal(entry.record.status)) return;
    entry.record.result = result;
    this.#end(entry, "completed");
  }

  /**
   * Marks the task failed (a protocol-level failure, not a tool error).
   *
   * @param taskId The task.
   * @param message What went wrong.
   */
  fail(taskId: string, message: string): void {
    const entry = this.#tasks.get(taskId);
    if (!entry || isTerminal(entry.record.status)) return;
    this.#end(entry, "failed", message);
  }

  /**
   * Cancels a running task: its work is aborted (kernel interrupted).
   *
   * @param taskId The task.
   * @param owner The asking session.
   * @returns The task (unchanged when it had already ended).
   * @throws {TaskNotFoundError} For an unknown or another owner's task.
   */
  cancel(taskId: string, owner?: string): TaskRecord {
    const entry = this.#entry(taskId, owner);
    if (isTerminal(entry.record.status)) return entry.record;
    this.#end(entry, "cancelled", "Cancelled by the client");
    entry.controller.abort(
      new DOMException("The task was cancelled", "AbortError"),
    );
    return entry.record;
  }

  /**
   * The tasks an owner may see, oldest first.
   *
   * @param owner The asking session.
   * @returns The tasks.
   */
  list(owner?: string): TaskRecord[] {
    return [...this.#tasks.values()].map((entry) => entry.record).filter((
      record,
    ) => record.owner === undefined || record.owner === owner);
  }

  /**
   * Whether any task is still running.
   *
   * @returns True while one works.
   */
  busy(): boolean {
    return [...this.#tasks.values()].some((entry) =>
      entry.record.status === "working"
    );
  }

  /** Aborts running work and drops every task and timer. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#tasks.values()) {
      clearTimeout(entry.timer);
      entry.controller.abort();
      entry.ended.resolve();
    }
    this.#tasks.clear();
  }
}

/**
 * A task as 2025-11-25 clients see it (`tasks/get`, the `task` of a
 * task-augmented call): a tool error counts as `failed`.
 *
 * @param record The task.
 * @returns The wire object.
 */
export function legacyTaskView(record: TaskRecord): Record<string, unknown> {
  const status = record.status === "completed" && record.result?.isError
    ? "failed"
    : record.status;
  return {
    taskId: record.taskId,
    status,
    ...(record.statusMessage ? { statusMessage: record.statusMessage } : {}),
    createdAt: record.createdAt,
    lastUpdatedAt: record.lastUpdatedAt,
    ttl: record.ttlMs,
    pollInterval: TASK_POLL_INTERVAL_MS,
  };
}

/**
 * A task as 2026 extension clients see it: the result inlined once
 * completed (with `resultType: "complete"`), the error once failed.
 *
 * @param record The task.
 * @returns The wire object (without the outer `resultType`).
 */
export function modernTaskView(record: TaskRecord): Record<string, unknown> {
  return {
    taskId: record.taskId,
    status: record.status,
    ...(record.statusMessage ? { statusMessage: record.statusMessage } : {}),
    createdAt: record.createdAt,
    lastUpdatedAt: record.lastUpdatedAt,
    ttlMs: record.ttlMs,
    pollIntervalMs: TASK_POLL_INTERVAL_MS,
    ...(record.status === "completed" && record.result
      ? { result: { ...record.result, resultType: "complete" } }
      : {}),
    ...(record.status === "failed"
      ? { error: { code: -32603, message: record.statusMessage ?? "failed" } }
      : {}),
  };
}
