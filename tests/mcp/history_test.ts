/**
 * The history python_export keeps is bounded per cell and in total, and
 * marks what it cut (SPEC §13). Measured on the heap (a kept slice of a
 * 40 MB string would keep all 40 MB alive), with a real kernel.
 */

import assert from "node:assert/strict";
import {
  HISTORY_CELL_TEXT_LIMIT,
  HISTORY_KERNEL_LIMIT,
} from "../../src/mcp/notebook.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

const MiB = 1024 * 1024;

Deno.test("NotebookHistory bounds each cell and the whole history, and marks the cuts", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      new URL("../fixtures/history_heap.ts", import.meta.url).pathname,
    ],
    env: testEnv(),
    stderr: "inherit",
  }).output();
  assert.ok(out.success, "fixture failed");
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  // Six cells of 40 MB output keep about 1 MiB each (240 MB unbounded).
  assert.ok(
    r.bigGrowth < 6 * 3 * HISTORY_CELL_TEXT_LIMIT + 8 * MiB,
    `six 40 MB cells grew the heap by ${(r.bigGrowth / MiB).toFixed(1)} MiB`,
  );
  assert.ok(r.cellCut, "a cut cell output is marked in the notebook");
  // 46 cells of at least 1 MB: the oldest outputs gave way.
  assert.ok(r.kept <= HISTORY_KERNEL_LIMIT, `kept ${r.kept} characters`);
  assert.ok(
    r.growth < 2 * HISTORY_KERNEL_LIMIT + 8 * MiB,
    `the heap grew by ${(r.growth / MiB).toFixed(1)} MiB`,
  );
  assert.ok(r.outputCut, "a cell whose output gave way is marked");
  assert.equal(r.cells, 46, "every cell's code is still there");
  assert.equal(r.firstCode, "print(big)");
  assert.equal(r.lastCode, "print(mid)  # 39");
});
