/**
 * The JSON Lines run log: one object per event, rewritten as a whole file.
 *
 * @module
 */

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
    status: "success" | "step_limit_reached" | "error";
    error?: string;
  };

/**
 * Collects log events in memory and writes them as JSON Lines. Writing always
 * replaces the file, so an interactive session's log is complete after every
 * turn. Secrets given to the constructor are masked in the written text.
 */
export class AgentLog {
  readonly #events: LogEvent[] = [];
  readonly #secrets: string[];

  /**
   * Creates an empty log.
   *
   * @param secrets Strings that must never reach the file (API keys).
   */
  constructor(secrets: readonly string[] = []) {
    this.#secrets = secrets.filter((secret) => secret.length >= 4);
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
    let text = this.#events.map((event) => JSON.stringify(event) + "\n").join(
      "",
    );
    for (const secret of this.#secrets) {
      text = text.replaceAll(secret, "[REDACTED]");
    }
    return text;
  }

  /**
   * Writes (replaces) the log file.
   *
   * @param path File to write.
   * @returns Resolves when written.
   */
  async write(path: string): Promise<void> {
    await Deno.writeTextFile(path, this.toJsonLines());
  }
}
