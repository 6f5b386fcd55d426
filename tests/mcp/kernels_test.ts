import assert from "node:assert/strict";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import { kernelDescendants } from "../_helpers/processes.ts";

Deno.test("ipython_mcp kernel failures and limits", async (t) => {
  await t.step(
    "two concurrent first python_exec calls start one default kernel",
    async () => {
      await using server = await startMcpServer();
      const code = "import os; os.getpid()";
      const [a, b] = await Promise.all([
        server.call("python_exec", { code }),
        server.call("python_exec", { code }),
      ]);
      assert.equal(a.json.success, true);
      assert.equal(a.json.result, b.json.result);
      assert.deepEqual((await server.call("python_status")).json.all_kernels, [
        "_default",
      ]);
      assert.deepEqual(kernelDescendants(server.pid), [
        Number(a.json.result),
      ]);
    },
  );

  await t.step(
    "a dead kernel answers that it died until python_reset starts it again",
    async () => {
      await using server = await startMcpServer();
      const { call } = server;
      await call("python_exec", { code: "before = 1" });
      const died = await call("python_exec", {
        code: "print('bye', flush=True)\nimport os\nos._exit(1)",
      });
      assert.equal(died.result.isError, true);
      assert.equal(died.json.success, false);
      assert.equal(
        died.json.error,
        "Kernel _default died (exit code 1); its state is lost; call python_reset",
      );
      // SPEC §13: _default is never replaced without that answer.
      const again = await call("python_exec", { code: "1 + 1" });
      assert.equal(again.json.success, false);
      assert.equal(again.json.error, died.json.error);
      const status = await call("python_status");
      assert.equal(status.json.active, false);
      assert.deepEqual(status.json.all_kernels, []);
      assert.equal(status.json.note, died.json.error);

      const reset = await call("python_reset", { kernel_id: "_default" });
      assert.equal(reset.json.success, true);
      const after = await call("python_exec", {
        code: "'before' in dir(), 1 + 1",
      });
      assert.equal(after.json.result, "(False, 2)");

      const created = await call("python_reset");
      const id = created.json.kernel_id as string;
      const killed = await call("python_exec", {
        code: "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        kernel_id: id,
      });
      assert.match(killed.json.error as string, /signal SIGKILL/);
      const gone = await call("python_exec", { code: "1", kernel_id: id });
      assert.equal(
        gone.json.error,
        `Kernel ${id} died (signal SIGKILL); its state is lost; call python_reset`,
      );
      const interrupted = await call("python_interrupt", { kernel_id: id });
      assert.equal(interrupted.json.error, gone.json.error);
      const revived = await call("python_reset", { kernel_id: id });
      assert.equal(revived.json.kernel_id, id);
      const runs = await call("python_exec", { code: "3", kernel_id: id });
      assert.equal(runs.json.result, "3");
      const fresh = await call("python_reset");
      assert.equal(fresh.json.success, true);
      const works = await call("python_exec", {
        code: "2 + 2",
        kernel_id: fresh.json.kernel_id as string,
      });
      assert.equal(works.json.result, "4");
    },
  );

  await t.step(
    "a kernel that cannot start is an error answer naming what was tried",
    async () => {
      await using server = await startMcpServer({
        env: { CODER_PYTHON: "/nonexistent/python3" },
      });
      const exec = await server.call("python_exec", { code: "1" });
      assert.equal(exec.result.isError, true);
      assert.equal(exec.json.kernel_id, "_default");
      assert.match(exec.json.error as string, /\/nonexistent\/python3/);
      assert.match(exec.json.error as string, /ipykernel/);
      const check = await server.call("submit_code", { code: "1" });
      assert.equal(check.json.ok, false);
      assert.match(check.json.error as string, /\/nonexistent\/python3/);
      assert.equal((await server.call("python_status")).json.active, false);
    },
  );

  await t.step("CODER_MAX_KERNELS=2 is respected", async () => {
    await using server = await startMcpServer({
      env: { CODER_MAX_KERNELS: "2" },
    });
    const { call } = server;
    const a = await call("python_reset");
    const b = await call("python_reset");
    assert.equal(a.json.success, true);
    assert.equal(b.json.success, true);
    const third = await call("python_reset");
    assert.equal(third.result.isError, true);
    assert.match(third.json.error as string, /limit of 2 live kernels/);
    const implicit = await call("python_exec", { code: "1" });
    assert.equal(implicit.result.isError, true);
    assert.match(implicit.json.error as string, /limit of 2 live kernels/);
    // Restarting an existing kernel stays possible at the limit.
    const restart = await call("python_reset", {
      kernel_id: a.json.kernel_id as string,
    });
    assert.equal(restart.json.success, true);
    assert.equal(kernelDescendants(server.pid).length, 2);
  });
});
