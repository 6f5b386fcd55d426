/**
 * Enforces the layer rules of STYLE.md §1 and §2 on `src/` and the root `mod.ts`.
 *
 * ```sh
 * deno run --allow-read scripts/check_layers.ts [ROOT]
 * ```
 *
 * Rules:
 * - dependency direction: zmtp and llm import nothing of ours, kernel only
 *   zmtp, mcp only kernel, agent only kernel and llm, cli anything; the root
 *   `mod.ts` imports (and re-exports) kernel, llm and agent;
 * - another layer is imported only through its `mod.ts`;
 * - outside `src/cli/`, no `Deno.args`, `Deno.env`, `Deno.exit`,
 *   `Deno.exitCode`, `Deno.stdin`, `Deno.stdout`, `Deno.stderr`,
 *   `process.env`, `process.argv`, `process.exit`, `node:process` or
 *   `console.` (comments and strings are ignored);
 * - no module-level `let` or `var`.
 *
 * Each violation is printed as `file:line: message`; the exit code is 1 when
 * there is any.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  dirname,
  extname,
  isAbsolute,
  relative,
  resolve,
  sep,
} from "node:path";
import { fileURLToPath } from "node:url";

/** The layers of `src/` and which other layers each may import. */
export const LAYER_DEPENDENCIES: Readonly<Record<string, readonly string[]>> =
  Object.freeze({
    zmtp: [],
    llm: [],
    kernel: ["zmtp"],
    mcp: ["kernel"],
    agent: ["kernel", "llm"],
    cli: ["zmtp", "llm", "kernel", "mcp", "agent"],
  });

/** Layers the root `mod.ts` imports and must re-export. */
export const ROOT_EXPORTS: readonly string[] = Object.freeze([
  "kernel",
  "llm",
  "agent",
]);

/** One broken rule. */
export interface Violation {
  /** File path relative to the checked root, `/`-separated. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** What is wrong. */
  message: string;
}

/** Result of {@linkcode checkLayers}. */
export interface LayerReport {
  /** Number of files read. */
  files: number;
  /** Violations, sorted by file and line. */
  violations: Violation[];
}

/** A string literal found in a source file. */
interface StringLiteral {
  value: string;
  /** Index of the opening quote. */
  start: number;
  /** Index just past the closing quote. */
  end: number;
}

/**
 * Views of a source file with the same length and line breaks as the source.
 * `code` has comments blanked; `bare` has comments, string, template and regex
 * contents blanked (and `${`/`}` of template substitutions), so it only holds code.
 */
interface SourceViews {
  code: string;
  bare: string;
  strings: StringLiteral[];
}

const CODE_EXTENSIONS: ReadonlySet<string> = new Set([
  ".ts",
  ".tsx",
  ".mts",
  ".cts",
  ".js",
  ".jsx",
  ".mjs",
  ".cjs",
]);

const REGEX_KEYWORDS: ReadonlySet<string> = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

const FORBIDDEN_APIS: readonly { pattern: RegExp; hint: string }[] = [
  {
    pattern: /\bDeno\s*\.\s*(?:args|env|exit|exitCode|stdin|stdout|stderr)\b/g,
    hint: "pass values in as options",
  },
  {
    pattern: /\bprocess\s*\.\s*(?:env|argv|exit)\b/g,
    hint: "pass values in as options",
  },
  { pattern: /\bconsole\s*\./g, hint: "log through the injected Logger" },
];

function isBlankable(ch: string): boolean {
  return ch !== "\n" && ch !== "\r";
}

