import assert from "node:assert/strict";
import { join } from "node:path";
import type { Progress, Tool } from "@modelcontextprotocol/sdk/types.js";
import {
  type Era,
  ERAS,
  EXPECTED_TOOL_NAMES,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import { PYTHON_DISPLAY_PNG } from "../_helpers/python_code.ts";
import { kernelDescendants } from "../_helpers/processes.ts";

const KERNEL_ID = /^[0-9a-f]{8}$/;

for (const era of ERAS) {
  Deno.test(`ipython_mcp tools over stdio (${era})`, (t) => toolsSuite(t, era));
}

async function toolsSuite(t: Deno.TestContext, era: Era): Promise<void> {
  await using server = await startMcpServer({ era });
  const { call } = server;

  await t.step(
    "tools/list has the seven tools with their schemas",
    async () => {
      const { tools } = await server.listTools();
      assert.deepEqual(tools.map((tool: Tool) => tool.name), [
        ...EXPECTED_TOOL_NAMES,
      ]);
      const byName: Record<string, Tool> = Object.fromEntries(
        tools.map((tool: Tool) => [tool.name, tool]),
      );
      const exec = byName.python_exec!;
      assert.deepEqual(exec.inputSchema.required, ["code"]);
      const execProps = exec.inputSchema.properties as Record<
        string,
        Record<string, unknown>
      >;
      assert.equal(execProps.code?.type, "string");
      assert.equal(execProps.timeout?.type, "number");
      assert.match(String(execProps.timeout?.description), /default 30/);
      assert.equal(execProps.background?.type, "boolean");
      for (const tool of tools) {
        assert.equal(tool.outputSchema?.type, "object", tool.name);
      }
      assert.equal(execProps.kernel_id?.type, "string");
      const resetProps = byName.python_reset!.inputSchema.properties as Record<
        string,
        Record<string, unknown>
      >;
      assert.equal(resetProps.packages?.type, "array");
      assert.deepEqual(resetProps.packages?.default, []);
      assert.equal(byName.python_reset!.inputSchema.required, undefined);
      assert.deepEqual(byName.submit_code!.inputSchema.required, ["code"]);
      for (const tool of tools) {
        assert.ok(
          (tool.description ?? "").length > 150,
          `${tool.name} needs a description written for a model`,
        );
      }
      assert.match(exec.description!, /python_reset\(\)/);
      assert.match(exec.description!, /timeout/i);
    },
  );

  await t.step(
    "python_status starts no kernel and reports inactive",
    async () => {
      const { json } = await call("python_status");
      assert.deepEqual(json, {
        success: true,
        kernel_id: "_default",
        active: false,
        all_kernels: [],
        python_version: null,
        packages: [],
        variables: [],
        cwd: server.cwd,
        backend: "local",
        location: null,
        jobs: [],
      });
      assert.deepEqual(kernelDescendants(server.pid), []);
    },
  );

  await t.step("submit_code checks syntax without a kernel", async () => {
    assert.deepEqual((await call("submit_code", { code: "x = 1\n" })).json, {
      ok: true,
    });
    const bad = await call("submit_code", { code: "x = 1\ndef f(:\n  pass\n" });
    assert.equal(bad.result.isError, true);
    assert.deepEqual(bad.json, {
      ok: false,
      error: "Syntax error at line 2: invalid syntax",
    });
    assert.deepEqual((await call("submit_code", { code: "  \n" })).json, {
      ok: false,
      error: "Empty submission",
    });
    assert.deepEqual((await call("python_status")).json.all_kernels, []);
  });

  await t.step(
    "python_exec with empty code succeeds and runs nothing",
    async () => {
      const { result, json } = await call("python_exec", { code: "   \n" });
      assert.equal(result.isError, undefined);
      assert.deepEqual(json, { success: true, kernel_id: "_default" });
      assert.deepEqual((await call("python_status")).json.all_kernels, []);
    },
  );

  await t.step(
    "python_exec auto-starts _default and returns each field",
    async () => {
      const { result, json } = await call("python_exec", {
        code:
          "import sys\nx = 41\nprint('out')\nprint('err', file=sys.stderr)\nx + 1",
      });
      assert.equal(result.isError, undefined);
      assert.deepEqual(json, {
        success: true,
        kernel_id: "_default",
        stdout: "out\n",
        result: "42",
        stderr: "err\n",
      });
      assert.equal(result.content.length, 1);
    },
  );

  await t.step("python_exec keeps state across calls", async () => {
    const { json } = await call("python_exec", { code: "x * 2" });
    assert.equal(json.result, "82");
  });

  await t.step(
    "python_exec reports a Python exception as error text",
    async () => {
      const { result, json } = await call("python_exec", {
        code: "print('before')\n1/0",
      });
      assert.equal(result.isError, true);
      assert.equal(json.success, false);
      assert.equal(json.stdout, "before\n");
      assert.match(
        json.error as string,
        /^ZeroDivisionError: division by zero\n[\s\S]*1\/0/,
      );
      assert.ok(!(json.error as string).includes("\x1b["), "ANSI escapes left");
    },
  );

  await t.step("submit_code never touches a kernel's variables", async () => {
    await call("python_exec", { code: "z = 1" });
    const before = (await call("python_status")).json.variables;
    const checked = await call("submit_code", {
      code: "z = 2\nnew_name = 3\nimport os\nos._exit(1)\n",
    });
    assert.deepEqual(checked.json, { ok: true });
    assert.equal((await call("python_exec", { code: "z" })).json.result, "1");
    assert.deepEqual((await call("python_status")).json.variables, before);
  });

  await t.step(
    "python_exec times out, interrupts and keeps state",
    async () => {
      await call("python_exec", { code: "t_state = 1" });
      const { result, json } = await call("python_exec", {
        code: "print('spinning', flush=True)\nwhile True: pass",
        timeout: 2,
      });
      assert.equal(result.isError, true);
      assert.equal(
        json.error,
        "Execution timed out after 2s. Code interrupted but session state preserved.",
      );
      assert.equal(json.stdout, "spinning\n");
      assert.equal(
        (await call("python_exec", { code: "t_state" })).json.result,
        "1",
      );
    },
  );

  await t.step(
    "python_interrupt stops a running python_exec on the same kernel",
    async () => {
      const started = Promise.withResolvers<void>();
      const running = call("python_exec", {
        code: "import time\nkept = 'yes'\nprint('started', flush=True)\n" +
          "for _ in range(600): time.sleep(0.1)",
        timeout: 120,
      }, {
        onprogress: (progress: Progress) => {
          if (progress.message?.includes("started")) started.resolve();
        },
      });
      await started.promise;
      const busy = await call("python_status");
      assert.equal(busy.json.active, true);
      assert.equal(busy.json.busy, true);
      const interrupt = await call("python_interrupt");
      assert.deepEqual(interrupt.json, {
        success: true,
        kernel_id: "_default",
        message: "Interrupt sent. Session state preserved.",
      });
      const { json } = await running;
      assert.equal(json.success, false);
      assert.match(json.error as string, /^KeyboardInterrupt/);
      assert.equal(
        (await call("python_exec", { code: "kept" })).json.result,
        "'yes'",
      );
    },
  );

  await t.step(
    "a cancelled python_exec request interrupts its code",
    async () => {
      const started = Promise.withResolvers<void>();
      const controller = new AbortController();
      const running = call("python_exec", {
        code: "import time\nprint('started', flush=True)\n" +
          "for _ in range(600): time.sleep(0.1)\ncancelled_ran_on = True",
        timeout: 120,
      }, {
        signal: controller.signal,
        onprogress: (progress: Progress) => {
          if (progress.message?.includes("started")) started.resolve();
        },
      });
      await started.promise;
      controller.abort();
      await assert.rejects(running);
      // Were the code still running, this call would wait behind it and time out.
      const next = await call("python_exec", {
        code: "'cancelled_ran_on' in dir(), kept",
        timeout: 20,
      });
      assert.equal(next.json.result, "(False, 'yes')");
    },
  );

  await t.step("python_interrupt without a session says so", async () => {
    const { result, json } = await call("python_interrupt", {
      kernel_id: "0badc0de",
    });
    assert.equal(result.isError, true);
    assert.equal(json.error, "No active session to interrupt");
  });

  await t.step(
    "python_exec streams stdout as progress notifications",
    async () => {
      const messages: string[] = [];
      const { json } = await call("python_exec", {
        code: "import time\nfor i in range(3):\n" +
          "    print(f'tick {i}', flush=True)\n    time.sleep(0.3)",
      }, {
        onprogress: (p: Progress) => p.message && messages.push(p.message),
      });
      assert.equal(json.stdout, "tick 0\ntick 1\ntick 2\n");
      assert.ok(messages.length >= 2, `progress: ${JSON.stringify(messages)}`);
      assert.equal(messages.join(""), "tick 0\ntick 1\ntick 2\n");
    },
  );

  await t.step(
    "python_exec returns a PNG display as image content",
    async () => {
      const { result, json } = await call("python_exec", {
        code: PYTHON_DISPLAY_PNG,
      });
      assert.equal(json.success, true);
      assert.equal(result.content.length, 2);
      const image = result.content[1];
      assert.ok(image?.type === "image");
      assert.equal(image.mimeType, "image/png");
      assert.ok(image.data.startsWith("iVBORw0KGgo"), image.data.slice(0, 20));
      assert.equal(json.images_saved, undefined);
    },
  );

  await t.step(
    "python_exec saves an image over 1 MB instead of inlining it",
    async () => {
      const { result, json } = await call("python_exec", {
        code: "import os\nfrom IPython.display import Image, display\n" +
          "display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + os.urandom(1_100_000), format='png'))",
      });
      assert.equal(json.success, true);
      assert.deepEqual(
        result.content.map((item: { type: string }) => item.type),
        [
          "text",
          "resource_link",
        ],
      );
      const saved = json.images_saved as string[];
      assert.equal(saved.length, 1);
      assert.ok(saved[0]!.startsWith(join(server.cwd, ".ipython_mcp") + "/"));
      assert.equal((await Deno.stat(saved[0]!)).size, 1_100_008);
    },
  );

  await t.step(
    "python_exec cuts output over 100 KB and saves the full text",
    async () => {
      const { json } = await call("python_exec", {
        code: "print('a' * 150_000)\nprint('tail')",
      });
      const stdout = json.stdout as string;
      const marker = stdout.match(
        /\n\[stdout truncated at 100KB; full text: (.+)\]$/,
      );
      assert.ok(marker, stdout.slice(-200));
      assert.equal(stdout.length, 100 * 1024 + marker[0].length);
      const path = marker[1]!;
      assert.ok(path.startsWith(join(server.cwd, ".ipython_mcp") + "/"), path);
      assert.equal(
        await Deno.readTextFile(path),
        "a".repeat(150_000) + "\ntail\n",
      );
    },
  );

  await t.step(
    "bad argument types are answered with errors and serving goes on",
    async () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ["python_exec", { code: 42 }, /code: .*expected string/],
        ["python_exec", {}, /code: .*expected string/],
        [
          "python_exec",
          { code: "1", timeout: "abc" },
          /timeout: .*expected number/,
        ],
        ["python_exec", { code: "1", timeout: -5 }, /timeout: /],
        ["python_exec", { code: "1", kernel_id: 7 }, /kernel_id: /],
        ["python_reset", { packages: "numpy" }, /packages: .*expected array/],
        ["python_status", { kernel_id: ["x"] }, /kernel_id: /],
      ];
      for (const [name, args, pattern] of cases) {
        const { result, json } = await call(name, args);
        assert.equal(result.isError, true, `${name} ${JSON.stringify(args)}`);
        assert.equal(json.success, false);
        assert.match(json.error as string, /^Invalid arguments for /);
        assert.match(json.error as string, pattern);
      }
      const bad = await call("submit_code", { code: null });
      assert.equal(bad.json.ok, false);
      assert.match(
        bad.json.error as string,
        /^Invalid arguments for submit_code/,
      );
      const unknown = await call("no_such_tool", {});
      assert.equal(unknown.result.isError, true);
      assert.match(unknown.json.error as string, /Unknown tool "no_such_tool"/);
      assert.equal(
        (await call("python_exec", { code: "1 + 1" })).json.result,
        "2",
      );
    },
  );

  await t.step("python_exec accepts a timeout over the cap", async () => {
    const { json } = await call("python_exec", { code: "3", timeout: 1000 });
    assert.equal(json.result, "3");
  });

  let first = "";
  let second = "";
  await t.step("python_reset without id creates isolated kernels", async () => {
    const a = await call("python_reset");
    const b = await call("python_reset", { packages: [] });
    assert.deepEqual(a.json, {
      success: true,
      kernel_id: a.json.kernel_id,
      message: "Session started (no packages)",
    });
    first = a.json.kernel_id as string;
    second = b.json.kernel_id as string;
    assert.match(first, KERNEL_ID);
    assert.match(second, KERNEL_ID);
    assert.notEqual(first, second);
    await call("python_exec", { code: "v = 'one'", kernel_id: first });
    const other = await call("python_exec", { code: "v", kernel_id: second });
    assert.match(other.json.error as string, /^NameError/);
    assert.equal(other.json.kernel_id, second);
    const own = await call("python_exec", { code: "v", kernel_id: first });
    assert.equal(own.json.result, "'one'");
    const fallback = await call("python_exec", { code: "'v' in dir()" });
    assert.equal(fallback.json.result, "False");
  });

  await t.step("python_status reports a kernel's state", async () => {
    const { json } = await call("python_status", { kernel_id: first });
    assert.equal(json.kernel_id, first);
    assert.equal(json.active, true);
    assert.deepEqual(
      [...json.all_kernels as string[]].sort(),
      ["_default", first, second].sort(),
    );
    assert.match(json.python_version as string, /^3\.\d+\.\d+/);
    const packages = json.packages as string[];
    assert.ok(packages.length <= 20);
    for (const p of packages) {
      assert.match(p, /^\S+ \S+$/);
      assert.doesNotMatch(
        p,
        /^(pip|setuptools|wheel|ipykernel|jupyter[-_]client) /i,
      );
    }
    assert.deepEqual(json.variables, ["v"]);
    assert.equal(json.cwd, server.cwd);
    const cwdInKernel = await call("python_exec", {
      code: "import os; os.getcwd()",
      kernel_id: first,
    });
    assert.equal(cwdInKernel.json.result, `'${server.cwd}'`);
  });

  await t.step(
    "python_reset of a live id clears its state, same id",
    async () => {
      await call("python_exec", { code: "y = 5", kernel_id: first });
      const reset = await call("python_reset", { kernel_id: first });
      assert.deepEqual(reset.json, {
        success: true,
        kernel_id: first,
        message: "Session started (no packages)",
      });
      const gone = await call("python_exec", { code: "y", kernel_id: first });
      assert.match(gone.json.error as string, /^NameError/);
      assert.deepEqual(
        (await call("python_status", { kernel_id: first })).json.variables,
        [],
      );
    },
  );

  await t.step(
    "python_reset(kernel_id='_default') clears the default session",
    async () => {
      const reset = await call("python_reset", { kernel_id: "_default" });
      assert.equal(reset.json.kernel_id, "_default");
      const gone = await call("python_exec", { code: "x" });
      assert.match(gone.json.error as string, /^NameError/);
    },
  );

  await t.step("unknown kernel ids get the SPEC messages", async () => {
    const exec = await call("python_exec", {
      code: "1",
      kernel_id: "deadbeef",
    });
    assert.equal(exec.result.isError, true);
    assert.equal(
      exec.json.error,
      "Kernel deadbeef not found. Create it first with python_reset()",
    );
    const reset = await call("python_reset", { kernel_id: "deadbeef" });
    assert.equal(reset.result.isError, true);
    assert.equal(
      reset.json.error,
      "Kernel deadbeef not found. Omit kernel_id to create a new kernel.",
    );
    const status = await call("python_status", { kernel_id: "deadbeef" });
    assert.equal(status.json.active, false);
  });

  await t.step(
    "python_reset refuses package injection and spawns nothing",
    async () => {
      const before = kernelDescendants(server.pid).sort();
      const kernelsBefore = (await call("python_status")).json.all_kernels;
      for (
        const spec of [
          "--index-url=http://x",
          "numpy; rm -rf /",
          "numpy && curl x",
          "../evil",
          "-e .",
        ]
      ) {
        const { result, json } = await call("python_reset", {
          packages: ["six", spec],
        });
        assert.equal(result.isError, true, spec);
        assert.match(json.error as string, /^Invalid package spec/, spec);
      }
      const withId = await call("python_reset", {
        kernel_id: first,
        packages: ["$(touch pwned)"],
      });
      assert.equal(withId.result.isError, true);
      assert.deepEqual(kernelDescendants(server.pid).sort(), before);
      assert.deepEqual(
        (await call("python_status")).json.all_kernels,
        kernelsBefore,
      );
    },
  );
}
