/**
 * Checks the layer rules of STYLE.md §1 on the real module graph, as std's
 * `_tools/check_circular_package_dependencies.ts` does: `deno info --json`
 * from the root `mod.ts`, every layer's `mod.ts` and the two entry files.
 * Code rules (process access outside `src/cli/`, module-level `let`) are lint
 * rules in `scripts/lint_plugin.ts`.
 *
 * ```sh
 * deno run --allow-read --allow-run scripts/check_layers.ts [ROOT]
 * ```
 *
 * Rules:
 * - dependency direction: base (floor 0: waits, the logger) imports nothing
 *   of ours and every layer may import it; beyond it zmtp and llm import
 *   nothing of ours, kernel only zmtp, mcp only kernel, agent only kernel
 *   and llm, cli anything; the root `mod.ts` imports kernel, llm and agent;
 * - another layer is imported only through its `mod.ts` (or a light surface
 *   listed in {@linkcode LIGHT_SURFACES});
 * - the `ipython_mcp` entry's graph holds no agent, llm or terminal-rendering
 *   code, no npm:openai or npm:marked and not the v1 MCP SDK (the server is
 *   built on `@modelcontextprotocol/server` and loads only what it uses).
 *
 * Each violation is printed as `file:line: message`; the exit code is 1 when
 * there is any.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The layers of `src/` and which other layers each may import. */
export const LAYER_DEPENDENCIES: Readonly<Record<string, readonly string[]>> =
  Object.freeze({
    base: [],
    zmtp: ["base"],
    llm: ["base"],
    kernel: ["base", "zmtp"],
    mcp: ["base", "kernel"],
    agent: ["base", "kernel", "llm"],
    cli: ["base", "zmtp", "llm", "kernel", "mcp", "agent"],
  });

/**
 * Second surfaces a layer offers for start-up: `src/mcp/early.ts` holds what
 * the `ipython_mcp` entry needs before the MCP SDK loads (the stdio
 * transport and the handshake answer), so `initialize` is answered without
 * waiting for the SDK's module evaluation.
 */
export const LIGHT_SURFACES: readonly string[] = Object.freeze([
  "src/mcp/early.ts",
]);

/** Layers the root `mod.ts` imports and must re-export. */
export const ROOT_EXPORTS: readonly string[] = Object.freeze([
  "kernel",
  "llm",
  "agent",
]);

/** The MCP server's entry file. */
export const SERVER_ENTRY = "src/cli/ipython_mcp.ts";

/** What the server's graph must not reach: agent/LLM code and its npm packages. */
export const SERVER_FORBIDDEN: readonly RegExp[] = Object.freeze([
  /^src\/(agent|llm)\//,
  /^src\/cli\/(coder|render|templates)\.ts$/,
  /^npm:\/?(openai|marked|marked-terminal)@/,
  /^npm:\/?@modelcontextprotocol\/sdk@/,
]);

/** One broken rule. */
export interface Violation {
  /** File path relative to the checked root, `/`-separated. */
  file: string;
  /** 1-based line number (0 when the rule is about the whole graph). */
  line: number;
  /** What is wrong. */
  message: string;
}

/** One dependency edge of the graph. */
export interface Edge {
  /** Importing module, relative to the root (or a non-file specifier). */
  from: string;
  /** Imported module, relative to the root (or e.g. `npm:/openai@7.57.0/...`). */
  to: string;
  /** 1-based line of the import. */
  line: number;
}

interface DenoInfoDependency {
  code?: { specifier?: string; span?: { start: { line: number } } };
  type?: { specifier?: string; span?: { start: { line: number } } };
}

interface DenoInfo {
  modules: { specifier: string; dependencies?: DenoInfoDependency[] }[];
}

function localName(root: string, specifier: string): string {
  if (!specifier.startsWith("file:")) return specifier;
  return relative(root, fileURLToPath(specifier)).split(sep).join("/");
}

/**
 * Reads the module graph below `entry` with `deno info --json`.
 *
 * @param root Project root.
 * @param entry Entry file, relative to the root.
 * @returns Every module reached and every import edge (dynamic ones too).
 * @throws {Error} When `deno info` fails.
 */
export async function readGraph(
  root: string,
  entry: string,
): Promise<{ modules: string[]; edges: Edge[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", pathToFileURL(join(root, entry)).href],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    throw new Error(
      `deno info ${entry} failed: ${
        new TextDecoder().decode(out.stderr).trim().split("\n")[0]
      }`,
    );
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as DenoInfo;
  const edges: Edge[] = [];
  for (const module of info.modules) {
    for (const dep of module.dependencies ?? []) {
      for (const side of [dep.code, dep.type]) {
        if (!side?.specifier) continue;
        edges.push({
          from: localName(root, module.specifier),
          to: localName(root, side.specifier),
          line: (side.span?.start.line ?? 0) + 1,
        });
      }
    }
  }
  return {
    modules: info.modules.map((m) => localName(root, m.specifier)),
    edges,
  };
}

