/**
 * Syntax checking in a separate, short-lived interpreter process, so no
 * user kernel's state is touched.
 *
 * @module
 */

/** Outcome of a syntax check. */
export type SyntaxCheck =
  | { ok: true }
  | { ok: false; line: number; message: string };

const CHECKER = [
  "import ast, json, sys",
  "src = sys.stdin.buffer.read().decode('utf-8', 'replace')",
  "try:",
  "    ast.parse(src)",
  "    print(json.dumps({'ok': True}))",
  "except SyntaxError as e:",
  "    print(json.dumps({'ok': False, 'line': e.lineno or 0, 'message': e.msg}))",
].join("\n");

/** Options for {@linkcode checkSyntax}. */
export interface CheckSyntaxOptions {
  /** Interpreter to parse with. */
  python: string;
  /** Aborts the check. */
  signal?: AbortSignal;
  /** Environment for the interpreter process. */
  env?: Record<string, string>;
}

/**
 * Parses Python code without running it.
 *
 * @param code Python source.
 * @param options Interpreter, env and abort signal.
 * @returns `{ ok: true }` or the first error's line and message.
 * @throws {Error} When the interpreter cannot be run.
 * @example Checking code
 * ```ts
 * import { checkSyntax } from "./syntax.ts";
 * const check = await checkSyntax("def f(:", { python: "python3" });
 * if (!check.ok) console.log(`line ${check.line}: ${check.message}`);
 * ```
 */
export async function checkSyntax(
  code: string,
  options: CheckSyntaxOptions,
): Promise<SyntaxCheck> {
  const child = new Deno.Command(options.python, {
    args: ["-I", "-c", CHECKER],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
    ...(options.env ? { env: options.env, clearEnv: true } : {}),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code)).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || !text) {
    throw new Error(
      `Cannot check syntax with ${options.python}: ${
        new TextDecoder().decode(out.stderr).trim() || "no output"
      }`,
    );
  }
  return JSON.parse(text) as SyntaxCheck;
}
