import assert from "node:assert/strict";
import {
  describeHint,
  KernelRegistry,
  SILENT_LOGGER,
} from "../../src/kernel/mod.ts";
import {
  describeMcpHint,
  McpHttpService,
  type McpHttpServiceOptions,
  parseListenAddress,
} from "../../src/mcp/mod.ts";
import { kernelLimitMessage } from "../../src/mcp/limit_refusal.ts";
import { callTool, createToolContext } from "../../src/mcp/tools.ts";
import { renderCliHint } from "../../src/cli/hints.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";

Deno.test("describeMcpHint() words the MCP layer's settings in option names", () => {
  const cases: [Parameters<typeof describeMcpHint>[0], string][] = [
    [{ option: "maxKernels", advice: "name" }, "maxKernels"],
    [
      { option: "maxKernelsPerUser", advice: "name" },
      "kernelSlots().user.limit",
    ],
    [
      { option: "maxKernelsPerUser", advice: "raise" },
      "raise kernelSlots().user.limit",
    ],
    [{ option: "httpToken", advice: "name" }, "token"],
    [{ option: "httpToken", advice: "set" }, "pass a valid token"],
    [{ option: "listenAddress", advice: "name" }, "listen address"],
    [{ option: "listenAddress", advice: "check" }, "check listen address"],
    [
      { option: "maxKernelsPerUser", advice: "set", value: 4 },
      "pass kernelSlots().user.limit: 4",
    ],
  ];
  for (const [hint, text] of cases) assert.equal(describeMcpHint(hint), text);
  // The kernel layer's hints read exactly as the kernel layer words them.
  for (
    const hint of [
      { option: "maxKernels", advice: "raise" },
      { option: "sandbox", advice: "disable" },
      { option: "memoryLimit", advice: "set", value: null },
      { option: "allowHosts", advice: "add", value: "pypi.org" },
    ] as const
  ) {
    assert.equal(describeMcpHint(hint), describeHint(hint));
  }
  for (const [hint] of cases) {
    assert.doesNotMatch(describeMcpHint(hint), /CODER_|--/);
  }
});

Deno.test("renderCliHint() names the MCP layer's settings by their flags and variables", () => {
  const cases: [Parameters<typeof renderCliHint>[0], string][] = [
    [{ option: "maxKernels", advice: "name" }, "CODER_MAX_KERNELS"],
    [
      { option: "maxKernelsPerUser", advice: "name" },
      "CODER_MAX_KERNELS_PER_USER",
    ],
    [
      { option: "maxKernelsPerUser", advice: "raise" },
      "raise CODER_MAX_KERNELS_PER_USER",
    ],
    [{ option: "httpToken", advice: "name" }, "CODER_MCP_TOKEN"],
    [{ option: "httpToken", advice: "set" }, "set CODER_MCP_TOKEN"],
    [{ option: "listenAddress", advice: "name" }, "--http"],
    [{ option: "listenAddress", advice: "check" }, "check --http"],
    [
      { option: "listenAddress", advice: "set", value: "8000" },
      "set --http 8000",
    ],
  ];
  for (const [hint, text] of cases) assert.equal(renderCliHint(hint), text);
});

Deno.test("kernelLimitMessage() names the limit as the renderer names it", async (t) => {
  await t.step("library: option names, no variable", () => {
    const server = kernelLimitMessage({ scope: "server", limit: 2 });
    assert.equal(
      server,
      "Cannot start another kernel: the server's limit of 2 live kernels is reached (maxKernels). Ask the server's operator to raise maxKernels.",
    );
    const user = kernelLimitMessage({
      scope: "user",
      limit: 1,
      user: "alice",
      reclaimAfterSeconds: 60,
    }, ["_default"]);
    assert.match(
      user,
      /^Cannot start another kernel: user alice's limit of 1 live kernels per user is reached \(kernelSlots\(\)\.user\.limit\);/,
    );
    assert.match(
      user,
      /ask the server's operator to raise kernelSlots\(\)\.user\.limit\.$/,
    );
    for (const text of [server, user]) assert.doesNotMatch(text, /CODER_/);
  });

  await t.step("kernels running jobs: their jobs are named, not reuse", () => {
    const stdio = { scope: "server", limit: 2 } as const;
    const busy = kernelLimitMessage(stdio, ["_default", "k1"], {
      jobs: new Map([["_default", "j1"], ["k1", "j2"]]),
    });
    assert.doesNotMatch(busy, /Reuse one of your kernels/);
    assert.match(
      busy,
      / Each of your kernels is running a background job \("j1", "j2"\): wait for one with python_job\(job_id=\.\.\.\), or stop it with python_interrupt\(kernel_id=\.\.\.\) \(variables are kept\) and reuse its kernel\.$/,
    );
    // One free kernel: reuse that one, not the busy one.
    const oneFree = kernelLimitMessage(stdio, ["_default", "k1"], {
      jobs: new Map([["_default", "j1"]]),
    });
    assert.match(
      oneFree,
      /Reuse one of your kernels instead: pass kernel_id "k1" to python_exec/,
    );
  });

  await t.step("CLI: the variables, as before", () => {
    const renderHint = renderCliHint;
    assert.equal(
      kernelLimitMessage({ scope: "server", limit: 2 }, [], { renderHint }),
      "Cannot start another kernel: the server's limit of 2 live kernels is reached (CODER_MAX_KERNELS). Ask the server's operator to raise CODER_MAX_KERNELS.",
    );
    const user = kernelLimitMessage(
      {
        scope: "user",
        limit: 1,
        reclaimAfterSeconds: 60,
      },
      [],
      { renderHint },
    );
    assert.match(
      user,
      /^Cannot start another kernel: your limit of 1 live kernels per user is reached \(CODER_MAX_KERNELS_PER_USER\);/,
    );
    assert.match(user, /raise CODER_MAX_KERNELS_PER_USER\.$/);
  });
});

