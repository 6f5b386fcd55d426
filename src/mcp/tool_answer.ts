/**
 * The shape of a tool answer: content items (text, image, resource link),
 * the JSON text item with the same object as `structuredContent` (SPEC
 * §9), and links to files saved under `.ipython_mcp/`.
 *
 * @module
 */

import { basename } from "node:path";
import { pathToFileURL } from "node:url";

/** Folder, under the working directory, for full texts and large images. */
export const OUTPUT_DIR_NAME = ".ipython_mcp";

/** A text content item of a tool answer. */
export interface TextItem {
  /** Always "text". */
  type: "text";
  /** The JSON text. */
  text: string;
}

/** An image content item of a tool answer. */
export interface ImageItem {
  /** Always "image". */
  type: "image";
  /** Base64 image bytes, without whitespace. */
  data: string;
  /** MIME type such as "image/png". */
  mimeType: string;
}

/** A link to a file saved under `.ipython_mcp/` (readable as a resource). */
export interface ResourceLinkItem {
  /** Always "resource_link". */
  type: "resource_link";
  /** `file://` URL of the saved file. */
  uri: string;
  /** File name. */
  name: string;
  /** MIME type of the file. */
  mimeType: string;
}

/** A content item of a tool answer. */
export type ContentItem = TextItem | ImageItem | ResourceLinkItem;

/** The result of one tool call, as the MCP `tools/call` result. */
export interface ToolAnswer {
  /** One JSON text item, then image items and resource links. */
  content: ContentItem[];
  /** The same object as the JSON text item (SPEC §9). */
  structuredContent: Record<string, unknown>;
  /** True when the call failed (`success: false` / `ok: false`). */
  isError?: boolean;
  /** Lets the answer be returned as an SDK result object. */
  [key: string]: unknown;
}

/** A file that must be written before the answer is sent. */
export interface FileToSave {
  /** Absolute path under `<cwd>/.ipython_mcp/`. */
  path: string;
  /** Text (full output, SVG) or bytes (PNG, JPEG). */
  data: string | Uint8Array;
}

/**
 * Builds a tool answer holding one JSON text item.
 *
 * `structuredContent` holds the same object (SPEC §9).
 *
 * @param payload The JSON object.
 * @param isError Whether the call failed.
 * @param images Image and resource-link items to append after the text item.
 * @returns The tool answer.
 * @example Success answer
 * ```ts
 * import { jsonAnswer } from "./tool_answer.ts";
 * jsonAnswer({ ok: true }).content[0]; // { type: "text", text: '{"ok":true}' }
 * ```
 */
export function jsonAnswer(
  payload: Record<string, unknown>,
  isError = false,
  images: readonly ContentItem[] = [],
): ToolAnswer {
  const answer: ToolAnswer = {
    content: [{ type: "text", text: JSON.stringify(payload) }, ...images],
    structuredContent: payload,
  };
  if (isError) answer.isError = true;
  return answer;
}

/**
 * Builds a failure answer `{success: false, ...extra, error}` with `isError`.
 *
 * @param error The message for the model.
 * @param extra Fields placed before `error` (e.g. `kernel_id`).
 * @returns The tool answer.
 */
export function errorAnswer(
  error: string,
  extra: Record<string, unknown> = {},
): ToolAnswer {
  return jsonAnswer({ success: false, ...extra, error }, true);
}

/** MIME type of a file saved under `.ipython_mcp/`, from its extension. */
export function mimeTypeOfPath(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return ({
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    svg: "image/svg+xml",
    txt: "text/plain",
    ipynb: "application/x-ipynb+json",
    json: "application/json",
  } as Record<string, string>)[ext] ?? "application/octet-stream";
}

/**
 * The `resource_link` item for a saved file.
 *
 * @param path Absolute path of the file.
 * @returns The link (a `file://` URL readable through `resources/read`).
 */
export function resourceLink(path: string): ResourceLinkItem {
  return {
    type: "resource_link",
    uri: pathToFileURL(path).href,
    name: basename(path),
    mimeType: mimeTypeOfPath(path),
  };
}
