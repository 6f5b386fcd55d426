/**
 * The notebook view (SPEC §14) in a real headless Chromium acting as an MCP
 * Apps host, against the real server: the view is read from the server's
 * `ui://` resource, talks to it only through the host bridge, and shows the
 * kernel's cells (text, matplotlib PNG, pandas table, traceback), keeps
 * hostile HTML inert, follows a background job, and loads nothing from the
 * network. Screenshots (light, dark) go to docs/images/.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import type { Frame } from "puppeteer-core";
import { launchChromium, openHost } from "../_helpers/view_host.ts";
import { VIEW_MIME_TYPE, VIEW_TOOL, VIEW_URI } from "../../src/mcp/view.ts";

/**
 * Evaluates an expression in a frame (a string: the test is type-checked
 * without the DOM library).
 */
async function inFrame<T>(frame: Frame, expression: string): Promise<T> {
  return await frame.evaluate(expression) as T;
}

/**
 * A real mouse click on a node of the view. A re-render (a refresh the
 * test did not ask for) can replace the node between puppeteer's steps of
 * the click; the click is then made again on the new node.
 */
async function click(frame: Frame, selector: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await frame.click(selector);
    } catch (error) {
      if (attempt === 5 || !/detached/i.test(String(error))) throw error;
    }
  }
}

/** The texts of the nodes a selector matches in a frame. */
/**
 * Waits until the view shows `cells` cells (and `more` on body) with no
 * refresh left: a tool result's refresh and the view's first one can come
 * one after the other, and the second replaces every node of the first.
 */
function settled(frame: Frame, cells: number, more = ""): Promise<unknown> {
  return frame.waitForSelector(
    `body[data-cells="${cells}"]${more} main#cells[aria-busy="false"]`,
  );
}

