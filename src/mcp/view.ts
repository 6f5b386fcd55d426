/**
 * The notebook view (SPEC §14, MCP Apps extension `io.modelcontextprotocol/ui`):
 * a `ui://` HTML resource that hosts render next to python_exec, python_job
 * and python_export results, and the app-only tool it reads the kernel's
 * cells and running jobs through. Everything here is added only for clients
 * that declare the extension; the others see the server unchanged.
 *
 * The view itself is one self-contained HTML document built from
 * `view/main.ts` (repository root) by `deno task build:view` and embedded through the module
 * graph (a text import), so the compiled binaries carry it.
 *
 * @module
 */

import { DEFAULT_KERNEL_ID, type ExecuteResult } from "../kernel/mod.ts";
import type { ToolAnswer } from "./tool_answer.ts";
import type { ToolContext } from "./tools.ts";
import VIEW_HTML from "./view/notebook.html" with { type: "text" };

// The extension's names, as @modelcontextprotocol/ext-apps 2.x exports them
// (EXTENSION_ID, RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY; a test holds
// them equal). Written here so the server does not load that package at
// start (~35 ms of module evaluation before `initialize`).
const EXTENSION_ID = "io.modelcontextprotocol/ui";
const RESOURCE_MIME_TYPE = "text/html;profile=mcp-app";
const RESOURCE_URI_META_KEY = "ui/resourceUri";

/** The extension's settings in client capabilities, if declared. */
function getUiCapability(capabilities: unknown): unknown {
  if (capabilities === null || typeof capabilities !== "object") {
    return undefined;
  }
  const extensions = (capabilities as { extensions?: unknown }).extensions;
  if (extensions === null || typeof extensions !== "object") return undefined;
  return (extensions as Record<string, unknown>)[EXTENSION_ID];
}

/** The extension's id (`io.modelcontextprotocol/ui`). */
export const UI_EXTENSION = EXTENSION_ID;
/** The view's resource URI. */
export const VIEW_URI = "ui://ipython_mcp/notebook.html";
/** MIME type of an MCP Apps HTML resource (`text/html;profile=mcp-app`). */
export const VIEW_MIME_TYPE = RESOURCE_MIME_TYPE;
/** The app-only tool the view reads its data through. */
export const VIEW_TOOL = "notebook_view";
/** Tools whose results link to the view. */
export const VIEW_LINKED_TOOLS: ReadonlySet<string> = new Set([
  "python_exec",
  "python_job",
  "python_export",
]);
/** Largest text field of a cell sent to the view (characters; the tail is cut). */
export const VIEW_TEXT_LIMIT_CHARS = 64 * 1024;
/** Most image characters (base64) in one snapshot; later images are left out. */
export const VIEW_IMAGE_BUDGET_CHARS = 8 * 1024 * 1024;

/** The built view document (served as the `ui://` resource). */
export const VIEW_DOCUMENT: string = VIEW_HTML;

/**
 * Whether client capabilities declare the MCP Apps extension with the HTML
 * profile (or without a list of MIME types).
 *
 * @param capabilities The client's capabilities (2025: from `initialize`;
 *   2026: from the request envelope).
 * @returns True when results may point at the view.
 */
export function clientSupportsView(capabilities: unknown): boolean {
  const ui = getUiCapability(capabilities) as
    | { mimeTypes?: unknown }
    | undefined;
  if (ui === undefined || ui === null || typeof ui !== "object") return false;
  return !Array.isArray(ui.mimeTypes) ||
    ui.mimeTypes.includes(RESOURCE_MIME_TYPE);
}

/** The UI metadata of a tool that links to the view. */
function linkMeta(visibility: ("model" | "app")[]): Record<string, unknown> {
  return {
    ui: { resourceUri: VIEW_URI, visibility },
    // The older flat key, for hosts that read only it.
    [RESOURCE_URI_META_KEY]: VIEW_URI,
  };
}

