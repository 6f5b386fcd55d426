/**
 * The JSON Lines run log: one object per event, rewritten as a whole file.
 *
 * @module
 */

import {
  buildNotebook,
  type ExecuteResult,
  type NotebookCell,
} from "../kernel/mod.ts";
import { SecretMasker } from "./secrets.ts";

/** A todo item as logged (content and status only). */
export interface LoggedTodo {
  /** Task text. */
  content: string;
  /** pending, in_progress or completed. */
  status: string;
}

/** One line of the log. */
export type LogEvent =
  | { event: "start"; task: string }
  | { event: "python_exec"; code_length: number; code: string }
  | { event: "save_code"; code_length: number }
  | { event: "todo"; action: "update"; count: number; tasks: LoggedTodo[] }
  | { event: "tool_call"; tool: string }
  | { event: "tool_response"; success: boolean; error: string | null }
  | {
    event: "statistics";
    tool_usage: Record<string, number>;
    tokens: {
      input_tokens: number;
      output_tokens: number;
      total_tokens: number;
    };
    execution_time: number;
  }
  | {
    event: "complete";
    status: "success" | "step_limit_reached" | "interrupted" | "error";
    error?: string;
  }
  | SessionEvent
  | LlmResponseEvent
  | ToolResultEvent
  | CleanRoomEvent;

/** Version of the replay records (`session.format`). */
export const LOG_FORMAT_VERSION = 2;

/**
 * First line of a log (format 2): what a replay needs to set the run up
 * again. Not one of the SPEC §4 records; readers that do not know it skip it.
 */
export interface SessionEvent {
  /** Record type. */
  event: "session";
  /** {@linkcode LOG_FORMAT_VERSION}. */
  format: number;
  /** The model's path (e.g. `anthropic/claude-sonnet-4.5`). */
  model: string;
  /** File `save_code` writes (`solution.py`, `NAME_code.py`). */
  code_file: string;
  /** Whether `todo_write` was offered. */
  todo: boolean;
  /** Package specs the kernel was started with. */
  with_packages: string[];
  /** Whether saves went through the clean-room check. */
  clean_room: boolean;
  /** True when the first run's task sits in the system prompt (its `start.task` is the task, the user message the kick-off). */
  task_in_prompt: boolean;
}

/** One answer of the model (format 2), logged right after it arrived. */
export interface LlmResponseEvent {
  /** Record type. */
  event: "llm_response";
  /** Step of the run (1-based). */
  step: number;
  /** The assistant message as received (content and tool calls). */
  message: {
    role: "assistant";
    content: string | null;
    tool_calls?: {
      id: string;
      type: "function";
      function: { name: string; arguments: string };
    }[];
  };
  /** finish_reason. */
  finish_reason: string | null;
  /** Token usage, when reported. */
  usage: {
    input_tokens: number;
    output_tokens: number;
    total_tokens: number;
    cost_usd: number | null;
  } | null;
}

/** The full result of one tool call as the model saw it (format 2). */
export interface ToolResultEvent {
  /** Record type. */
  event: "tool_result";
  /** The call it answers. */
  tool_call_id: string;
  /** Tool name. */
  tool: string;
  /** The tool message's content (secrets masked). */
  content: string;
}

/** A clean-room run of a `save_code` submission (format 2). */
export interface CleanRoomEvent {
  /** Record type. */
  event: "clean_room";
  /** Whether the program ran to its end on its own. */
  success: boolean;
  /** Why it was refused, or null. */
  error: string | null;
  /** Its stdout (clipped). */
  stdout: string;
  /** Its stderr (clipped). */
  stderr: string;
  /** Wall time including the fresh kernel's start, in seconds. */
  seconds: number;
}

/**
 * Collects log events in memory and writes them as JSON Lines. Writing always
 * replaces the file, so an interactive session's log is complete after every
 * turn. Secrets known to the masker are masked in the written text.
 */
export class AgentLog {
  readonly #events: LogEvent[] = [];
  readonly #masker: SecretMasker;
  readonly #cells: NotebookCell[] = [];

  /**
   * Creates an empty log.
   *
   * @param masker Masks the strings that must never reach the file (API keys),
   *   or a list of them.
   */
  constructor(masker: SecretMasker | readonly string[] = []) {
    this.#masker = masker instanceof SecretMasker
      ? masker
      : new SecretMasker(masker);
  }

  /** The events so far. */
  get events(): readonly LogEvent[] {
    return this.#events;
  }

  /**
   * Appends an event.
   *
   * @param event The event.
   */
  add(event: LogEvent): void {
    this.#events.push(event);
  }

  /**
   * Renders the log as JSON Lines with secrets masked.
   *
   * @returns One JSON object per line, newline-terminated.
   */
  toJsonLines(): string {
    return this.#masker.mask(
      this.#events.map((event) => JSON.stringify(event) + "\n").join(""),
    );
  }

  /**
   * Records an executed cell for the session notebook.
   *
   * @param code The code.
   * @param result What it produced (null: nothing came back).
   */
  recordCell(code: string, result: ExecuteResult | null): void {
    this.#cells.push({ code, result });
  }

  /**
   * The session notebook (nbformat 4.5) as JSON text, secrets masked.
   *
   * @returns The notebook file's text.
   */
  notebookText(): string {
    const notebook = buildNotebook(this.#cells, {
      mask: (text) => this.#masker.mask(text),
    });
    return JSON.stringify(notebook, null, 1) + "\n";
  }
}