function texts(frame: Frame, selector: string): Promise<(string | null)[]> {
  return inFrame(
    frame,
    `[...document.querySelectorAll(${
      JSON.stringify(selector)
    })].map((n) => n.textContent)`,
  );
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const UI_CAPABILITIES = {
  extensions: {
    "io.modelcontextprotocol/ui": { mimeTypes: [VIEW_MIME_TYPE] },
  },
};
const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

/** Hostile HTML: each part would set a flag in the document showing it. */
const HOSTILE =
  `<img src="http://127.0.0.1:9/leak.png" onerror="document.body.dataset.pwned='img'">` +
  `<script>document.body.dataset.pwned='script'</script>` +
  `<a href="javascript:document.body.dataset.pwned='link'">x</a><b>bold survives</b>`;

const CELLS = [
  `print("hello from cell one")`,
  [
    "import matplotlib",
    'matplotlib.use("module://matplotlib_inline.backend_inline")',
    "import matplotlib.pyplot as plt",
    "plt.figure(figsize=(3, 2))",
    "plt.plot([1, 3, 2])",
    "plt.show()",
  ].join("\n"),
  [
    "import pandas as pd",
    'pd.DataFrame({"city": ["Oslo", "Lima"], "temp": [4, 19]})',
  ].join("\n"),
  "1 / 0",
  [
    "from IPython.display import HTML, display",
    `display(HTML(${JSON.stringify(HOSTILE)}))`,
  ].join("\n"),
];

Deno.test({
  name: "view: a host renders the kernel's cells from the real server, safely",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await using server = await startMcpServer({
    capabilities: UI_CAPABILITIES,
    env: { CODER_PYTHON: PYTHON },
  });
  const browser = await launchChromium();
  try {
    const tools = await server.listTools();
    const exec = tools.tools.find((tool: { name: string }) =>
      tool.name === "python_exec"
    )!;
    const viewTool = tools.tools.find((tool: { name: string }) =>
      tool.name === VIEW_TOOL
    );

    await t.step(
      "tools and the resource are declared for the extension",
      async () => {
        assert.deepEqual(
          (exec._meta as { ui?: { resourceUri?: string } }).ui?.resourceUri,
          VIEW_URI,
        );
        for (const name of ["python_job", "python_export"]) {
          const tool = tools.tools.find((tool: { name: string }) =>
            tool.name === name
          )!;
          assert.deepEqual(
            (tool._meta as { ui?: { resourceUri?: string } }).ui?.resourceUri,
            VIEW_URI,
          );
        }
        assert.deepEqual(
          (viewTool?._meta as { ui?: { visibility?: string[] } }).ui
            ?.visibility,
          ["app"],
        );
        const listed = await server.listResources();
        assert(
          listed.resources.some((r: { uri: string }) => r.uri === VIEW_URI),
        );
        const read = await server.readResource(VIEW_URI);
        const contents = read.contents[0] as { mimeType: string; text: string };
        assert.deepEqual(contents.mimeType, "text/html;profile=mcp-app");
        assert.deepEqual(
          contents.text,
          await Deno.readTextFile(join(ROOT, "src/mcp/view/notebook.html")),
        );
      },
    );

    const results: CallToolResult[] = [];
    for (const code of CELLS) {
      results.push((await server.call("python_exec", { code })).result);
    }
    assert.match(JSON.stringify(results[1]), /image\/png/);
    // With the extension, results are the same as without it
    // (view_plain_test.ts checks the same text for a plain client).
    assert.deepEqual(results[0]!.content, [{
      type: "text",
      text: JSON.stringify({
        success: true,
        kernel_id: "_default",
        stdout: "hello from cell one\n",
      }),
    }]);
    const read = await server.readResource(VIEW_URI);
    const viewHtml = (read.contents[0] as { text: string }).text;
    const host = await openHost(browser, server.client as never, {
      viewHtml,
      theme: "light",
      controlHtml: HOSTILE,
    });
    await host.toolInput({ code: CELLS[4] });
    await host.toolResult(results[4]);
    await settled(host.view, CELLS.length);

    await t.step("cells appear in order with their outputs", async () => {
      const codes = await texts(host.view, "section.cell:not(.job) pre.code");
      assert.deepEqual(codes, CELLS);
      const stdout = await texts(host.view, "section.cell pre.stdout");
      assert.deepEqual(stdout, ["hello from cell one\n"]);
      const error = (await texts(host.view, "section.cell .error")).join("");
      assert.match(error, /ZeroDivisionError: division by zero/);
      assert.match(error, /Traceback|1 \/ 0/);
    });

    await t.step("the matplotlib PNG is displayed", async () => {
      const size = await inFrame<[boolean, number, string]>(
        host.view,
        `(() => { const img = document.querySelector("img.image");
          return [img.complete, img.naturalWidth, img.src.slice(0, 22)]; })()`,
      );
      assert.deepEqual(size[0], true);
      assert((size[1] as number) > 100, `width ${size[1]}`);
      assert.deepEqual(size[2], "data:image/png;base64,");
    });

    await t.step(
      "the DataFrame shows as a table, without its plain text",
      async () => {
        const cells = await texts(host.view, "div.html table td");
        assert.deepEqual(cells, ["Oslo", "4", "Lima", "19"]);
        const plain = await texts(host.view, "pre.result");
        assert.deepEqual(plain, []);
      },
    );

    await t.step(
      "hostile HTML executes nothing (and does in a bare frame)",
      async () => {
        const control = host.page.frames().find((f) => f.name() === "control")!;
        await control.waitForSelector("body[data-pwned]");
        const state = await inFrame(
          host.view,
          `({
        pwned: document.body.dataset.pwned ?? null,
        bold: [...document.querySelectorAll("div.html b")].map((b) => b.textContent),
        scripts: document.querySelectorAll("div.html script").length,
        handlers: document.querySelectorAll("div.html [onerror]").length,
        links: [...document.querySelectorAll("div.html a")].map((a) => a.getAttribute("href")),
      })`,
        );
        assert.deepEqual(state, {
          pwned: null,
          bold: ["bold survives"],
          scripts: 0,
          handlers: 0,
          links: [null],
        });
        // Clicking the neutralised link does nothing either.
        await click(host.view, "div.html a");
        assert.deepEqual(
          await inFrame(host.view, "document.body.dataset.pwned ?? null"),
          null,
        );
      },
    );

    await t.step("a background job's output updates in the view", async () => {
      const release = join(server.cwd, "release-job");
      const code = [
        "import os, time",
        'print("step one", flush=True)',
        // Relative (the kernel runs in the server's cwd), so the
        // screenshots do not change from run to run.
        'while not os.path.exists("release-job"):',
        "    time.sleep(0.05)",
        'print("step two")',
      ].join("\n");
      const started = await server.call("python_exec", {
        code,
        background: true,
      });
      assert.deepEqual(started.json.status, "running");
      await host.toolResult(started.result);
      await host.view.waitForFunction(
        `[...document.querySelectorAll("section.job pre.stdout")]
          .some((node) => node.textContent === "step one\\n")`,
      );
      await Deno.writeTextFile(release, "");
      await settled(host.view, CELLS.length + 1, `[data-jobs="0"]`);
      const last = (await texts(host.view, "section.cell:not(.job) pre.stdout"))
        .at(-1);
      assert.deepEqual(last, "step one\nstep two\n");
      // The view read the job's output without taking it from the model.
      const polled = await server.call("python_job", {
        job_id: started.json.job_id,
        wait: 0,
      });
      assert.equal(polled.json.status, "completed");
      assert.equal(polled.json.stdout, "step one\nstep two\n");
    });

    await t.step(
      "the controls and cells are reachable by keyboard",
      async () => {
        await host.view.focus("#follow");
        await host.page.keyboard.press("Space");
        assert.equal(await inFrame(host.view, "follow.checked"), false);
        await host.page.keyboard.press("Space");
        assert.equal(await inFrame(host.view, "follow.checked"), true);
        await host.page.keyboard.press("Tab");
        assert.equal(
          await inFrame(host.view, "document.activeElement.id"),
          "refresh",
        );
        await host.page.keyboard.press("Tab");
        assert.equal(
          await inFrame(
            host.view,
            "document.activeElement.getAttribute('aria-label')",
          ),
          "Cell 1",
        );
        // A re-render (here a tool result; also the follow timer, or the
        // Space above re-checking follow) keeps the focused cell focused.
        await inFrame(
          host.view,
          `document.querySelectorAll("section.cell")
            .forEach((node) => node.dataset.stale = "1")`,
        );
        await host.toolResult(results[0]);
        await host.view.waitForFunction(
          `document.querySelectorAll("section.cell").length > 0 &&
            !document.querySelector("section.cell[data-stale]")`,
        );
        assert.equal(
          await inFrame(
            host.view,
            "document.activeElement.getAttribute('aria-label')",
          ),
          "Cell 1",
        );
      },
    );

    await t.step(
      "the view makes no network request; the bare frame does",
      () => {
        const fromView = host.requests.filter((r) =>
          r.frame === "view" && !r.url.startsWith("data:")
        );
        assert.deepEqual(fromView, []);
        assert(
          host.requests.some((r) =>
            r.frame === "control" && r.url.includes("leak.png")
          ),
          JSON.stringify(host.requests),
        );
      },
    );

    await t.step("screenshots, light and dark", async () => {
      await Deno.mkdir(join(ROOT, "docs/images"), { recursive: true });
      const shoot = async (shown: typeof host, theme: "light" | "dark") => {
        await shown.page.bringToFront();
        await shown.page.evaluate(
          'document.getElementById("control")?.remove()',
        );
        const background = await inFrame(
          shown.view,
          "getComputedStyle(document.body).backgroundColor",
        );
        assert.deepEqual(
          background,
          theme === "dark" ? "rgb(13, 17, 23)" : "rgb(255, 255, 255)",
        );
        const frame = await shown.page.$("#view");
        await frame!.screenshot({
          path: join(ROOT, `docs/images/notebook-view-${theme}.png`),
        });
        await shown.page.close();
      };
      await shoot(host, "light");
      const dark = await openHost(browser, server.client as never, {
        viewHtml,
        theme: "dark",
      });
      await dark.toolResult(results[4]);
      await settled(dark.view, CELLS.length + 1);
      await shoot(dark, "dark");
    });

    await t.step(
      "the view's data tool is read-only and checks its input",
      async () => {
        const bad = await server.call(VIEW_TOOL, { kernel_id: 7 });
        assert.deepEqual(bad.result.isError, true);
        assert.match(
          String(bad.json.error),
          /kernel_id must be a non-empty string/,
        );
      },
    );
  } finally {
    await browser.close();
  }
});
