import assert from "node:assert/strict";
import { join } from "node:path";

import {
  initTemplates,
  TEMPLATE_NAMES,
  type TemplateName,
  TEMPLATES,
} from "../../src/cli/templates.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url);
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const EXPECTED_PACKAGES: Record<TemplateName, string[]> = {
  cpmpy: ["cpmpy"],
  clingo: ["clingo"],
  regex: [],
};

/** Splits a project file into its `packages` block (if any) and the prompt. */
function parseProjectFile(
  text: string,
): { packages: string[]; prompt: string } {
  const match = /^```packages[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/m.exec(text);
  if (match === null || match.index !== 0) {
    return { packages: [], prompt: text };
  }
  const packages = (match[1] ?? "").split(/\r?\n/).map((line) => line.trim())
    .filter((line) => line !== "");
  return { packages, prompt: text.slice(match[0].length) };
}

async function readTree(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      for (const inner of await readTree(path)) {
        found.push(join(entry.name, inner));
      }
    } else {
      found.push(entry.name);
    }
  }
  return found.sort();
}

function allRelativePaths(names: readonly TemplateName[]): string[] {
  return names.flatMap((name) =>
    TEMPLATES[name].map((file) => join("coder-examples", name, file.name))
  );
}

Deno.test("initTemplates()", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "coder_templates_test_" });
  try {
    await t.step(
      "copies every bundled file from an unrelated cwd with the bundled bytes",
      async () => {
        const cwd = join(tmp, "all");
        await Deno.mkdir(cwd);
        const result = await initTemplates("all", cwd);
        assert.deepEqual(result.copied, allRelativePaths(TEMPLATE_NAMES));
        assert.deepEqual(result.skipped, []);
        assert.deepEqual(
          await readTree(cwd),
          allRelativePaths(TEMPLATE_NAMES).sort(),
        );
        for (const name of TEMPLATE_NAMES) {
          for (const file of TEMPLATES[name]) {
            const written = await Deno.readFile(
              join(cwd, "coder-examples", name, file.name),
            );
            assert.deepEqual(
              written,
              new TextEncoder().encode(file.text),
              `${name}/${file.name} differs from the bundled text`,
            );
          }
        }
      },
    );

    await t.step(
      "a second call copies nothing and skips every file",
      async () => {
        const cwd = join(tmp, "all");
        const result = await initTemplates("all", cwd);
        assert.deepEqual(result.copied, []);
        assert.deepEqual(result.skipped, allRelativePaths(TEMPLATE_NAMES));
      },
    );

    await t.step(
      "keeps an existing modified file and copies the rest",
      async () => {
        const cwd = join(tmp, "modified");
        const folder = join(cwd, "coder-examples", "regex");
        await Deno.mkdir(folder, { recursive: true });
        await Deno.writeTextFile(join(folder, "regex.md"), "my own prompt\n");
        const result = await initTemplates("regex", cwd);
        assert.deepEqual(result.skipped, [
          join("coder-examples", "regex", "regex.md"),
        ]);
        assert.deepEqual(
          result.copied,
          allRelativePaths(["regex"]).filter((path) =>
            !path.endsWith("regex.md")
          ),
        );
        assert.equal(
          await Deno.readTextFile(join(folder, "regex.md")),
          "my own prompt\n",
        );
      },
    );

    await t.step("copies only the named set", async () => {
      const cwd = join(tmp, "one");
      await Deno.mkdir(cwd);
      const result = await initTemplates("clingo", cwd);
      assert.deepEqual(result.copied, allRelativePaths(["clingo"]));
      assert.deepEqual(
        await readTree(cwd),
        allRelativePaths(["clingo"]).sort(),
      );
    });

    await t.step(
      "rejects an unknown name, listing the choices, and writes nothing",
      async () => {
        const cwd = join(tmp, "unknown");
        await Deno.mkdir(cwd);
        await assert.rejects(
          () => initTemplates("sudoku", cwd),
          (error: unknown) => {
            assert.ok(error instanceof RangeError);
            assert.match(error.message, /"sudoku"/);
            assert.match(error.message, /cpmpy, clingo, regex, all/);
            return true;
          },
        );
        assert.deepEqual(await readTree(cwd), []);
      },
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("TEMPLATES", async (t) => {
  await t.step("names the three sets in order", () => {
    assert.deepEqual([...TEMPLATE_NAMES], ["cpmpy", "clingo", "regex"]);
    assert.deepEqual(Object.keys(TEMPLATES), [...TEMPLATE_NAMES]);
  });

  await t.step(
    "bundles exactly the files in examples/<name>/, byte for byte",
    async () => {
      for (const name of TEMPLATE_NAMES) {
        const dir = new URL(`${name}/`, EXAMPLES);
        const onDisk: string[] = [];
        for await (const entry of Deno.readDir(dir)) onDisk.push(entry.name);
        assert.deepEqual(
          onDisk.sort(),
          TEMPLATES[name].map((file) => file.name).sort(),
          `examples/${name}/ and the bundled table differ`,
        );
        for (const file of TEMPLATES[name]) {
          assert.equal(
            await Deno.readTextFile(new URL(file.name, dir)),
            file.text,
            `${name}/${file.name} is wired to the wrong import`,
          );
        }
      }
    },
  );

  await t.step(
    "each project file's packages block lists valid package names",
    () => {
      for (const name of TEMPLATE_NAMES) {
        const project = TEMPLATES[name].find((file) =>
          file.name === `${name}.md`
        );
        assert.ok(project, `${name}.md is missing`);
        const { packages, prompt } = parseProjectFile(project.text);
        for (const pkg of packages) {
          assert.match(pkg, PACKAGE_NAME, `${name}.md lists "${pkg}"`);
        }
        assert.deepEqual(packages, EXPECTED_PACKAGES[name]);
        assert.ok(prompt.trim().length > 500, `${name}.md has no prompt text`);
        assert.ok(
          !prompt.includes("```packages"),
          `${name}.md has a packages block after the start`,
        );
      }
    },
  );

  await t.step("each README shows how to run every task of its set", () => {
    for (const name of TEMPLATE_NAMES) {
      const readme = TEMPLATES[name].find((file) => file.name === "README.md");
      assert.ok(readme, `${name}/README.md is missing`);
      const tasks = TEMPLATES[name].filter((file) =>
        file.name.startsWith("task_")
      );
      assert.ok(tasks.length >= 2, `${name} has fewer than two tasks`);
      for (const task of tasks) {
        assert.match(
          readme.text,
          new RegExp(
            `coder (--with ${name} )?--project ${name}\\.md --task ${task.name}`,
          ),
          `${name}/README.md does not show how to run ${task.name}`,
        );
      }
    }
  });
});
