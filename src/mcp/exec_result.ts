/**
 * A python_exec result shaped into a tool answer: text fields cut at the
 * limit with a marker and saved in full, images inline while the whole
 * answer stays under the size clients accept, the rest saved and linked.
 *
 * Nothing here touches the file system: {@linkcode shapeExecResult}
 * returns the files that must be written under `<cwd>/.ipython_mcp/`
 * beside the answer, and the caller writes them before answering.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { ExecuteResult } from "../kernel/mod.ts";
import { shapeImages } from "./images.ts";
import { formatSeconds } from "./messages.ts";
import {
  type ContentItem,
  type FileToSave,
  type ImageItem,
  jsonAnswer,
  resourceLink,
  type ResourceLinkItem,
} from "./tool_answer.ts";

/** Largest text field (UTF-8 bytes) returned inline: 100 KB. */
export const TEXT_LIMIT_BYTES = 100 * 1024;
/**
 * Largest serialized tool result in characters (Claude Desktop rejects
 * larger results); images that do not fit are saved instead.
 */
export const RESULT_LIMIT_CHARS = 1_048_576;

/** Output of {@linkcode shapeExecResult}. */
export interface ShapedExec {
  /** The JSON object of the text item. */
  payload: Record<string, unknown>;
  /** Image items, then resource links of the saved files, after the text item. */
  images: (ImageItem | ResourceLinkItem)[];
  /** Files to write before answering (paths are already in `payload`). */
  files: FileToSave[];
  /**
   * Where each inline image item (in order) is also saved, so it has a
   * resource URI (SPEC §11); these files are among `files` but get no
   * resource link (the image item is already there).
   */
  inlineSaved: string[];
  /** Whether the call succeeded. */
  success: boolean;
}

/** Options of {@linkcode shapeExecResult}. */
export interface ShapeExecOptions {
  /** The kernel the code ran in. */
  kernelId: string;
  /**
   * Returns a fresh absolute path under `<cwd>/.ipython_mcp/` for a saved
   * file; `kind` is the field name ("stdout", "image", ...), `ext` the
   * extension without dot.
   */
  pathFor: (kind: string, ext: string) => string;
  /**
   * Our own failure message (timeout, dead kernel). When set, the answer is
   * a failure with this `error`, whatever the Python result says.
   */
  failure?: string;
  /** Text field limit in bytes; default {@linkcode TEXT_LIMIT_BYTES}. */
  limitBytes?: number;
  /** Inline image limit; default `IMAGE_INLINE_LIMIT_BYTES` (images.ts). */
  imageLimitBytes?: number;
  /** Most inline images; default `MAX_INLINE_IMAGES` (images.ts). */
  maxImages?: number;
  /** Largest serialized answer; default {@linkcode RESULT_LIMIT_CHARS}. */
  resultLimitChars?: number;
}

/** Result of {@linkcode truncateText}. */
export interface Truncation {
  /** The first `limitBytes` bytes (cut at a character boundary). */
  head: string;
  /** Whether the text was longer than the limit. */
  truncated: boolean;
}

/**
 * Cuts text to at most `limitBytes` UTF-8 bytes, on a character boundary.
 *
 * @param text The text.
 * @param limitBytes The limit.
 * @returns The head and whether anything was cut.
 */
export function truncateText(text: string, limitBytes: number): Truncation {
  if (text.length * 3 <= limitBytes) return { head: text, truncated: false };
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= limitBytes) return { head: text, truncated: false };
  let cut = limitBytes;
  // Step back over UTF-8 continuation bytes so no character is split.
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return {
    head: new TextDecoder().decode(bytes.subarray(0, cut)),
    truncated: true,
  };
}

/**
 * The marker appended to a cut field.
 *
 * @param field Field name ("stdout", "stderr", "result", "error").
 * @param limitBytes The limit used.
 * @param path Where the full text was saved.
 * @returns "[stdout truncated at 100KB; full text: PATH]".
 */
export function truncationMarker(
  field: string,
  limitBytes: number,
  path: string,
): string {
  return `[${field} truncated at ${
    formatSeconds(limitBytes / 1024)
  }KB; full text: ${path}]`;
}

