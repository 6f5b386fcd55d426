/**
 * Checks notebooks with Python's own nbformat (Debian python3-nbformat).
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Asserts that `nbformat.validate` accepts a notebook file (version 4.5).
 *
 * @param path The .ipynb file.
 */
export async function assertValidNotebook(path: string): Promise<void> {
  const script = "import sys, nbformat\n" +
    "nb = nbformat.read(sys.argv[1], as_version=nbformat.NO_CONVERT)\n" +
    "nbformat.validate(nb)\n" +
    "print(nb.nbformat, nb.nbformat_minor)";
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `nbformat.validate refused ${path}:\n${stderr}`);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "4 5");
}
