/**
 * The start-up code every kernel runs once it is ready, whatever backend
 * runs it: registers the `_coder_tools` module (input() refusal, matplotlib
 * PNG output, last-expression display, tooling functions) without touching
 * the user's namespace.
 *
 * @module
 */

import STARTUP_SOURCE from "./_startup.py" with { type: "text" };

/**
 * Python source that installs the start-up module in a kernel. Run it with a
 * non-silent, history-free execute_request.
 *
 * @returns The source.
 */
export function startupCode(): string {
  return [
    "import sys as _s, types as _t",
    '_m = _t.ModuleType("_coder_tools"); _s.modules["_coder_tools"] = _m',
    `exec(compile(${
      JSON.stringify(STARTUP_SOURCE)
    }, "_coder_tools", "exec"), _m.__dict__)`,
    "del _s, _t, _m",
  ].join("\n");
}
