/**
 * Kernel images made fit for MCP: clean base64 (SVG encoded), a check
 * every client accepts, and the choice between an inline image item and a
 * saved file (count and size limits).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { KernelImage } from "../kernel/mod.ts";
import type { FileToSave, ImageItem } from "./tool_answer.ts";

/** Largest image (decoded bytes) returned as image content: 1 MB. */
export const IMAGE_INLINE_LIMIT_BYTES = 1024 * 1024;
/** Most image content items per python_exec answer. */
export const MAX_INLINE_IMAGES = 8;

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

/** An image that may go inline, if the whole answer leaves room. */
export interface InlineCandidate {
  /** The image content item. */
  item: ImageItem;
  /** File extension, should it be saved instead. */
  ext: string;
  /** Its decoded bytes. */
  bytes(): Uint8Array;
}

/** Options of {@linkcode shapeImages}. */
export interface ShapeImagesOptions {
  /** A fresh absolute path under `.ipython_mcp/` for a saved file. */
  pathFor: (kind: string, ext: string) => string;
  /** Inline image limit; default {@linkcode IMAGE_INLINE_LIMIT_BYTES}. */
  imageLimitBytes?: number;
  /** Most inline images; default {@linkcode MAX_INLINE_IMAGES}. */
  maxImages?: number;
}

/** Output of {@linkcode shapeImages}. */
export interface ShapedImages {
  /** Images that may go inline, in order. */
  candidates: InlineCandidate[];
  /** Files to write (SVGs, images over the limits). */
  files: FileToSave[];
  /** Paths of the saved images. */
  saved: string[];
  /** Notes on images left out (data not valid base64). */
  dropped: string[];
}

/**
 * Sorts a result's images: SVG always saved, data that is not valid base64
 * dropped with a note, images within the count and size limits candidates
 * for inline items, the rest saved.
 *
 * @param raws The kernel's images, in order.
 * @param options Path factory and limits.
 * @returns Candidates, files to write, saved paths and drop notes.
 */
export function shapeImages(
  raws: readonly KernelImage[],
  options: ShapeImagesOptions,
): ShapedImages {
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
