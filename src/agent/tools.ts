/**
 * The agent's tools: `python_exec`, `save_code` and (with todo) `todo_write`.
 * Each tool's zod schema (sent to the model as JSON Schema), description for
 * the model and handler sit together, as in the MCP tools. Arguments are
 * validated against the schema; a validation error is an error result the
 * model sees. Results are JSON objects with `success` and, on failure, `error`.
 *
 * @module
 */

import { z } from "zod";
import {
  checkSyntax,
  type ExecuteResult,
  ExecutionTimeoutError,
  KernelDiedError,
  type KernelHandle,
} from "../kernel/mod.ts";
import type { ToolDefinition } from "../llm/mod.ts";
import {
  cleanRoomRefusal,
  cleanRoomReport,
  type CleanRoomResult,
} from "./clean_room.ts";

/** Status of a todo item. */
export type TodoStatus = "pending" | "in_progress" | "completed";
/** Priority of a todo item. */
export type TodoPriority = "high" | "medium" | "low";

/** One item of the agent's todo list. */
export interface TodoItem {
  /** Unique id. */
  id: string;
  /** What to do. */
  content: string;
  /** Progress. */
  status: TodoStatus;
  /** Importance. */
  priority: TodoPriority;
}

/** What a tool hands back to the loop. */
export interface ToolOutcome {
  /** Text the model sees (a JSON object). */
  content: string;
  /** Whether the tool did what was asked. */
  success: boolean;
  /** The error message when it did not. */
  error: string | null;
}

/** The agent state tools work on. */
export interface ToolHost {
  /** Directory files are written to (the kernel's cwd). */
  readonly workingDirectory: string;
  /** File name `save_code` writes (`solution.py` or `NAME_code.py`). */
  readonly codeFileName: string;
  /** Deadline of one `python_exec` call, in ms. */
  readonly execTimeoutMs: number;
  /** Interpreter used for syntax checks. */
  readonly python: string;
  /** The live kernel (a dead one owned by the agent is replaced first). */
  kernel(): Promise<KernelHandle>;
  /**
   * Writes (replaces) a file of the working directory, never through a link
   * a sandboxed kernel planted there (SPEC §12).
   *
   * @param name Path relative to the working directory (or absolute inside it).
   * @param text The file's text.
   * @returns Its absolute path.
   */
  writeFile(name: string, text: string): Promise<string>;
  /** Records a file the agent wrote. */
  recordFile(path: string): void;
  /** Replaces the todo list. */
  replaceTodos(todos: TodoItem[]): void;
  /** Records an executed cell for the session notebook. */
  recordCell?(code: string, result: ExecuteResult | null): void;
  /**
   * Runs a submission on its own in a fresh kernel before `save_code`
   * accepts it (the clean-room check); absent or returning null: no check.
   */
  cleanRoom?(
    code: string,
    signal?: AbortSignal,
  ): Promise<CleanRoomResult | null>;
}

/** A tool: its definition for the model and its handler. */
export interface AgentTool {
  /** Name, description and JSON schema. */
  definition: ToolDefinition;
  /**
   * Validates the arguments and runs the tool; invalid arguments give an
   * error outcome naming each problem.
   *
   * @param args Arguments as the model sent them (parsed JSON).
   * @param host Agent state.
   * @param signal Cancels the run.
   * @returns What the model sees.
   */
  run(
    args: unknown,
    host: ToolHost,
    signal?: AbortSignal,
  ): Promise<ToolOutcome>;
}

/** Longest text of one output field the model sees. */
const MAX_FIELD_CHARS = 20_000;

/**
 * Shortens long text in the middle, keeping its start and end.
 *
 * @param text The text.
 * @param max Longest result.
 * @returns The text, or its head and tail with a marker between.
 */
