import assert from "node:assert/strict";
import {
  shapeExecResult,
  TEXT_LIMIT_BYTES,
  truncateText,
  truncationMarker,
} from "../../src/mcp/exec_result.ts";
import { normalizeImage } from "../../src/mcp/images.ts";
import {
  describeKernelExit,
  execNotFoundMessage,
  formatSeconds,
  kernelDiedMessage,
  resetNotFoundMessage,
  sessionStartedMessage,
  syntaxErrorMessage,
  timeoutMessage,
} from "../../src/mcp/messages.ts";
import {
  packageNameOf,
  statusPackages,
} from "../../src/mcp/status_packages.ts";
import { errorAnswer, jsonAnswer } from "../../src/mcp/tool_answer.ts";
import type { ExecuteResult } from "../../src/kernel/mod.ts";

function result(overrides: Partial<ExecuteResult> = {}): ExecuteResult {
  return {
    status: "ok",
    stdout: "",
    stderr: "",
    result: null,
    images: [],
    error: null,
    executionCount: 1,
    droppedBytes: { stdout: 0, stderr: 0 },
    ...overrides,
  };
}

function paths(): (kind: string, ext: string) => string {
  let n = 0;
  return (kind, ext) => `/w/.ipython_mcp/${kind}-${++n}.${ext}`;
}

function textOf(answer: ReturnType<typeof jsonAnswer>): unknown {
  const first = answer.content[0];
  assert.ok(first && first.type === "text");
  return JSON.parse(first.text);
}

// 1x1 PNG, base64.
const PNG_1PX =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

Deno.test("format messages", async (t) => {
  await t.step("SPEC texts are verbatim", () => {
    assert.equal(
      execNotFoundMessage("abcd1234"),
      "Kernel abcd1234 not found. Create it first with python_reset()",
    );
    assert.equal(
      resetNotFoundMessage("abcd1234"),
      "Kernel abcd1234 not found. Omit kernel_id to create a new kernel.",
    );
    assert.equal(
      timeoutMessage(2, true),
      "Execution timed out after 2s. Code interrupted but session state preserved.",
    );
    assert.equal(
      syntaxErrorMessage(3, "invalid syntax"),
      "Syntax error at line 3: invalid syntax",
    );
    assert.equal(
      truncationMarker("stdout", TEXT_LIMIT_BYTES, "/w/.ipython_mcp/x.txt"),
      "[stdout truncated at 100KB; full text: /w/.ipython_mcp/x.txt]",
    );
  });

  await t.step(
    "timeoutMessage() tells to call python_reset when the kernel died",
    () => {
      const message = timeoutMessage(2.5, false);
      assert.match(message, /^Execution timed out after 2\.5s/);
      assert.match(message, /python_reset\(\)/);
      assert.doesNotMatch(message, /state preserved/);
    },
  );

  await t.step(
    "kernelDiedMessage() names exit code or signal, the lost state and python_reset",
    () => {
      const byCode = kernelDiedMessage("_default", { code: 1, signal: null });
      assert.equal(
        byCode,
        "Kernel _default died (exit code 1); its state is lost; call python_reset",
      );
      assert.match(
        kernelDiedMessage("k", { code: null, signal: "SIGKILL" }),
        /signal SIGKILL/,
      );
      assert.equal(
        describeKernelExit({ code: null, signal: null }),
        "unknown exit status",
      );
    },
  );

  await t.step("sessionStartedMessage() lists versions", () => {
    const cases: [string[], Record<string, string | null>, string][] = [
      [[], {}, "Session started (no packages)"],
      [["numpy"], { numpy: "2.1.0" }, "Session started. Packages: numpy 2.1.0"],
      [
        ["numpy", "nope"],
        { numpy: "2.1.0", nope: null },
        "Session started. Packages: numpy 2.1.0, nope (not found)",
      ],
    ];
    for (const [names, versions, expected] of cases) {
      assert.equal(sessionStartedMessage(names, versions), expected);
    }
  });

  await t.step("packageNameOf() strips extras and constraints", () => {
    const cases: [string, string][] = [
      ["numpy", "numpy"],
      ["pandas>=2", "pandas"],
      ["scikit-learn[alldeps]==1.5", "scikit-learn"],
      ["zope.interface~=6.0", "zope.interface"],
    ];
    for (const [spec, name] of cases) assert.equal(packageNameOf(spec), name);
  });

  await t.step("formatSeconds() drops trailing zeros", () => {
    assert.equal(formatSeconds(30), "30");
    assert.equal(formatSeconds(0.25), "0.25");
  });
});

