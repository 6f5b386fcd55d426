import assert from "node:assert/strict";
import {
  deadline,
  delay,
  Limiter,
  settleWithin,
  untilAborted,
} from "../../src/base/mod.ts";

Deno.test("floor-0 waits", async (t) => {
  await t.step(
    "delay() resolves, and rejects with the reason on abort",
    async () => {
      await delay(1);
      const stop = new AbortController();
      const waiting = delay(60_000, { signal: stop.signal });
      stop.abort(new Error("stopped"));
      await assert.rejects(waiting, /stopped/);
      await assert.rejects(delay(1, { signal: stop.signal }), /stopped/);
    },
  );

  await t.step(
    "settleWithin() tells whether the promise settled in time",
    async () => {
      assert.equal(await settleWithin(Promise.resolve(), 60_000), true);
      assert.equal(
        await settleWithin(Promise.reject(new Error("x")), 60_000),
        true,
      );
      assert.equal(await settleWithin(new Promise(() => {}), 1), false);
    },
  );

  await t.step(
    "untilAborted() resolves with its label once a signal aborts",
    async () => {
      const stop = new AbortController();
      const waiting = untilAborted(
        [new AbortController().signal, stop.signal],
        "stopped",
      );
      stop.abort();
      assert.equal(await waiting.promise, "stopped");
      waiting.dispose();
    },
  );

  await t.step(
    "deadline() aborts with a TimeoutError unless cleared",
    async () => {
      const timer = deadline(1);
      const why = await new Promise<unknown>((resolve) =>
        timer.signal.addEventListener(
          "abort",
          () => resolve(timer.signal.reason),
        )
      );
      assert.equal((why as DOMException).name, "TimeoutError");
      const cleared = deadline(1);
      cleared.clear();
      await delay(5);
      assert.equal(cleared.signal.aborted, false);
    },
  );

  await t.step(
    "Limiter runs at most its limit at once, the rest in order",
    async () => {
      const limiter = new Limiter(2);
      let running = 0;
      let most = 0;
      const order: number[] = [];
      const gates = [0, 1, 2, 3].map(() => Promise.withResolvers<void>());
      const tasks = gates.map((gate, i) =>
        limiter.run(async () => {
          running++;
          most = Math.max(most, running);
          order.push(i);
          await gate.promise;
          running--;
        })
      );
      for (const gate of gates) gate.resolve();
      await Promise.all(tasks);
      assert.equal(most, 2);
      assert.deepEqual(order, [0, 1, 2, 3]);
    },
  );
});
