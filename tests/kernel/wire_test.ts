import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  createHeader,
  createMessageSigner,
  decodeMessage,
  DELIMITER,
  encodeMessage,
  stripAnsi,
} from "../../src/kernel/wire.ts";

const enc = new TextEncoder();

Deno.test("wire", async (t) => {
  const signer = await createMessageSigner("secret-key");
  const header = createHeader("execute_request", "session-1");

  await t.step(
    "encodeMessage() signs header, parent, metadata, content with HMAC-SHA256",
    () => {
      const frames = encodeMessage(
        { header, parent_header: {}, metadata: {}, content: { code: "1+1" } },
        signer,
      );
      assert.deepEqual(frames[0], DELIMITER);
      const expected = createHmac("sha256", "secret-key")
        .update(frames[2]!).update(frames[3]!).update(frames[4]!).update(
          frames[5]!,
        )
        .digest("hex");
      assert.equal(new TextDecoder().decode(frames[1]), expected);
    },
  );

  await t.step(
    "decodeMessage() round-trips a message after identity frames",
    () => {
      const frames = encodeMessage(
        {
          header,
          parent_header: {},
          metadata: { a: 1 },
          content: { x: [1, 2] },
        },
        signer,
      );
      const decoded = decodeMessage([
        enc.encode("topic"),
        ...frames,
        enc.encode("buf"),
      ], signer);
      assert.ok(decoded.ok);
      assert.equal(decoded.message.header.msg_id, header.msg_id);
      assert.deepEqual(decoded.message.content, { x: [1, 2] });
      assert.deepEqual(decoded.message.metadata, { a: 1 });
      assert.equal(decoded.message.buffers.length, 1);
    },
  );

  await t.step(
    "decodeMessage() drops a bad signature, a missing delimiter and bad JSON",
    async () => {
      const frames = encodeMessage(
        { header, parent_header: {}, metadata: {}, content: {} },
        signer,
      );
      const forged = [...frames];
      forged[1] = enc.encode("0".repeat(64));
      assert.deepEqual(decodeMessage(forged, signer), {
        ok: false,
        reason: "bad-signature",
      });
      const otherKey = await createMessageSigner("other-key");
      assert.deepEqual(decodeMessage(frames, otherKey), {
        ok: false,
        reason: "bad-signature",
      });
      assert.deepEqual(decodeMessage(frames.slice(1), signer), {
        ok: false,
        reason: "no-delimiter",
      });
      const parts = [
        enc.encode("{"),
        enc.encode("{}"),
        enc.encode("{}"),
        enc.encode("{}"),
      ];
      const badJson = [DELIMITER, enc.encode(signer.sign(parts)), ...parts];
      assert.deepEqual(decodeMessage(badJson, signer), {
        ok: false,
        reason: "bad-json",
      });
    },
  );

  await t.step(
    "decodeMessage() reports a content frame above the limit instead of decoding it",
    async () => {
      const parent = createHeader("execute_request", "client");
      const frames = encodeMessage({
        header: createHeader("stream", "kernel"),
        parent_header: parent,
        metadata: {},
        content: { name: "stderr", text: "z".repeat(1000) },
      }, signer);
      const whole = decodeMessage(frames, signer);
      assert.equal(whole.ok, true);
      const big = decodeMessage(frames, signer, 100);
      assert.ok(!big.ok && big.reason === "too-large");
      assert.deepEqual(big.oversized, {
        msgType: "stream",
        parentId: parent.msg_id,
        bytes: frames[5]!.length,
        streamName: "stderr",
      });
      // A forged oversized message is still refused by its signature first.
      const forged = encodeMessage({
        header: createHeader("stream", "kernel"),
        parent_header: parent,
        metadata: {},
        content: { name: "stdout", text: "z".repeat(1000) },
      }, await createMessageSigner("other-key"));
      const refused = decodeMessage(forged, signer, 100);
      assert.ok(!refused.ok && refused.reason === "bad-signature");
    },
  );

  await t.step("createHeader() makes v5.3 headers with fresh ids", () => {
    const other = createHeader("execute_request", "session-1");
    assert.equal(header.version, "5.3");
    assert.notEqual(header.msg_id, other.msg_id);
  });

  await t.step("stripAnsi() removes colour and OSC sequences", () => {
    const cases: [string, string][] = [
      ["\x1b[0;31mZeroDivisionError\x1b[0m: x", "ZeroDivisionError: x"],
      ["\x1b[1;32m---->\x1b[39m 1", "----> 1"],
      ["\x1b]8;;file:///a.py\x1b\\a.py\x1b]8;;\x1b\\", "a.py"],
      ["plain", "plain"],
    ];
    for (const [input, output] of cases) assert.equal(stripAnsi(input), output);
  });
});
