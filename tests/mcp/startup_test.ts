import assert from "node:assert/strict";
import {
  serverCommand,
  serverEnv,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import { envelope } from "../_helpers/mcp_http.ts";
import { kernelDescendants } from "../_helpers/processes.ts";

/**
 * Runs the server on raw stdio: writes the lines, reads stdout until `until`
 * holds for a line, closes stdin and waits for the exit.
 */
async function rawStdio(
  lines: unknown[],
  until: (message: Record<string, unknown>) => boolean,
): Promise<{ messages: Record<string, unknown>[]; stderr: string }> {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_raw_" });
  try {
    const { command, args } = serverCommand();
    const child = new Deno.Command(command, {
      args,
      cwd,
      env: serverEnv({ CODER_POOL_SIZE: undefined, CODER_LOG_LEVEL: "debug" }),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const writer = child.stdin.getWriter();
    const encoder = new TextEncoder();
    for (const line of lines) {
      await writer.write(encoder.encode(JSON.stringify(line) + "\n"));
    }
    const messages: Record<string, unknown>[] = [];
    let buffer = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    while (!messages.some(until)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const part of parts) {
        if (part.trim()) messages.push(JSON.parse(part));
      }
    }
    await writer.close();
    await reader.cancel();
    await child.status;
    return { messages, stderr: await stderr };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

/** Polls `probe` every 50 ms until it holds or `ms` pass. */
async function eventually(probe: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

Deno.test("ipython_mcp start-up (SPEC §10)", async (t) => {
  await t.step(
    "with the default pool, a kernel starts before any tool call, and the first python_exec uses it",
    async () => {
      await using server = await startMcpServer({
        env: { CODER_POOL_SIZE: undefined },
      });
      // Nothing but initialize was sent: the kernel is the server's own doing.
      assert.ok(
        await eventually(
          () => kernelDescendants(server.pid).length === 1,
          60_000,
        ),
        "no kernel was started at server start",
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
      const probe = await rawStdio([{
        jsonrpc: "2.0",
        id: 1,
        method: "server/discover",
        params: { _meta: envelope() },
      }], (m) => m.id === 1);
      const discovered = probe.messages.find((m) => m.id === 1);
      assert.ok(discovered?.result, JSON.stringify(probe.messages));
      assert.doesNotMatch(probe.stderr, /Starting a kernel/);
      const legacy = await rawStdio([{
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "raw", version: "0" },
        },
      }], (m) => m.id === 1);
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
      assert.ok(
        await eventually(
          () => kernelDescendants(server.pid).length === 1,
          60_000,
        ),
        "the first request started no kernel",
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
      const { messages } = await rawStdio([{
        jsonrpc: "2.0",
        id: 7,
        method: "tools/list",
        params: { _meta: envelope({}, "2099-01-01") },
      }], (m) => m.id === 7);
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