Deno.test("parseListenAddress() names the value as the renderer names it", () => {
  assert.throws(
    () => parseListenAddress("80800"),
    (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.equal(
        error.message,
        'Cannot use listen address "80800": expected [HOST:]PORT with a port from 0 to 65535',
      );
      return true;
    },
  );
  assert.throws(
    () => parseListenAddress("host:", { renderHint: renderCliHint }),
    (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /^Cannot use --http "host:": expected /);
      return true;
    },
  );
});

Deno.test("a library-built tool context refuses a start at maxKernels in option names", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_hints_" });
  const registry = new KernelRegistry({
    cwd,
    launch: testLaunch(),
    maxKernels: 1,
  });
  try {
    const library = createToolContext({
      registry,
      logger: SILENT_LOGGER,
      cwd,
    });
    const first = await callTool("python_exec", { code: "1 + 1" }, library);
    assert.equal(first.structuredContent.success, true);

    await t.step("default: maxKernels", async () => {
      const refused = await callTool("python_reset", {}, library);
      const error = refused.structuredContent.error as string;
      assert.match(
        error,
        /^Cannot start another kernel: the server's limit of 1 live kernels is reached \(maxKernels\)\. Reuse one of your kernels instead: pass kernel_id "_default"/,
      );
      assert.doesNotMatch(error, /CODER_/);
    });

    await t.step("renderHint from the CLI: CODER_MAX_KERNELS", async () => {
      const cli = createToolContext({
        registry,
        logger: SILENT_LOGGER,
        cwd,
        renderHint: renderCliHint,
      });
      const refused = await callTool("python_reset", {}, cli);
      assert.match(
        refused.structuredContent.error as string,
        /^Cannot start another kernel: the server's limit of 1 live kernels is reached \(CODER_MAX_KERNELS\)\./,
      );
    });
  } finally {
    await registry.shutdownAll();
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("McpHttpService answers 401 naming the token as its renderer names it", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_hints_http_" });
  /** Serves a service on 127.0.0.1 and returns one unauthorized answer's message. */
  async function unauthorized(
    extra: Partial<McpHttpServiceOptions>,
  ): Promise<{ status: number; message: string }> {
    await using service = new McpHttpService({
      token: "a-token-0123456789abcdef",
      logger: SILENT_LOGGER,
      createRegistry: () => new KernelRegistry({ cwd, launch: testLaunch() }),
      ...extra,
    });
    const listening = Promise.withResolvers<Deno.NetAddr>();
    await using _server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: (address) => {
        service.listening(address);
        listening.resolve(address);
      },
    }, service.handle);
    const { port } = await listening.promise;
    const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    const body = await response.json();
    return { status: response.status, message: body.error.message };
  }
  try {
    await t.step("default: the token option", async () => {
      const { status, message } = await unauthorized({});
      assert.equal(status, 401);
      assert.equal(
        message,
        "Unauthorized: send Authorization: Bearer <token>",
      );
    });
    await t.step("renderHint from the CLI: CODER_MCP_TOKEN", async () => {
      const { status, message } = await unauthorized({
        renderHint: renderCliHint,
      });
      assert.equal(status, 401);
      assert.equal(
        message,
        "Unauthorized: send Authorization: Bearer <CODER_MCP_TOKEN>",
      );
    });
    await t.step("a tokens file: the caller's own token from it", async () => {
      const users = [{ name: "alice", token: "a-token" }];
      const fromFile = await unauthorized({
        token: undefined,
        users,
        renderHint: renderCliHint,
      });
      assert.equal(fromFile.status, 401);
      assert.equal(
        fromFile.message,
        "Unauthorized: send Authorization: Bearer <your token from CODER_MCP_TOKENS_FILE>",
      );
      const both = await unauthorized({ users, renderHint: renderCliHint });
      assert.equal(
        both.message,
        "Unauthorized: send Authorization: Bearer <CODER_MCP_TOKEN, or your token from CODER_MCP_TOKENS_FILE>",
      );
      const library = await unauthorized({ token: undefined, users });
      assert.equal(
        library.message,
        "Unauthorized: send Authorization: Bearer <your token from users>",
      );
    });
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
