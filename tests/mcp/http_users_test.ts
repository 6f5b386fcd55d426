import assert from "node:assert/strict";
import { join } from "node:path";
import { modernRequest, startHttpServer } from "../_helpers/mcp_http.ts";
import { serverCommand, serverEnv } from "../_helpers/mcp_client.ts";

const ALICE = "alice-token-0123456789abcdef";
const BOB = "bob-token-0123456789abcdefgh";

/** Writes a tokens file with the given mode in a fresh directory. */
async function tokensFile(text: string, mode: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mcp_tokens_" });
  const path = join(dir, "tokens");
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, mode);
  return path;
}

/** Runs `ipython_mcp --http` expecting it to refuse to start. */
async function refusal(
  listen: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number; stderr: string }> {
  const { command, args } = serverCommand(["--http", listen]);
  const cwd = await Deno.makeTempDir({ prefix: "mcp_http_" });
  try {
    const out = await new Deno.Command(command, {
      args,
      cwd,
      env: serverEnv(env),
      clearEnv: true,
      stdin: "null",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("ipython_mcp --http: users of a tokens file are isolated", async (t) => {
  const path = await tokensFile(
    `# user:token\nalice:${ALICE}\nbob:${BOB}\n`,
    0o600,
  );
  try {
    await using server = await startHttpServer({
      env: {
        CODER_MCP_TOKEN: undefined,
        CODER_MCP_TOKENS_FILE: path,
        CODER_MAX_KERNELS_PER_USER: "3",
      },
    });
    const alice2026 = (method: string, params: Record<string, unknown>) =>
      modernRequest(server.url, ALICE, method, params);
    const bob2026 = (method: string, params: Record<string, unknown>) =>
      modernRequest(server.url, BOB, method, params);
    const exec = async (
      as: typeof alice2026,
      args: Record<string, unknown>,
    ) => {
      const { message } = await as("tools/call", {
        name: "python_exec",
        arguments: args,
      });
      return message.result?.structuredContent as Record<string, unknown>;
    };

    await t.step("a wrong token is refused", async () => {
      const { status } = await modernRequest(
        server.url,
        "nobody-0123456789abcdef",
        "tools/list",
      );
      assert.equal(status, 401);
    });

    await t.step("stateless requests use each user's own kernels", async () => {
      assert.equal(
        (await exec(alice2026, { code: "secret = 41" })).success,
        true,
      );
      const bobs = await exec(bob2026, { code: "secret" });
      assert.match(bobs.error as string, /NameError/);
      const alices = await exec(alice2026, { code: "secret + 1" });
      assert.equal(alices.result, "42");
    });

    await t.step(
      "another user's kernel, job and output are not found",
      async () => {
        const reset = await alice2026("tools/call", {
          name: "python_reset",
          arguments: {},
        });
        const kernelId = (reset.message.result?.structuredContent as {
          kernel_id: string;
        }).kernel_id;
        const onTheirs = await exec(bob2026, {
          code: "1",
          kernel_id: kernelId,
        });
        assert.match(onTheirs.error as string, /not found/);
        const job = await exec(alice2026, {
          code: "import time; time.sleep(0.2); 'job'",
          background: true,
        });
        const poll = await bob2026("tools/call", {
          name: "python_job",
          arguments: { job_id: job.job_id },
        });
        const polled = poll.message.result?.structuredContent as {
          error: string;
        };
        assert.match(polled.error, /not found|Unknown job/i);
        const big = await exec(alice2026, {
          code: "print('z' * 150_000)",
          kernel_id: kernelId,
        });
        const saved = /full text: (\S+)\]/.exec(big.stdout as string)?.[1];
        assert.ok(saved, String(big.stdout));
        assert.ok(saved.includes(join("users", "alice")), saved);
        const read = await bob2026("resources/read", {
          uri: new URL(`file://${saved}`).href,
        });
        assert.ok(read.message.error, JSON.stringify(read.message));
        const listed = await bob2026("resources/list", {});
        assert.deepEqual(listed.message.result?.resources, []);
      },
    );

    await t.step("a 2025 session answers only its own user", async () => {
      const alice = await server.connect(ALICE, "2025");
      assert.equal(
        (await alice.call("python_exec", { code: "mine = 1" })).json.success,
        true,
      );
      const sessionId = (alice.transport as { sessionId?: string }).sessionId;
      assert.ok(sessionId);
      const stolen = await fetch(server.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${BOB}`,
          "mcp-session-id": sessionId,
          "mcp-protocol-version": "2025-11-25",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 9,
          method: "tools/call",
          params: { name: "python_exec", arguments: { code: "mine" } },
        }),
      });
      await stolen.body?.cancel();
      assert.equal(stolen.status, 404);
    });

    await t.step("CODER_MAX_KERNELS_PER_USER holds per user", async () => {
      // Alice holds _default, one created kernel and her session's kernel:
      // her share of 3.
      const third = await alice2026("tools/call", {
        name: "python_reset",
        arguments: {},
      });
      assert.equal(third.message.result?.isError, true);
      // Bob still has room of his own.
      const bobs = await bob2026("tools/call", {
        name: "python_reset",
        arguments: {},
      });
      assert.equal(bobs.message.result?.isError, undefined);
    });
  } finally {
    await Deno.remove(join(path, ".."), { recursive: true });
  }
});

Deno.test("ipython_mcp --http refuses a tokens file others can read", async () => {
  const path = await tokensFile(`alice:${ALICE}\n`, 0o644);
  try {
    const { code, stderr } = await refusal("127.0.0.1:0", {
      CODER_MCP_TOKENS_FILE: path,
    });
    assert.equal(code, 2);
    assert.match(stderr, /has mode 0644: others can read the tokens/);
    assert.match(stderr, /chmod 600/);
  } finally {
    await Deno.remove(join(path, ".."), { recursive: true });
  }
});

Deno.test("ipython_mcp --http refuses a short token on a non-loopback host", async () => {
  const { code, stderr } = await refusal("0.0.0.0:0", {
    CODER_MCP_TOKEN: "short-secret",
  });
  assert.equal(code, 2);
  assert.match(stderr, /CODER_MCP_TOKEN has 12 characters/);
});

Deno.test("ipython_mcp --http: twenty abandoned sessions never block a new client", async () => {
  await using server = await startHttpServer({
    env: {
      CODER_MCP_TOKEN: ALICE,
      CODER_MAX_KERNELS: "3",
      // Any session between calls counts as abandoned (default 60 s).
      CODER_MCP_RECLAIM_AFTER: "0",
    },
  });
  const abandoned = [];
  for (let i = 0; i < 20; i++) {
    const client = await server.connect();
    const { json } = await client.call("python_exec", { code: `v = ${i}` });
    assert.equal(json.success, true, `session ${i}: ${JSON.stringify(json)}`);
    abandoned.push(client);
  }
  assert.ok(server.kernels().length <= 3, `${server.kernels().length} kernels`);
  const fresh = await server.connect();
  const { json } = await fresh.call("python_exec", { code: "6 * 7" });
  assert.equal(json.result, "42", JSON.stringify(json));
  // The first session's kernel went for the others: it is told so once,
  // then its next call gets a fresh default kernel.
  const first = abandoned[0]!;
  const told = await first.call("python_exec", { code: "v" });
  assert.equal(told.result.isError, true);
  assert.match(
    told.json.error as string,
    /^Kernel _default was shut down .*its state is lost; call python_reset/,
  );
  const again = await first.call("python_exec", { code: "'v' in dir()" });
  assert.equal(again.json.result, "False", JSON.stringify(again.json));
});
