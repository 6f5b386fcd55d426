import assert from "node:assert/strict";
import { Client as Client2026 } from "@modelcontextprotocol/client";
import { StdioClientTransport as Stdio2026 } from "@modelcontextprotocol/client/stdio";
import { KernelRegistry, SILENT_LOGGER } from "../../src/kernel/mod.ts";
import {
  serveStdioConnection,
  WebStreamServerTransport,
} from "../../src/mcp/mod.ts";
import { handshakeAnswer, serverCapabilities } from "../../src/mcp/early.ts";
import { TASKS_EXTENSION } from "../../src/mcp/tasks.ts";
import { main } from "../../src/cli/ipython_mcp.ts";
import {
  MCP_OPTIONS,
  servesStdio,
  STDIO_FLAGS,
} from "../../src/cli/mcp_early.ts";
import { OPTIONS } from "../../src/cli/options.ts";
import { UI_EXTENSION } from "../../src/mcp/view.ts";
import {
  ERAS,
  MODERN_VERSION,
  rawStdio,
  serverCommand,
  serverEnv,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import { envelope } from "../_helpers/mcp_http.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";
import { kernelDescendants } from "../_helpers/processes.ts";
import { waitUntil } from "../_helpers/wait.ts";

Deno.test("ipython_mcp start-up (SPEC §10)", async (t) => {
  await t.step(
    "with the default pool, a kernel starts before any tool call, and the first python_exec uses it",
    async () => {
      await using server = await startMcpServer({
        env: { CODER_POOL_SIZE: undefined },
      });
      // Nothing but initialize was sent: the kernel is the server's own doing.
      await waitUntil(
        "one kernel under the server (no kernel was started at server start otherwise)",
        () => kernelDescendants(server.pid).length === 1,
      );
      const [early] = kernelDescendants(server.pid);
      // A spare is not a live kernel: python_status still reports none.
      const status = await server.call("python_status");
      assert.deepEqual(status.json.all_kernels, []);
      const exec = await server.call("python_exec", {
        code: "import os; os.getpid()",
      });
      assert.equal(exec.json.result, String(early));
    },
  );

  await t.step(
    "a server/discover probe alone starts no kernel; initialize does",
    async () => {
      // SDK clients in auto mode start a throwaway server just for the probe.
      const probe = await rawStdio(
        serverEnv({ CODER_POOL_SIZE: undefined, CODER_LOG_LEVEL: "debug" }),
        [{
          jsonrpc: "2.0",
          id: 1,
          method: "server/discover",
          params: { _meta: envelope() },
        }],
        (m) => m.id === 1,
      );
      const discovered = probe.messages.find((m) => m.id === 1);
      assert.ok(discovered?.result, JSON.stringify(probe.messages));
      assert.doesNotMatch(probe.stderr, /Starting a kernel/);
      // Answered before the SDK loaded, and the client hung up: the SDK
      // server is never built.
      assert.match(probe.stderr, /Input ended with every request answered/);
      assert.doesNotMatch(probe.stderr, /Serving MCP on stdio/);
      const legacy = await rawStdio(
        serverEnv({ CODER_POOL_SIZE: undefined, CODER_LOG_LEVEL: "debug" }),
        [{
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "raw", version: "0" },
          },
        }],
        (m) => m.id === 1,
      );
      assert.match(legacy.stderr, /Starting a kernel/);
    },
  );

  await t.step(
    "a 2026 client gets the warm kernel from its first real request",
    async () => {
      await using server = await startMcpServer({
        era: "2026",
        env: { CODER_POOL_SIZE: undefined },
      });
      const status = await server.call("python_status");
      assert.deepEqual(status.json.all_kernels, []);
      await waitUntil(
        "one kernel under the server (the first request started no kernel otherwise)",
        () => kernelDescendants(server.pid).length === 1,
      );
      const [early] = kernelDescendants(server.pid);
      const exec = await server.call("python_exec", {
        code: "import os; os.getpid()",
      });
      assert.equal(exec.json.result, String(early));
    },
  );

  await t.step(
    "an unsupported protocol version gets -32022 naming both eras",
    async () => {
      const { messages } = await rawStdio(
        serverEnv({ CODER_POOL_SIZE: undefined, CODER_LOG_LEVEL: "debug" }),
        [{
          jsonrpc: "2.0",
          id: 7,
          method: "tools/list",
          params: { _meta: envelope({}, "2099-01-01") },
        }],
        (m) => m.id === 7,
      );
      const error = messages.find((m) => m.id === 7)?.error as {
        code: number;
        data: { supported: string[] };
      };
      assert.equal(error.code, -32022);
      assert.ok(error.data.supported.includes("2026-07-28"));
      assert.ok(error.data.supported.includes("2025-11-25"));
    },
  );

  await t.step(
    "an interpreter that cannot start is reported by the first python_exec",
    async () => {
      await using server = await startMcpServer({
        env: {
          CODER_POOL_SIZE: undefined,
          CODER_PYTHON: "/nonexistent/python3",
        },
      });
      const exec = await server.call("python_exec", { code: "1" });
      assert.equal(exec.result.isError, true);
      assert.match(exec.json.error as string, /\/nonexistent\/python3/);
      // The hint names the variable the CLI reads, not the library option.
      assert.match(
        exec.json.error as string,
        /or set CODER_PYTHON: an interpreter/,
      );
      assert.deepEqual(kernelDescendants(server.pid), []);
    },
  );
});

