import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  checkEdges,
  checkServerGraph,
  LIGHT_SURFACES,
  main,
  SERVER_ENTRY,
} from "../../scripts/check_layers.ts";
import plugin from "../../scripts/lint_plugin.ts";

/** A project tree that follows every layer rule. */
const CLEAN_TREE: Readonly<Record<string, string>> = {
  "mod.ts": `export { startKernel } from "./src/kernel/mod.ts";
export * as llm from "./src/llm/mod.ts";
export type { Agent } from "./src/agent/mod.ts";
`,
  "src/zmtp/mod.ts": `export { frame } from "./frame.ts";\n`,
  "src/zmtp/frame.ts": `export function frame(): number {\n  return 3;\n}\n`,
  "src/kernel/mod.ts": `import { frame } from "../zmtp/mod.ts";
export function startKernel(): number {
  return frame();
}
`,
  "src/llm/mod.ts": `export const client = (): number => 1;\n`,
  "src/agent/mod.ts": `import { startKernel } from "../kernel/mod.ts";
import type { client } from "../llm/mod.ts";
export interface Agent {
  kernel: typeof startKernel;
  llm: typeof client;
}
`,
  "src/mcp/mod.ts": `import { startKernel } from "../kernel/mod.ts";
export const tools = [startKernel];
`,
  "src/cli/coder.ts": `import { client } from "../llm/mod.ts";
import { tools } from "../mcp/mod.ts";
export const main = () => [client, tools];
`,
  "src/cli/ipython_mcp.ts": `export async function main(): Promise<unknown> {
  return await import("../mcp/mod.ts");
}
`,
};

