/**
 * How host-side code writes into a kernel's working tree (SPEC §12).
 *
 * A sandboxed kernel can write its working directory and leave processes
 * running that swap any entry of it for a symlink at any moment
 * (`renameat2(RENAME_EXCHANGE)` in a loop). A host write that checks a path
 * and then opens it can be sent anywhere the server may write, and Deno has
 * no `openat`/`O_NOFOLLOW` to walk a path by directory handles. So a backend
 * whose kernels are confined writes there from inside a sandbox with the
 * kernel's own view of the file system (see `sandbox.ts`): whatever a link
 * points to, the write lands only where the kernel could have written
 * itself. Kernels that are not confined already have the user's rights;
 * {@linkcode HOST_FILES} writes directly, still never through a final
 * symlink or into a planted FIFO (a fresh file is created, then renamed).
 *
 * @module
 */

import {
  basename,
  dirname,
  isAbsolute,
  join,
  relative,
  resolve,
  sep,
} from "node:path";

/** Writes files into a working tree that a kernel can also write. */
export interface WorkspaceFiles {
  /**
   * True when the kernels are confined (a sandbox): host code must not trust
   * anything in their working tree, and reads it only through this object's
   * owner's private copies.
   */
  readonly confined: boolean;
  /**
   * Writes (replaces) a file of the working tree.
   *
   * @param cwd The working directory (absolute).
   * @param path The file, relative to `cwd` (or absolute inside it).
   * @param data Text or bytes.
   * @param options Aborts the write.
   * @returns The file's absolute path.
   * @throws {WorkspaceWriteError} Outside `cwd`, or the write failed.
   */
  writeFile(
    cwd: string,
    path: string,
    data: string | Uint8Array,
    options?: { signal?: AbortSignal },
  ): Promise<string>;
}

/** A workspace write that was refused or failed; the message says why. */
export class WorkspaceWriteError extends Error {
  /**
   * @param message What failed and why.
   * @param options The underlying error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkspaceWriteError";
  }
}

/**
 * Resolves a path inside a working directory, lexically (no file system
 * access).
 *
 * @param cwd The working directory (absolute).
 * @param path Relative to it, or absolute inside it.
 * @returns The absolute path and the `/`-relative path from `cwd`.
 * @throws {WorkspaceWriteError} The path is `cwd` itself or outside it.
 */
export function pathInside(
  cwd: string,
  path: string,
): { absolute: string; relative: string } {
  const absolute = resolve(cwd, path);
  const rel = relative(cwd, absolute);
  if (
    rel === "" || rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)
  ) {
    throw new WorkspaceWriteError(
      `"${path}" is outside the working directory ${cwd}`,
    );
  }
  return { absolute, relative: rel.split(sep).join("/") };
}

/** Bytes of a text or byte payload. */
export function payloadBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

/**
 * Writes a file by creating a fresh temporary file beside it
 * (`O_CREAT|O_EXCL`: never an existing link or FIFO) and renaming it over
 * the target (a final symlink is replaced, not followed).
 *
 * @param target Absolute path.
 * @param data Text or bytes.
 * @returns Resolves once the file is in place.
 */
export async function replaceFile(
  target: string,
  data: string | Uint8Array,
): Promise<void> {
  const dir = dirname(target);
  await Deno.mkdir(dir, { recursive: true });
  const temp = join(
    dir,
    `.${basename(target)}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
  const file = await Deno.open(temp, {
    write: true,
    createNew: true,
    mode: 0o644,
  });
  try {
    try {
      const bytes = payloadBytes(data);
      let written = 0;
      while (written < bytes.length) {
        written += await file.write(bytes.subarray(written));
      }
    } finally {
      file.close();
    }
    await Deno.rename(temp, target);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/**
 * Writes for kernels that are not confined (local, remote): directly, with
 * {@linkcode replaceFile}.
 */
export const HOST_FILES: WorkspaceFiles = Object.freeze({
  confined: false,
  async writeFile(
    cwd: string,
    path: string,
    data: string | Uint8Array,
  ): Promise<string> {
    const { absolute } = pathInside(cwd, path);
    try {
      await replaceFile(absolute, data);
    } catch (error) {
      throw new WorkspaceWriteError(
        `Cannot write ${absolute}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    return absolute;
  },
});