type Json = Record<string, unknown>;
type Id = string | number;

/** Version both servers report in the comparisons below. */
const VERSION = "9.8.7";

/**
 * Serves one in-process stdio connection with the real SDK server object:
 * writes `lines` and a last `tools/list` of the same era before the server
 * connects (as a client does while the SDK loads), reads the output until
 * every id in `ids` and that last request are answered (so the server has
 * handled every message before it), then closes. With `answerOpening` the
 * transport answers the opening message itself.
 */
async function inProcess(
  lines: unknown[],
  ids: Id[],
  answerOpening?: (message: Json) => Json | undefined,
): Promise<{ lines: string[]; errors: string[] }> {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_early_" });
  const registry = new KernelRegistry({
    cwd,
    launch: testLaunch(),
    poolSize: 0,
  });
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = new TransformStream<Uint8Array, Uint8Array>();
  const transport = new WebStreamServerTransport(
    input.readable,
    output.writable,
  );
  const errors: string[] = [];
  transport.onerror = (error) => errors.push(error.message);
  if (answerOpening) transport.answerOpening = answerOpening;
  transport.listen();
  const writer = input.writable.getWriter();
  const opening = lines[0] as Json;
  const last = {
    jsonrpc: "2.0",
    id: "last",
    method: "tools/list",
    params: opening.method === "server/discover" ? { _meta: envelope() } : {},
  };
  ids = [...ids, "last"];
  const text =
    [...lines, last].map((line) =>
      typeof line === "string" ? line : JSON.stringify(line)
    )
      .join("\n") + "\n";
  await writer.write(new TextEncoder().encode(text));
  await transport.firstMessage;
  const connection = serveStdioConnection({
    transport,
    registry,
    // The SDK takes the transport's onerror over: what it reports comes
    // through the logger.
    logger: {
      ...SILENT_LOGGER,
      warn: (message: string) => errors.push(message),
    },
    cwd,
    version: VERSION,
  });
  const out: string[] = [];
  const reader = output.readable.pipeThrough(new TextDecoderStream())
    .getReader();
  let buffer = "";
  const answered = () =>
    ids.every((id) => out.some((line) => JSON.parse(line).id === id));
  try {
    while (!answered()) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      out.push(...parts.filter((part) => part.trim() !== ""));
    }
    await writer.close();
    await connection.close();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
    }
    out.push(...buffer.split("\n").filter((part) => part.trim() !== ""));
  } finally {
    await reader.cancel().catch(() => {});
    await registry.shutdownAll();
    await Deno.remove(cwd, { recursive: true });
  }
  return { lines: out, errors };
}

