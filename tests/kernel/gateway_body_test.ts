/**
 * Gateway answers are read with a size cap and give clear errors when they
 * are not JSON (SPEC §13: every body read is capped, a gateway's included).
 * A small HTTP server on 127.0.0.1 plays the misbehaving gateway.
 */

import assert from "node:assert/strict";
import { createRemoteBackend, KernelError } from "../../src/kernel/mod.ts";

const MiB = 1024 * 1024;

/** A "gateway" answering every request with `answer()`; counts bytes sent. */
function startFakeGateway(
  answer: (sent: { bytes: number; cancelled: boolean }) => Response,
) {
  const sent = { bytes: 0, cancelled: false };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      await request.body?.cancel();
      return answer(sent);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    sent,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A body of `total` bytes of "[" in 64 KiB chunks, never ending early. */
function brackets(total: number, sent: { bytes: number; cancelled: boolean }) {
  const chunk = new TextEncoder().encode("[".repeat(64 * 1024));
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent.bytes >= total) return controller.close();
      sent.bytes += chunk.length;
      controller.enqueue(chunk);
    },
    cancel() {
      sent.cancelled = true;
    },
  }, { highWaterMark: 0 });
}

async function startError(url: string): Promise<KernelError> {
  try {
    await createRemoteBackend({ url, token: "t" }).start({
      cwd: ".",
      packages: [],
    });
  } catch (error) {
    assert.ok(error instanceof KernelError, String(error));
    return error;
  }
  throw new assert.AssertionError({ message: "expected the start to fail" });
}

Deno.test("gateway answers: capped, and clear errors for what is not JSON", async (t) => {
  await t.step("64 MiB of '[' is cut at 4 MiB with a clear error", async () => {
    await using gateway = startFakeGateway((sent) =>
      new Response(brackets(64 * MiB, sent), {
        status: 201,
        headers: { "content-type": "application/json" },
      })
    );
    const error = await startError(gateway.url);
    assert.match(error.message, /answered with more than 4 MiB/);
    assert.ok(
      gateway.sent.bytes < 16 * MiB,
      `read ${gateway.sent.bytes} bytes`,
    );
  });

  await t.step(
    "a declared length over the cap is not read at all",
    async () => {
      await using gateway = startFakeGateway(() =>
        new Response("{}".padEnd(5 * MiB), { status: 201 })
      );
      const error = await startError(gateway.url);
      assert.match(error.message, /more than 4 MiB/);
    },
  );

  await t.step("an HTML page is named as such", async () => {
    await using gateway = startFakeGateway(() =>
      new Response("<!DOCTYPE html><html><body>Sign in</body></html>", {
        status: 200,
        headers: { "content-type": "text/html; charset=utf-8" },
      })
    );
    const error = await startError(gateway.url);
    assert.equal(
      error.message,
      `Cannot start a "python3" kernel: the gateway at ${gateway.url} answered with something that is not JSON (text/html, starting "<!DOCTYPE html><html><body>Sign in</body></html>"); is the URL a Jupyter server's base URL?`,
    );
  });

  await t.step("garbage and an empty body are clear errors too", async () => {
    for (const body of ["\x00\x01garbage{", ""]) {
      await using gateway = startFakeGateway(() =>
        new Response(body, { status: 201 })
      );
      const error = await startError(gateway.url);
      assert.match(error.message, /not JSON/);
      assert.doesNotMatch(error.message, /Unexpected|JSON\.parse|SyntaxError/);
    }
  });

  await t.step("an error page body is capped too", async () => {
    await using gateway = startFakeGateway((sent) =>
      new Response(brackets(64 * MiB, sent), { status: 500 })
    );
    const error = await startError(gateway.url);
    assert.match(error.message, /answered 500/);
    assert.ok(
      gateway.sent.bytes < 16 * MiB,
      `read ${gateway.sent.bytes} bytes`,
    );
  });
});
