/**
 * Pure result shaping for the ipython_mcp tools: the JSON text item, output
 * truncation, image content items and the messages SPEC §2 fixes.
 *
 * Nothing here touches the file system: {@linkcode shapeExecResult} returns
 * the files that must be written under `<cwd>/.ipython_mcp/` beside the
 * answer, and the caller writes them before answering.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { basename } from "node:path";
import { pathToFileURL } from "node:url";
import {
  describeExit,
  type ExecuteResult,
  type KernelExit,
  type KernelImage,
  packageName,
} from "../kernel/mod.ts";

/** Largest text field (UTF-8 bytes) returned inline: 100 KB. */
export const TEXT_LIMIT_BYTES = 100 * 1024;
/** Largest image (decoded bytes) returned as image content: 1 MB. */
export const IMAGE_INLINE_LIMIT_BYTES = 1024 * 1024;
/** Most image content items per python_exec answer. */
export const MAX_INLINE_IMAGES = 8;
/**
 * Largest serialized tool result in characters (Claude Desktop rejects
 * larger results); images that do not fit are saved instead.
 */
export const RESULT_LIMIT_CHARS = 1_048_576;
/** Folder, under the working directory, for full texts and large images. */
export const OUTPUT_DIR_NAME = ".ipython_mcp";
/** Most packages python_status lists. */
export const MAX_STATUS_PACKAGES = 20;
/** Packages python_status leaves out (kernel plumbing, not user choices). */
export const HIDDEN_STATUS_PACKAGES: readonly string[] = [
  "pip",
  "setuptools",
  "wheel",
  "ipykernel",
  "jupyter-client",
];

/** Answer to python_interrupt when a kernel got SIGINT. */
export const INTERRUPT_SENT = "Interrupt sent. Session state preserved.";
/** Answer to python_interrupt when the kernel does not exist. */
export const NO_SESSION_TO_INTERRUPT = "No active session to interrupt";
/** submit_code error for empty or whitespace-only code. */
export const EMPTY_SUBMISSION = "Empty submission";

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
  /** Inline image limit; default {@linkcode IMAGE_INLINE_LIMIT_BYTES}. */
  imageLimitBytes?: number;
  /** Most inline images; default {@linkcode MAX_INLINE_IMAGES}. */
  maxImages?: number;
  /** Largest serialized answer; default {@linkcode RESULT_LIMIT_CHARS}. */
  resultLimitChars?: number;
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
 * import { jsonAnswer } from "./format.ts";
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

/**
 * Formats seconds for messages: `2` -> "2", `2.5` -> "2.5".
 *
 * @param seconds A duration in seconds.
 * @returns The number without trailing zeros.
 */
export function formatSeconds(seconds: number): string {
  return String(Math.round(seconds * 1000) / 1000);
}

/**
 * Describes how a kernel process ended: "exit code 1" or "signal SIGKILL".
 *
 * @param exit The exit of the process.
 * @returns The description.
 */
export function describeKernelExit(exit: KernelExit): string {
  return describeExit(exit);
}

/**
 * python_exec error for an unknown, non-default kernel id.
 *
 * @param kernelId The id asked for.
 * @returns The SPEC message.
 */
export function execNotFoundMessage(kernelId: string): string {
  return `Kernel ${kernelId} not found. Create it first with python_reset()`;
}

/**
 * python_reset error for an unknown kernel id.
 *
 * @param kernelId The id asked for.
 * @returns The SPEC message.
 */
export function resetNotFoundMessage(kernelId: string): string {
  return `Kernel ${kernelId} not found. Omit kernel_id to create a new kernel.`;
}

/**
 * python_exec error after the deadline passed.
 *
 * @param seconds The timeout that passed.
 * @param kernelAlive Whether the interrupt worked (state preserved).
 * @returns The message; when the kernel died it tells to call python_reset.
 */
export function timeoutMessage(seconds: number, kernelAlive: boolean): string {
  const s = formatSeconds(seconds);
  if (kernelAlive) {
    return `Execution timed out after ${s}s. Code interrupted but session state preserved.`;
  }
  return `Execution timed out after ${s}s and the kernel did not respond to the interrupt, ` +
    `so it was stopped and removed; its variables are lost. ` +
    `Call python_reset() to start a new session.`;
}

/**
 * Error for a kernel that died (os._exit, crash, OOM kill).
 *
 * @param kernelId The kernel that died.
 * @param exit How its process ended.
 * @returns The message naming exit code or signal and how to recover.
 */
export function kernelDiedMessage(kernelId: string, exit: KernelExit): string {
  if (exit.reason === "memory_limit") {
    // SPEC §7.1 wording.
    return `Kernel stopped: it exceeded its memory limit${
      exit.detail ? ` of ${exit.detail}` : ""
    }; its state is lost, call python_reset`;
  }
  if (exit.reason === "restarted") {
    return `Kernel ${kernelId} was restarted (python_reset) while this code ran; ` +
      `the code was stopped and the old kernel's variables are lost. ` +
      `The restarted kernel is ready under the same kernel_id.`;
  }
  // SPEC §13: the id answers that it died until python_reset starts it again.
  return `Kernel ${kernelId} died (${
    describeKernelExit(exit)
  }); its state is lost; call python_reset`;
}