const early = (message: Json) => handshakeAnswer(message, VERSION);

/** The lines answering `id`. */
function answersTo(lines: string[], id: Id): string[] {
  return lines.filter((line) => JSON.parse(line).id === id);
}

function initialize(
  id: Id,
  protocolVersion: unknown,
  extra: Json = {},
): Json {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: {
      protocolVersion,
      capabilities: {},
      clientInfo: { name: "raw", version: "0" },
      ...extra,
    },
  };
}

function discover(id: Id, meta: Json = envelope()): Json {
  return {
    jsonrpc: "2.0",
    id,
    method: "server/discover",
    params: { _meta: meta },
  };
}

Deno.test("the early answer to the opening message (issue 19)", async (t) => {
  const answered: [string, Json][] = [
    ["initialize 2025-11-25", initialize(1, "2025-11-25")],
    ["initialize 2024-10-07 (echoed)", initialize("a", "2024-10-07")],
    [
      "initialize of an unknown version (negotiated)",
      initialize(2, "1999-01-01"),
    ],
    [
      "initialize with a title and capabilities",
      initialize(3, "2025-06-18", {
        capabilities: { roots: { listChanged: true }, sampling: {} },
        clientInfo: { name: "raw", version: "0", title: "Raw client" },
      }),
    ],
    ["server/discover (2026-07-28)", discover(4)],
    [
      "server/discover declaring extensions",
      discover(
        5,
        envelope({
          extensions: { [TASKS_EXTENSION]: {}, [UI_EXTENSION]: {} },
        }),
      ),
    ],
  ];
  for (const [name, message] of answered) {
    await t.step(`${name}: byte for byte the SDK's`, async () => {
      const id = message.id as Id;
      const sdk = await inProcess([message], [id]);
      const ours = await inProcess([message], [id], early);
      const [sdkLine] = answersTo(sdk.lines, id);
      assert.ok(sdkLine, JSON.stringify(sdk));
      assert.deepEqual(answersTo(ours.lines, id), [sdkLine]);
      // The line is the early answer (the SDK's own was dropped).
      assert.equal(JSON.stringify(early(message)), sdkLine);
      assert.ok("result" in JSON.parse(sdkLine));
      assert.deepEqual(ours.errors, []);
    });
  }

  const leftToSdk: [string, Json][] = [
    ["initialize without a protocol version", initialize(6, undefined)],
    [
      "initialize with icons in clientInfo",
      initialize(7, "2025-11-25", {
        clientInfo: { name: "raw", version: "0", icons: [{ src: "x" }] },
      }),
    ],
    [
      "server/discover without clientInfo's version",
      discover(8, {
        ...envelope(),
        "io.modelcontextprotocol/clientInfo": { name: "raw" },
      }),
    ],
    [
      "server/discover of an unsupported version (-32022)",
      discover(9, envelope({}, "2099-01-01")),
    ],
  ];
  for (const [name, message] of leftToSdk) {
    await t.step(`${name}: left to the server, answered once`, async () => {
      const id = message.id as Id;
      assert.equal(early(message), undefined);
      const sdk = await inProcess([message], [id]);
      const ours = await inProcess([message], [id], early);
      const [sdkLine] = answersTo(sdk.lines, id);
      assert.ok(sdkLine, JSON.stringify(sdk));
      assert.deepEqual(answersTo(ours.lines, id), [sdkLine]);
      assert.deepEqual(ours.errors, []);
    });
  }

  await t.step(
    "-32022 names both eras, with or without the early path",
    async () => {
      const message = discover(10, envelope({}, "2099-01-01"));
      const { lines } = await inProcess([message], [10], early);
      const error = JSON.parse(answersTo(lines, 10)[0]!).error;
      assert.equal(error.code, -32022);
      assert.ok(error.data.supported.includes(MODERN_VERSION));
      assert.ok(error.data.supported.includes("2025-11-25"));
    },
  );

  await t.step(
    "an early answer that differs from the server's is reported, never sent twice",
    async () => {
      const message = initialize(11, "2025-11-25");
      const wrong = (m: Json) => ({
        result: { wrong: true },
        jsonrpc: "2.0",
        id: m.id,
      });
      const { lines, errors } = await inProcess([message], [11], wrong);
      assert.deepEqual(answersTo(lines, 11).map((l) => JSON.parse(l)), [
        wrong(message),
      ]);
      assert.equal(errors.length, 1, JSON.stringify({ errors, lines }));
      assert.match(errors[0]!, /early answer to request 11 differs/);
    },
  );

  await t.step(
    "the capabilities name the extensions the server implements",
    () => {
      assert.deepEqual(Object.keys(serverCapabilities().extensions), [
        TASKS_EXTENSION,
        UI_EXTENSION,
      ]);
    },
  );

  await t.step(
    "messages held before the server connects are all answered, in order",
    async () => {
      const meta = envelope();
      for (const opening of [initialize(1, "2025-11-25"), discover(1)]) {
        const modern = opening.method === "server/discover";
        const params = modern ? { _meta: meta } : {};
        const lines = [
          opening,
          ...(modern
            ? []
            : [{ jsonrpc: "2.0", method: "notifications/initialized" }]),
          { jsonrpc: "2.0", id: 2, method: "tools/list", params },
          "not json",
          { jsonrpc: "2.0", id: 3, method: "tools/list", params },
          { jsonrpc: "2.0", id: 4, method: "resources/list", params },
          { jsonrpc: "2.0", id: 5, method: "tools/list", params },
        ];
        const out = await inProcess(lines, [1, 2, 3, 4, 5], early);
        const ids = out.lines.map((line) => JSON.parse(line).id);
        // The handshake first, then -32700 for the line that is not JSON
        // (answered as it is read), then one answer per request, those
        // answered at once (tools/list) in the order they were sent;
        // resources/list reads a directory first.
        assert.deepEqual(
          ids.filter((id) => id !== 4),
          [1, null, 2, 3, 5, "last"],
          ids.join(),
        );
        assert.equal(ids.filter((id) => id === 4).length, 1);
        const toolNames = (line: string) =>
          JSON.parse(line).result.tools.map((tool: Json) => tool.name);
        assert.deepEqual(toolNames(out.lines[2]!), toolNames(out.lines[3]!));
        assert.deepEqual(out.errors.filter((e) => /differs/.test(e)), []);
      }
    },
  );
});

