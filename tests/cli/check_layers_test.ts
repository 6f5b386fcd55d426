import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../scripts/check_layers.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A project tree that follows every rule. */
const CLEAN_TREE: Readonly<Record<string, string>> = {
  "mod.ts": `/**
 * Library.
 *
 * @example
 * \`\`\`ts
 * console.log(Deno.env.get("HOME"));
 * \`\`\`
 * @module
 */
export { startKernel } from "./src/kernel/mod.ts";
export * as llm from "./src/llm/mod.ts";
export type {
  Agent,
${Array.from({ length: 40 }, (_, i) => `  importName${i},`).join("\n")}
} from "./src/agent/mod.ts";
`,
  "src/zmtp/mod.ts": `export { frame } from "./frame.ts";
export const VERSION = 3;
`,
  "src/zmtp/frame.ts": `export function frame(): Uint8Array {
  let size = 0; // a local let is fine
  for (let i = 0; i < 3; i++) size += i;
  return new Uint8Array(size);
}
`,
  "src/kernel/mod.ts": `import { VERSION } from "../zmtp/mod.ts";
import STARTUP from "./_startup.py" with { type: "text" };
// console.log("debug"); import { x } from "../llm/mod.ts";
/* Deno.exit(1);
   import "../agent/mod.ts"; */
const QUOTES = /["'\`]/g;
const RATIO = 4 / 2 / 1;
const MESSAGE = "do not call Deno.env or console.log here; from \\"../llm/mod.ts\\"";
const ANSI = new RegExp("\\u001b\\\\[[0-9;]*m", "g");
export function startKernel(name: string): string {
  const text = \`\${name.replace(QUOTES, "")} \${{ a: 1 }.a} console.log(\${VERSION})\`;
  return text + STARTUP + MESSAGE + RATIO + ANSI.source;
}
`,
  "src/kernel/_startup.py": "print('hello')\n",
  "src/llm/mod.ts": `import OpenAI from "npm:openai@7.57.0";
import { join } from "node:path";
export const client = (): unknown => [OpenAI, join];
`,
  "src/agent/mod.ts": `import { startKernel } from "../kernel/mod.ts";
import type { client } from "../llm/mod.ts";
export interface Agent {
  kernel: typeof startKernel;
  llm: typeof client;
}
export async function lazy(): Promise<unknown> {
  return await import("../llm/mod.ts");
}
`,
  "src/mcp/mod.ts": `import { startKernel } from "../kernel/mod.ts";
export const tools = [startKernel];
`,
  "src/cli/coder.ts":
    `import denoJson from "../../deno.json" with { type: "json" };
import { startKernel } from "../kernel/mod.ts";
import { client } from "../llm/mod.ts";
import type { Agent } from "../agent/mod.ts";
import { tools } from "../mcp/mod.ts";
import { VERSION } from "../zmtp/mod.ts";
import process from "node:process";
export function main(args: string[]): number {
  let code = 0;
  console.log(denoJson, startKernel, client, tools, VERSION, process.argv);
  if (Deno.env.get("X")) code = 1;
  const agent: Agent | null = null;
  return args.length + code + (agent ? 1 : 0);
}
if (import.meta.main) Deno.exit(main(Deno.args));
`,
  "deno.json": "{}\n",
};

interface RunResult {
  code: number;
  out: string[];
  err: string[];
}

async function writeTree(
  root: string,
  files: Readonly<Record<string, string | null>>,
): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    if (text === null) {
      await Deno.remove(full);
      continue;
    }
    await Deno.mkdir(dirname(full), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
}

