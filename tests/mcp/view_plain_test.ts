/**
 * The notebook view (SPEC §14) leaves clients without the MCP Apps
 * extension exactly where they were: no `_meta.ui` on tools, no view tool,
 * no `ui://` resource listed, the same content items and JSON text. Also:
 * the committed view is what `deno task build:view` produces.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import { buildView } from "../../scripts/build_view.ts";
import {
  clientSupportsView,
  UI_EXTENSION,
  VIEW_MIME_TYPE,
  VIEW_TOOL,
  VIEW_URI,
  withViewLink,
} from "../../src/mcp/view.ts";
import * as extApps from "@modelcontextprotocol/ext-apps/server";

/** A listed tool, as far as these checks look. */
type Tool = { name: string; _meta?: unknown };

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

Deno.test("view: the extension's names are ext-apps' own (the server does not load it)", () => {
  assert.equal(UI_EXTENSION, extApps.EXTENSION_ID);
  assert.equal(VIEW_MIME_TYPE, extApps.RESOURCE_MIME_TYPE);
  const linked = JSON.stringify(withViewLink({ name: "python_exec" }));
  assert.ok(linked.includes(JSON.stringify(extApps.RESOURCE_URI_META_KEY)));
  for (
    const capabilities of [
      { extensions: { [extApps.EXTENSION_ID]: {} } },
      { extensions: { other: {} } },
      {},
      null,
    ]
  ) {
    assert.equal(
      clientSupportsView(capabilities),
      // deno-lint-ignore no-explicit-any
      extApps.getUiCapability(capabilities as any) !== undefined,
    );
  }
});

Deno.test("view: the committed HTML is what build:view produces", async () => {
  const committed = await Deno.readTextFile(
    fileURLToPath(
      new URL("../../src/mcp/view/notebook.html", import.meta.url),
    ),
  );
  assert.equal(
    await buildView(),
    committed,
    "src/mcp/view/notebook.html is stale: run deno task build:view",
  );
});

Deno.test("view: a client without the extension sees no change", async () => {
  await using server = await startMcpServer({
    env: { CODER_PYTHON: PYTHON },
  });
  const { tools } = await server.listTools();
  assert.deepEqual(
    tools.filter((tool: Tool) => tool._meta !== undefined).map((tool: Tool) =>
      tool.name
    ),
    [],
  );
  assert.equal(tools.some((tool: Tool) => tool.name === VIEW_TOOL), false);
  const { resources } = await server.listResources();
  assert.equal(
    resources.some((r: { uri: string }) => r.uri.startsWith("ui://")),
    false,
  );

  const printed = await server.call("python_exec", {
    code: 'print("hello from cell one")',
  });
  assert.deepEqual(printed.result.content, [{
    type: "text",
    text: JSON.stringify({
      success: true,
      kernel_id: "_default",
      stdout: "hello from cell one\n",
    }),
  }]);
  // An HTML display (kept now for the view) adds nothing to the answer.
  const shown = await server.call("python_exec", {
    code:
      'from IPython.display import HTML, display\ndisplay(HTML("<table><tr><td>1</td></tr></table>"))\n7',
  });
  assert.deepEqual(shown.result.content, [{
    type: "text",
    text: JSON.stringify({ success: true, kernel_id: "_default", result: "7" }),
  }]);
  // The view's resource is still readable by URI (harmless, read-only).
  const read = await server.readResource(VIEW_URI);
  assert.equal(read.contents[0]?.uri, VIEW_URI);
});

Deno.test("view: a 2026 client declares the extension per request", async () => {
  // No kernel is started: listing only.
  await using server = await startMcpServer({
    era: "2026",
    capabilities: {
      extensions: {
        "io.modelcontextprotocol/ui": { mimeTypes: [VIEW_MIME_TYPE] },
      },
    },
  });
  const { tools } = await server.listTools();
  const linked = tools.filter((tool: Tool) =>
    (tool._meta as { ui?: { resourceUri?: string } } | undefined)?.ui
      ?.resourceUri === VIEW_URI
  ).map((tool: Tool) => tool.name);
  assert.deepEqual(linked.sort(), [
    "notebook_view",
    "python_exec",
    "python_export",
    "python_job",
  ]);
  const { resources } = await server.listResources();
  assert.equal(
    resources.some((r: { uri: string }) => r.uri === VIEW_URI),
    true,
  );
});
