import assert from "node:assert/strict";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import { kernelDescendants } from "../_helpers/processes.ts";

/** Polls `probe` every 50 ms until it holds or `ms` pass. */
async function eventually(probe: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

Deno.test("ipython_mcp start-up (SPEC §10)", async (t) => {
  await t.step(
    "with the default pool, a kernel starts before any tool call, and the first python_exec uses it",
    async () => {
      await using server = await startMcpServer({
        env: { CODER_POOL_SIZE: undefined },
      });
      // Nothing but initialize was sent: the kernel is the server's own doing.
      assert.ok(
        await eventually(
          () => kernelDescendants(server.pid).length === 1,
          60_000,
        ),
        "no kernel was started at server start",
      );
      const [early] = kernelDescendants(server.pid);
      // A spare is not a live kernel: python_status still reports none.
      const status = await server.call("python_status");
      assert.deepEqual(status.json.all_kernels, []);
      const exec = await server.call("python_exec", {
        code: "import os; os.getpid()",
      });
      assert.equal(exec.json.result, String(early));
    },
  );

  await t.step(
    "an interpreter that cannot start is reported by the first python_exec",
    async () => {
      await using server = await startMcpServer({
        env: {
          CODER_POOL_SIZE: undefined,
          CODER_PYTHON: "/nonexistent/python3",
        },
      });
      const exec = await server.call("python_exec", { code: "1" });
      assert.equal(exec.result.isError, true);
      assert.match(exec.json.error as string, /\/nonexistent\/python3/);
      assert.deepEqual(kernelDescendants(server.pid), []);
    },
  );
});