/**
 * A tools/list entry with the view's link added when the tool is one of
 * {@linkcode VIEW_LINKED_TOOLS}; other entries are returned as they are.
 *
 * @param tool The listing entry.
 * @returns The entry, with `_meta.ui` when linked.
 */
export function withViewLink<T extends { name: string }>(tool: T): T {
  if (!VIEW_LINKED_TOOLS.has(tool.name)) return tool;
  return { ...tool, _meta: linkMeta(["model", "app"]) };
}

/** The tools/list entry of {@linkcode VIEW_TOOL} (visible to the view only). */
export const VIEW_TOOL_LISTING = Object.freeze({
  name: VIEW_TOOL,
  title: "Notebook view data",
  description:
    "Data of the notebook view: a kernel's executed cells with their outputs, and its running background jobs with their output so far. Used by the view; it changes nothing.",
  inputSchema: {
    type: "object" as const,
    properties: {
      kernel_id: {
        type: "string",
        description: 'Kernel to show (default "_default").',
      },
    },
  },
  annotations: {
    title: "Notebook view data",
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  _meta: linkMeta(["app"]),
});

/**
 * The tools/list entries as a client sees them: with the extension, the
 * linked tools carry the view's link and {@linkcode VIEW_TOOL} is added;
 * without it, the entries are returned unchanged.
 *
 * @param on Whether the client declared the extension.
 * @param tools The server's tools/list entries.
 * @returns The entries to list.
 */
export function withViewTools<T extends { name: string }>(
  on: boolean,
  tools: T[],
): T[] {
  if (!on) return tools;
  return [...tools.map(withViewLink), VIEW_TOOL_LISTING as unknown as T];
}

/** The resources/list entry of the view. */
export const VIEW_RESOURCE_LISTING = Object.freeze({
  uri: VIEW_URI,
  name: "notebook-view",
  title: "Notebook view",
  description:
    "The kernel's cells, outputs and running jobs, as an MCP Apps view.",
  mimeType: RESOURCE_MIME_TYPE,
});

/**
 * The resources/read contents of the view: the HTML, with UI metadata that
 * asks for no network access at all (no connect or resource domains).
 *
 * @returns One resource contents entry.
 */
export function viewContents(): Record<string, unknown> {
  return {
    uri: VIEW_URI,
    mimeType: RESOURCE_MIME_TYPE,
    text: VIEW_DOCUMENT,
    _meta: {
      ui: {
        csp: { connectDomains: [], resourceDomains: [] },
        prefersBorder: true,
      },
    },
  };
}

/** One cell as the view gets it. */
export interface ViewCell {
  /** Execution count, when known. */
  execution_count: number | null;
  /** Source code. */
  code: string;
  /** Stdout (cut to the limit). */
  stdout: string;
  /** Stderr (cut to the limit). */
  stderr: string;
  /** The text/plain result. */
  result: string | null;
  /** text/html representations (untrusted; the view sanitises them). */
  html: { html: string; is_result: boolean }[];
  /** Images (base64, or SVG text). */
  images: { mime_type: string; data: string }[];
  /** Images left out of this snapshot (size budget). */
  images_omitted: number;
  /** The Python exception. */
  error: { ename: string; evalue: string; traceback: string } | null;
}

/** One running job as the view gets it. */
export interface ViewJob {
  /** Job id. */
  job_id: string;
  /** Status (running while it is listed). */
  status: string;
  /** Seconds it has run. */
  elapsed_seconds: number;
  /** Its code. */
  code: string;
  /** Stdout so far (the tail). */
  stdout: string;
  /** Stderr so far (the tail). */
  stderr: string;
}

/** The data of one view refresh. */
export interface ViewSnapshot {
  /** The kernel shown. */
  kernel_id: string;
  /** Whether the kernel is live. */
  active: boolean;
  /** Its cells since its last (re)start, in execution order. */
  cells: ViewCell[];
  /** Its running background jobs. */
  jobs: ViewJob[];
}

function cut(text: string): string {
  if (text.length <= VIEW_TEXT_LIMIT_CHARS) return text;
  return text.slice(0, VIEW_TEXT_LIMIT_CHARS) +
    `\n[${text.length - VIEW_TEXT_LIMIT_CHARS} more characters not shown]`;
}

function viewCell(
  code: string,
  result: ExecuteResult | null,
  budget: { chars: number },
): ViewCell {
  const images: ViewCell["images"] = [];
  let omitted = 0;
  for (const image of result?.images ?? []) {
    if (image.data.length > budget.chars) {
      omitted++;
      continue;
    }
    budget.chars -= image.data.length;
    images.push({ mime_type: image.mimeType, data: image.data });
  }
  return {
    execution_count: result?.executionCount ?? null,
    code: cut(code),
    stdout: cut(result?.stdout ?? ""),
    stderr: cut(result?.stderr ?? ""),
    result: result?.result == null ? null : cut(result.result),
    html: (result?.html ?? []).map((item) => ({
      html: item.html,
      is_result: item.isResult,
    })),
    images,
    images_omitted: omitted,
    error: result?.error
      ? {
        ename: result.error.ename,
        evalue: cut(result.error.evalue),
        traceback: cut(result.error.traceback),
      }
      : null,
  };
}

/**
 * The view's data for one kernel: its cells and its running jobs. Reads
 * only; job output is read without taking it from python_job polls.
 *
 * @param context The tools' state.
 * @param kernelId Kernel id (default `_default`).
 * @returns The snapshot.
 */
export function viewSnapshot(
  context: ToolContext,
  kernelId: string = DEFAULT_KERNEL_ID,
): ViewSnapshot {
  const active = context.registry.has(kernelId);
  const budget = { chars: VIEW_IMAGE_BUDGET_CHARS };
  const cells = active
    ? context.history.cells(context.registry.get(kernelId)).map((cell) =>
      viewCell(cell.code, cell.result, budget)
    )
    : [];
  const jobs = context.jobs.list()
    .filter((job) => job.kernelId === kernelId && job.status === "running")
    .map((job) => {
      const output = context.jobs.outputSoFar(job.id) ??
        { stdout: "", stderr: "" };
      return {
        job_id: job.id,
        status: job.status,
        elapsed_seconds: context.jobs.elapsedSeconds(job),
        code: cut(job.code),
        stdout: cut(output.stdout),
        stderr: cut(output.stderr),
      };
    });
  return { kernel_id: kernelId, active, cells, jobs };
}

/**
 * Answers a {@linkcode VIEW_TOOL} call. The text item is a one-line summary
 * (the data is for the view, in `structuredContent`, not for a model).
 *
 * @param args The call's arguments (`kernel_id`, optional).
 * @param context The tools' state.
 * @returns The answer; bad arguments give an `isError` answer.
 */
export function viewToolAnswer(
  args: unknown,
  context: ToolContext,
): ToolAnswer {
  const raw = (args ?? {}) as Record<string, unknown>;
  const kernelId = raw.kernel_id ?? DEFAULT_KERNEL_ID;
  if (typeof kernelId !== "string" || kernelId === "") {
    const payload = {
      success: false,
      error:
        `Invalid arguments for ${VIEW_TOOL}: kernel_id must be a non-empty string.`,
    };
    return {
      content: [{ type: "text", text: JSON.stringify(payload) }],
      structuredContent: payload,
      isError: true,
    };
  }
  const snapshot = viewSnapshot(context, kernelId);
  return {
    content: [{
      type: "text",
      text:
        `Kernel ${kernelId}: ${snapshot.cells.length} cells, ${snapshot.jobs.length} running jobs.`,
    }],
    structuredContent: snapshot as unknown as Record<string, unknown>,
  };
}