Deno.test("format answers", async (t) => {
  await t.step(
    "jsonAnswer() holds one JSON text item, isError only on failure",
    () => {
      const ok = jsonAnswer({ ok: true });
      assert.deepEqual(ok, {
        content: [{ type: "text", text: '{"ok":true}' }],
        structuredContent: { ok: true },
      });
      const failed = errorAnswer("boom", { kernel_id: "k" });
      assert.equal(failed.isError, true);
      assert.deepEqual(textOf(failed), {
        success: false,
        kernel_id: "k",
        error: "boom",
      });
    },
  );

  await t.step(
    "statusPackages() hides plumbing, puts requested first, caps at 20",
    () => {
      const installed = [
        { name: "pip", version: "24.0" },
        { name: "setuptools", version: "70" },
        { name: "wheel", version: "0.43" },
        { name: "ipykernel", version: "6.17" },
        { name: "jupyter_client", version: "7.4" },
        ...Array.from({ length: 30 }, (_, i) => ({
          name: `pkg${String(i).padStart(2, "0")}`,
          version: "1.0",
        })),
        { name: "zlib-tools", version: "3" },
      ];
      const listed = statusPackages(installed, ["zlib_tools"]);
      assert.equal(listed.length, 20);
      assert.equal(listed[0], "zlib-tools 3");
      assert.equal(listed[1], "pkg00 1.0");
      for (
        const hidden of ["pip", "setuptools", "wheel", "ipykernel", "jupyter"]
      ) {
        assert.ok(!listed.some((p) => p.startsWith(hidden)), hidden);
      }
    },
  );
});

Deno.test("truncateText()", async (t) => {
  await t.step("keeps text at or under the limit", () => {
    assert.deepEqual(truncateText("abc", 3), { head: "abc", truncated: false });
  });
  await t.step("cuts ASCII at the byte limit", () => {
    assert.deepEqual(truncateText("abcdef", 4), {
      head: "abcd",
      truncated: true,
    });
  });
  await t.step("never splits a multi-byte character", () => {
    // "é" is 2 bytes: a 4-byte limit fits "a" + "é" only.
    assert.deepEqual(truncateText("aéé", 4), { head: "aé", truncated: true });
    assert.deepEqual(truncateText("€€", 4), { head: "€", truncated: true });
  });
});

