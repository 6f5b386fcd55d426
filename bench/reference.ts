/**
 * The built-in section `reference`: Debian's `jupyter_client` (run through
 * `reference.py` with `BENCH_REFERENCE_PYTHON`), its kernel start and `1+1`
 * round trip, for ours/reference ratios.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { summarize } from "./report.ts";
import { type RunContext, withEnv } from "./results.ts";

/**
 * Runs the reference script and stores its numbers (or why it could not).
 *
 * @param ctx The run.
 * @throws {Error} When the script runs but gives no JSON.
 */
export async function benchReference(ctx: RunContext): Promise<void> {
  const python = ctx.env.BENCH_REFERENCE_PYTHON || "/usr/bin/python3";
  const script = fileURLToPath(
    new URL("./reference.py", import.meta.url),
  );
  ctx.io.err(`bench: jupyter_client reference with ${python}`);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(python, {
      args: [
        script,
        "--starts",
        String(ctx.plan.referenceStarts),
        "--n",
        String(ctx.plan.n),
        "--warmup",
        String(ctx.plan.warmup),
      ],
      // Same kernel environment as ours (PYDEVD_DISABLE_FILE_VALIDATION
      // silences debugpy, as our launcher does).
      env: withEnv(ctx.env, { PYDEVD_DISABLE_FILE_VALIDATION: "1" }),
      clearEnv: true,
      cwd: ctx.tmp,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.any([ctx.deadline, AbortSignal.timeout(180_000)]),
    }).output();
  } catch (error) {
    ctx.results.reference = {
      available: false,
      reason: `cannot run ${python}: ${(error as Error).message}`,
    };
    return;
  }
  const text = new TextDecoder().decode(output.stdout).trim();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text.split("\n").at(-1) ?? "");
  } catch {
    throw new Error(
      `reference script failed (exit ${output.code}): ${
        new TextDecoder().decode(output.stderr).trim().split("\n").slice(-5)
          .join("\n")
      }`,
    );
  }
  if (parsed.ok !== true) {
    ctx.results.reference = {
      available: false,
      reason:
        `jupyter_client is not importable with ${python}: ${parsed.error}`,
    };
    return;
  }
  ctx.results.reference = {
    available: true,
    python: String(parsed.python),
    jupyterClient: String(parsed.jupyter_client),
    ipykernel: String(parsed.ipykernel),
    startMs: parsed.start_ms as number[],
    reply: summarize(parsed.reply_ms as number[]),
    replyAndIdle: summarize(parsed.idle_ms as number[]),
  };
}
