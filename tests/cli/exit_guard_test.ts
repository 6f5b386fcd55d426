/**
 * Exit codes are returned through `main(args, io)`, never `Deno.exit` below
 * `main` (issue 22): the `coder/exit-only-in-main` lint rule, shown to catch
 * an exit in a function and to pass the `import.meta.main` guard, and run
 * over every file of `src/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import plugin from "../../scripts/lint_plugin.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function exitReports(file: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, file, source)
    .filter((d) =>
      d.id === "coder/exit-only-in-main" ||
      (d.id === "coder/process-access-in-cli" && /^Deno\.exit/.test(d.message))
    )
    .map((d) => `${d.id} ${source.slice(d.range[0], d.range[1])}`);
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("coder/exit-only-in-main", async (t) => {
  await t.step("an exit in a function of src/cli/ is reported", () => {
    assert.deepEqual(
      exitReports(
        "/p/src/cli/a.ts",
        `export function stop(code: number): void {
  if (code > 0) Deno.exit(code);
  Deno.exitCode = code;
}
`,
      ),
      [
        "coder/exit-only-in-main Deno.exit",
        "coder/exit-only-in-main Deno.exitCode",
      ],
    );
  });

  await t.step("the import.meta.main guard of an entry file passes", () => {
    assert.deepEqual(
      exitReports(
        "/p/src/cli/coder.ts",
        `export function main(): Promise<number> {
  return Promise.resolve(0);
}
if (import.meta.main) Deno.exit(await main());
if (import.meta.main) {
  Deno.exit(await main());
}
`,
      ),
      [],
    );
    // A guard on anything else does not count.
    assert.deepEqual(
      exitReports("/p/src/cli/a.ts", `if (import.meta.url) Deno.exit(1);\n`),
      ["coder/exit-only-in-main Deno.exit"],
    );
  });

  await t.step(
    "in src/, only processIo's exit (lint-ignored, named) is below main",
    async () => {
      const found: string[] = [];
      for await (const file of sourceFiles(join(ROOT, "src"))) {
        const source = await Deno.readTextFile(file);
        for (const report of exitReports(file, source)) {
          found.push(`${relative(ROOT, file)}: ${report}`);
        }
      }
      assert.deepEqual(found, [
        "src/cli/io.ts: coder/exit-only-in-main Deno.exit",
      ]);
      const io = await Deno.readTextFile(join(ROOT, "src/cli/io.ts"));
      assert.match(
        io,
        /deno-lint-ignore coder\/exit-only-in-main\n\s*exit: \(code\) => Deno\.exit\(code\),/,
      );
    },
  );
});