Deno.test("shapeExecResult()", async (t) => {
  await t.step("leaves out empty fields", () => {
    const shaped = shapeExecResult(result({ stdout: "hi\n" }), {
      kernelId: "_default",
      pathFor: paths(),
    });
    assert.deepEqual(shaped.payload, {
      success: true,
      kernel_id: "_default",
      stdout: "hi\n",
    });
    assert.equal(shaped.success, true);
    assert.deepEqual(shaped.files, []);
  });

  await t.step("null result (nothing ran) is a success", () => {
    const shaped = shapeExecResult(null, { kernelId: "k", pathFor: paths() });
    assert.deepEqual(shaped.payload, { success: true, kernel_id: "k" });
  });

  await t.step("reports every field", () => {
    const shaped = shapeExecResult(
      result({ stdout: "o", stderr: "e", result: "42" }),
      { kernelId: "k", pathFor: paths() },
    );
    assert.deepEqual(shaped.payload, {
      success: true,
      kernel_id: "k",
      stdout: "o",
      result: "42",
      stderr: "e",
    });
  });

  await t.step("a Python exception becomes error text and a failure", () => {
    const shaped = shapeExecResult(
      result({
        status: "error",
        error: {
          ename: "ZeroDivisionError",
          evalue: "division by zero",
          traceback: "Traceback...\nZeroDivisionError: division by zero",
        },
      }),
      { kernelId: "k", pathFor: paths() },
    );
    assert.equal(shaped.success, false);
    assert.equal(shaped.payload.success, false);
    assert.equal(
      shaped.payload.error,
      "ZeroDivisionError: division by zero\nTraceback...\nZeroDivisionError: division by zero",
    );
  });

  await t.step("our failure message wins over the Python error", () => {
    const shaped = shapeExecResult(
      result({
        stdout: "partial",
        error: { ename: "KeyboardInterrupt", evalue: "", traceback: "" },
      }),
      { kernelId: "k", pathFor: paths(), failure: timeoutMessage(2, true) },
    );
    assert.equal(shaped.payload.error, timeoutMessage(2, true));
    assert.equal(shaped.payload.stdout, "partial");
    assert.equal(shaped.success, false);
  });

  await t.step(
    "cuts a field over the limit, marks it and saves the full text",
    () => {
      const big = "x".repeat(150) + "\n";
      const shaped = shapeExecResult(result({ stdout: big, stderr: "small" }), {
        kernelId: "k",
        pathFor: paths(),
        limitBytes: 100,
      });
      assert.equal(
        shaped.payload.stdout,
        "x".repeat(100) +
          "\n[stdout truncated at 0.098KB; full text: /w/.ipython_mcp/stdout-1.txt]",
      );
      assert.equal(shaped.payload.stderr, "small");
      assert.deepEqual(shaped.files, [{
        path: "/w/.ipython_mcp/stdout-1.txt",
        data: big,
      }]);
    },
  );

  await t.step("reports dropped bytes", () => {
    const shaped = shapeExecResult(
      result({ droppedBytes: { stdout: 10, stderr: 0 } }),
      { kernelId: "k", pathFor: paths() },
    );
    assert.deepEqual(shaped.payload.dropped_bytes, { stdout: 10, stderr: 0 });
  });

  await t.step("inlines small images, saves large and surplus ones", () => {
    const images = Array.from({ length: 3 }, () => ({
      mimeType: "image/png" as const,
      data: PNG_1PX + "\n",
    }));
    images.push({ mimeType: "image/png", data: "A".repeat(4000) });
    const shaped = shapeExecResult(result({ images }), {
      kernelId: "k",
      pathFor: paths(),
      maxImages: 2,
      imageLimitBytes: 1000,
    });
    assert.deepEqual(shaped.images.map((item) => item.type), [
      "image",
      "image",
      "resource_link",
      "resource_link",
    ]);
    assert.deepEqual(shaped.images[0], {
      type: "image",
      data: PNG_1PX,
      mimeType: "image/png",
    });
    assert.deepEqual(shaped.payload.images_saved, [
      "/w/.ipython_mcp/image-1.png",
      "/w/.ipython_mcp/image-2.png",
    ]);
    const saved = shaped.files[0]?.data;
    assert.ok(saved instanceof Uint8Array);
    assert.deepEqual([...saved.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  });

  await t.step(
    "normalizeImage() base64-encodes SVG text and measures bytes",
    () => {
      const svg = normalizeImage({ mimeType: "image/svg+xml", data: "<svg/>" });
      assert.equal(svg.byteLength, 6);
      assert.equal(atob(svg.base64), "<svg/>");
      assert.equal(svg.ext, "svg");
      const png = normalizeImage({ mimeType: "image/png", data: PNG_1PX });
      assert.equal(png.byteLength, atob(PNG_1PX).length);
    },
  );
});

Deno.test("shapeExecResult() keeps every answer fit for MCP clients", async (t) => {
  await t.step("saves SVG and never makes it an image item", () => {
    const shaped = shapeExecResult(
      result({ images: [{ mimeType: "image/svg+xml", data: "<svg/>" }] }),
      { kernelId: "k", pathFor: paths() },
    );
    assert.deepEqual(shaped.images.map((item) => item.type), [
      "resource_link",
    ]);
    assert.deepEqual(shaped.payload.images_saved, [
      "/w/.ipython_mcp/image-1.svg",
    ]);
    assert.deepEqual(shaped.files, [{
      path: "/w/.ipython_mcp/image-1.svg",
      data: "<svg/>",
    }]);
  });

  await t.step("keeps the serialized answer under the result limit", () => {
    const big = btoa("x".repeat(300_000)); // 400 000 base64 characters
    const images = Array.from({ length: 4 }, () => ({
      mimeType: "image/png" as const,
      data: big,
    }));
    const shaped = shapeExecResult(
      result({ stdout: "s".repeat(50_000), images }),
      {
        kernelId: "k",
        pathFor: paths(),
      },
    );
    const answer = jsonAnswer(shaped.payload, false, shaped.images);
    assert.ok(JSON.stringify(answer).length <= 1_048_576);
    const inline = shaped.images.filter((item) => item.type === "image");
    assert.equal(inline.length, 2);
    assert.equal((shaped.payload.images_saved as string[]).length, 2);
  });

  await t.step("cuts text harder when JSON escaping inflates it", () => {
    const nul = "\u0001".repeat(100 * 1024);
    const shaped = shapeExecResult(
      result({ stdout: nul, stderr: nul, result: nul }),
      { kernelId: "k", pathFor: paths() },
    );
    const answer = jsonAnswer(shaped.payload, false, shaped.images);
    assert.ok(JSON.stringify(answer).length <= 1_048_576);
    assert.equal(shaped.files.length, 3);
  });

  await t.step("drops image data that is not valid base64, with a note", () => {
    const shaped = shapeExecResult(
      result({
        stdout: "kept",
        images: [
          { mimeType: "image/png", data: "not base64!" },
          { mimeType: "image/png", data: PNG_1PX },
        ],
      }),
      { kernelId: "k", pathFor: paths() },
    );
    assert.equal(shaped.payload.stdout, "kept");
    assert.deepEqual(shaped.images.map((item) => item.type), ["image"]);
    assert.match(
      (shaped.payload.images_dropped as string[])[0]!,
      /^image 1 \(image\/png\): .*not valid base64/,
    );
  });
});
