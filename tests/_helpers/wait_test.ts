import assert from "node:assert/strict";
import { join } from "node:path";
import { readIfExists, WaitTimeoutError, waitUntil } from "./wait.ts";

Deno.test("waitUntil()", async (t) => {
  await t.step("returns the first truthy value a sync probe sees", async () => {
    let calls = 0;
    const value = await waitUntil(
      "the third call",
      () => ++calls >= 3 && calls,
    );
    assert.equal(value, 3);
    assert.equal(calls, 3);
  });

  await t.step("awaits an async probe and applies `until`", async () => {
    const seen: number[] = [];
    const value = await waitUntil("two entries", async () => {
      await Promise.resolve();
      seen.push(seen.length);
      return [...seen];
    }, { until: (list) => list.length === 2 });
    assert.deepEqual(value, [0, 1]);
  });

  await t.step(
    "names what was awaited and the last value when the guard fires",
    async () => {
      let n = 0;
      const error = await waitUntil("the spare kernel", () => ({ n: ++n }), {
        until: () => false,
        limitMs: 0,
      }).then(() => null, (e) => e);
      assert.ok(error instanceof WaitTimeoutError);
      assert.match(
        error.message,
        /^Gave up waiting for the spare kernel after 0 ms: last observed \{ n: 1 \}$/,
      );
      assert.deepEqual(error.last, { n: 1 });
    },
  );

  await t.step("a probe's exception ends the wait", async () => {
    await assert.rejects(
      waitUntil("anything", () => {
        throw new RangeError("probe broke");
      }),
      /probe broke/,
    );
  });

  await t.step("rejects with the signal's reason on abort", async () => {
    const stop = new AbortController();
    const waiting = waitUntil("never", () => false, { signal: stop.signal });
    stop.abort(new Error("stopped by the test"));
    await assert.rejects(waiting, /stopped by the test/);
    await assert.rejects(
      waitUntil("never", () => true, { signal: stop.signal }),
      /stopped by the test/,
    );
  });

  await t.step("waits for a file another task writes", async () => {
    const dir = await Deno.makeTempDir({ prefix: "wait_test_" });
    try {
      const path = join(dir, "flag");
      assert.equal(await readIfExists(path), undefined);
      const waiting = waitUntil("the flag file", () => readIfExists(path));
      await Deno.writeTextFile(path, "written");
      assert.equal(await waiting, "written");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
