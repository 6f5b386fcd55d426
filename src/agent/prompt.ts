/**
 * System prompt assembly: built-in prompts, project files, package status.
 *
 * @module
 */

import systemPrompt from "./prompts/system.md" with { type: "text" };
import systemTodoPrompt from "./prompts/system_todo.md" with { type: "text" };
import { packageName } from "../kernel/mod.ts";

/**
 * The built-in system prompt.
 *
 * @param todo Whether to use the variant that explains `todo_write`.
 * @returns The prompt text.
 */
export function builtinSystemPrompt(todo: boolean): string {
  return todo ? systemTodoPrompt : systemPrompt;
}

/** A project file split into its packages block and prompt text. */
export interface ProjectFile {
  /** Packages listed in the leading ```packages block (one per line). */
  packages: string[];
  /** The rest of the file. */
  prompt: string;
}

/**
 * Splits a project file: an optional leading fenced block tagged `packages`
 * (one package per line; blank lines and `#` comments ignored), then prompt text.
 *
 * @param text The file contents.
 * @returns Packages and prompt.
 *
 * @example Parse a project file
 * ```ts
 * import { parseProjectFile } from "./prompt.ts";
 * const fence = "`".repeat(3);
 * const project = parseProjectFile(`${fence}packages\ncpmpy\n${fence}\nUse CPMpy.`);
 * console.log(project.packages, project.prompt); // ["cpmpy"] "Use CPMpy."
 * ```
 */
export function parseProjectFile(text: string): ProjectFile {
  const normalized = text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
  const match = /^\s*```packages[ \t]*\n([\s\S]*?)\n?```[ \t]*(?:\n|$)/.exec(
    normalized,
  );
  if (!match) return { packages: [], prompt: normalized.trim() };
  const packages = (match[1] ?? "").split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "");
  return { packages, prompt: normalized.slice(match[0].length).trim() };
}

/**
 * The distribution/import name of a package spec (`numpy>=2` -> `numpy`).
 *
 * @param spec A package spec.
 * @returns The bare name.
 */
export function packageNameOf(spec: string): string {
  return packageName(spec);
}

/**
 * Renders the package status section of the system prompt.
 *
 * @param versions Package name -> installed version, or null when unavailable.
 * @returns The section, or "" when there is nothing to report.
 */
export function packageSection(
  versions: Record<string, string | null>,
): string {
  const names = Object.keys(versions);
  if (names.length === 0) return "";
  const available = names.filter((name) => versions[name] !== null);
  const missing = names.filter((name) => versions[name] === null);
  const lines = ["## Python packages", ""];
  if (available.length > 0) {
    lines.push("Available in the kernel (import them freely):");
    for (const name of available) lines.push(`- \`${name}\` ${versions[name]}`);
  }
  if (missing.length > 0) {
    if (available.length > 0) lines.push("");
    lines.push(
      "NOT available (importing them fails; work around them with the standard",
    );
    lines.push("library or the available packages):");
    for (const name of missing) lines.push(`- \`${name}\``);
  }
  return lines.join("\n");
}

/** Parts of the system prompt. */
export interface SystemPromptParts {
  /** Base prompt (built-in or custom). */
  base: string;
  /** Project prompt text. */
  project?: string;
  /** Package status section. */
  packages?: string;
  /** The task, wrapped in `<task>` tags. */
  task?: string;
}

/**
 * Joins the system prompt: base, project section, packages, `<task>`.
 *
 * @param parts The parts.
 * @returns The full system prompt.
 */
export function composeSystemPrompt(parts: SystemPromptParts): string {
  const sections = [parts.base.trim()];
  if (parts.project?.trim()) {
    sections.push(`# Project instructions\n\n${parts.project.trim()}`);
  }
  if (parts.packages?.trim()) sections.push(parts.packages.trim());
  if (parts.task?.trim()) {
    sections.push(`<task>\n${parts.task.trim()}\n</task>`);
  }
  return sections.join("\n\n") + "\n";
}

/** The first user message of a task run. */
export const TASK_KICKOFF =
  "Complete the task given in <task> above. Run your code to verify it, save the final program with save_code, then give a short final answer.";

/** Sent after an answer cut off by the output token limit. */
export const CONTINUE_MESSAGE =
  "Your last reply was cut off at the output token limit. Continue exactly where it stopped, and be concise.";
