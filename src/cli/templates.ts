/**
 * The `--init` example templates (cpmpy, clingo, regex) and the code that
 * copies them into a user's directory.
 *
 * Every template file comes in through the module graph as a text import, so
 * `deno compile` embeds it and a `jsr:` run fetches it with the code: nothing
 * is read relative to the checkout at run time.
 *
 * @example Copy every template set
 * ```ts ignore
 * import { initTemplates } from "./templates.ts";
 *
 * const { copied, skipped } = await initTemplates("all", Deno.cwd());
 * ```
 *
 * @module
 */

import { join } from "node:path";

import clingoReadme from "../../examples/clingo/README.md" with {
  type: "text",
};
import clingoProject from "../../examples/clingo/clingo.md" with {
  type: "text",
};
import clingoGraphColouring from "../../examples/clingo/task_graph_colouring.md" with {
  type: "text",
};
import clingoLogicPuzzle from "../../examples/clingo/task_logic_puzzle.md" with {
  type: "text",
};
import cpmpyReadme from "../../examples/cpmpy/README.md" with {
  type: "text",
};
import cpmpyProject from "../../examples/cpmpy/cpmpy.md" with {
  type: "text",
};
import cpmpyNqueens from "../../examples/cpmpy/task_nqueens.md" with {
  type: "text",
};
import cpmpyScheduling from "../../examples/cpmpy/task_scheduling.md" with {
  type: "text",
};
import cpmpySendMoreMoney from "../../examples/cpmpy/task_send_more_money.md" with {
  type: "text",
};
import regexReadme from "../../examples/regex/README.md" with {
  type: "text",
};
import regexProject from "../../examples/regex/regex.md" with {
  type: "text",
};
import regexDates from "../../examples/regex/task_dates.md" with {
  type: "text",
};
import regexEmails from "../../examples/regex/task_emails.md" with {
  type: "text",
};

/** Name of one bundled template set. */
export type TemplateName = "cpmpy" | "clingo" | "regex";

/** One file of a template set. */
export interface TemplateFile {
  /** File name inside the set's folder, e.g. `"cpmpy.md"`. */
  readonly name: string;
  /** Exact file content. */
  readonly text: string;
}

/** The bundled template sets, in the order `--init all` copies them. */
export const TEMPLATE_NAMES: readonly TemplateName[] = Object.freeze([
  "cpmpy",
  "clingo",
  "regex",
]);

/**
 * Every bundled template file, per set. The project prompt `<name>.md` comes
 * first in each set.
 */
export const TEMPLATES: Readonly<
  Record<TemplateName, readonly TemplateFile[]>
> = Object.freeze({
  cpmpy: Object.freeze([
    { name: "cpmpy.md", text: cpmpyProject },
    { name: "README.md", text: cpmpyReadme },
    { name: "task_send_more_money.md", text: cpmpySendMoreMoney },
    { name: "task_nqueens.md", text: cpmpyNqueens },
    { name: "task_scheduling.md", text: cpmpyScheduling },
  ]),
  clingo: Object.freeze([
    { name: "clingo.md", text: clingoProject },
    { name: "README.md", text: clingoReadme },
    { name: "task_graph_colouring.md", text: clingoGraphColouring },
    { name: "task_logic_puzzle.md", text: clingoLogicPuzzle },
  ]),
  regex: Object.freeze([
    { name: "regex.md", text: regexProject },
    { name: "README.md", text: regexReadme },
    { name: "task_dates.md", text: regexDates },
    { name: "task_emails.md", text: regexEmails },
  ]),
});

/** Folder under the working directory that `--init` copies into. */
export const TEMPLATES_DIR = "coder-examples";

/** What {@linkcode initTemplates} did. */
export interface InitTemplatesResult {
  /** Files written, as paths relative to `cwd` (`coder-examples/<name>/<file>`). */
  copied: string[];
  /** Files that already existed and were left untouched, relative to `cwd`. */
  skipped: string[];
}

/**
 * Copies bundled templates to `<cwd>/coder-examples/<name>/`.
 *
 * A file that already exists is never overwritten, whatever its content; it
 * is reported as skipped. Missing folders are created.
 *
 * @param name One of {@linkcode TEMPLATE_NAMES}, or `"all"` for every set.
 * @param cwd Directory to create `coder-examples/` in.
 * @returns The files copied and the files skipped, relative to `cwd`.
 * @throws {RangeError} When `name` is not a template name nor `"all"`; the
 *   message lists the valid choices.
 * @throws {Deno.errors.PermissionDenied} Or another file system error when a
 *   folder or file cannot be created.
 *
 * @example Copy the CPMpy set
 * ```ts ignore
 * const result = await initTemplates("cpmpy", "/home/me/work");
 * // result.copied[0] === "coder-examples/cpmpy/cpmpy.md"
 * ```
 */
export async function initTemplates(
  name: string,
  cwd: string,
): Promise<InitTemplatesResult> {
  const names = selectTemplates(name);
  const copied: string[] = [];
  const skipped: string[] = [];
  for (const set of names) {
    const folder = join(TEMPLATES_DIR, set);
    await Deno.mkdir(join(cwd, folder), { recursive: true });
    for (const file of TEMPLATES[set]) {
      const relative = join(folder, file.name);
      try {
        // createNew fails when the file exists: no check-then-write race.
        await Deno.writeTextFile(join(cwd, relative), file.text, {
          createNew: true,
        });
        copied.push(relative);
      } catch (error: unknown) {
        if (error instanceof Deno.errors.AlreadyExists) {
          skipped.push(relative);
        } else {
          throw error;
        }
      }
    }
  }
  return { copied, skipped };
}

function selectTemplates(name: string): readonly TemplateName[] {
  if (name === "all") return TEMPLATE_NAMES;
  const found = TEMPLATE_NAMES.find((known) => known === name);
  if (found === undefined) {
    throw new RangeError(
      `Cannot initialise templates: unknown template "${name}" (choose one of ${
        [...TEMPLATE_NAMES, "all"].join(", ")
      })`,
    );
  }
  return [found];
}