/** Splits a source into views; tolerant of odd input (never throws). */
function scanSource(source: string): SourceViews {
  const n = source.length;
  const code = source.split("");
  const bare = source.split("");
  const strings: StringLiteral[] = [];
  const blank = (from: number, to: number, both: boolean) => {
    for (let k = from; k < to && k < n; k++) {
      if (isBlankable(source[k]!)) {
        bare[k] = " ";
        if (both) code[k] = " ";
      }
    }
  };
  // Brace depth at which each open template substitution resumes its template.
  const templateStack: number[] = [];
  let braces = 0;
  let last = ""; // last significant code character
  let lastWord = ""; // identifier ending at `last`, if any
  let i = 0;

  /** Scans template text from i (just after ` or }); stops after ` or ${. */
  const scanTemplate = (openQuote: number) => {
    const textStart = i;
    while (i < n) {
      const ch = source[i];
      if (ch === "\\") {
        i += 2;
        continue;
      }
      if (ch === "`") {
        blank(textStart, i, false);
        if (openQuote >= 0) {
          strings.push({
            value: source.slice(openQuote + 1, i),
            start: openQuote,
            end: i + 1,
          });
        }
        i++;
        last = "`";
        lastWord = "";
        return;
      }
      if (ch === "$" && source[i + 1] === "{") {
        blank(textStart, i + 2, false);
        i += 2;
        templateStack.push(braces);
        braces++;
        last = "{";
        lastWord = "";
        return;
      }
      i++;
    }
    blank(textStart, n, false);
  };

  while (i < n) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (ch === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? n : end;
      blank(i, stop, true);
      i = stop;
      continue;
    }
    if (ch === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      blank(i, stop, true);
      i = stop;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      while (j < n && source[j] !== ch && source[j] !== "\n") {
        j += source[j] === "\\" ? 2 : 1;
      }
      strings.push({ value: source.slice(i + 1, j), start: i, end: j + 1 });
      blank(i + 1, j, false);
      i = j + 1;
      last = ch;
      lastWord = "";
      continue;
    }
    if (ch === "`") {
      i++;
      scanTemplate(i - 1);
      continue;
    }
    if (
      ch === "}" && templateStack.length > 0 &&
      templateStack[templateStack.length - 1] === braces - 1
    ) {
      templateStack.pop();
      braces--;
      bare[i] = " ";
      i++;
      scanTemplate(-1);
      continue;
    }
    if (ch === "/") {
      const regexAllowed = last === "" ||
        "(,=:[!&|?{};+-*%<>~^".includes(last) ||
        REGEX_KEYWORDS.has(lastWord);
      if (regexAllowed) {
        let j = i + 1;
        let inClass = false;
        while (j < n && source[j] !== "\n") {
          const c = source[j];
          if (c === "\\") {
            j += 2;
            continue;
          }
          if (c === "[") inClass = true;
          else if (c === "]") inClass = false;
          else if (c === "/" && !inClass) break;
          j++;
        }
        if (j < n && source[j] === "/") {
          blank(i + 1, j, false);
          i = j + 1;
          while (i < n && /[a-z]/i.test(source[i]!)) i++;
          last = "/";
          lastWord = "";
          continue;
        }
      }
    }
    if (ch === "{") braces++;
    else if (ch === "}") braces--;
    if (/[A-Za-z0-9_$]/.test(ch)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_$]/.test(source[j]!)) j++;
      lastWord = source.slice(i, j);
      last = source[j - 1]!;
      i = j;
      continue;
    }
    if (!/\s/.test(ch)) {
      last = ch;
      lastWord = "";
    }
    i++;
  }
  return { code: code.join(""), bare: bare.join(""), strings };
}

function lineStarts(source: string): number[] {
  const starts = [0];
  for (let k = 0; k < source.length; k++) {
    if (source[k] === "\n") starts.push(k + 1);
  }
  return starts;
}

