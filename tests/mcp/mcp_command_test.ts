import assert from "node:assert/strict";
import { join } from "node:path";
import type { CliIo } from "../../src/cli/io.ts";
import {
  createStderrLogger,
  resolveWorkingDir,
  runMcpServer,
} from "../../src/cli/mcp_command.ts";
import { main } from "../../src/cli/ipython_mcp.ts";
import { EXPECTED_TOOL_NAMES } from "../_helpers/mcp_client.ts";

/** In-memory streams for one in-process run. */
function memoryIo(cwd: string, env: Record<string, string>, input: string[]) {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const io: CliIo = {
    stdin: new ReadableStream({
      start(controller) {
        for (const line of input) {
          controller.enqueue(new TextEncoder().encode(line + "\n"));
        }
        controller.close();
      },
    }),
    stdout: new WritableStream({ write: (chunk) => void out.push(chunk) }),
    stderr: new WritableStream({ write: (chunk) => void err.push(chunk) }),
    env,
    cwd,
    isTerminal: false,
    exit: (code) => {
      throw new Error(`unexpected forced exit ${code}`);
    },
  };
  const text = (chunks: Uint8Array[]) =>
    chunks.map((c) => new TextDecoder().decode(c)).join("");
  return { io, stdout: () => text(out), stderr: () => text(err) };
}

function rpc(id: number, method: string, params: Record<string, unknown>) {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params });
}

Deno.test("runMcpServer()", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "mcp_cmd_" });
  const env = { HOME: home, CODER_POOL_SIZE: "0" };
  try {
    await t.step("--help prints usage on stdout and returns 0", async () => {
      const run = memoryIo(home, env, []);
      assert.equal(await runMcpServer(["--help"], run.io), 0);
      assert.ok(run.stdout().includes("Usage:\n  ipython_mcp [--dir DIR]"));
      assert.equal(run.stderr(), "");
    });

    await t.step("an unknown flag is a usage error (2)", async () => {
      const run = memoryIo(home, env, []);
      assert.equal(await main(["--bogus"], run.io), 2);
      assert.match(run.stderr(), /--bogus/);
      assert.equal(run.stdout(), "");
    });

    await t.step("a bad CODER_MAX_KERNELS is a usage error (2)", async () => {
      const run = memoryIo(home, { ...env, CODER_MAX_KERNELS: "many" }, []);
      assert.equal(await runMcpServer([], run.io), 2);
      assert.match(run.stderr(), /CODER_MAX_KERNELS/);
    });

    await t.step("serves MCP until stdin ends, then returns 0", async () => {
      const run = memoryIo(home, env, [
        rpc(1, "initialize", {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "t", version: "0" },
        }),
        JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
        "this line is not JSON",
        rpc(2, "tools/list", {}),
        rpc(3, "tools/call", { name: "submit_code", arguments: { code: "" } }),
      ]);
      assert.equal(await runMcpServer([], run.io), 0);
      const replies = run.stdout().trim().split("\n").map((line) =>
        JSON.parse(line)
      );
      // The line that is not JSON gets a -32700 reply (id null).
      const parseError = replies.filter((m) => m.id === null);
      assert.deepEqual(parseError.map((m) => m.error.code), [-32700]);
      const messages = [1, 2, 3].map((id) => replies.find((m) => m.id === id));
      assert.equal(messages[0].result.serverInfo.name, "ipython_mcp");
      assert.deepEqual(
        messages[1].result.tools.map((tool: { name: string }) => tool.name),
        [...EXPECTED_TOOL_NAMES],
      );
      assert.deepEqual(
        JSON.parse(messages[2].result.content[0].text),
        { ok: false, error: "Empty submission" },
      );
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("resolveWorkingDir()", async (t) => {
  const base = await Deno.makeTempDir({ prefix: "mcp_wd_" });
  try {
    await t.step("uses a writable current directory", async () => {
      assert.equal(await resolveWorkingDir(undefined, base, "/nowhere"), base);
    });
    await t.step(
      "creates --dir relative to the current directory",
      async () => {
        const dir = await resolveWorkingDir("a/b", base, "/nowhere");
        assert.equal(dir, join(base, "a", "b"));
        assert.ok((await Deno.stat(dir)).isDirectory);
      },
    );
    await t.step("falls back to ~/.ipython_mcp/workspace from /", async () => {
      const dir = await resolveWorkingDir(undefined, "/", base);
      assert.equal(dir, join(base, ".ipython_mcp", "workspace"));
      assert.ok((await Deno.stat(dir)).isDirectory);
    });
    await t.step(
      "falls back when the current directory is not writable",
      async () => {
        const locked = join(base, "locked");
        await Deno.mkdir(locked, { mode: 0o555 });
        await Deno.chmod(locked, 0o555);
        const probe = await Deno.makeTempFile({ dir: locked }).then(
          (f) => Deno.remove(f).then(() => true),
          () => false,
        );
        if (probe) return; // Running as root: permissions are not enforced.
        assert.equal(
          await resolveWorkingDir(undefined, locked, base),
          join(base, ".ipython_mcp", "workspace"),
        );
      },
    );
  } finally {
    await Deno.chmod(join(base, "locked"), 0o755).catch(() => {});
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("createStderrLogger() writes lines at or above its level", async () => {
  const chunks: string[] = [];
  const stream = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(new TextDecoder().decode(chunk)),
  });
  const logger = createStderrLogger(stream, "warning");
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  await logger.flush();
  assert.equal(chunks.length, 2);
  assert.match(chunks[0]!, /^\S+ WARNING ipython_mcp: w\n$/);
  assert.match(chunks[1]!, /^\S+ ERROR ipython_mcp: e\n$/);
});