Deno.test("requests sent right after the handshake, real clients (issue 19)", async (t) => {
  for (const era of ERAS) {
    await t.step(
      era === "2025"
        ? "v1 client, 2025-11-25: initialize answered early, then every request"
        : "v2 client pinned to 2026-07-28: every request answered",
      async () => {
        await using server = await startMcpServer({ era });
        const [first, status, resources, second] = await Promise.all([
          server.listTools(),
          server.call("python_status"),
          server.listResources(),
          server.listTools(),
        ]);
        const names = first.tools.map((tool: { name: string }) => tool.name);
        assert.equal(names[0], "python_exec");
        assert.deepEqual(
          second.tools.map((tool: { name: string }) => tool.name),
          names,
        );
        assert.deepEqual(status.json.all_kernels, []);
        assert.ok(Array.isArray(resources.resources));
      },
    );
  }

  await t.step(
    "v2 client in auto mode: server/discover answered early, then 2026 requests",
    async () => {
      const cwd = await Deno.makeTempDir({ prefix: "mcp_auto_" });
      const { command, args } = serverCommand();
      const transport = new Stdio2026({
        command,
        args,
        env: serverEnv(),
        cwd,
        stderr: "ignore",
      });
      const client = new Client2026({ name: "auto", version: "0" }, {
        versionNegotiation: { mode: "auto" },
      });
      try {
        await client.connect(transport);
        assert.equal(client.getNegotiatedProtocolVersion(), MODERN_VERSION);
        const [tools, status] = await Promise.all([
          client.listTools(),
          client.callTool({ name: "python_status", arguments: {} }),
        ]);
        assert.equal(tools.tools[0]?.name, "python_exec");
        assert.deepEqual(
          (status.structuredContent as Json).all_kernels,
          [],
        );
      } finally {
        await client.close();
        await Deno.remove(cwd, { recursive: true });
      }
    },
  );
});

