/**
 * Saved outputs as MCP resources (SPEC §9): `resources/list` lists the
 * files under `<cwd>/.ipython_mcp/`, `resources/read` serves a file of the
 * working directory by its `file://` URL. Nothing outside the working
 * directory is ever served: every path component under it must be a real
 * directory or file, never a symlink.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { mimeTypeOfPath, OUTPUT_DIR_NAME } from "./tool_answer.ts";

/** Largest file served through `resources/read`. */
export const MAX_RESOURCE_BYTES = 64 * 1024 * 1024;

/** A path or resource the server refuses; the message says why. */
export class ResourcePathError extends Error {
  /** @param message What was refused and why. */
  constructor(message: string) {
    super(message);
    this.name = "ResourcePathError";
  }
}

/** One listed resource. */
export interface ListedResource {
  /** `file://` URL. */
  uri: string;
  /** File name. */
  name: string;
  /** MIME type. */
  mimeType: string;
  /** Size in bytes. */
  size: number;
}

/** Contents of one read resource. */
export type ResourceContents =
  | { uri: string; mimeType: string; text: string }
  | { uri: string; mimeType: string; blob: string };

/**
 * Resolves a path against the working directory and checks that it stays
 * inside it without passing through a symlink (existing components only).
 *
 * @param cwd Working directory (absolute).
 * @param path Relative to `cwd`, or absolute inside it.
 * @returns The absolute path.
 * @throws {ResourcePathError} Outside `cwd`, or through a symlink.
 */
export async function safePathIn(cwd: string, path: string): Promise<string> {
  const absolute = resolve(cwd, path);
  const rel = relative(cwd, absolute);
  if (
    rel === "" || rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)
  ) {
    throw new ResourcePathError(
      `Path "${path}" is outside the working directory ${cwd}`,
    );
  }
  let current = cwd;
  for (const part of rel.split(sep)) {
    current = join(current, part);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(current);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) break;
      throw error;
    }
    if (info.isSymlink) {
      throw new ResourcePathError(
        `Path "${path}" passes through the symlink ${current}; refused so nothing outside the working directory is touched`,
      );
    }
  }
  return absolute;
}

/**
 * Lists the saved outputs: regular files directly under `.ipython_mcp/`.
 *
 * @param cwd Working directory.
 * @returns The resources, sorted by name.
 */
export function listSavedOutputs(cwd: string): Promise<ListedResource[]> {
  return listFilesIn(join(cwd, OUTPUT_DIR_NAME));
}

/**
 * Lists the regular files directly in a directory (links and the rest
 * skipped) as resources.
 *
 * @param dir The directory.
 * @returns The resources, sorted by name; none when `dir` is not a directory.
 */
export async function listFilesIn(dir: string): Promise<ListedResource[]> {
  try {
    if (!(await Deno.lstat(dir)).isDirectory) return [];
  } catch {
    return [];
  }
  const found: ListedResource[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const path = join(dir, entry.name);
    const info = await Deno.lstat(path).catch(() => null);
    if (!info?.isFile) continue;
    found.push({
      uri: pathToFileURL(path).href,
      name: entry.name,
      mimeType: mimeTypeOfPath(path),
      size: info.size,
    });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Reads a file of the working directory by its `file://` URL.
 *
 * @param cwd Working directory.
 * @param uri The resource URL.
 * @returns Text for text files, base64 otherwise.
 * @throws {ResourcePathError} Not a file URL, outside `cwd`, a symlink, not a
 *   regular file, missing or too large.
 */
export async function readResource(
  cwd: string,
  uri: string,
): Promise<ResourceContents> {
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch {
    throw new ResourcePathError(
      `Resource "${uri}" is not a file:// URL of a saved output`,
    );
  }
  const absolute = await safePathIn(cwd, path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(absolute);
  } catch {
    throw new ResourcePathError(`Resource "${uri}" does not exist`);
  }
  if (!info.isFile) {
    throw new ResourcePathError(`Resource "${uri}" is not a regular file`);
  }
  if (info.size > MAX_RESOURCE_BYTES) {
    throw new ResourcePathError(
      `Resource "${uri}" is ${info.size} bytes, over the ${MAX_RESOURCE_BYTES}-byte limit; read it from disk`,
    );
  }
  const mimeType = mimeTypeOfPath(absolute);
  const bytes = await Deno.readFile(absolute);
  if (mimeType.startsWith("text/") || mimeType.endsWith("json")) {
    return { uri, mimeType, text: new TextDecoder().decode(bytes) };
  }
  return { uri, mimeType, blob: Buffer.from(bytes).toString("base64") };
}
