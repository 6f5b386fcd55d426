import assert from "node:assert/strict";
import {
  type ConnectionInfo,
  KernelConnection,
} from "../../src/kernel/connection.ts";
import { SILENT_LOGGER } from "../../src/kernel/messages.ts";
import {
  createHeader,
  createMessageSigner,
  DELIMITER,
  encodeMessage,
} from "../../src/kernel/wire.ts";
import { startZmtpPeer } from "../_helpers/zmtp_peer.ts";

const enc = new TextEncoder();

Deno.test("KernelConnection", async (t) => {
  await t.step(
    "drops an iopub message with a bad signature and counts it",
    async () => {
      await using shell = startZmtpPeer("ROUTER");
      await using control = startZmtpPeer("ROUTER");
      await using iopub = startZmtpPeer("PUB");
      await using hb = startZmtpPeer("REP");
      const key = "test-key";
      const info: ConnectionInfo = {
        ip: "127.0.0.1",
        transport: "tcp",
        shell_port: shell.port,
        iopub_port: iopub.port,
        stdin_port: 0,
        control_port: control.port,
        hb_port: hb.port,
        key,
        signature_scheme: "hmac-sha256",
      };
      const conn = await KernelConnection.open(info, {
        signal: AbortSignal.timeout(5_000),
        logger: SILENT_LOGGER,
      });
      try {
        const shellPeer = await shell.accepted;
        const pub = await iopub.accepted;
        await pub.receive({ signal: AbortSignal.timeout(5_000) }); // subscription
        const seen: unknown[] = [];
        const first = Promise.withResolvers<void>();
        const pending = await conn.send("shell", "execute_request", {
          code: "1",
        }, {
          onIopub: (msg) => {
            seen.push(msg.content);
            first.resolve();
          },
        });
        const request = await shellPeer.receive({
          signal: AbortSignal.timeout(5_000),
        });
        const parent = createHeader("execute_request", conn.session);
        parent.msg_id = pending.msgId;
        const signer = await createMessageSigner(key);
        const forged = encodeMessage({
          header: createHeader("stream", "kernel"),
          parent_header: parent,
          metadata: {},
          content: { name: "stdout", text: "forged" },
        }, await createMessageSigner("attacker-key"));
        const genuine = encodeMessage({
          header: createHeader("stream", "kernel"),
          parent_header: parent,
          metadata: {},
          content: { name: "stdout", text: "genuine" },
        }, signer);
        await pub.send([enc.encode("stream"), ...forged]);
        await pub.send([enc.encode("stream"), ...genuine]);
        // The forged frame went first on the same stream: by the time the
        // genuine one arrives, the forged one was read and dropped.
        await first.promise;
        assert.deepEqual(seen, [{ name: "stdout", text: "genuine" }]);
        assert.equal(conn.badSignatures, 1);
        assert.deepEqual(request[0], DELIMITER);
        pending.release();
      } finally {
        conn.close();
      }
    },
  );
});
