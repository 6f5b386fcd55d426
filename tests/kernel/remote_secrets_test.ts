/**
 * SPEC §12: a gateway error that echoes the bare token never reaches an
 * error message (the answer and the log are built from it). The raw
 * response, read without the client, shows the echo the client hides.
 */
import assert from "node:assert/strict";
import { createRemoteBackend, KernelStartError } from "../../src/kernel/mod.ts";

const TOKEN = "gw-bare-token-5e1c9a7d3b2f4068";

for (const status of [500, 400, 403]) {
  Deno.test(`remote backend: a ${status} echoing the bare token is reported without it`, async () => {
    await using fake = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        Response.json(
          {
            message: `resource limit: token ${TOKEN} rejected for ${
              TOKEN.slice(0, 8)
            }; raw=${TOKEN}`,
          },
          { status },
        ),
    );
    const url = `http://127.0.0.1:${fake.addr.port}/`;
    // Unprotected: the server does echo it.
    const raw = await (await fetch(`${url}api/kernels`, { method: "POST" }))
      .text();
    assert.match(raw, new RegExp(TOKEN));
    const error = await createRemoteBackend({ url, token: TOKEN })
      .start({ cwd: ".", packages: [] })
      .then(() => null, (e: unknown) => e);
    assert.ok(error instanceof KernelStartError, String(error));
    assert.ok(!error.message.includes(TOKEN), error.message);
    assert.doesNotMatch(JSON.stringify(error), new RegExp(TOKEN));
  });
}