function lineOf(starts: readonly number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Kind of module reference a string literal is, or null. */
function importKind(
  views: SourceViews,
  literal: StringLiteral,
): "static" | "export" | "dynamic" | null {
  const before = views.bare.slice(
    Math.max(0, literal.start - 400),
    literal.start,
  );
  if (/\bimport\s*\(\s*$/.test(before) || /\brequire\s*\(\s*$/.test(before)) {
    return "dynamic";
  }
  if (/\bimport\s*$/.test(before)) return "static";
  if (!/\bfrom\s*$/.test(before)) return null;
  // The statement keyword that owns this `from` is the nearest import/export
  // before it (a specifier list can be long, so look back as far as needed).
  const prefix = views.bare.slice(0, literal.start);
  const keywords = [...prefix.matchAll(/(?<![\w$.])(import|export)(?![\w$])/g)];
  return keywords.at(-1)?.[1] === "export" ? "export" : "static";
}

function hasAssetAttribute(
  views: SourceViews,
  literal: StringLiteral,
): boolean {
  const after = views.code.slice(literal.end, literal.end + 80);
  return /^\s*(?:with|assert)\s*\{\s*type\s*:\s*["'](?:text|bytes|json)["']/
    .test(after);
}

/** Layer of a root-relative path (`src/<layer>/...`), or null. */
function layerOf(relPath: string): string | null {
  const parts = relPath.split("/");
  return parts[0] === "src" && parts.length > 2 ? parts[1]! : null;
}

function toPosix(path: string): string {
  return sep === "/" ? path : path.split(sep).join("/");
}

async function collectFiles(dir: string, out: string[]): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(dir)) entries.push(entry);
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = resolve(dir, entry.name);
    if (entry.isDirectory) await collectFiles(path, out);
    else if (entry.isFile && CODE_EXTENSIONS.has(extname(entry.name))) {
      out.push(path);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Checks one file's text; `relPath` is root-relative and `/`-separated. */
function checkFile(
  root: string,
  relPath: string,
  source: string,
): Violation[] {
  const violations: Violation[] = [];
  const views = scanSource(source);
  const starts = lineStarts(source);
  const report = (index: number, message: string) =>
    violations.push({ file: relPath, line: lineOf(starts, index), message });

  const isRootMod = relPath === "mod.ts";
  const layer = layerOf(relPath);
  const inCli = layer === "cli";
  if (!isRootMod && layer === null) {
    report(0, "file is not inside a layer folder (src/<layer>/)");
  } else if (layer !== null && !(layer in LAYER_DEPENDENCIES)) {
    report(
      0,
      `"src/${layer}" is not a known layer (${
        Object.keys(LAYER_DEPENDENCIES).join(", ")
      })`,
    );
  }
  const allowed: readonly string[] = isRootMod
    ? ROOT_EXPORTS
    : LAYER_DEPENDENCIES[layer ?? ""] ?? [];
  const who = isRootMod ? "root mod.ts" : `layer "${layer}"`;

  const reExported = new Set<string>();
  const fileDir = dirname(resolve(root, relPath));
  for (const literal of views.strings) {
    const kind = importKind(views, literal);
    if (kind === null) continue;
    const specifier = literal.value;
    if (specifier === "node:process" || specifier === "process") {
      if (!inCli) {
        report(
          literal.start,
          `imports "${specifier}"; only src/cli/ may touch the process`,
        );
      }
      continue;
    }
    let target: string;
    if (specifier.startsWith("./") || specifier.startsWith("../")) {
      target = resolve(fileDir, specifier);
    } else if (specifier.startsWith("file:")) {
      target = fileURLToPath(specifier);
    } else if (isAbsolute(specifier)) {
      target = specifier;
    } else {
      continue; // npm:, node:, jsr:, https: and bare map entries are not ours
    }
    const targetRel = toPosix(relative(root, target)) +
      (specifier.endsWith("/") ? "/" : "");
    const targetLayer = layerOf(targetRel);
    if (targetLayer === null) {
      if (targetRel.startsWith("src/")) {
        report(literal.start, `imports "${specifier}", which is in no layer`);
      } else if (
        CODE_EXTENSIONS.has(extname(targetRel)) &&
        !hasAssetAttribute(views, literal) && !isRootMod
      ) {
        report(
          literal.start,
          `imports "${specifier}", code outside src/ (layers depend only on layers)`,
        );
      }
      continue;
    }
    if (targetLayer === layer) continue;
    if (!allowed.includes(targetLayer)) {
      report(
        literal.start,
        `${who} must not import layer "${targetLayer}" ("${specifier}"); allowed: ${
          allowed.length === 0 ? "none of ours" : allowed.join(", ")
        }`,
      );
      continue;
    }
    if (targetRel !== `src/${targetLayer}/mod.ts`) {
      report(
        literal.start,
        `imports "${specifier}": another layer is imported only through its mod.ts (src/${targetLayer}/mod.ts)`,
      );
      continue;
    }
    if (kind === "export") reExported.add(targetLayer);
  }

  if (isRootMod) {
    for (const name of ROOT_EXPORTS) {
      if (!reExported.has(name)) {
        report(0, `root mod.ts must re-export ./src/${name}/mod.ts`);
      }
    }
  }

  if (!inCli) {
    for (const { pattern, hint } of FORBIDDEN_APIS) {
      for (const match of views.bare.matchAll(pattern)) {
        const api = match[0].replace(/\s+/g, "");
        report(
          match.index,
          `\`${api}\` is only allowed in src/cli/ (${hint})`,
        );
      }
    }
  }

  // Module-level let/var: a declaration at brace, paren and bracket depth 0.
  let depth = 0;
  const bare = views.bare;
  for (let k = 0; k < bare.length; k++) {
    const ch = bare[k]!;
    if (ch === "{" || ch === "(" || ch === "[") depth++;
    else if (ch === "}" || ch === ")" || ch === "]") depth--;
    else if (
      depth === 0 && (ch === "l" || ch === "v") &&
      !/[A-Za-z0-9_$.]/.test(bare[k - 1] ?? " ")
    ) {
      const word = /^(let|var)(?=\s+[A-Za-z_$[{])/.exec(bare.slice(k, k + 40));
      if (word) {
        report(
          k,
          `module-level \`${
            word[1]
          }\` (no module-level mutable state; keep state in an object its owner creates)`,
        );
      }
    }
  }
  return violations;
}

/**
 * Checks the layer rules under a project root.
 *
 * @param root Project root holding `src/` and `mod.ts`.
 * @returns The number of files read and every violation found.
 * @throws {Deno.errors.NotFound} When `root/src` does not exist.
 * @example
 * ```ts
 * import { checkLayers } from "./check_layers.ts";
 *
 * const report = await checkLayers(".");
 * for (const v of report.violations) {
 *   // v.file, v.line, v.message
 * }
 * ```
 */
export async function checkLayers(root: string): Promise<LayerReport> {
  const absRoot = resolve(root);
  const files: string[] = [];
  const srcDir = resolve(absRoot, "src");
  const srcInfo = await Deno.stat(srcDir).catch(() => null);
  if (!srcInfo?.isDirectory) {
    throw new Deno.errors.NotFound(
      `Cannot check layers: "${srcDir}" is not a directory`,
    );
  }
  await collectFiles(srcDir, files);
  const rootMod = resolve(absRoot, "mod.ts");
  if (await exists(rootMod)) files.unshift(rootMod);
  const violations: Violation[] = [];
  for (const file of files) {
    const relPath = toPosix(relative(absRoot, file));
    violations.push(
      ...checkFile(absRoot, relPath, await Deno.readTextFile(file)),
    );
  }
  violations.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line
  );
  return { files: files.length, violations };
}

/**
 * Formats a violation as `file:line: message`.
 *
 * @param violation The violation.
 * @returns One line.
 */
export function formatViolation(violation: Violation): string {
  return `${violation.file}:${violation.line}: ${violation.message}`;
}

/** Where {@linkcode main} writes its lines. */
export interface LineIo {
  /** Writes one line of normal output. */
  out(line: string): void;
  /** Writes one line of diagnostics. */
  err(line: string): void;
}

const HELP_TEXT = `Usage: deno run --allow-read scripts/check_layers.ts [ROOT]

Checks the layer rules (STYLE.md §1, §2) for ROOT/src and ROOT/mod.ts
(default ROOT: the current directory). Prints file:line: message per violation;
exit code 1 when there is any.`;

function consoleIo(): LineIo {
  return {
    // deno-lint-ignore no-console
    out: (line) => console.log(line),
    // deno-lint-ignore no-console
    err: (line) => console.error(line),
  };
}

/**
 * Runs the check from the command line.
 *
 * @param args `[ROOT]` or `--help`.
 * @param io Where lines go; default: the console.
 * @returns 0 when clean, 1 on violations or an unreadable root, 2 on bad usage.
 * @example
 * ```ts ignore
 * import { main } from "./check_layers.ts";
 *
 * Deno.exit(await main(["."]));
 * ```
 */
export async function main(
  args: string[],
  io: LineIo = consoleIo(),
): Promise<number> {
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h", default: false } },
    });
    if (parsed.values.help) {
      io.out(HELP_TEXT);
      return 0;
    }
    positionals = parsed.positionals;
  } catch (error) {
    io.err(`check_layers: ${(error as Error).message}`);
    return 2;
  }
  if (positionals.length > 1) {
    io.err("check_layers: expected at most one ROOT directory");
    return 2;
  }
  const root = positionals[0] ?? Deno.cwd();
  let report: LayerReport;
  try {
    report = await checkLayers(root);
  } catch (error) {
    io.err(`check_layers: ${(error as Error).message}`);
    return 1;
  }
  for (const violation of report.violations) {
    io.out(formatViolation(violation));
  }
  if (report.violations.length > 0) {
    io.err(
      `check_layers: ${report.violations.length} violation(s) in ${report.files} files`,
    );
    return 1;
  }
  io.out(`check_layers: ok (${report.files} files)`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
