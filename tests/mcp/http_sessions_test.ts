import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type HttpServerHarness,
  startHttpServer,
} from "../_helpers/mcp_http.ts";
import { waitUntil } from "../_helpers/wait.ts";

const TOKEN = "test-token-0123456789abcdef";

/** Waits until the server's stderr matches one of the patterns; returns it. */
async function logged(
  server: HttpServerHarness,
  patterns: RegExp[],
): Promise<RegExp> {
  const stderr = await waitUntil(
    `one of ${patterns.join(", ")} on the server's stderr`,
    () => server.stderr(),
    { until: (text) => patterns.some((pattern) => pattern.test(text)) },
  );
  return patterns.find((pattern) => pattern.test(stderr))!;
}

Deno.test("ipython_mcp --http: a background job keeps its idle session until its result is read", async () => {
  await using server = await startHttpServer({
    env: {
      CODER_MCP_TOKEN: TOKEN,
      CODER_MCP_SESSION_TTL: "1",
      CODER_LOG_LEVEL: "info",
    },
  });
  const { call, transport } = await server.connect();
  const session = transport.sessionId!;
  const flag = join(server.cwd, "release");
  const started = await call("python_exec", {
    background: true,
    code: `import os, time\nfor _ in range(1200):\n` +
      `    if os.path.exists(${JSON.stringify(flag)}): break\n` +
      `    time.sleep(0.05)\n'released'`,
  });
  const jobId = started.json.job_id as string;
  assert.equal(started.json.status, "running");
  // The client goes quiet for longer than the TTL while the job runs.
  const ended = new RegExp(`Session ${session} ended \\(idle`);
  const kept = new RegExp(
    `Session ${session} idle for \\d+ s but kept: background job ${jobId} runs`,
  );
  assert.equal(await logged(server, [kept, ended]), kept, server.stderr());
  await Deno.writeTextFile(flag, "");
  // Ended but unread: still kept.
  const unread = new RegExp(
    `Session ${session} idle for \\d+ s but kept: background job ${jobId} has an unread result`,
  );
  assert.equal(await logged(server, [unread, ended]), unread, server.stderr());
  const done = await call("python_job", { job_id: jobId, wait: 60 });
  assert.equal(done.json.status, "completed", JSON.stringify(done.json));
  assert.equal(done.json.result, "'released'");
  // Once the result is read, idle expiry ends the session as before.
  await logged(server, [ended]);
});

Deno.test("ipython_mcp --http: sessions sharing a directory export to their own default notebooks", async () => {
  await using server = await startHttpServer({
    env: { CODER_MCP_TOKEN: TOKEN },
  });
  const clients = [
    await server.connect(),
    await server.connect(),
    await server.connect(TOKEN, "2026"),
  ];
  const paths: string[] = [];
  for (const [i, client] of clients.entries()) {
    const ran = await client.call("python_exec", {
      code: `print("cell of client ${i}")`,
    });
    assert.equal(ran.json.success, true, JSON.stringify(ran.json));
    const exported = await client.call("python_export", {});
    assert.equal(exported.json.success, true, JSON.stringify(exported.json));
    const path = exported.json.path as string;
    assert.match(path, /\.ipython_mcp\/_default-[0-9a-f]{8}\.ipynb$/);
    paths.push(path);
  }
  assert.equal(new Set(paths).size, 3, paths.join(", "));
  for (const [i, path] of paths.entries()) {
    const text = await Deno.readTextFile(path);
    assert.ok(text.includes(`cell of client ${i}`), path);
    for (let j = 0; j < paths.length; j++) {
      if (j !== i) assert.ok(!text.includes(`cell of client ${j}`), path);
    }
  }
  // An explicit path is written as given.
  const explicit = await clients[0]!.call("python_export", {
    path: "mine.ipynb",
  });
  assert.equal(explicit.json.path, join(server.cwd, "mine.ipynb"));
});
