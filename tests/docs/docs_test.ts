/**
 * The README and docs/ are checked against the code they describe: code
 * blocks type-check against the real modules, every `deno task NAME` exists,
 * every flag shown on a command line is in that program's help, every
 * relative link resolves, every environment variable named is read somewhere
 * in the code, and the README stays short.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const README = join(ROOT, "README.md");

/** Code blocks that are deliberately not type-checked, per file. */
const UNCHECKED_BLOCKS: Readonly<Record<string, number>> = {
  // The Vercel AI SDK is not a dependency of this project.
  "docs/clients.md": 1,
  // A fragment of an SDK v1 client session (`client` comes from elsewhere).
  "docs/tools.md": 1,
};

async function markdownFiles(): Promise<string[]> {
  const files = [README];
  for await (const entry of Deno.readDir(join(ROOT, "docs"))) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      files.push(join(ROOT, "docs", entry.name));
    }
  }
  return files.sort();
}

async function readDocs(): Promise<Map<string, string>> {
  const docs = new Map<string, string>();
  for (const file of await markdownFiles()) {
    docs.set(relative(ROOT, file), await Deno.readTextFile(file));
  }
  return docs;
}

async function run(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

/** Lines of fenced shell blocks, indented blocks and inline code. */
function commandLines(text: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  let continued = "";
  for (const raw of text.split("\n")) {
    const fenceMatch = /^\s*```(\S*)/.exec(raw);
    if (fenceMatch) {
      fence = fence === null ? fenceMatch[1] ?? "" : null;
      continue;
    }
    let line: string | null = null;
    if (fence !== null) {
      if (fence === "" || fence === "sh" || fence === "bash") line = raw;
    } else if (/^( {4}|\t)/.test(raw) || /^ {6}/.test(raw)) {
      line = raw.trim();
    }
    if (line !== null) {
      const joined = continued + line.trim();
      if (joined.endsWith("\\")) {
        continued = joined.slice(0, -1) + " ";
        continue;
      }
      continued = "";
      lines.push(joined);
    }
    for (const m of raw.matchAll(/`([^`\n]+)`/g)) lines.push(m[1]!);
  }
  return lines;
}

/** GitHub's heading anchors of a Markdown text. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  let fence = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) fence = !fence;
    const m = /^#{1,6} (.+)$/.exec(line);
    if (!fence && m) {
      anchors.add(
        m[1]!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(
          / /g,
          "-",
        ),
      );
    }
  }
  return anchors;
}

Deno.test("README.md stays under 16 KB", async () => {
  const { size } = await Deno.stat(README);
  assert.ok(size < 16 * 1024, `README.md is ${size} bytes`);
});

Deno.test("README keeps the placeholder link to the notebook view", async () => {
  const text = await Deno.readTextFile(README);
  assert.match(text, /\]\(docs\/notebook-view\.md\)/);
});

Deno.test("TypeScript blocks of README and docs type-check against the real modules", async () => {
  const files = [...(await readDocs()).keys()];
  const result = await run(["check", "--doc-only", ...files]);
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("JSDoc examples of every export-map entry type-check", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(join(ROOT, "deno.json")),
  ) as { exports: Record<string, string> };
  const result = await run([
    "check",
    "--doc",
    ...Object.values(config.exports),
  ]);
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("only the listed code blocks are left unchecked", async () => {
  for (const [file, text] of await readDocs()) {
    const ignored =
      [...text.matchAll(/^\s*```(ts|js|tsx|typescript)\s+ignore/gm)]
        .length;
    assert.equal(ignored, UNCHECKED_BLOCKS[file] ?? 0, file);
  }
});

Deno.test("every `deno task NAME` in README and docs exists in deno.json", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(join(ROOT, "deno.json")),
  ) as { tasks: Record<string, string> };
  const named = new Set<string>();
  for (const [file, text] of await readDocs()) {
    for (const m of text.matchAll(/deno task ([a-z][\w:-]*)/g)) {
      named.add(m[1]!);
      assert.ok(m[1]! in config.tasks, `${file}: deno task ${m[1]}`);
    }
  }
  // The check itself sees the tasks the README is built around.
  for (const task of ["setup", "coder", "test", "ipython_mcp"]) {
    assert.ok(named.has(task), `no doc names deno task ${task}`);
  }
});

Deno.test("every flag on a coder or ipython_mcp command line is in its help", async () => {
  const help = async (...args: string[]) => {
    const result = await run(["run", "--allow-all", ...args, "--help"]);
    assert.equal(result.code, 0, result.stderr);
    return new Set(
      [...(result.stdout + result.stderr).matchAll(/--[a-z][a-z-]*/g)].map((
        m,
      ) => m[0]),
    );
  };
  const coder = await help("src/cli/coder.ts");
  const evalHelp = await help("src/cli/coder.ts", "eval");
  const mcp = await help("src/cli/ipython_mcp.ts");
  const programs: [RegExp, Set<string>][] = [
    [/(?:^|\s|\/)coder eval\s/, evalHelp],
    [/(?:^|\s|\/)coder mcp(?:\s|$)/, mcp],
    [/(?:^|\s|\/)ipython_mcp(?:\.ts)?(?:\s|$)/, mcp],
    [/(?:^|\s|\/)coder(?:\.ts)?(?:\s|$)/, coder],
  ];
  let checked = 0;
  for (const [file, text] of await readDocs()) {
    for (const line of commandLines(text)) {
      // The Inspector's own flags follow its command; ours are not among them.
      if (line.startsWith("npx ")) continue;
      const entry = programs.find(([re]) => re.test(line));
      if (!entry) continue;
      // Only what follows the program name is its own (deno's flags come first).
      const start = line.search(entry[0]);
      const own = line.slice(start).replace(/^\S*\s*\S+/, "");
      for (const m of own.matchAll(/(?:^|\s|\[)(--[a-z][a-z-]*)/g)) {
        checked++;
        assert.ok(entry[1].has(m[1]!), `${file}: ${m[1]} in "${line}"`);
      }
    }
  }
  assert.ok(checked > 20, `only ${checked} flags checked`);
  // The one table of flags names only flags some program has.
  const all = new Set([...coder, ...evalHelp, ...mcp]);
  const table = await Deno.readTextFile(join(ROOT, "docs/configuration.md"));
  for (const row of table.split("\n").filter((l) => l.startsWith("| `-"))) {
    const cell = row.split("|")[1]!;
    for (const m of cell.matchAll(/--[a-z][a-z-]*/g)) {
      assert.ok(all.has(m[0]), `configuration.md: ${m[0]}`);
    }
  }
});