/**
 * Shapes a python_exec result: the JSON payload `{success, kernel_id,
 * stdout, result, stderr, error}` (empty fields left out), text fields over
 * the limit cut with a marker and saved in full, images inline up to the
 * count, size and whole-answer limits and saved otherwise (`images_saved`,
 * with resource links). SVG is always saved, never an image item; image
 * data that is not valid base64 is dropped with a note (`images_dropped`).
 *
 * @param result The execution result, or null when nothing ran.
 * @param options Kernel id, path factory, failure message and limits.
 * @returns Payload, image and link items, and files to write.
 * @example Shaping a result
 * ```ts
 * import { shapeExecResult } from "./exec_result.ts";
 * const shaped = shapeExecResult({
 *   status: "ok", stdout: "hi\n", stderr: "", result: null, images: [],
 *   error: null, executionCount: 1, droppedBytes: { stdout: 0, stderr: 0 },
 * }, { kernelId: "_default", pathFor: (k, e) => `/tmp/.ipython_mcp/${k}.${e}` });
 * shaped.payload; // { success: true, kernel_id: "_default", stdout: "hi\n" }
 * ```
 */
export function shapeExecResult(
  result: ExecuteResult | null,
  options: ShapeExecOptions,
): ShapedExec {
  const resultLimit = options.resultLimitChars ?? RESULT_LIMIT_CHARS;
  const success = options.failure === undefined &&
    (result === null || (result.status === "ok" && result.error === null));
  // Room kept for saved-image paths, links and the answer's envelope.
  const reserve = 4096 + (result?.images.length ?? 0) * 2048;
  let limit = options.limitBytes ?? TEXT_LIMIT_BYTES;
  let text = shapeTextFields(result, options, success, limit);
  // Escaping can blow text up (a NUL is 6 characters in JSON, twice over):
  // cut harder until text alone fits.
  while (answerSize(text.payload, []) + reserve > resultLimit && limit > 256) {
    limit = Math.floor(limit / 4);
    text = shapeTextFields(result, options, success, limit);
  }
  const { payload, files } = text;
  const images = shapeImages(result?.images ?? [], options);
  for (const file of images.files) files.push(file);
  if (images.saved.length > 0) payload.images_saved = images.saved;
  if (images.dropped.length > 0) payload.images_dropped = images.dropped;
  // Inline images in order while the whole answer stays under the limit.
  const inline: ImageItem[] = [];
  const inlineExt: string[] = [];
  let size = answerSize(payload, files.map((f) => resourceLink(f.path))) +
    images.candidates.length * 1024;
  for (const candidate of images.candidates) {
    const cost = JSON.stringify(candidate.item).length + 1;
    if (size + cost <= resultLimit - 1024) {
      inline.push(candidate.item);
      inlineExt.push(candidate.ext);
      size += cost;
      continue;
    }
    const path = options.pathFor("image", candidate.ext);
    files.push({ path, data: candidate.bytes() });
    images.saved.push(path);
    payload.images_saved = images.saved;
  }
  const links = files.map((file) => resourceLink(file.path));
  // Each inline image is saved too, so structuredContent can name its URI.
  const inlineSaved = inline.map((item, index) => {
    const path = options.pathFor("image", inlineExt[index]!);
    files.push({
      path,
      data: new Uint8Array(Buffer.from(item.data, "base64")),
    });
    return path;
  });
  return {
    payload,
    images: [...inline, ...links],
    files,
    inlineSaved,
    success,
  };
}

function answerSize(
  payload: Record<string, unknown>,
  items: readonly ContentItem[],
): number {
  return JSON.stringify(jsonAnswer(payload, true, items)).length;
}

function shapeTextFields(
  result: ExecuteResult | null,
  options: ShapeExecOptions,
  success: boolean,
  limit: number,
): { payload: Record<string, unknown>; files: FileToSave[] } {
  const files: FileToSave[] = [];
  const payload: Record<string, unknown> = {
    success,
    kernel_id: options.kernelId,
  };
  const put = (field: string, text: string | null | undefined): void => {
    if (!text) return;
    const cut = truncateText(text, limit);
    if (!cut.truncated) {
      payload[field] = text;
      return;
    }
    const path = options.pathFor(field, "txt");
    files.push({ path, data: text });
    const sep = cut.head.endsWith("\n") ? "" : "\n";
    payload[field] = cut.head + sep + truncationMarker(field, limit, path);
  };
  put("stdout", result?.stdout);
  put("result", result?.result);
  put("stderr", result?.stderr);
  if (options.failure !== undefined) {
    put("error", options.failure);
  } else if (result?.error) {
    const { ename, evalue, traceback } = result.error;
    put("error", `${ename}: ${evalue}\n${traceback}`);
  }
  if (result) {
    const dropped = result.droppedBytes;
    if (dropped.stdout > 0 || dropped.stderr > 0) {
      payload.dropped_bytes = { ...dropped };
    }
  }
  return { payload, files };
}