/**
 * Error for a call whose kernel python_reset restarted while it ran.
 *
 * @param kernelId The kernel.
 * @returns The message: stopped by the restart, state cleared, no reset needed.
 */
export function restartedDuringCallMessage(kernelId: string): string {
  return `Kernel ${kernelId} was restarted by python_reset() while this call ran, ` +
    `so the code was stopped and its variables cleared. The fresh kernel is ready: ` +
    `run the code again if you still need it (no python_reset() needed).`;
}

/** Which kernel limit refused a kernel start, for the refusal's wording. */
export interface KernelLimitFacts {
  /**
   * `server`: the server's limit (`CODER_MAX_KERNELS`); `user`: the
   * user's share of it (`CODER_MAX_KERNELS_PER_USER`, HTTP).
   */
  scope: "server" | "user";
  /** That limit. */
  limit: number;
  /** The user whose share it is (HTTP). */
  user?: string;
  /**
   * Seconds without a call after which an idle client's kernels are shut
   * down when a start needs their slots (HTTP); unset on stdio, where the
   * caller owns every kernel.
   */
  reclaimAfterSeconds?: number;
}

/** Most kernel ids a limit refusal names. */
const KERNELS_NAMED = 5;

/**
 * python_exec / python_reset error when a kernel limit is reached: names
 * the limit that applied and gives advice the caller can follow (SPEC
 * §11): reuse one of its own kernels (named), else wait for an idle
 * client's kernels to be reclaimed or have the limit raised.
 *
 * @param facts The limit that refused the start.
 * @param own Ids of the live kernels the caller can use (its namespace).
 * @returns The message.
 * @example A stdio server at CODER_MAX_KERNELS=2
 * ```ts
 * import { kernelLimitMessage } from "./format.ts";
 * kernelLimitMessage({ scope: "server", limit: 2 }, ["_default", "1a2b3c4d"]);
 * // "Cannot start another kernel: the server's limit of 2 live kernels is reached (CODER_MAX_KERNELS). ..."
 * ```
 */
export function kernelLimitMessage(
  facts: KernelLimitFacts,
  own: readonly string[] = [],
): string {
  const head = facts.scope === "user"
    ? `Cannot start another kernel: ${
      facts.user === undefined ? "your" : `user ${facts.user}'s`
    } limit of ${facts.limit} live kernels per user is reached (CODER_MAX_KERNELS_PER_USER)`
    : `Cannot start another kernel: the server's limit of ${facts.limit} live kernels is reached (CODER_MAX_KERNELS)`;
  const shared = facts.reclaimAfterSeconds !== undefined;
  const held = shared
    ? facts.scope === "user"
      ? `; every one of them is running code or belongs to a client that made a call in the last ${facts.reclaimAfterSeconds} s`
      : `; every kernel is running code or belongs to a client that made a call in the last ${facts.reclaimAfterSeconds} s`
    : "";
  const named = own.slice(0, KERNELS_NAMED).map((id) => `"${id}"`).join(", ") +
    (own.length > KERNELS_NAMED
      ? ` and ${own.length - KERNELS_NAMED} more`
      : "");
  const reuse = own.length > 0
    ? ` Reuse one of your kernels instead: pass kernel_id ${named} to python_exec (python_reset(kernel_id=...) clears one; python_status lists them).`
    : "";
  const variable = facts.scope === "user"
    ? "CODER_MAX_KERNELS_PER_USER"
    : "CODER_MAX_KERNELS";
  const wait = shared
    ? ` ${
      own.length > 0 ? "Or try" : "Try"
    } again later: kernels of clients idle for ${facts.reclaimAfterSeconds} s are shut down when a start needs their slots${
      facts.scope === "user"
        ? " (end your other sessions to free theirs now)"
        : ""
    }; or ask the server's operator to raise ${variable}.`
    : own.length > 0
    ? ""
    : ` Ask the server's operator to raise ${variable}.`;
  return `${head}${held}.${reuse}${wait}`;
}

/**
 * submit_code error for a syntax error.
 *
 * @param line The 1-based line.
 * @param message Python's message.
 * @returns "Syntax error at line N: MSG".
 */
export function syntaxErrorMessage(line: number, message: string): string {
  return `Syntax error at line ${line}: ${message}`;
}

/**
 * python_reset success message.
 *
 * @param names Requested package names, in request order.
 * @param versions Installed versions by name (`null` = not found).
 * @returns "Session started. Packages: numpy 2.1.0" or
 *   "Session started (no packages)".
 * @example Message with packages
 * ```ts
 * import { sessionStartedMessage } from "./format.ts";
 * sessionStartedMessage(["numpy"], { numpy: "2.1.0" });
 * // "Session started. Packages: numpy 2.1.0"
 * ```
 */
