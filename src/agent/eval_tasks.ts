/**
 * The tasks of an evaluation: Markdown task files found in the given
 * directories and files, each with its validator (`NAME.validate.py` beside
 * `NAME.md`, else the evaluation's `--validate` command).
 *
 * @module
 */

import { basename, extname, join, resolve } from "node:path";

/** A command that checks a solution; the solution's path is appended. */
export interface EvalValidator {
  /** The command's argv before the solution path. */
  argv: string[];
  /** How it is shown (the `--validate` text or the script's path). */
  label: string;
}

/** One task of an evaluation. */
export interface EvalTask {
  /** Name: the file's name without `.md` (unique within an evaluation). */
  name: string;
  /** Absolute path of the task file. */
  file: string;
  /** The task text. */
  text: string;
  /** Its validator, or null when solutions are not checked. */
  validator: EvalValidator | null;
}

/** A bad task list: missing or empty files, clashing names (a usage error). */
export class EvalTaskError extends Error {
  /**
   * Creates a task-list error.
   *
   * @param message What is wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EvalTaskError";
  }
}

/** Options of {@linkcode loadEvalTasks}. */
export interface LoadEvalTasksOptions {
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Shell command validating every task without its own `NAME.validate.py`. */
  validate?: string | null;
  /** Interpreter running `NAME.validate.py` scripts (default `python3`). */
  python?: string;
}

/**
 * The validator of a shell command: run by `sh -c`, with the solution path
 * as its last argument.
 *
 * @param command The command text (`--validate`).
 * @returns The validator.
 */
export function shellValidator(command: string): EvalValidator {
  return { argv: ["sh", "-c", `${command} "$@"`, "sh"], label: command };
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function taskFilesOf(path: string, given: string): Promise<string[]> {
  const info = await statOrNull(path);
  if (info === null) {
    throw new EvalTaskError(
      `Cannot find "${given}": no such file or directory`,
    );
  }
  if (info.isFile) return [path];
  if (!info.isDirectory) {
    throw new EvalTaskError(`"${given}" is neither a file nor a directory`);
  }
  const files: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && extname(entry.name).toLowerCase() === ".md") {
      files.push(join(path, entry.name));
    }
  }
  if (files.length === 0) {
    throw new EvalTaskError(`"${given}" holds no task files (*.md)`);
  }
  return files.sort();
}

/**
 * Finds and reads the task files of an evaluation: every `*.md` of a
 * directory (sorted by name), and each file named itself.
 *
 * @param paths Directories and files, as given on the command line.
 * @param options Base directory, `--validate`, interpreter for validator scripts.
 * @returns The tasks in order.
 * @throws {EvalTaskError} For a missing path, an empty directory or task,
 *   or two tasks with the same name.
 *
 * @example Load a directory of tasks
 * ```ts
 * import { loadEvalTasks } from "./eval_tasks.ts";
 * const tasks = await loadEvalTasks(["examples/eval"], { cwd: Deno.cwd() });
 * console.log(tasks.map((task) => task.name));
 * ```
 */
export async function loadEvalTasks(
  paths: readonly string[],
  options: LoadEvalTasksOptions,
): Promise<EvalTask[]> {
  if (paths.length === 0) {
    throw new EvalTaskError("No tasks given: name task files or directories");
  }
  const tasks: EvalTask[] = [];
  const byName = new Map<string, string>();
  for (const given of paths) {
    for (const file of await taskFilesOf(resolve(options.cwd, given), given)) {
      const name = basename(file, extname(file));
      const clash = byName.get(name);
      if (clash !== undefined) {
        if (clash === file) continue;
        throw new EvalTaskError(
          `Two tasks are named "${name}": "${clash}" and "${file}"; rename one`,
        );
      }
      byName.set(name, file);
      const text = await Deno.readTextFile(file);
      if (text.trim() === "") {
        throw new EvalTaskError(`Task file "${file}" is empty`);
      }
      const script = file.replace(/\.md$/i, "") + ".validate.py";
      const own = (await statOrNull(script))?.isFile ? script : null;
      const validator: EvalValidator | null = own !== null
        ? { argv: [options.python ?? "python3", own], label: own }
        : options.validate
        ? shellValidator(options.validate)
        : null;
      tasks.push({ name, file, text, validator });
    }
  }
  return tasks;
}