export function clip(text: string, max: number = MAX_FIELD_CHARS): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n[... ${
    text.length - 2 * half
  } characters omitted ...]\n${text.slice(-half)}`;
}

/**
 * A success result.
 *
 * @param fields Fields besides `success`.
 * @returns The outcome.
 */
export function ok(fields: Record<string, unknown>): ToolOutcome {
  return {
    content: JSON.stringify({ success: true, ...fields }, null, 2),
    success: true,
    error: null,
  };
}

/**
 * An error result.
 *
 * @param error What went wrong, for the model.
 * @param fields More fields (partial output).
 * @returns The outcome.
 */
export function fail(
  error: string,
  fields: Record<string, unknown> = {},
): ToolOutcome {
  return {
    content: JSON.stringify({ success: false, error, ...fields }, null, 2),
    success: false,
    error,
  };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.map((key, i) =>
      typeof key === "number"
        ? `[${key}]`
        : i === 0
        ? String(key)
        : `.${String(key)}`
    ).join("") || "arguments";
    const missing = issue.code === "invalid_type" &&
      issue.message.endsWith("received undefined");
    return `${path}: ${
      missing ? `missing (expected ${issue.expected})` : issue.message
    }`;
  }).join("; ");
}

/** A tool's parts before validation is wired in. */
interface ToolSpec<S extends z.ZodType> {
  name: string;
  description: string;
  schema: S;
  handler(
    args: z.output<S>,
    host: ToolHost,
    signal?: AbortSignal,
  ): Promise<ToolOutcome>;
}

function defineTool<S extends z.ZodType>(spec: ToolSpec<S>): AgentTool {
  const { $schema: _, ...parameters } = z.toJSONSchema(spec.schema, {
    io: "input",
  }) as Record<string, unknown>;
  parameters.additionalProperties ??= false;
  return {
    definition: {
      type: "function",
      function: { name: spec.name, description: spec.description, parameters },
    },
    run(args, host, signal) {
      const parsed = spec.schema.safeParse(args);
      if (!parsed.success) {
        return Promise.resolve(fail(
          `Invalid arguments for ${spec.name}: ${
            describeIssues(parsed.error)
          }. Call ${spec.name} again with arguments matching its schema.`,
        ));
      }
      return spec.handler(parsed.data, host, signal);
    },
  };
}

function outputFields(result: ExecuteResult): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (result.stdout) fields.stdout = clip(result.stdout);
  if (result.result !== null && result.result !== "") {
    fields.result = clip(result.result);
  }
  if (result.stderr) fields.stderr = clip(result.stderr);
  if (result.images.length > 0) {
    fields.images = `${result.images.length} image(s) produced (${
      result.images.map((image) => image.mimeType).join(", ")
    }); images are not shown to you, save them to files if needed`;
  }
  const dropped = result.droppedBytes.stdout + result.droppedBytes.stderr;
  if (dropped > 0) fields.dropped_bytes = dropped;
  return fields;
}

function describeError(result: ExecuteResult): string {
  const error = result.error;
  if (!error) return "Execution failed";
  const head = `${error.ename}: ${error.evalue}`;
  return error.traceback ? clip(`${head}\n${error.traceback}`) : head;
}

const PYTHON_EXEC = defineTool({
  name: "python_exec",
  description: [
    "Run Python code in a persistent IPython kernel.",
    "Variables, functions and imports stay defined between calls.",
    "The kernel's current directory is the working directory (use relative paths).",
    "The value of the last expression is returned as `result`; use print() for more.",
    "Returns JSON: success, stdout, result, stderr, error (traceback).",
  ].join("\n"),
  schema: z.object({
    code: z.string().describe("Python code to run (may span many lines)."),
  }),
  async handler({ code }, host, signal) {
    if (code.trim() === "") {
      return ok({ note: "Nothing to run: the code is empty." });
    }
    const kernel = await host.kernel();
    try {
      const result = await kernel.execute(code, {
        timeoutMs: host.execTimeoutMs,
        ...(signal ? { signal } : {}),
      });
      host.recordCell?.(code, result);
      if (result.status === "error") {
        return fail(describeError(result), outputFields(result));
      }
      return ok(outputFields(result));
    } catch (error) {
      if (error instanceof ExecutionTimeoutError) {
        host.recordCell?.(code, error.partial);
        const seconds = Math.round(error.timeoutMs / 1000);
        const message = error.kernelAlive
          ? `Execution timed out after ${seconds}s. The code was interrupted; the kernel state is preserved.`
          : `Execution timed out after ${seconds}s and the kernel did not recover. A fresh kernel will be started on the next call; all state is lost.`;
        return fail(message, outputFields(error.partial));
      }
      if (error instanceof KernelDiedError) {
        host.recordCell?.(code, error.partial);
        return fail(
          `The Python kernel died (${error.message}). A fresh kernel will be started on the next call; all state (variables, imports) is lost.`,
          error.partial ? outputFields(error.partial) : {},
        );
      }
      throw error;
    }
  },
});

function saveCodeTool(codeFileName: string): AgentTool {
  return defineTool({
    name: "save_code",
    description: [
      `Save the final program to ${codeFileName} in the working directory (replacing it).`,
      "The code is syntax-checked first; on a syntax error nothing is written and the line is reported.",
      "Call this only with complete, self-contained code you have already run and verified.",
      "Unless the check is off, the program first runs on its own in a fresh Python process (empty namespace, same packages, a deadline); if it fails there, nothing is saved and you get the error.",
    ].join("\n"),
    schema: z.object({
      code: z.string().describe("The complete Python program."),
    }),
    async handler({ code }, host, signal) {
      if (code.trim() === "") {
        return fail("Empty submission: the code is empty. Nothing was saved.");
      }
      const check = await checkSyntax(code, {
        python: host.python,
        ...(signal ? { signal } : {}),
      });
      if (!check.ok) {
        return fail(
          `Syntax error at line ${check.line}: ${check.message}. Nothing was saved; fix the code and call save_code again.`,
        );
      }
      const room = await host.cleanRoom?.(code, signal) ?? null;
      if (room !== null && !room.ok) {
        return fail(cleanRoomRefusal(room), {
          clean_room: cleanRoomReport(room),
        });
      }
      const path = await host.writeFile(
        host.codeFileName,
        code.endsWith("\n") ? code : `${code}\n`,
      );
      host.recordFile(path);
      return ok({
        result: `Code saved to ${host.codeFileName}`,
        file_path: host.codeFileName,
        lines: code.split("\n").length,
        ...(room !== null ? { clean_room: cleanRoomReport(room) } : {}),
      });
    },
  });
}

const STATUSES = ["pending", "in_progress", "completed"] as const;
const PRIORITIES = ["high", "medium", "low"] as const;

const TODO_ITEM = z.object({
  id: z.preprocess(
    (value) => (typeof value === "number" ? String(value) : value),
    z.string().trim().min(1, "must be a non-empty string"),
  ),
  content: z.string().trim().min(1, "must be a non-empty string"),
  status: z.enum(STATUSES, {
    error: `must be one of ${STATUSES.join(", ")}`,
  }),
  priority: z.enum(PRIORITIES, {
    error: `must be one of ${PRIORITIES.join(", ")}`,
  }),
});

const TODO_LIST = z.array(TODO_ITEM).superRefine((items, context) => {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.id)) {
      context.addIssue({
        code: "custom",
        path: [index, "id"],
        message: `"${item.id}" is used twice; ids must be unique`,
      });
    }
    seen.add(item.id);
  });
  const active = items.filter((item) => item.status === "in_progress").length;
  if (active > 1) {
    context.addIssue({
      code: "custom",
      message: `Only one task may be in_progress at a time (got ${active})`,
    });
  }
});

/**
 * Validates a full todo list as sent to `todo_write`.
 *
 * @param raw The `todos` argument.
 * @returns The validated items.
 * @throws {TypeError} With a message for the model when the list is invalid.
 *
 * @example Validate a list
 * ```ts
 * import { validateTodos } from "./tools.ts";
 * const todos = validateTodos([{ id: "1", content: "plan", status: "in_progress", priority: "high" }]);
 * console.log(todos.length); // 1
 * ```
 */
export function validateTodos(raw: unknown): TodoItem[] {
  const parsed = z.object({ todos: TODO_LIST }).safeParse({ todos: raw });
  if (!parsed.success) throw new TypeError(describeIssues(parsed.error));
  return parsed.data.todos;
}

/**
 * Renders a todo list as text lines (`[x]` done, `[>]` in progress, `[ ]` pending).
 *
 * @param todos The list.
 * @returns One line per item.
 */
export function renderTodos(todos: readonly TodoItem[]): string {
  const mark = {
    completed: "[x]",
    in_progress: "[>]",
    pending: "[ ]",
  } as const;
  return todos.map((todo) =>
    `${mark[todo.status]} ${todo.content} (${todo.priority})`
  ).join("\n");
}

const TODO_WRITE = defineTool({
  name: "todo_write",
  description: [
    "Replace the whole todo list (send every item each time).",
    "Each item: id (unique), content, status (pending | in_progress | completed),",
    "priority (high | medium | low). At most one item may be in_progress.",
    "An invalid list is rejected with the reason and the old list is kept.",
  ].join("\n"),
  schema: z.object({
    todos: TODO_LIST.describe("The complete new list."),
  }),
  handler({ todos }, host) {
    host.replaceTodos(todos);
    return Promise.resolve(ok({
      result: `Updated ${todos.length} todos`,
      count: todos.length,
      todos: renderTodos(todos),
    }));
  },
});

/**
 * The tools an agent offers, in order.
 *
 * @param options Whether `todo_write` is included, and the code file name.
 * @returns Tools by name.
 */
export function createAgentTools(
  options: { todo: boolean; codeFileName: string },
): Map<string, AgentTool> {
  const tools: AgentTool[] = [PYTHON_EXEC, saveCodeTool(options.codeFileName)];
  if (options.todo) tools.push(TODO_WRITE);
  return new Map(tools.map((tool) => [tool.definition.function.name, tool]));
}
