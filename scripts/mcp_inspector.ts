/**
 * Runs the MCP Inspector's schema-portability check (npm
 * `@modelcontextprotocol/inspector`, CLI mode, `tools/list --strict`)
 * against `ipython_mcp` over stdio, and reports every finding it prints.
 *
 * ```sh
 * # once, where the npm registry is reachable:
 * npm install --prefix /tmp/mcp-inspector @modelcontextprotocol/inspector@2.12.0
 * deno run --allow-all scripts/mcp_inspector.ts --package /tmp/mcp-inspector
 * ```
 *
 * The Inspector 2.12 prints one `Warning: tool "NAME"` or `Error: tool
 * "NAME"` block per finding on stderr, then a line such as
 * `0 errors, 2 warnings across 1 tool.`, and nothing when the schemas are
 * clean. Exits 1 when there is a finding or the check did not run.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runFlags } from "./permissions.ts";

/** The Inspector version this check was written against. */
export const INSPECTOR_VERSION = "2.12.0";

/**
 * Variables of this process the server needs and the Inspector would not
 * pass on (it gives a stdio server only HOME, PATH and the like).
 */
export const PASSED_VARIABLES: readonly string[] = [
  "CODER_PYTHON",
  "DENO_DIR",
  "XDG_CACHE_HOME",
];

/**
 * The server variables to pass, taken from an environment.
 *
 * @param env An environment (e.g. `Deno.env.toObject()`).
 * @returns Those of {@linkcode PASSED_VARIABLES} that are set.
 */
export function serverVariables(
  env: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    PASSED_VARIABLES.flatMap((name) =>
      env[name] ? [[name, env[name]] as const] : []
    ),
  );
}

/** Options of {@linkcode runInspectorStrict}. */
export interface InspectorOptions {
  /** Directory where the npm package is installed (has `node_modules/`). */
  packageDir: string;
  /** Variables the server needs besides the Inspector's defaults (CODER_PYTHON...). */
  env?: Record<string, string>;
}

/** One finding of the strict check. */
export interface InspectorFinding {
  /** `Warning` or `Error`. */
  level: string;
  /** The tool it is about. */
  tool: string;
  /** Where in the tool's schemas (`outputSchema.properties.x`). */
  path: string;
  /** The whole block as printed. */
  text: string;
}

/** The outcome of one strict check. */
export interface InspectorReport {
  /** Exit code of the Inspector CLI. */
  code: number;
  /** Names of the tools it listed (stdout). */
  tools: string[];
  /** Every finding printed. */
  findings: InspectorFinding[];
  /** The CLI's stderr. */
  stderr: string;
}

/**
 * Splits the Inspector's stderr into findings.
 *
 * @param stderr The CLI's stderr.
 * @returns One entry per `Warning: tool` / `Error: tool` block.
 */
export function parseFindings(stderr: string): InspectorFinding[] {
  const findings: InspectorFinding[] = [];
  const blocks = stderr.split(/\n(?=(?:Warning|Error): tool ")/);
  for (const block of blocks) {
    const head = /^(Warning|Error): tool "([^"]+)"/.exec(block.trimStart());
    if (!head) continue;
    findings.push({
      level: head[1]!,
      tool: head[2]!,
      path: /Path: (\S+)/.exec(block)?.[1] ?? "",
      text: block.trim(),
    });
  }
  return findings;
}

/**
 * Starts the Inspector CLI, which spawns `ipython_mcp` over stdio in a
 * fresh directory and runs `tools/list --strict` against it.
 *
 * @param options Package directory and server variables.
 * @returns Exit code, listed tools and findings.
 */
export async function runInspectorStrict(
  options: InspectorOptions,
): Promise<InspectorReport> {
  const entry = fileURLToPath(
    new URL("../src/cli/ipython_mcp.ts", import.meta.url),
  );
  const cli = join(
    options.packageDir,
    "node_modules/@modelcontextprotocol/inspector/clients/cli/build/index.js",
  );
  const cwd = await Deno.makeTempDir({ prefix: "mcp_inspector_" });
  try {
    const env = { CODER_POOL_SIZE: "0", ...options.env };
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        cli,
        "--cli",
        "--method",
        "tools/list",
        "--strict",
        "--cwd",
        cwd,
        ...Object.entries(env).flatMap(([key, value]) => [
          "-e",
          `${key}=${value}`,
        ]),
        Deno.execPath(),
        "run",
        "--quiet",
        ...runFlags("ipython_mcp"),
        entry,
      ],
      cwd: options.packageDir,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    let tools: string[] = [];
    try {
      tools = (JSON.parse(stdout) as { tools: { name: string }[] }).tools.map(
        (tool) => tool.name,
      );
    } catch {
      // No listing: tools stays empty and the caller sees stderr.
    }
    return { code: run.code, tools, findings: parseFindings(stderr), stderr };
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { package: { type: "string" } },
    strict: true,
  });
  if (!values.package) {
    print("usage: mcp_inspector.ts --package DIR");
    Deno.exit(2);
  }
  const report = await runInspectorStrict({
    packageDir: values.package,
    env: serverVariables(Deno.env.toObject()),
  });
  for (const finding of report.findings) print(finding.text);
  print(
    `${report.tools.length} tools listed, ${report.findings.length} findings (exit ${report.code})`,
  );
  Deno.exit(
    report.code === 0 && report.tools.length > 0 &&
      report.findings.length === 0
      ? 0
      : 1,
  );
}
