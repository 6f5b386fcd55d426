/**
 * The submit_code tool: a syntax check of final code, never run.
 *
 * @module
 */

import { EMPTY_SUBMISSION, syntaxErrorMessage } from "../messages.ts";
import { jsonAnswer, type ToolAnswer } from "../tool_answer.ts";
import { z } from "zod";
import type { McpTool } from "./context.ts";
import { defineTool } from "./define.ts";

function submitFailure(message: string): ToolAnswer {
  return jsonAnswer({ ok: false, error: message }, true);
}

/** The submit_code tool. */
export const submitCode: McpTool = defineTool({
  name: "submit_code",
  title: "Submit final code (syntax check)",
  description:
    `Submit final Python code for a syntax check. The code is only parsed: it is never run, never written to disk, and no kernel's state is touched.

Returns {"ok": true} when it parses, or {"ok": false, "error": "Syntax error at line N: MESSAGE"}; fix that line and submit again. Use python_exec to actually run code.`,
  schema: z.object({
    code: z.string().describe("The complete Python source to check."),
  }),
  output: z.looseObject({ ok: z.boolean(), error: z.string().optional() }),
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  failure: submitFailure,
  async handler({ code }, context) {
    if (code.trim() === "") return submitFailure(EMPTY_SUBMISSION);
    const check = await context.registry.checkSyntax(code);
    if (check.ok) return jsonAnswer({ ok: true });
    return submitFailure(syntaxErrorMessage(check.line, check.message));
  },
});
