/**
 * Where `ipython_mcp` keeps saved outputs (a cut field's full text, images
 * not inlined, SVGs, notebook copies) and serves them from through
 * `resources/list` and `resources/read` (SPEC §2, §9, §12).
 *
 * - {@linkcode workingDirStore}: `<cwd>/.ipython_mcp/`, for kernels that are
 *   not confined (they have the user's rights anyway). `resources/read`
 *   serves files of the working directory that no symlink leads to.
 * - {@linkcode createPrivateStore}: a directory of the server's own (mode
 *   0700, outside every tree a kernel can write), for sandboxed kernels. A
 *   sandboxed kernel can swap any entry of its working tree for a link in a
 *   loop; a store it cannot reach leaves it nothing to race, and
 *   `resources/read` then serves only this directory.
 *
 * @module
 */

import { join, relative, resolve } from "node:path";
import { type KernelBackend, replaceFile } from "../kernel/mod.ts";
import type { FileToSave } from "./tool_answer.ts";
import { OUTPUT_DIR_NAME } from "./tool_answer.ts";
import {
  type ListedResource,
  listFilesIn,
  readResource,
  type ResourceContents,
  safePathIn,
} from "./resources.ts";

/** Saved outputs of one server: where they go and how they are served. */
export interface OutputStore {
  /** The directory saved outputs are written to (absolute). */
  readonly dir: string;
  /** True when `dir` is the server's own, outside the working tree. */
  readonly private: boolean;
  /**
   * Fresh paths for one answer's files: `<dir>/<kind>-<time>-<batch>-<n>.<ext>`.
   *
   * @returns A function giving the next path.
   */
  pathFactory(): (kind: string, ext: string) => string;
  /**
   * Writes files (paths from {@linkcode OutputStore.pathFactory}), each a
   * fresh file renamed into place.
   *
   * @param files The files.
   */
  save(files: readonly FileToSave[]): Promise<void>;
  /** The saved outputs as resources, sorted by name. */
  list(): Promise<ListedResource[]>;
  /**
   * Reads one resource by its `file://` URL.
   *
   * @param uri The URL.
   * @throws {ResourcePathError} Not served by this store.
   */
  read(uri: string): Promise<ResourceContents>;
}

function pathFactoryIn(
  dir: string,
): () => (kind: string, ext: string) => string {
  return () => {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const batch = crypto.randomUUID().slice(0, 8);
    let n = 0;
    return (kind, ext) => join(dir, `${kind}-${stamp}-${batch}-${++n}.${ext}`);
  };
}

async function saveAll(files: readonly FileToSave[]): Promise<void> {
  for (const file of files) await replaceFile(file.path, file.data);
}

/**
 * The store in the working directory's `.ipython_mcp/` (kernels that are
 * not confined).
 *
 * @param cwd The working directory (absolute).
 * @returns The store.
 */
export function workingDirStore(cwd: string): OutputStore {
  const dir = join(cwd, OUTPUT_DIR_NAME);
  return {
    dir,
    private: false,
    pathFactory: pathFactoryIn(dir),
    async save(files) {
      if (files.length === 0) return;
      // A .ipython_mcp symlink would send the writes outside the cwd.
      await safePathIn(cwd, OUTPUT_DIR_NAME);
      await saveAll(files);
    },
    list: () => listFilesIn(dir),
    read: (uri) => readResource(cwd, uri),
  };
}

/**
 * A store in a directory of the server's own (mode 0700, created with its
 * parents on first use), outside any tree a kernel can write (sandboxed
 * kernels).
 *
 * @param dir The directory.
 * @returns The store.
 * @example
 * ```ts ignore
 * const store = createPrivateStore("/home/me/.cache/agentic-python-coder/outputs/1a2b");
 * ```
 */
export function createPrivateStore(dir: string): OutputStore {
  let made: Promise<void> | null = null;
  const ready = (): Promise<void> => {
    made ??= (async () => {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      await Deno.chmod(dir, 0o700);
    })();
    return made.catch((error) => {
      made = null;
      throw error;
    });
  };
  return {
    dir,
    private: true,
    pathFactory: pathFactoryIn(dir),
    save: async (files) => {
      await ready();
      await saveAll(files);
    },
    list: () => listFilesIn(dir),
    read: (uri) => readResource(dir, uri),
  };
}

/** FNV-1a, 64 bits, as 16 hex digits: a stable key for a path. */
function pathKey(path: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(path)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

/**
 * The store a server uses for a backend's kernels in one working directory:
 * a private one under `<cacheDir>/outputs/<key of cwd>/` when the backend's
 * kernels are confined (SPEC §12), else the working directory's
 * `.ipython_mcp/`.
 *
 * @param backend The backend (its `workspace` says whether kernels are confined).
 * @param cwd The working directory.
 * @param cacheDir The program's cache directory.
 * @returns The store.
 * @throws {Error} The cache directory lies inside the working directory
 *   (the kernel could write there): set XDG_CACHE_HOME elsewhere.
 */
export function outputStoreFor(
  backend: Pick<KernelBackend, "workspace">,
  cwd: string,
  cacheDir: string,
): OutputStore {
  if (!backend.workspace?.confined) return workingDirStore(cwd);
  const dir = resolve(cacheDir, "outputs", pathKey(resolve(cwd)));
  if (!relative(resolve(cwd), dir).startsWith("..")) {
    throw new Error(
      `The cache directory ${cacheDir} is inside the working directory ${cwd}, where a sandboxed kernel could write: set XDG_CACHE_HOME to a directory outside it`,
    );
  }
  return createPrivateStore(dir);
}
