import assert from "node:assert/strict";
import {
  exitCodeOf,
  listenForStop,
  type StopSignal,
} from "../../src/cli/signals.ts";

Deno.test("listenForStop()", async (t) => {
  await t.step(
    "the first request aborts; a duplicate within the window is ignored",
    () => {
      const forced: StopSignal[] = [];
      using stop = listenForStop({
        onForce: (signal) => forced.push(signal),
        duplicateWindowMs: 60_000,
      });
      assert.equal(stop.signal.aborted, false);
      stop.request("SIGINT");
      assert.equal(stop.signal.aborted, true);
      assert.equal((stop.signal.reason as DOMException).name, "AbortError");
      assert.equal(stop.received, "SIGINT");
      stop.request("SIGINT");
      assert.deepEqual(forced, []);
      stop.request("SIGTERM");
      stop.request("SIGINT");
      assert.deepEqual(forced, ["SIGTERM"], "onForce runs once");
    },
  );

  await t.step("a repeat after the window forces the stop", () => {
    const forced: StopSignal[] = [];
    using stop = listenForStop({
      onForce: (signal) => forced.push(signal),
      duplicateWindowMs: 0,
    });
    stop.request("SIGTERM");
    stop.request("SIGTERM");
    assert.deepEqual(forced, ["SIGTERM"]);
    assert.equal(stop.received, "SIGTERM");
  });

  await t.step("exit codes are 128 + the signal number", () => {
    assert.equal(exitCodeOf("SIGINT"), 130);
    assert.equal(exitCodeOf("SIGTERM"), 143);
  });
});