async function writeTree(
  root: string,
  tree: Readonly<Record<string, string>>,
): Promise<void> {
  for (const [path, text] of Object.entries(tree)) {
    await Deno.mkdir(dirname(join(root, path)), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
}

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

Deno.test("check_layers main()", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "check_layers_" });
  try {
    await t.step("passes on this repository", async () => {
      const result = await run([]);
      assert.deepEqual(result.out, ["check_layers: ok"], result.err.join("\n"));
      assert.equal(result.code, 0);
    });

    await t.step("passes on a tree that follows the rules", async () => {
      const root = join(dir, "clean");
      await writeTree(root, CLEAN_TREE);
      const result = await run([root]);
      assert.deepEqual(result.out, ["check_layers: ok"]);
      assert.equal(result.code, 0);
    });

    await t.step(
      "reports direction, inner-file and server-graph violations with file:line",
      async () => {
        const root = join(dir, "broken");
        await writeTree(root, {
          ...CLEAN_TREE,
          "src/kernel/mod.ts": `import { frame } from "../zmtp/mod.ts";
import { client } from "../llm/mod.ts";
export function startKernel(): number {
  return frame() + client();
}
`,
          "src/agent/inner.ts": `import { frame } from "../zmtp/frame.ts";
export const x = frame;
`,
          "src/agent/mod.ts": CLEAN_TREE["src/agent/mod.ts"] +
            `export { x } from "./inner.ts";\n`,
          "src/cli/ipython_mcp.ts":
            `export async function main(): Promise<unknown> {
  await import("../mcp/mod.ts");
  return await import("../agent/mod.ts");
}
`,
        });
        const result = await run([root]);
        assert.equal(result.code, 1);
        assert.ok(
          result.out.includes(
            "src/kernel/mod.ts:2: layer kernel may not import layer llm (src/llm/mod.ts)",
          ),
          result.out.join("\n"),
        );
        assert.ok(
          result.out.includes(
            "src/agent/inner.ts:1: layer agent may not import layer zmtp (src/zmtp/frame.ts)",
          ),
          result.out.join("\n"),
        );
        assert.ok(
          result.out.some((line) =>
            line.startsWith(
              `${SERVER_ENTRY}:0: the server's module graph reaches src/agent/mod.ts`,
            )
          ),
          result.out.join("\n"),
        );
      },
    );

    await t.step("a layer reached past its mod.ts is reported", async () => {
      const root = join(dir, "inner");
      await writeTree(root, {
        ...CLEAN_TREE,
        "src/mcp/mod.ts": `import { frame } from "../zmtp/mod.ts";
import { startKernel } from "../kernel/mod.ts";
export const tools = [startKernel, frame];
`,
        "src/cli/coder.ts": `import { frame } from "../zmtp/frame.ts";
export const main = () => frame;
`,
      });
      const result = await run([root]);
      assert.equal(result.code, 1);
      assert.deepEqual(result.out.sort(), [
        "src/cli/coder.ts:1: import layer zmtp through src/zmtp/mod.ts, not src/zmtp/frame.ts",
        "src/mcp/mod.ts:1: layer mcp may not import layer zmtp (src/zmtp/mod.ts)",
      ]);
    });

    await t.step("fails with one line when ROOT has no src/", async () => {
      const result = await run([join(dir, "nothing")]);
      assert.equal(result.code, 1);
      assert.equal(result.err.length, 1);
      assert.match(result.err[0]!, /^check_layers: cannot check /);
    });

    await t.step("refuses unknown options and extra arguments", async () => {
      assert.equal((await run(["--bogus"])).code, 2);
      assert.equal((await run(["a", "b"])).code, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkEdges() lets the cli reach a listed light surface, nothing else past mod.ts", () => {
  assert.ok(LIGHT_SURFACES.includes("src/mcp/early.ts"));
  const edges = [
    { from: "src/cli/mcp_early.ts", to: "src/mcp/early.ts", line: 1 },
    { from: "src/cli/mcp_early.ts", to: "src/mcp/stdio.ts", line: 2 },
  ];
  assert.deepEqual(checkEdges(edges).map((v) => v.line), [2]);
});

Deno.test("checkServerGraph() flags the agent's npm packages and the v1 MCP SDK", () => {
  assert.deepEqual(
    checkServerGraph([
      "npm:/@modelcontextprotocol/server@2.4.0/stdio",
      "npm:/@modelcontextprotocol/sdk@1.32.2/server/index.js",
      "npm:/openai@7.57.0/index.mjs",
      "npm:/marked-terminal@7.3.1/index.js",
      "src/kernel/mod.ts",
    ]).map((v) => v.message.split(" ")[5]),
    [
      "npm:/@modelcontextprotocol/sdk@1.32.2/server/index.js",
      "npm:/openai@7.57.0/index.mjs",
      "npm:/marked-terminal@7.3.1/index.js",
    ],
  );
});

Deno.test("lint plugin rules", async (t) => {
  const lint = (file: string, source: string) =>
    Deno.lint.runPlugin(plugin, file, source).map((d) => d.id);

  await t.step("process access outside src/cli/ is reported", () => {
    assert.deepEqual(
      lint(
        "/p/src/kernel/a.ts",
        `import process from "node:process";
export const a = Deno.env.get("X");
export const b = Deno["args"];
export const c = process.argv;
Deno.exit(1);
`,
      ),
      Array(5).fill("coder/process-access-in-cli"),
    );
  });

  await t.step("src/cli/ and Deno APIs that are not the process's pass", () => {
    assert.deepEqual(
      lint("/p/src/cli/a.ts", `export const a = Deno.env.get("X");\n`),
      [],
    );
    assert.deepEqual(
      lint(
        "/p/src/kernel/a.ts",
        `export const a = Deno.pid + Deno.build.os;\n`,
      ),
      [],
    );
  });

  await t.step("module-level let/var is reported, local let is not", () => {
    assert.deepEqual(
      lint(
        "/p/src/zmtp/a.ts",
        `let a = 1;
export var b = 2;
export function f(): number {
  let c = a + b;
  c++;
  return c;
}
a++;
`,
      ),
      ["coder/no-module-mutable-state", "coder/no-module-mutable-state"],
    );
  });
});