/** Writes the clean tree plus `changes` (null deletes) and runs main on it. */
async function runOn(
  changes: Readonly<Record<string, string | null>> = {},
): Promise<RunResult> {
  const root = await Deno.makeTempDir({ prefix: "check_layers_" });
  try {
    await writeTree(root, CLEAN_TREE);
    await writeTree(root, changes);
    return await runMain([root]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function runMain(args: string[]): Promise<RunResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

/** Asserts exit 1 with exactly these violation lines. */
function assertViolations(result: RunResult, expected: string[]): void {
  assert.deepEqual(result.out, expected);
  assert.deepEqual(result.code, 1);
  assert.deepEqual(result.err.length, 1);
  assert.ok(result.err[0]!.includes(`${expected.length} violation(s)`));
}

Deno.test("check_layers main()", async (t) => {
  await t.step(
    "passes a clean tree (comments, strings, regexes, templates ignored)",
    async () => {
      const result = await runOn();
      assert.deepEqual(result, {
        code: 0,
        out: ["check_layers: ok (8 files)"],
        err: [],
      });
    },
  );

  await t.step("reports imports against the dependency direction", async () => {
    const result = await runOn({
      "src/zmtp/socket.ts":
        `import { x } from "../kernel/mod.ts";\nexport const y = x;\n`,
      "src/kernel/registry.ts":
        `import { VERSION } from "../zmtp/mod.ts";\nimport {\n  client,\n} from "../llm/mod.ts";\nexport const r = [VERSION, client];\n`,
      "src/llm/models.ts": `export { startKernel } from "../kernel/mod.ts";\n`,
      "src/mcp/server.ts": `import "../agent/mod.ts";\n`,
      "src/agent/tools.ts":
        `export async function f(): Promise<unknown> {\n  return await import("../mcp/mod.ts");\n}\n`,
    });
    assertViolations(result, [
      `src/agent/tools.ts:2: layer "agent" must not import layer "mcp" ("../mcp/mod.ts"); allowed: kernel, llm`,
      `src/kernel/registry.ts:4: layer "kernel" must not import layer "llm" ("../llm/mod.ts"); allowed: zmtp`,
      `src/llm/models.ts:1: layer "llm" must not import layer "kernel" ("../kernel/mod.ts"); allowed: none of ours`,
      `src/mcp/server.ts:1: layer "mcp" must not import layer "agent" ("../agent/mod.ts"); allowed: kernel`,
      `src/zmtp/socket.ts:1: layer "zmtp" must not import layer "kernel" ("../kernel/mod.ts"); allowed: none of ours`,
    ]);
  });

  await t.step("reports imports of another layer's inner files", async () => {
    const result = await runOn({
      "src/agent/agent.ts":
        `import type { Kernel } from "../kernel/kernel.ts";\nexport type K = Kernel;\n`,
      "src/cli/render.ts":
        `export { frame } from "../zmtp/frame.ts";\nimport "../kernel/";\n`,
    });
    assertViolations(result, [
      `src/agent/agent.ts:1: imports "../kernel/kernel.ts": another layer is imported only through its mod.ts (src/kernel/mod.ts)`,
      `src/cli/render.ts:1: imports "../zmtp/frame.ts": another layer is imported only through its mod.ts (src/zmtp/mod.ts)`,
      `src/cli/render.ts:2: imports "../kernel/": another layer is imported only through its mod.ts (src/kernel/mod.ts)`,
    ]);
  });

  await t.step("reports process access outside src/cli/", async () => {
    const result = await runOn({
      "src/llm/client.ts": [
        `import process from "node:process";`,
        `const key = Deno.env.get("KEY");`,
        `export function run(): void {`,
        `  console.log(key, process.argv);`,
        `  if (!key) Deno.exit(1);`,
        `  Deno.stdout.write(new Uint8Array());`,
        `  const e = process.env;`,
        `  // Deno.args in a comment is fine`,
        `  const s = "Deno.args in a string is fine";`,
        `  Deno.stderr.write(new TextEncoder().encode(s + e + Deno.args));`,
        `}`,
        ``,
      ].join("\n"),
    });
    assertViolations(result, [
      `src/llm/client.ts:1: imports "node:process"; only src/cli/ may touch the process`,
      `src/llm/client.ts:2: \`Deno.env\` is only allowed in src/cli/ (pass values in as options)`,
      `src/llm/client.ts:4: \`process.argv\` is only allowed in src/cli/ (pass values in as options)`,
      `src/llm/client.ts:4: \`console.\` is only allowed in src/cli/ (log through the injected Logger)`,
      `src/llm/client.ts:5: \`Deno.exit\` is only allowed in src/cli/ (pass values in as options)`,
      `src/llm/client.ts:6: \`Deno.stdout\` is only allowed in src/cli/ (pass values in as options)`,
      `src/llm/client.ts:7: \`process.env\` is only allowed in src/cli/ (pass values in as options)`,
      `src/llm/client.ts:10: \`Deno.stderr\` is only allowed in src/cli/ (pass values in as options)`,
      `src/llm/client.ts:10: \`Deno.args\` is only allowed in src/cli/ (pass values in as options)`,
    ]);
  });

  await t.step(
    "reports module-level let and var, also in src/cli/",
    async () => {
      const result = await runOn({
        "src/mcp/state.ts": [
          `let calls = 0;`,
          `export let last: string | null = null;`,
          `var legacy = "x";`,
          `export function count(): number {`,
          `  let local = calls++;`,
          `  return local + (legacy ? 1 : 0) + (last ? 1 : 0);`,
          `}`,
          ``,
        ].join("\n"),
        "src/cli/args.ts":
          `let\n  parsed = false;\nexport const p = () => parsed;\n`,
      });
      const hint =
        "(no module-level mutable state; keep state in an object its owner creates)";
      assertViolations(result, [
        `src/cli/args.ts:1: module-level \`let\` ${hint}`,
        `src/mcp/state.ts:1: module-level \`let\` ${hint}`,
        `src/mcp/state.ts:2: module-level \`let\` ${hint}`,
        `src/mcp/state.ts:3: module-level \`var\` ${hint}`,
      ]);
    },
  );

  await t.step(
    "reports a root mod.ts that skips a layer or imports cli",
    async () => {
      const result = await runOn({
        "mod.ts":
          `export { startKernel } from "./src/kernel/mod.ts";\nexport * as llm from "./src/llm/mod.ts";\nimport { main } from "./src/cli/coder.ts";\nexport const m = main;\n`,
      });
      assertViolations(result, [
        `mod.ts:1: root mod.ts must re-export ./src/agent/mod.ts`,
        `mod.ts:3: root mod.ts must not import layer "cli" ("./src/cli/coder.ts"); allowed: kernel, llm, agent`,
      ]);
    },
  );

  await t.step(
    "reports unknown layers and code imported from outside src/",
    async () => {
      const result = await runOn({
        "src/util/strings.ts": `export const s = 1;\n`,
        "src/loose.ts": `export const l = 2;\n`,
        "src/cli/bench.ts":
          `import { x } from "../../scripts/bench.ts";\nimport readme from "../../README.md" with { type: "text" };\nexport const b = [x, readme];\n`,
        "src/agent/mod.ts":
          `import { s } from "../util/strings.ts";\nimport { l } from "../loose.ts";\nexport type Agent = typeof s | typeof l;\n`,
      });
      assertViolations(result, [
        `src/agent/mod.ts:1: layer "agent" must not import layer "util" ("../util/strings.ts"); allowed: kernel, llm`,
        `src/agent/mod.ts:2: imports "../loose.ts", which is in no layer`,
        `src/cli/bench.ts:1: imports "../../scripts/bench.ts", code outside src/ (layers depend only on layers)`,
        `src/loose.ts:1: file is not inside a layer folder (src/<layer>/)`,
        `src/util/strings.ts:1: "src/util" is not a known layer (zmtp, llm, kernel, mcp, agent, cli)`,
      ]);
    },
  );

  await t.step("fails with one line when ROOT has no src/", async () => {
    const root = await Deno.makeTempDir({ prefix: "check_layers_" });
    try {
      const result = await runMain([root]);
      assert.deepEqual(result.code, 1);
      assert.deepEqual(result.out, []);
      assert.deepEqual(result.err.length, 1);
      assert.ok(
        result.err[0]!.startsWith("check_layers: Cannot check layers:"),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });

  await t.step("refuses unknown options and extra arguments", async () => {
    assert.deepEqual((await runMain(["--bogus"])).code, 2);
    assert.deepEqual((await runMain(["a", "b"])).code, 2);
  });

  await t.step("passes on this repository", async () => {
    const result = await runMain([REPO_ROOT]);
    assert.deepEqual(result.code, 0, [...result.out, ...result.err].join("\n"));
    assert.ok(result.out.at(-1)!.startsWith("check_layers: ok ("));
  });
});
