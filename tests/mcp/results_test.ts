import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type {
  CallToolResult,
  ContentBlock,
  Resource,
} from "@modelcontextprotocol/sdk/types.js";
import {
  type Era,
  ERAS,
  EXPECTED_TOOL_NAMES,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import { PYTHON_DISPLAY_PNG } from "../_helpers/python_code.ts";

function itemTypes(result: CallToolResult): string[] {
  return result.content.map((item: ContentBlock) => item.type);
}

for (const era of ERAS) {
  Deno.test(`ipython_mcp results stay acceptable to MCP clients (${era})`, (t) =>
    resultsSuite(t, era));
}

async function resultsSuite(t: Deno.TestContext, era: Era): Promise<void> {
  await using server = await startMcpServer({ era });
  const { call } = server;
  // The SDK client validates structuredContent against the listed schemas.
  await server.listTools();

  await t.step(
    "structuredContent alone lists every image and saved file",
    async () => {
      // Codex shows the model only structuredContent.
      const { result } = await call("python_exec", {
        code: PYTHON_DISPLAY_PNG + "\n" +
          "from IPython.display import SVG\n" +
          'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>\'))\n' +
          "print('hello')",
      });
      const structured = result.structuredContent as {
        stdout: string;
        outputs: {
          type: string;
          mime_type: string;
          uri?: string;
          content_index?: number;
        }[];
      };
      assert.equal(structured.stdout, "hello\n");
      assert.deepEqual(structured.outputs.map((o) => [o.type, o.mime_type]), [
        ["image", "image/png"],
        ["file", "image/svg+xml"],
      ]);
      const index = structured.outputs[0]!.content_index!;
      const image = result.content[index] as { type: string; data: string };
      assert.equal(image.type, "image");
      // The inline image has a resource URI too: its saved copy, the same
      // bytes, readable through resources/read.
      const imageUri = structured.outputs[0]!.uri;
      assert.match(imageUri ?? "", /^file:\/\/.*\.png$/);
      const copy = (await server.readResource(imageUri!)).contents[0]!;
      assert.ok("blob" in copy, JSON.stringify(copy).slice(0, 200));
      assert.equal(copy.mimeType, "image/png");
      assert.equal(copy.blob, image.data);
      // Only the image item is sent for it, no second link.
      assert.equal(
        result.content.filter((item: ContentBlock) =>
          item.type === "resource_link"
        ).length,
        1,
      );
      const link = result.content.find((item: ContentBlock) =>
        item.type === "resource_link"
      ) as { uri: string };
      assert.equal(structured.outputs[1]!.uri, link.uri);
      // The text item says the same.
      const first = result.content[0] as { text: string };
      assert.deepEqual(JSON.parse(first.text), structured);
    },
  );

  await t.step(
    "anthropic/maxResultSizeChars raises and lowers the inline size",
    async () => {
      const code = "print('x' * 150_000)";
      const cut = await call("python_exec", { code });
      assert.match(cut.json.stdout as string, /truncated at 100KB/);
      const raised = await call("python_exec", { code }, undefined, {
        "anthropic/maxResultSizeChars": 200_000,
      });
      assert.equal(raised.json.stdout, "x".repeat(150_000) + "\n");
      const lowered = await call(
        "python_exec",
        { code: "print('y' * 5_000)" },
        undefined,
        { "anthropic/maxResultSizeChars": "1000" },
      );
      const text = lowered.json.stdout as string;
      assert.ok(text.length < 1_200, `${text.length} characters inline`);
      const path = /full text: (\S+)\]/.exec(text)?.[1];
      assert.ok(path, text);
      assert.equal(await Deno.readTextFile(path), "y".repeat(5_000) + "\n");
      assert.ok(
        lowered.result.content.some((item: ContentBlock) =>
          item.type === "resource_link"
        ),
      );
    },
  );

  await t.step('a numeric string is accepted ("timeout": "60")', async () => {
    const { json } = await call("python_exec", {
      code: "6 * 7",
      timeout: "60",
    });
    assert.equal(json.result, "42", JSON.stringify(json));
    const bad = await call("python_exec", { code: "1", timeout: "soon" });
    assert.equal(bad.result.isError, true);
    assert.match(bad.json.error as string, /timeout/);
  });

  await t.step(
    "tools are listed in a fixed order with strict-clean output schemas",
    async () => {
      const first = (await server.listTools()).tools;
      const second = (await server.listTools()).tools;
      assert.deepEqual(first.map((tool: { name: string }) => tool.name), [
        ...EXPECTED_TOOL_NAMES,
      ]);
      assert.deepEqual(second, first);
      const text = JSON.stringify(
        first.map((tool: { outputSchema?: unknown }) => tool.outputSchema),
      );
      assert.doesNotMatch(text, /"additionalProperties":\{\}/);
      // A `type` array is legal but not portable (Inspector --strict).
      assert.doesNotMatch(text, /"type":\[/);
    },
  );

  await t.step("an SVG is saved and linked, never an image item", async () => {
    const { result, json } = await call("python_exec", {
      code: "from IPython.display import SVG, display\n" +
        'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>\'))',
    });
    assert.equal(json.success, true, JSON.stringify(json));
    assert.deepEqual(itemTypes(result), ["text", "resource_link"]);
    const saved = json.images_saved as string[];
    assert.equal(saved.length, 1);
    assert.match(saved[0]!, /\.svg$/);
    assert.match(await Deno.readTextFile(saved[0]!), /^<svg /);
  });

  await t.step("GIF and WebP displays are image items", async () => {
    // A 1x1 GIF; the WebP bytes only need the right MIME bundle key.
    const { result, json } = await call("python_exec", {
      code: "import base64\nfrom IPython.display import display\n" +
        "gif = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7'\n" +
        "display({'image/gif': gif, 'text/plain': 'gif'}, raw=True)\n" +
        "display({'image/webp': base64.b64encode(b'RIFF\\x1a\\x00\\x00\\x00WEBPVP8L').decode(), 'text/plain': 'webp'}, raw=True)",
    });
    assert.equal(json.success, true, JSON.stringify(json));
    const images = result.content.filter((item: ContentBlock) =>
      item.type === "image"
    ) as { mimeType: string }[];
    assert.deepEqual(images.map((image) => image.mimeType), [
      "image/gif",
      "image/webp",
    ]);
  });

  await t.step(
    "eight images of 900 KB stay under 1 MiB in all; the rest are saved",
    async () => {
      const { result, json } = await call("python_exec", {
        code: "import os\nfrom IPython.display import Image, display\n" +
          "for _ in range(8):\n" +
          "    display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + os.urandom(900_000), format='png'))\n" +
          "print('done')",
      });
      assert.equal(json.stdout, "done\n");
      assert.ok(
        JSON.stringify(result).length <= 1_048_576,
        `result is ${JSON.stringify(result).length} characters`,
      );
      const inline = result.content.filter((item: ContentBlock) =>
        item.type === "image"
      );
      assert.equal(inline.length, 0); // 1.2 MB of base64 each: none fits
      assert.equal((json.images_saved as string[]).length, 8);
      assert.equal(
        result.content.filter((item: ContentBlock) =>
          item.type === "resource_link"
        ).length,
        8,
      );
    },
  );

  await t.step(
    "three images of 250 KB are inlined while the answer fits",
    async () => {
      const { result, json } = await call("python_exec", {
        code: "import os\nfrom IPython.display import Image, display\n" +
          "for _ in range(4):\n" +
          "    display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + os.urandom(250_000), format='png'))",
      });
      assert.ok(JSON.stringify(result).length <= 1_048_576);
      const inline = result.content.filter((item: ContentBlock) =>
        item.type === "image"
      );
      assert.equal(inline.length, 3);
      assert.equal((json.images_saved as string[]).length, 1);
    },
  );

  await t.step(
    "image data that is not base64 is dropped with a note; stdout is kept",
    async () => {
      const { result, json } = await call("python_exec", {
        code: "from IPython.display import publish_display_data\n" +
          "print('before')\n" +
          "publish_display_data({'image/png': '@@not base64@@', 'text/plain': 'x'})",
      });
      assert.equal(json.stdout, "before\n");
      assert.deepEqual(itemTypes(result), ["text"]);
      assert.match(
        (json.images_dropped as string[])[0]!,
        /image 1 \(image\/png\).*not valid base64/,
      );
    },
  );

  await t.step(
    "every tool's structuredContent equals its JSON text item",
    async () => {
      const calls: [string, Record<string, unknown>][] = [
        ["python_exec", { code: "x = 41\nx + 1" }],
        ["python_exec", { code: PYTHON_DISPLAY_PNG }],
        ["python_exec", { code: "1/0" }],
        ["python_exec", { code: "x", kernel_id: "missing" }],
        ["python_exec", { code: "print(x)", background: true }],
        ["python_job", { job_id: "job-00000000" }],
        ["python_job", { job_id: "job-00000000", wait: -1 }],
        ["python_status", {}],
        ["python_status", { kernel_id: "missing" }],
        ["python_interrupt", { kernel_id: "missing" }],
        ["python_reset", { kernel_id: "missing" }],
        ["python_export", {}],
        ["python_export", { path: "../out.ipynb" }],
        ["submit_code", { code: "x = 1" }],
        ["submit_code", { code: "def f(:" }],
        ["python_exec", { code: 5 }],
      ];
      for (const [name, args] of calls) {
        const { result, json } = await call(name, args);
        assert.deepEqual(
          result.structuredContent,
          json,
          `${name} ${JSON.stringify(args)}`,
        );
        if (name === "python_exec" && args.background) {
          const { result: polled, json: pollJson } = await call("python_job", {
            job_id: json.job_id,
            wait: 30,
          });
          assert.equal(pollJson.status, "completed");
          assert.equal(pollJson.stdout, "41\n");
          assert.deepEqual(polled.structuredContent, pollJson);
        }
      }
      const reset = await call("python_reset", {});
      assert.deepEqual(reset.result.structuredContent, reset.json);
      const interrupt = await call("python_interrupt", {
        kernel_id: reset.json.kernel_id,
      });
      assert.deepEqual(interrupt.result.structuredContent, interrupt.json);
    },
  );

  await t.step(
    "a 200 KB output is linked and read back through resources/read",
    async () => {
      const { result, json } = await call("python_exec", {
        code: "print('b' * 200_000)",
      });
      const link = result.content.find((item: ContentBlock) =>
        item.type === "resource_link"
      );
      assert.ok(link && link.type === "resource_link");
      const path = (json.stdout as string).match(/full text: (.+)\]$/)![1]!;
      assert.equal(link.uri, pathToFileURL(path).href);
      const read = await server.readResource(link.uri);
      const contents = read.contents[0]!;
      assert.ok("text" in contents);
      assert.equal(contents.text, "b".repeat(200_000) + "\n");
      const listed = await server.listResources();
      assert.ok(listed.resources.some((r: Resource) => r.uri === link.uri));
    },
  );

  await t.step(
    "nothing outside the working directory is served",
    async () => {
      const outside = await Deno.makeTempDir({ prefix: "mcp_outside_" });
      try {
        const secret = join(outside, "secret.txt");
        await Deno.writeTextFile(secret, "top secret");
        const link = join(server.cwd, ".ipython_mcp", "evil.txt");
        await Deno.symlink(secret, link);
        // The probe works without the protection: the link leads outside.
        assert.equal(await Deno.readTextFile(link), "top secret");
        for (
          const uri of [pathToFileURL(link).href, pathToFileURL(secret).href]
        ) {
          await assert.rejects(
            server.readResource(uri),
            /symlink|outside the working directory/,
          );
        }
        await assert.rejects(
          server.readResource("http://example.com/x"),
          /not a file:\/\/ URL/,
        );
        const listed = await server.listResources();
        assert.ok(
          !listed.resources.some((r: Resource) => r.name === "evil.txt"),
        );
        // The server keeps serving.
        assert.equal(
          (await call("python_exec", { code: "2+2" })).json.result,
          "4",
        );
      } finally {
        await Deno.remove(outside, { recursive: true });
      }
    },
  );
}
