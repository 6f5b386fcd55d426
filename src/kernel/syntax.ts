/**
 * Syntax checking in a separate, short-lived interpreter process, so no
 * user kernel's state is touched. A full compile(), so errors the compiler
 * finds after parsing (`return` outside a function, `nonlocal` at module
 * level) count too; every failure is one line, never a traceback.
 *
 * @module
 */

import { describeExit } from "./errors.ts";
import { Limiter } from "../base/mod.ts";

/** Outcome of a syntax check. */
export type SyntaxCheck =
  | { ok: true }
  | { ok: false; line: number; message: string };

const CHECKER = [
  "import json, sys",
  "src = sys.stdin.buffer.read().decode('utf-8', 'replace')",
  "def answer(ok, line=0, message=''):",
  "    out = {'ok': True} if ok else {'ok': False, 'line': line, 'message': message}",
  "    print(json.dumps(out))",
  "try:",
  "    compile(src, '<submission>', 'exec', dont_inherit=True)",
  "    answer(True)",
  "except SyntaxError as e:",
  "    answer(False, e.lineno or 0, e.msg)",
  "except ValueError as e:",
  "    answer(False, 0, str(e).split(chr(10))[0])",
  "except (RecursionError, MemoryError):",
  "    answer(False, 0, 'code is too deeply nested to compile')",
  "except Exception as e:",
  "    answer(False, 0, (type(e).__name__ + ': ' + str(e)).split(chr(10))[0])",
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
 * Compiles Python code without running it.
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
  if (out.signal && !text) {
    return {
      ok: false,
      line: 0,
      message: `the checker crashed (${
        describeExit({ code: out.code, signal: out.signal })
      }): the code is too deeply nested or too large to compile`,
    };
  }
  if (!out.success || !text) {
    throw new Error(
      `Cannot check syntax with ${options.python}: ${
        new TextDecoder().decode(out.stderr).trim() || "no output"
      }`,
    );
  }
  return JSON.parse(text) as SyntaxCheck;
}

/** Syntax checking as a service: what the registry's `checkSyntax` asks. */
export interface SyntaxChecker {
  /**
   * Compiles code without running it.
   *
   * @param code Python source.
   * @returns `{ ok: true }` or the first error's line and message.
   */
  check(code: string): Promise<SyntaxCheck>;
}

/** Options of {@linkcode createSyntaxChecker}. */
export interface SyntaxCheckerOptions {
  /** The interpreter to compile with (resolved on first use). */
  python: () => Promise<string>;
  /** Environment of the checker processes. */
  env?: Record<string, string>;
  /** Most checker processes at once (default 3); the rest queue. */
  concurrency?: number;
}

/**
 * A syntax checker running a short-lived interpreter per check, a few at
 * once.
 *
 * @param options Interpreter, environment, concurrency.
 * @returns The checker.
 * @example A checker on python3
 * ```ts
 * import { createSyntaxChecker } from "./syntax.ts";
 * const checker = createSyntaxChecker({ python: () => Promise.resolve("python3") });
 * const check = await checker.check("x = 1");
 * ```
 */
export function createSyntaxChecker(
  options: SyntaxCheckerOptions,
): SyntaxChecker {
  const limiter = new Limiter(options.concurrency ?? 3);
  return {
    check: (code) =>
      limiter.run(async () =>
        await checkSyntax(code, {
          python: await options.python(),
          ...(options.env ? { env: options.env } : {}),
        })
      ),
  };
}
