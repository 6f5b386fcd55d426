/**
 * The MCP task store of ipython_mcp (MCP 2025-11-25 tasks, SDK
 * experimental): unlike the SDK's in-memory store, cancelling a task aborts
 * its work (the kernel is interrupted), and a task is never deleted while it
 * runs: its time to live starts when it ends.
 *
 * @module
 */

import type {
  CreateTaskOptions,
  TaskStore,
} from "@modelcontextprotocol/sdk/experimental/tasks/interfaces.js";
import type {
  Request,
  RequestId,
  Result,
  Task,
} from "@modelcontextprotocol/sdk/types.js";

/** How long an ended task is kept when the client asked for no TTL: 1 hour. */
export const DEFAULT_TASK_RETENTION_MS = 60 * 60 * 1000;
/** Longest retention a client may ask for: 1 day. */
export const MAX_TASK_RETENTION_MS = 24 * 60 * 60 * 1000;

interface StoredTask {
  task: Task;
  sessionId: string | undefined;
  result?: Result;
  controller: AbortController;
  timer?: ReturnType<typeof setTimeout>;
}

function isTerminal(status: Task["status"]): boolean {
  return status === "completed" || status === "failed" ||
    status === "cancelled";
}

/** Task store whose cancel aborts the work and whose TTL starts at the end. */
export class KernelTaskStore implements TaskStore {
  readonly #tasks = new Map<string, StoredTask>();
  #closed = false;

  /**
   * The abort signal of a task's work: aborted by `tasks/cancel`.
   *
   * @param taskId The task.
   * @returns Its signal, or an aborted one for an unknown task.
   */
  signalOf(taskId: string): AbortSignal {
    return this.#tasks.get(taskId)?.controller.signal ??
      AbortSignal.abort();
  }

  #lookup(taskId: string, sessionId?: string): StoredTask | undefined {
    const stored = this.#tasks.get(taskId);
    if (
      stored && sessionId !== undefined && stored.sessionId !== undefined &&
      stored.sessionId !== sessionId
    ) return undefined;
    return stored;
  }

  #require(taskId: string, sessionId?: string): StoredTask {
    const stored = this.#lookup(taskId, sessionId);
    if (!stored) throw new Error(`Task ${taskId} not found`);
    return stored;
  }

  #ended(taskId: string, stored: StoredTask): void {
    if (this.#closed) return;
    const ttl = stored.task.ttl ?? DEFAULT_TASK_RETENTION_MS;
    clearTimeout(stored.timer);
    stored.timer = setTimeout(() => this.#tasks.delete(taskId), ttl);
    Deno.unrefTimer(stored.timer as unknown as number);
  }

  /** Creates a task in `working` status (no deletion timer while it runs). */
  createTask(
    params: CreateTaskOptions,
    _requestId: RequestId,
    _request: Request,
    sessionId?: string,
  ): Promise<Task> {
    const taskId = crypto.randomUUID();
    const now = new Date().toISOString();
    const ttl = params.ttl === undefined || params.ttl === null
      ? DEFAULT_TASK_RETENTION_MS
      : Math.min(Math.max(params.ttl, 0), MAX_TASK_RETENTION_MS);
    const task: Task = {
      taskId,
      status: "working",
      ttl,
      createdAt: now,
      lastUpdatedAt: now,
      pollInterval: params.pollInterval ?? 1000,
    };
    this.#tasks.set(taskId, {
      task,
      sessionId,
      controller: new AbortController(),
    });
    return Promise.resolve({ ...task });
  }

  /** Returns a copy of the task, or null. */
  getTask(taskId: string, sessionId?: string): Promise<Task | null> {
    const stored = this.#lookup(taskId, sessionId);
    return Promise.resolve(stored ? { ...stored.task } : null);
  }

  /** Stores the result once; ignored after a cancel. */
  storeTaskResult(
    taskId: string,
    status: "completed" | "failed",
    result: Result,
    sessionId?: string,
  ): Promise<void> {
    const stored = this.#require(taskId, sessionId);
    if (isTerminal(stored.task.status)) {
      return Promise.reject(
        new Error(`Task ${taskId} already ended (${stored.task.status})`),
      );
    }
    stored.result = result;
    stored.task.status = status;
    stored.task.lastUpdatedAt = new Date().toISOString();
    this.#ended(taskId, stored);
    return Promise.resolve();
  }

  /** The stored result. */
  getTaskResult(taskId: string, sessionId?: string): Promise<Result> {
    const stored = this.#require(taskId, sessionId);
    if (!stored.result) {
      return Promise.reject(new Error(`Task ${taskId} has no result yet`));
    }
    return Promise.resolve(stored.result);
  }

  /** Changes the status; `cancelled` aborts the work. */
  updateTaskStatus(
    taskId: string,
    status: Task["status"],
    statusMessage?: string,
    sessionId?: string,
  ): Promise<void> {
    const stored = this.#require(taskId, sessionId);
    if (isTerminal(stored.task.status)) {
      return Promise.reject(
        new Error(`Task ${taskId} already ended (${stored.task.status})`),
      );
    }
    stored.task.status = status;
    if (statusMessage) stored.task.statusMessage = statusMessage;
    stored.task.lastUpdatedAt = new Date().toISOString();
    if (status === "cancelled") {
      stored.controller.abort(
        new DOMException("The task was cancelled", "AbortError"),
      );
    }
    if (isTerminal(status)) this.#ended(taskId, stored);
    return Promise.resolve();
  }

  /** Lists the tasks of a session, 50 a page. */
  listTasks(
    cursor?: string,
    sessionId?: string,
  ): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const all = [...this.#tasks.entries()].filter(([id]) =>
      this.#lookup(id, sessionId)
    );
    const start = cursor ? all.findIndex(([id]) => id === cursor) + 1 : 0;
    const page = all.slice(start, start + 50);
    const last = page.at(-1);
    return Promise.resolve({
      tasks: page.map(([, stored]) => ({ ...stored.task })),
      ...(start + 50 < all.length && last ? { nextCursor: last[0] } : {}),
    });
  }

  /** Aborts running work and drops every task and timer. */
  close(): void {
    this.#closed = true;
    for (const stored of this.#tasks.values()) {
      clearTimeout(stored.timer);
      stored.controller.abort();
    }
    this.#tasks.clear();
  }
}