Deno.test("which starts answer the handshake before loading the server", async (t) => {
  await t.step(
    "servesStdio(): plain server starts only (no help, version, --http, unknown flag)",
    () => {
      for (
        const args of [
          [],
          ["--dir", "x"],
          ["-d", "x"],
          ["--sandbox"],
          ["--dir=x", "--memory-limit", "2G", "--allow-host", "pypi.org"],
          ["--gateway", "http://127.0.0.1:8888"],
        ]
      ) {
        assert.equal(servesStdio(args), true, args.join(" "));
      }
      for (
        const args of [
          ["--help"],
          ["-h"],
          ["--version"],
          ["-V"],
          ["--http", "8080"],
          ["--http=127.0.0.1:0"],
          ["--dir", "x", "-h"],
          ["--no-such-flag"],
          ["--dir"],
          ["--dir", "--sandbox"],
          ["--sandbox=yes"],
          ["stray"],
        ]
      ) {
        assert.equal(servesStdio(args), false, args.join(" "));
      }
    },
  );

  await t.step("servesStdio()'s flag table matches the option parser's", () => {
    const expected: Record<string, boolean> = {};
    for (const name of MCP_OPTIONS) {
      const spec = OPTIONS[name];
      if (name === "help" || name === "version") continue;
      expected[`--${name}`] = spec.type === "string";
      if ("short" in spec && spec.short) {
        expected[`-${spec.short}`] = spec.type === "string";
      }
    }
    assert.deepEqual({ ...STDIO_FLAGS }, expected);
  });

  await t.step(
    "at a terminal a usage error comes at once, stdin unread",
    async () => {
      const err: string[] = [];
      const stdin = new TransformStream<Uint8Array, Uint8Array>();
      const run = main(["--no-such-flag"], {
        // Nothing is ever typed: waiting for a first message would hang.
        stdin: stdin.readable,
        stdout: new WritableStream(),
        stderr: new WritableStream({
          write: (chunk) => void err.push(new TextDecoder().decode(chunk)),
        }),
        env: serverEnv(),
        cwd: Deno.cwd(),
        isTerminal: true,
        stdinIsTerminal: true,
        exit: (code) => assert.fail(`main() exited the process with ${code}`),
      });
      // A failure bound, not a wait: the answer is due at once.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("main() waited for stdin at a terminal")),
          30_000,
        );
      });
      const code = await Promise.race([run, bound]).finally(() =>
        clearTimeout(timer)
      );
      assert.equal(code, 2);
      assert.match(err.join(""), /no-such-flag/);
    },
  );

  await t.step(
    "from an MCP client, a bad flag: the usage error (2), no handshake answered",
    async () => {
      const cwd = await Deno.makeTempDir({ prefix: "mcp_badflag_" });
      try {
        const { command, args } = serverCommand(["--no-such-flag"]);
        const child = new Deno.Command(command, {
          args,
          cwd,
          env: serverEnv(),
          clearEnv: true,
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(
          new TextEncoder().encode(
            JSON.stringify(initialize(1, "2025-11-25")) + "\n",
          ),
        );
        await writer.close();
        const [out, err, status] = await Promise.all([
          new Response(child.stdout).text(),
          new Response(child.stderr).text(),
          child.status,
        ]);
        // The client sees the server end with its usage error on stderr,
        // not a handshake followed by a closed connection.
        assert.equal(out, "");
        assert.equal(status.code, 2);
        assert.match(err, /no-such-flag/);
      } finally {
        await Deno.remove(cwd, { recursive: true });
      }
    },
  );
});
