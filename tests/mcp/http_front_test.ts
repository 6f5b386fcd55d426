import assert from "node:assert/strict";
import { serveGuarded } from "../../src/mcp/mod.ts";
import { SILENT_LOGGER } from "../../src/kernel/mod.ts";
import { serverCommand, serverEnv } from "../_helpers/mcp_client.ts";
import { waitUntil } from "../_helpers/wait.ts";

const OK = () => Promise.resolve(new Response("ok"));

/** Reads until the peer closes; the bytes read. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(4096);
  let text = "";
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } catch {
    // Reset by the peer.
  }
  return text;
}

Deno.test("serveGuarded bounds what Deno.serve does not", async (t) => {
  await using server = serveGuarded({
    hostname: "127.0.0.1",
    port: 0,
    logger: SILENT_LOGGER,
    limits: { headerTimeoutMs: 300, idleTimeoutMs: 60_000, maxConnections: 2 },
  }, OK);
  const { port } = server.addr;

  await t.step("requests pass through unchanged", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/x`);
    assert.equal(await response.text(), "ok");
  });

  await t.step(
    "headers not finished in time: the connection is closed",
    async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(
        new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"),
      );
      assert.equal(await readAll(conn), "");
      conn.close();
    },
  );

  await t.step("beyond the cap: 503 at once", async () => {
    const held = [
      await Deno.connect({ hostname: "127.0.0.1", port }),
      await Deno.connect({ hostname: "127.0.0.1", port }),
    ];
    await waitUntil(
      "both connections to be counted",
      () => server.connections,
      { until: (count) => count >= 2, intervalMs: 10 },
    );
    const third = await Deno.connect({ hostname: "127.0.0.1", port });
    assert.match(await readAll(third), /^HTTP\/1\.1 503 /);
    third.close();
    for (const conn of held) conn.close();
  });

  await t.step("the inner server answers nobody but the front", async () => {
    // The attack: talk to the inner port directly, past every limit.
    const direct = await fetch(`http://127.0.0.1:${server.innerAddr.port}/`);
    assert.equal(direct.status, 403);
    await direct.body?.cancel();
    const through = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await through.text(), "ok");
  });
});

Deno.test("ipython_mcp --http survives running out of file descriptors", async () => {
  const token = "fd-token-0123456789abcdef";
  const { command, args } = serverCommand(["--http", "127.0.0.1:0"]);
  const cwd = await Deno.makeTempDir({ prefix: "mcp_fd_" });
  const child = new Deno.Command("bash", {
    args: ["-c", 'ulimit -n 64 && exec "$@"', "bash", command, ...args],
    cwd,
    env: serverEnv({ CODER_MCP_TOKEN: token }),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const conns: Deno.Conn[] = [];
  try {
    const reader = child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    let url: URL | undefined;
    while (!url) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Server exited: ${text}`);
      text += value;
      const found = /at (http:\/\/\S+\/mcp)/.exec(text)?.[1];
      if (found) url = new URL(found);
    }
    const draining = (async () => {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    })();
    const port = Number(url.port);
    // More connections than the server has descriptors for.
    for (let i = 0; i < 100; i++) {
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch (error) {
        throw new Error(`connection ${i}: ${error}; server stderr:\n${text}`);
      }
    }
    for (const conn of conns.splice(0)) conn.close();
    // The server notices the closed connections one by one: until then a
    // request may still be dropped. It must be served soon, and the server
    // must still be running.
    const initialize = () =>
      fetch(url, {
        signal: AbortSignal.timeout(30_000),
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "fd", version: "0" },
          },
        }),
      });
    const response = await waitUntil(
      "the server to serve again",
      () => initialize().catch((error: unknown) => String(error)),
      { until: (answer) => answer instanceof Response, intervalMs: 100 },
    ).catch((error) => {
      throw new Error(`never served again; stderr:\n${text}`, {
        cause: error,
      });
    }) as Response;
    assert.equal(response.status, 200, text);
    assert.match(await response.text(), /"protocolVersion"/);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await draining;
  } finally {
    for (const conn of conns) conn.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited.
    }
    await child.status;
    await Deno.remove(cwd, { recursive: true });
  }
});
