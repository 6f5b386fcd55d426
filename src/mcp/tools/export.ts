/**
 * The python_export tool: writes a kernel's cells as a Jupyter notebook.
 *
 * @module
 */

import {
  buildNotebook,
  DEFAULT_KERNEL_ID,
  HOST_FILES,
} from "../../kernel/mod.ts";
import {
  errorAnswer,
  jsonAnswer,
  OUTPUT_DIR_NAME,
  resourceLink,
} from "../tool_answer.ts";
import { join } from "node:path";
import { z } from "zod";
import { safePathIn } from "../resources.ts";
import type { McpTool } from "./context.ts";
import { defineTool } from "./define.ts";
import { kernelIdSchema, pathArgumentSchema } from "./arguments.ts";
import { failureFields } from "./execution.ts";

/**
 * The notebook path python_export writes when given none.
 *
 * @param kernelId Registry id.
 * @param tag The namespace's tag, when the working directory is shared.
 * @returns `.ipython_mcp/<kernel_id>[-<tag>].ipynb`.
 */
export function defaultExportPath(kernelId: string, tag?: string): string {
  return join(
    OUTPUT_DIR_NAME,
    `${kernelId}${tag === undefined ? "" : `-${tag}`}.ipynb`,
  );
}

function exportPathError(path: string, reason: string): string {
  return `Cannot export to "${path}": ${reason}. Give a path relative to the working directory, e.g. "analysis.ipynb", or omit path for .ipython_mcp/<kernel_id>.ipynb.`;
}

/** The python_export tool. */
export const pythonExport: McpTool = defineTool({
  name: "python_export",
  title: "Export a kernel's session as a notebook",
  description:
    `Write a Jupyter notebook (.ipynb, nbformat 4.5) of every cell a kernel ran since its last start or reset, with outputs (printed text, results, errors, images).

Returns JSON {path, cells} and a resource link to the file. Use it to hand the work to a person, or to keep a record of an analysis. path is relative to the working directory (default .ipython_mcp/<kernel_id>.ipynb); paths outside the working directory are refused. Background jobs appear once they have ended.`,
  schema: z.object({
    kernel_id: kernelIdSchema.describe(
      "Kernel whose cells to export. Omit for the default session.",
    ),
    path: z.preprocess(
      (value) => (value === null || value === "" ? undefined : value),
      pathArgumentSchema.optional(),
    ).describe(
      "Where to write, relative to the working directory (default .ipython_mcp/<kernel_id>.ipynb).",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    kernel_id: z.string().optional(),
    path: z.string().optional(),
    cells: z.number().optional(),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler({ kernel_id, path }, context) {
    const id = kernel_id ?? DEFAULT_KERNEL_ID;
    if (!context.registry.has(id)) {
      return errorAnswer(
        `Kernel ${id} not found, so there is nothing to export. Run code with python_exec first, or pass the kernel_id python_reset() returned.`,
        { kernel_id: id },
      );
    }
    const kernel = context.registry.get(id);
    const wanted = path ?? defaultExportPath(id, context.exportTag);
    if (!wanted.endsWith(".ipynb")) {
      return errorAnswer(
        exportPathError(wanted, 'the file name must end with ".ipynb"'),
        { kernel_id: id },
      );
    }
    const cells = context.history.cells(kernel);
    const text = context.mask(
      JSON.stringify(buildNotebook(cells), null, 1) + "\n",
    );
    const workspace = context.registry.backend.workspace ?? HOST_FILES;
    let target: string;
    let link = "";
    try {
      if (!workspace.confined) await safePathIn(context.cwd, wanted);
      target = await workspace.writeFile(context.cwd, wanted, text);
      if (context.outputs.private) {
        // A confined kernel may swap the written file at once: the link
        // points at the server's own copy.
        link = context.outputs.pathFactory()("notebook", "ipynb");
        await context.outputs.save([{ path: link, data: text }]);
      }
    } catch (error) {
      // Outside the cwd, through a link, or the write failed.
      return errorAnswer(
        exportPathError(
          wanted,
          error instanceof Error ? error.message : String(error),
        ),
        { kernel_id: id },
      );
    }
    return jsonAnswer(
      {
        success: true,
        kernel_id: id,
        path: target,
        cells: cells.length,
        ...(link ? { copy: link } : {}),
      },
      false,
      [resourceLink(link || target)],
    );
  },
});
