/**
 * What every backend does to code before sending it: ipykernel never
 * answers an execute_request whose code holds a NUL byte or a lone
 * surrogate (the kernel then hangs until the deadline). A NUL is refused
 * here with Python's own SyntaxError; a lone surrogate becomes U+FFFD.
 *
 * @module
 */

import type { ExecuteResult } from "./messages.ts";
import { OutputCollector } from "./output.ts";

/**
 * Prepares code for an execute_request.
 *
 * @param code Python source.
 * @returns The text to send, or the result to answer at once (a refused
 *   NUL byte, as Python's compile() would refuse it); the kernel is left
 *   alone either way.
 * @throws {TypeError} When code is not a string.
 * @example Guarding code
 * ```ts
 * import { codeToSend } from "./code_text.ts";
 * codeToSend("x = 1\0"); // { refused: { error: { ename: "SyntaxError", ... } } }
 * codeToSend("'\ud800'"); // { text: "'\ufffd'" }
 * ```
 */
export function codeToSend(
  code: string,
): { text: string } | { refused: ExecuteResult } {
  if (typeof code !== "string") {
    throw new TypeError("Cannot execute: code must be a string");
  }
  if (code.includes("\0")) {
    const refused = new OutputCollector(0);
    refused.error = {
      ename: "SyntaxError",
      evalue: "source code string cannot contain null bytes",
      traceback: "SyntaxError: source code string cannot contain null bytes",
    };
    return { refused: refused.snapshot() };
  }
  return { text: code.toWellFormed() };
}
