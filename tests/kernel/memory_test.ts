import assert from "node:assert/strict";
import { testEnv } from "../_helpers/kernel_env.ts";

Deno.test("Kernel.execute() does not keep finished executions' output alive", async () => {
  // 20 executions of 2 MB each: kept alive, they would add ~40 MB of heap.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      new URL("../fixtures/kernel_heap.ts", import.meta.url).pathname,
    ],
    env: testEnv(),
    stderr: "inherit",
  }).output();
  assert.ok(out.success, "fixture failed");
  const { growth } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.ok(
    growth < 10 * 1024 * 1024,
    `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MB`,
  );
});
