/**
 * How a tool is defined: its zod schemas turned into portable JSON
 * Schemas, argument parsing (numeric strings accepted) and a handler that
 * never throws to the protocol layer: failures become `isError` answers.
 *
 * @module
 */

import { KernelLimitError } from "../../kernel/mod.ts";
import { kernelLimitMessage } from "../limit_refusal.ts";
import { errorAnswer, type ToolAnswer } from "../tool_answer.ts";
import { z } from "zod";
import type { McpTool, ToolCallExtra, ToolContext } from "./context.ts";

/** What a tool is made of: schemas, documentation, handler. */
export interface ToolDefinition<S extends z.ZodType> {
  name: string;
  title: string;
  description: string;
  schema: S;
  output: z.ZodType;
  annotations: Record<string, unknown>;
  /** Builds the failure answer (submit_code answers `{ok: false}`). */
  failure?: (message: string) => ToolAnswer;
  handler: (
    args: z.output<S>,
    context: ToolContext,
    extra: ToolCallExtra,
  ) => Promise<ToolAnswer>;
}

/**
 * The message for a failure a handler threw: the limit refusal (SPEC §11
 * wording), a cancellation, or the error's own message.
 *
 * @param error What was thrown.
 * @param context The tool context (which limit applies, own kernels).
 * @returns The message for the model.
 */
export function describeError(error: unknown, context: ToolContext): string {
  if (error instanceof KernelLimitError) {
    const own = context.registry.list().map((kernel) => kernel.id);
    const jobs = new Map<string, string>();
    for (const id of own) {
      const job = context.jobs.runningOn(id);
      if (job) jobs.set(id, job.id);
    }
    return kernelLimitMessage(
      context.kernelLimit?.() ?? { scope: "server", limit: error.limit },
      own,
      {
        jobs,
        ...(context.renderHint ? { renderHint: context.renderHint } : {}),
      },
    );
  }
  // KernelStartError messages already say what was tried and quote stderr.
  if (error instanceof DOMException && error.name === "AbortError") {
    return "The request was cancelled by the client; the code was interrupted.";
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "arguments";
    return `${path}: ${issue.message}`;
  }).join("; ");
}

function jsonSchemaOf(
  schema: z.ZodType,
  io: "input" | "output" = "input",
): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return portableSchema(json) as Record<string, unknown>;
}

/**
 * A schema in the form strict checkers (the MCP Inspector's `--strict`)
 * accept without warnings, same meaning: `additionalProperties: {}` (zod's
 * loose objects) is dropped, and a `type` array (zod's nullable scalars,
 * `["string", "null"]`) becomes `anyOf` branches of one `type` each.
 */
function portableSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(portableSchema);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (
      key === "additionalProperties" && typeof inner === "object" &&
      inner !== null && Object.keys(inner).length === 0
    ) continue;
    if (key === "type" && Array.isArray(inner)) {
      out.anyOf = inner.map((type) => ({ type }));
      continue;
    }
    out[key] = portableSchema(inner);
  }
  return out;
}

/**
 * Numeric strings become numbers for the arguments the schema declares as
 * numbers (`"timeout": "60"`); everything else is left as sent.
 */
function coerceNumbers(
  args: unknown,
  inputSchema: Record<string, unknown>,
): unknown {
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return args;
  }
  const properties = (inputSchema.properties ?? {}) as Record<
    string,
    { type?: unknown }
  >;
  const out: Record<string, unknown> = { ...args };
  for (const [key, value] of Object.entries(out)) {
    const type = properties[key]?.type;
    if (
      (type === "number" || type === "integer") && typeof value === "string" &&
      /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)
    ) {
      out[key] = Number(value);
    }
  }
  return out;
}

/**
 * Builds a tool from its definition: JSON Schemas from the zod ones, and a
 * `call` that validates the arguments and never throws.
 *
 * @param definition Schemas, documentation and handler.
 * @returns The tool.
 */
export function defineTool<S extends z.ZodType>(
  definition: ToolDefinition<S>,
): McpTool {
  const failure = definition.failure ?? ((message) => errorAnswer(message));
  const inputSchema = jsonSchemaOf(definition.schema);
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema,
    outputSchema: jsonSchemaOf(definition.output, "output"),
    annotations: { title: definition.title, ...definition.annotations },
    async call(args, context, extra = {}) {
      const parsed = definition.schema.safeParse(
        coerceNumbers(args ?? {}, inputSchema),
      );
      if (!parsed.success) {
        return failure(
          `Invalid arguments for ${definition.name}: ${
            formatIssues(parsed.error)
          }`,
        );
      }
      try {
        return await definition.handler(parsed.data, context, extra);
      } catch (error) {
        context.logger.warn(
          `${definition.name} failed: ${
            error instanceof Error ? error.stack ?? error.message : error
          }`,
        );
        return failure(describeError(error, context));
      }
    },
  };
}