function layerOf(file: string): string | null {
  const match = /^src\/([^/]+)\//.exec(file);
  return match ? match[1]! : null;
}

/**
 * Checks the import edges against the layer rules.
 *
 * @param edges Import edges (relative paths).
 * @returns The violations, one per offending import.
 */
export function checkEdges(edges: readonly Edge[]): Violation[] {
  const found = new Map<string, Violation>();
  const add = (v: Violation) =>
    found.set(`${v.file}:${v.line}:${v.message}`, v);
  const rootImports = new Set<string>();
  for (const { from, to, line } of edges) {
    const target = layerOf(to);
    if (target === null) continue;
    if (from === "mod.ts") {
      rootImports.add(target);
      if (!ROOT_EXPORTS.includes(target) && target !== "zmtp") {
        add({ file: from, line, message: `mod.ts may not import ${to}` });
      }
    }
    const source = layerOf(from);
    if (source === null || source === target) continue;
    const allowed = LAYER_DEPENDENCIES[source];
    if (allowed === undefined) {
      add({ file: from, line, message: `unknown layer src/${source}/` });
    } else if (!allowed.includes(target)) {
      add({
        file: from,
        line,
        message: `layer ${source} may not import layer ${target} (${to})`,
      });
    } else if (
      to !== `src/${target}/mod.ts` && !LIGHT_SURFACES.includes(to)
    ) {
      add({
        file: from,
        line,
        message:
          `import layer ${target} through src/${target}/mod.ts, not ${to}`,
      });
    }
  }
  for (const layer of ROOT_EXPORTS) {
    if (edges.some((e) => e.from === "mod.ts") && !rootImports.has(layer)) {
      add({
        file: "mod.ts",
        line: 0,
        message: `mod.ts must re-export src/${layer}/mod.ts`,
      });
    }
  }
  return [...found.values()];
}

/**
 * Checks that the server's graph reaches nothing in {@linkcode SERVER_FORBIDDEN}.
 *
 * @param modules Modules of the `ipython_mcp` graph.
 * @returns One violation per forbidden module.
 */
export function checkServerGraph(modules: readonly string[]): Violation[] {
  return modules.filter((m) => SERVER_FORBIDDEN.some((re) => re.test(m)))
    .map((m) => ({
      file: SERVER_ENTRY,
      line: 0,
      message:
        `the server's module graph reaches ${m} (agent/LLM/rendering code is not the server's)`,
    }));
}

/**
 * Runs every check on a project.
 *
 * @param root Project root.
 * @returns The violations.
 * @throws {Error} When the root has no `src/` or `deno info` fails.
 */
export async function checkLayers(root: string): Promise<Violation[]> {
  const layers: string[] = [];
  for await (const entry of Deno.readDir(join(root, "src"))) {
    if (entry.isDirectory) layers.push(entry.name);
  }
  const entries = ["mod.ts", "src/cli/coder.ts", SERVER_ENTRY]
    .concat(layers.sort().map((l) => `src/${l}/mod.ts`));
  const present: string[] = [];
  for (const entry of entries) {
    if (await Deno.stat(join(root, entry)).then(() => true, () => false)) {
      present.push(entry);
    }
  }
  const graphs = await Promise.all(present.map((e) => readGraph(root, e)));
  const violations = checkEdges(graphs.flatMap((g) => g.edges));
  const server = present.indexOf(SERVER_ENTRY);
  if (server >= 0) {
    violations.push(...checkServerGraph(graphs[server]!.modules));
  }
  return violations;
}

/**
 * Runs the check and prints `file:line: message` per violation.
 *
 * @param args `[ROOT]` (default: the repository this script is in).
 * @param io Where lines go.
 * @returns 0 clean, 1 violations or failure, 2 usage error.
 */
export async function main(
  args: string[],
  io: { out(line: string): void; err(line: string): void } = {
    // deno-lint-ignore no-console
    out: (line) => console.log(line),
    // deno-lint-ignore no-console
    err: (line) => console.error(line),
  },
): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({
      args,
      options: {},
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    io.err(`check_layers: ${(error as Error).message}`);
    return 2;
  }
  if (positionals.length > 1) {
    io.err("check_layers: at most one argument (ROOT)");
    return 2;
  }
  const root = resolve(
    positionals[0] ?? fileURLToPath(new URL("..", import.meta.url)),
  );
  let violations: Violation[];
  try {
    violations = await checkLayers(root);
  } catch (error) {
    io.err(`check_layers: cannot check ${root}: ${(error as Error).message}`);
    return 1;
  }
  for (const v of violations) io.out(`${v.file}:${v.line}: ${v.message}`);
  if (violations.length > 0) {
    io.err(`check_layers: ${violations.length} violation(s)`);
    return 1;
  }
  io.out("check_layers: ok");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
