/**
 * bench/requests.ts builds requests the real parts accept: signed frames our
 * wire decoder verifies, raw JSON-RPC lines of both eras the real
 * `ipython_mcp` answers, and tool calls through the client of each SDK line.
 */

import assert from "node:assert/strict";
import { StdioClientTransport as Stdio2026 } from "@modelcontextprotocol/client/stdio";
import {
  callTool,
  createClient,
  executeContent,
  initializedNotification,
  type JsonRpcMessage,
  jupyterRequest,
  openingRequest,
  parseToolAnswer,
  pythonExec,
  signedFrames,
  timedOnePlusOne,
  toolsCallRequest,
  websocketText,
} from "../../bench/requests.ts";
import { startBenchServer } from "../../bench/server.ts";
import { createMessageSigner, decodeMessage } from "../../src/kernel/wire.ts";
import { rawStdio, serverCommand, serverEnv } from "../_helpers/mcp_client.ts";

Deno.test("bench requests: Jupyter messages", async (t) => {
  const message = jupyterRequest("execute_request", {
    session: "s-1",
    content: executeContent("1+1"),
  });
  await t.step("signed frames pass our wire decoder's HMAC check", async () => {
    const decoded = decodeMessage(
      signedFrames(message, "key-1"),
      await createMessageSigner("key-1"),
    );
    assert.ok(decoded.ok, JSON.stringify(decoded));
    assert.equal(decoded.message.header.msg_id, message.header.msg_id);
    assert.equal(
      (decoded.message.content as { code?: string }).code,
      "1+1",
    );
  });
  await t.step("a wrong key is caught (the check can fail)", async () => {
    const decoded = decodeMessage(
      signedFrames(message, "key-1"),
      await createMessageSigner("key-2"),
    );
    assert.deepEqual(decoded, { ok: false, reason: "bad-signature" });
  });
  await t.step("a websocket frame names its channel and has no buffers", () => {
    const parsed = JSON.parse(websocketText(message));
    assert.equal(parsed.channel, "shell");
    assert.deepEqual(parsed.buffers, []);
    assert.equal(parsed.header.msg_type, "execute_request");
  });
});

Deno.test("bench requests: parseToolAnswer()", async (t) => {
  await t.step("reads the JSON of the first text item", () => {
    const { json } = parseToolAnswer("python_exec", {
      content: [{ type: "text", text: '{"result":"2"}' }],
      structuredContent: { result: "other" },
    });
    assert.deepEqual(json, { result: "2" });
  });
  await t.step("falls back to structured content", () => {
    const { json } = parseToolAnswer("python_exec", {
      content: [],
      structuredContent: { result: "2" },
    });
    assert.deepEqual(json, { result: "2" });
  });
  await t.step("names the tool when there is nothing to parse", () => {
    assert.throws(
      () => parseToolAnswer("notebook_view", { content: [] }),
      /^Error: notebook_view: no text item/,
    );
  });
});

/** Writes the lines to a fresh server and reads until response `id` comes. */
async function exchange(
  lines: JsonRpcMessage[],
  id: number,
): Promise<Record<string, unknown>[]> {
  const { messages } = await rawStdio(serverEnv(), lines, (m) => m.id === id);
  return messages;
}

function resultOf(
  messages: Record<string, unknown>[],
  id: number,
): Record<string, unknown> {
  const reply = messages.find((m) => m.id === id);
  assert.ok(reply?.result, JSON.stringify(messages).slice(0, 800));
  return reply.result as Record<string, unknown>;
}

Deno.test("bench requests: raw JSON-RPC lines the real server answers", async (t) => {
  await t.step(
    "2025: initialize, initialized, tools/call python_exec",
    async () => {
      const messages = await exchange([
        openingRequest("2025", 1),
        initializedNotification(),
        toolsCallRequest(pythonExec("1+1"), { era: "2025", id: 2 }),
      ], 2);
      const init = resultOf(messages, 1);
      assert.equal(init.protocolVersion, "2025-11-25");
      const call = resultOf(messages, 2) as { content: { text: string }[] };
      assert.equal(JSON.parse(call.content[0]!.text).result, "2");
    },
  );
  await t.step(
    "2026: server/discover, then an enveloped tools/call",
    async () => {
      const messages = await exchange([
        openingRequest("2026", 1),
        toolsCallRequest(pythonExec("1+1"), { era: "2026", id: 2 }),
      ], 2);
      const discovered = resultOf(messages, 1) as {
        supportedVersions?: string[];
      };
      assert.ok(discovered.supportedVersions?.includes("2026-07-28"));
      const call = resultOf(messages, 2) as { content: { text: string }[] };
      assert.equal(JSON.parse(call.content[0]!.text).result, "2");
    },
  );
});

Deno.test("bench requests: tool calls through either SDK client", async (t) => {
  await t.step(
    "v1 client (2025) through the bench server harness",
    async () => {
      const cwd = await Deno.makeTempDir({ prefix: "bench_requests_" });
      try {
        await using server = await startBenchServer({ env: serverEnv(), cwd });
        assert.ok(await timedOnePlusOne(server.client) > 0);
        const answer = await server.call("python_exec", { code: "40+2" });
        assert.equal(answer.json.result, "42");
      } finally {
        await Deno.remove(cwd, { recursive: true });
      }
    },
  );
  await t.step("v2 client in auto mode", async () => {
    const cwd = await Deno.makeTempDir({ prefix: "bench_requests_" });
    const { command, args } = serverCommand();
    const client = createClient("auto");
    try {
      await client.connect(
        new Stdio2026({
          command,
          args,
          env: serverEnv(),
          cwd,
          stderr: "ignore",
        }),
      );
      const { json } = await callTool(client, pythonExec("6*7"));
      assert.equal(json.result, "42");
    } finally {
      await client.close();
      await Deno.remove(cwd, { recursive: true });
    }
  });
});