export function sessionStartedMessage(
  names: readonly string[],
  versions: Readonly<Record<string, string | null>>,
): string {
  if (names.length === 0) return "Session started (no packages)";
  const parts = names.map((name) => {
    const version = versions[name];
    return version ? `${name} ${version}` : `${name} (not found)`;
  });
  return `Session started. Packages: ${parts.join(", ")}`;
}

/**
 * The distribution name of a package spec (`numpy[extra]>=2` -> `numpy`);
 * the kernel layer's {@linkcode packageName}.
 *
 * @param spec A validated package spec.
 * @returns The bare name.
 */
export function packageNameOf(spec: string): string {
  return packageName(spec);
}

function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[._]+/g, "-");
}

/**
 * Picks the packages python_status shows: hidden plumbing removed, the
 * kernel's requested packages first, then the rest by name; at most
 * {@linkcode MAX_STATUS_PACKAGES}, as "name version".
 *
 * @param installed Every installed distribution.
 * @param requested Names the kernel was started with.
 * @param max Most entries; default {@linkcode MAX_STATUS_PACKAGES}.
 * @returns "name version" strings.
 */
export function statusPackages(
  installed: readonly { name: string; version: string }[],
  requested: readonly string[] = [],
  max: number = MAX_STATUS_PACKAGES,
): string[] {
  const hidden = new Set(HIDDEN_STATUS_PACKAGES.map(normalizePackageName));
  const wanted = new Set(requested.map(normalizePackageName));
  const visible = installed.filter((p) =>
    !hidden.has(normalizePackageName(p.name))
  );
  const first = visible.filter((p) => wanted.has(normalizePackageName(p.name)));
  const rest = visible.filter((p) => !wanted.has(normalizePackageName(p.name)))
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  return [...first, ...rest].slice(0, max).map((p) => `${p.name} ${p.version}`);
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

/** An image normalised for MCP: clean base64 and its decoded size. */
export interface NormalizedImage {
  /** MIME type. */
  mimeType: string;
  /** Base64 without whitespace. */
  base64: string;
  /** Decoded size in bytes. */
  byteLength: number;
  /** File extension for saving. */
  ext: string;
}

/**
 * Whether text is strict base64 (alphabet, padding, length a multiple of 4),
 * as MCP clients check image data.
 *
 * @param text Base64 without whitespace.
 * @returns True when every client will accept it.
 */
export function isValidBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
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

/**
 * Normalises a kernel image: PNG/JPEG base64 loses whitespace, SVG text is
 * base64-encoded.
 *
 * @param image The image from the kernel.
 * @returns The normalised image.
 */
export function normalizeImage(image: KernelImage): NormalizedImage {
  if (image.mimeType === "image/svg+xml") {
    const bytes = new TextEncoder().encode(image.data);
    return {
      mimeType: image.mimeType,
      base64: Buffer.from(bytes).toString("base64"),
      byteLength: bytes.length,
      ext: "svg",
    };
  }
  const base64 = image.data.replace(/\s+/g, "");
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0;
  return {
    mimeType: image.mimeType,
    base64,
    byteLength: Math.floor(base64.length * 3 / 4) - padding,
    ext: ({
      "image/jpeg": "jpg",
      "image/gif": "gif",
      "image/webp": "webp",
    } as Record<string, string>)[image.mimeType] ?? "png",
  };
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
 * import { shapeExecResult } from "./format.ts";
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

interface InlineCandidate {
  item: ImageItem;
  ext: string;
  bytes(): Uint8Array;
}

function shapeImages(
  raws: readonly KernelImage[],
  options: ShapeExecOptions,
): {
  candidates: InlineCandidate[];
  files: FileToSave[];
  saved: string[];
  dropped: string[];
} {
  const imageLimit = options.imageLimitBytes ?? IMAGE_INLINE_LIMIT_BYTES;
  const maxImages = options.maxImages ?? MAX_INLINE_IMAGES;
  const candidates: InlineCandidate[] = [];
  const files: FileToSave[] = [];
  const saved: string[] = [];
  const dropped: string[] = [];
  raws.forEach((raw, index) => {
    if (raw.mimeType === "image/svg+xml") {
      const path = options.pathFor("image", "svg");
      files.push({ path, data: raw.data });
      saved.push(path);
      return;
    }
    const image = normalizeImage(raw);
    if (!isValidBase64(image.base64)) {
      dropped.push(
        `image ${
          index + 1
        } (${image.mimeType}): the kernel sent data that is not valid base64; left out`,
      );
      return;
    }
    const bytes = () => new Uint8Array(Buffer.from(image.base64, "base64"));
    if (candidates.length < maxImages && image.byteLength <= imageLimit) {
      candidates.push({
        item: { type: "image", data: image.base64, mimeType: image.mimeType },
        ext: image.ext,
        bytes,
      });
      return;
    }
    const path = options.pathFor("image", image.ext);
    files.push({ path, data: bytes() });
    saved.push(path);
  });
  return { candidates, files, saved, dropped };
}
