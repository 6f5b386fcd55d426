import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ContentBlock } from "@modelcontextprotocol/sdk/types.js";
import { type Era, ERAS, startMcpServer } from "../_helpers/mcp_client.ts";
import { assertValidNotebook } from "../_helpers/notebook.ts";
import { PYTHON_DISPLAY_PNG } from "../_helpers/python_code.ts";

type Json = Record<string, unknown>;

async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names;
}

for (const era of ERAS) {
  Deno.test(`ipython_mcp python_export (${era})`, (t) => exportSuite(t, era));
}

async function exportSuite(t: Deno.TestContext, era: Era): Promise<void> {
  await using server = await startMcpServer({ era });
  const { call } = server;

  await t.step(
    "writes a valid nbformat 4.5 notebook with stream, result, PNG and error outputs",
    async () => {
      await call("python_exec", { code: "print('hello')\nx = 20" });
      await call("python_exec", { code: "x + 22" });
      await call("python_exec", { code: PYTHON_DISPLAY_PNG });
      await call("python_exec", { code: "1/0" });
      const { json: job } = await call("python_exec", {
        code: "print('from a job')",
        background: true,
      });
      await call("python_job", { job_id: job.job_id, wait: 30 });
      const { result, json } = await call("python_export", {});
      assert.equal(json.success, true, JSON.stringify(json));
      const path = join(server.cwd, ".ipython_mcp", "_default.ipynb");
      assert.equal(json.path, path);
      assert.equal(json.cells, 5);
      const link = result.content.find((item: ContentBlock) =>
        item.type === "resource_link"
      );
      assert.ok(link && link.type === "resource_link");
      assert.equal(link.uri, pathToFileURL(path).href);
      await assertValidNotebook(path);
      const notebook = JSON.parse(await Deno.readTextFile(path));
      const outputs = notebook.cells.map((cell: Json) =>
        (cell.outputs as Json[]).map((o) => o.output_type)
      );
      assert.deepEqual(outputs, [
        ["stream"],
        ["execute_result"],
        ["display_data"],
        ["error"],
        ["stream"],
      ]);
      assert.deepEqual(notebook.cells[1].outputs[0].data, {
        "text/plain": ["42"],
      });
      assert.match(
        notebook.cells[2].outputs[0].data["image/png"],
        /^iVBORw0KGgo/,
      );
      assert.equal(notebook.cells[3].outputs[0].ename, "ZeroDivisionError");
      // The file can be read back as a resource.
      const read = await server.readResource(link.uri);
      assert.ok("text" in read.contents[0]!);
    },
  );

  await t.step("a path relative to cwd is accepted", async () => {
    const { json } = await call("python_export", {
      path: "out/analysis.ipynb",
    });
    assert.equal(json.path, join(server.cwd, "out", "analysis.ipynb"));
    await assertValidNotebook(json.path as string);
  });

  await t.step("a restart starts an empty notebook", async () => {
    await call("python_reset", { kernel_id: "_default" });
    await call("python_exec", { code: "y = 1" });
    const { json } = await call("python_export", {});
    assert.equal(json.cells, 1);
  });

  await t.step(
    "paths outside cwd or through a .ipython_mcp symlink are refused",
    async () => {
      const outside = await Deno.makeTempDir({ prefix: "mcp_export_out_" });
      try {
        for (
          const path of [
            "../escape.ipynb",
            join(outside, "abs.ipynb"),
            "notes.txt",
          ]
        ) {
          const { result, json } = await call("python_export", { path });
          assert.equal(result.isError, true, path);
          assert.match(json.error as string, /Cannot export to/);
        }
        // Replace .ipython_mcp with a symlink to a directory outside.
        const dir = join(server.cwd, ".ipython_mcp");
        await Deno.remove(dir, { recursive: true });
        await Deno.symlink(outside, dir);
        // The probe works without the protection: writes would land outside.
        await Deno.writeTextFile(join(dir, "probe"), "x");
        assert.equal(await Deno.readTextFile(join(outside, "probe")), "x");
        const { result, json } = await call("python_export", {});
        assert.equal(result.isError, true);
        assert.match(json.error as string, /symlink/);
        assert.deepEqual(
          await namesIn(outside),
          ["probe"],
        );
        const { json: named } = await call("python_export", {
          path: ".ipython_mcp/x.ipynb",
        });
        assert.match(named.error as string, /symlink/);
        // Saved outputs are not written through it either.
        const { json: big } = await call("python_exec", {
          code: "print('c' * 150_000)",
        });
        assert.match(big.save_error as string, /symlink/);
        assert.deepEqual(
          await namesIn(outside),
          ["probe"],
        );
        await Deno.remove(dir);
        assert.equal(
          (await call("python_exec", { code: "y" })).json.result,
          "1",
        );
      } finally {
        await Deno.remove(outside, { recursive: true });
      }
    },
  );

  await t.step("an unknown kernel is a clear error", async () => {
    const { result, json } = await call("python_export", {
      kernel_id: "0badc0de",
    });
    assert.equal(result.isError, true);
    assert.match(json.error as string, /Kernel 0badc0de not found/);
  });
}
