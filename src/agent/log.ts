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
  };

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
