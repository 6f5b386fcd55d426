import assert from "node:assert/strict";
import { join } from "node:path";
import { modernRequest, startHttpServer } from "../_helpers/mcp_http.ts";
import { startMcpServer } from "../_helpers/mcp_client.ts";

const ALICE = "alice-token-0123456789abcdef";
const BOB = "bob-token-0123456789abcdefgh";

type Json = Record<string, unknown>;

/** One stateless (2026) tool call; the answer's JSON object. */
async function call2026(
  url: URL,
  token: string,
  name: string,
  args: Json = {},
): Promise<Json> {
  const { message } = await modernRequest(url, token, "tools/call", {
    name,
    arguments: args,
  });
  assert.ok(message.result, JSON.stringify(message));
  return message.result.structuredContent as Json;
}

Deno.test("a kernel-limit refusal names the limit that applied and kernels the caller can reuse", async (t) => {
  await t.step("stdio: the server's limit (CODER_MAX_KERNELS)", async () => {
    await using server = await startMcpServer({
      env: { CODER_MAX_KERNELS: "1" },
    });
    assert.equal(
      (await server.call("python_exec", { code: "1" })).json.success,
      true,
    );
    const { json } = await server.call("python_reset", {});
    const error = json.error as string;
    assert.match(
      error,
      /^Cannot start another kernel: the server's limit of 1 live kernels is reached \(CODER_MAX_KERNELS\)\./,
    );
    // Advice this caller can follow: its own kernel, by id.
    assert.match(
      error,
      /Reuse one of your kernels instead: pass kernel_id "_default"/,
    );
    assert.doesNotMatch(error, /PER_USER|try again later/i);
  });

  const dir = await Deno.makeTempDir({ prefix: "mcp_tokens_" });
  try {
    const tokens = join(dir, "tokens");
    await Deno.writeTextFile(tokens, `alice:${ALICE}\nbob:${BOB}\n`);
    await Deno.chmod(tokens, 0o600);
    await using server = await startHttpServer({
      env: {
        CODER_MCP_TOKEN: undefined,
        CODER_MCP_TOKENS_FILE: tokens,
        CODER_MAX_KERNELS: "3",
        CODER_MAX_KERNELS_PER_USER: "2",
      },
    });
    const { url } = server;

    await t.step(
      "HTTP: the user's share (CODER_MAX_KERNELS_PER_USER)",
      async () => {
        assert.equal(
          (await call2026(url, ALICE, "python_exec", { code: "a = 1" }))
            .success,
          true,
        );
        const own = (await call2026(url, ALICE, "python_reset"))
          .kernel_id as string;
        assert.match(own, /^[0-9a-f]{8}$/);
        const refused = await call2026(url, ALICE, "python_reset");
        assert.equal(refused.success, false);
        const error = refused.error as string;
        assert.match(
          error,
          /^Cannot start another kernel: user alice's limit of 2 live kernels per user is reached \(CODER_MAX_KERNELS_PER_USER\)/,
        );
        assert.doesNotMatch(error, /\(CODER_MAX_KERNELS\)/);
        assert.match(error, new RegExp(`kernel_id "_default", "${own}"`));
        assert.match(error, /idle for 60 s/);
      },
    );

    await t.step("HTTP: the server's limit (CODER_MAX_KERNELS)", async () => {
      // Bob's first kernel takes the server's last slot.
      assert.equal(
        (await call2026(url, BOB, "python_exec", { code: "b = 1" })).success,
        true,
      );
      const refused = await call2026(url, BOB, "python_reset");
      assert.equal(refused.success, false);
      const error = refused.error as string;
      assert.match(
        error,
        /^Cannot start another kernel: the server's limit of 3 live kernels is reached \(CODER_MAX_KERNELS\); every kernel is running code or belongs to a client that made a call in the last 60 s\./,
      );
      assert.doesNotMatch(error, /PER_USER/);
      // Never another user's kernel: only Bob's own.
      assert.match(error, /kernel_id "_default" to python_exec/);
      assert.match(error, /Or try again later/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ipython_mcp --http: kernels of stateless (2026) requests are reclaimed like abandoned sessions'", async (t) => {
  await using server = await startHttpServer({
    env: {
      CODER_MCP_TOKEN: ALICE,
      CODER_MAX_KERNELS: "2",
      // Every kernel between calls counts as unused (default 60 s).
      CODER_MCP_RECLAIM_AFTER: "0",
    },
  });
  const { url } = server;
  let kept = "";

  await t.step(
    "the least recently used stateless kernel goes first; its owner is told",
    async () => {
      assert.equal(
        (await call2026(url, ALICE, "python_exec", { code: "v = 1" })).success,
        true,
      );
      kept = (await call2026(url, ALICE, "python_reset")).kernel_id as string;
      assert.equal(
        (await call2026(url, ALICE, "python_exec", {
          code: "w = 2",
          kernel_id: kept,
        })).success,
        true,
      );
      // Both slots are held by stateless kernels; a 2025 client still starts one.
      const client = await server.connect();
      const { json } = await client.call("python_exec", { code: "6 * 7" });
      assert.equal(json.result, "42", JSON.stringify(json));
      // _default was used least recently: it went, and says so once.
      const told = await call2026(url, ALICE, "python_exec", { code: "v" });
      assert.equal(told.success, false);
      assert.match(
        told.error as string,
        /^Kernel _default was shut down while it was idle, because the server's kernel limit was reached; its state is lost; call python_reset/,
      );
      // The other stateless kernel kept its state.
      const still = await call2026(url, ALICE, "python_exec", {
        code: "w",
        kernel_id: kept,
      });
      assert.equal(still.result, "2", JSON.stringify(still));
    },
  );

  await t.step(
    "a kernel running a job is never reclaimed; the refusal says what to do",
    async () => {
      const started = await call2026(url, ALICE, "python_exec", {
        code: "import time\nwhile True: time.sleep(0.05)",
        kernel_id: kept,
        background: true,
      });
      assert.equal(started.status, "running", JSON.stringify(started));
      // The fresh _default takes the 2025 session's slot (that client made no call since).
      const fresh = await call2026(url, ALICE, "python_exec", {
        code: "'v' in dir()",
      });
      assert.equal(fresh.result, "False", JSON.stringify(fresh));
      const second = await call2026(url, ALICE, "python_exec", {
        code: "import time\nwhile True: time.sleep(0.05)",
        background: true,
      });
      assert.equal(second.status, "running", JSON.stringify(second));
      // Both kernels run jobs: nothing can be reclaimed.
      const refused = await call2026(url, ALICE, "python_reset");
      assert.equal(refused.success, false);
      const error = refused.error as string;
      assert.match(
        error,
        /the server's limit of 2 live kernels is reached \(CODER_MAX_KERNELS\); every kernel is running code or belongs to a client/,
      );
      // Neither kernel can be reused while its job runs: the advice names
      // the jobs (wait, or interrupt and reuse), not the busy kernels.
      assert.doesNotMatch(error, /Reuse one of your kernels/);
      assert.match(
        error,
        /Each of your kernels is running a background job \("\S+", "\S+"\): wait for one with python_job\(job_id=\.\.\.\), or stop it with python_interrupt/,
      );
      assert.ok(
        error.includes(`"${started.job_id}"`) &&
          error.includes(`"${second.job_id}"`),
        error,
      );
      // The job survived the attempt.
      const job = await call2026(url, ALICE, "python_job", {
        job_id: started.job_id,
        wait: 0,
      });
      assert.equal(job.status, "running", JSON.stringify(job));
      for (const id of ["_default", kept]) {
        assert.equal(
          (await call2026(url, ALICE, "python_interrupt", { kernel_id: id }))
            .success,
          true,
        );
      }
      const ended = await call2026(url, ALICE, "python_job", {
        job_id: started.job_id,
        wait: 30,
      });
      assert.equal(ended.status, "interrupted", JSON.stringify(ended));
    },
  );
});