Deno.test("every relative link in README and docs resolves", async () => {
  const docs = await readDocs();
  let checked = 0;
  for (const [file, text] of docs) {
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#") as [string, string | undefined];
      const resolved = path === ""
        ? join(ROOT, file)
        : join(ROOT, file, "..", path);
      const stat = await Deno.stat(resolved).catch(() => null);
      assert.ok(stat, `${file}: link ${target} points nowhere`);
      checked++;
      if (anchor !== undefined) {
        const linked = docs.get(relative(ROOT, resolved)) ??
          await Deno.readTextFile(resolved);
        assert.ok(
          anchorsOf(linked).has(anchor),
          `${file}: link ${target}: no heading #${anchor}`,
        );
      }
    }
  }
  assert.ok(checked > 30, `only ${checked} links checked`);
});

Deno.test("every environment variable named in the docs is read by the code", async () => {
  let code = "";
  for (
    const dir of ["src", "scripts", "bench", "tests/_helpers", "tests/cli"]
  ) {
    for await (const file of walk(join(ROOT, dir))) {
      code += await Deno.readTextFile(file);
    }
  }
  code += await Deno.readTextFile(join(ROOT, "scripts/setup.sh"));
  const named = new Set<string>();
  for (const text of (await readDocs()).values()) {
    for (
      const m of text.matchAll(
        /\b(?:CODER|OPENROUTER|MCP|DENORT)_[A-Z][A-Z_]*[A-Z]\b/g,
      )
    ) named.add(m[0]);
  }
  assert.ok(named.size > 20, `only ${named.size} variables found`);
  for (const name of named) {
    assert.ok(code.includes(name), `${name} is read nowhere in the code`);
  }
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (/\.(ts|py|sh)$/.test(entry.name)) yield path;
  }
}
