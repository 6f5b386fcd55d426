import assert from "node:assert/strict";
import { ProgressReporter } from "../../src/mcp/mod.ts";
import { SILENT_LOGGER } from "../../src/kernel/mod.ts";
import { waitUntil } from "../_helpers/wait.ts";

interface Sent {
  progressToken: string | number;
  progress: number;
  message?: string;
}

function recorder() {
  const sent: Sent[] = [];
  const send = (params: Sent) => {
    sent.push(params);
    return Promise.resolve();
  };
  return { sent, send };
}

Deno.test("ProgressReporter", async (t) => {
  await t.step(
    "batches chunks within the interval into one notification",
    async () => {
      const { sent, send } = recorder();
      const reporter = new ProgressReporter(send, "tok", {
        intervalMs: 60_000,
        heartbeatMs: 60_000,
        logger: SILENT_LOGGER,
      });
      reporter.push("a\n");
      reporter.push("b\n");
      assert.deepEqual(sent, []);
      await reporter.close();
      assert.deepEqual(sent, [{
        progressToken: "tok",
        progress: 1,
        message: "a\nb\n",
      }]);
      reporter.push("late");
      await reporter.close();
      assert.equal(sent.length, 1);
    },
  );

  await t.step(
    "sends after the interval with increasing progress",
    async () => {
      const { sent, send } = recorder();
      const reporter = new ProgressReporter(send, 7, {
        intervalMs: 10,
        heartbeatMs: 60_000,
        logger: SILENT_LOGGER,
      });
      reporter.push("one");
      await waitUntil("the first notification", () => sent.length === 1);
      reporter.push("two");
      await waitUntil("the second notification", () => sent.length === 2);
      await reporter.close();
      assert.deepEqual(sent, [
        { progressToken: 7, progress: 1, message: "one" },
        { progressToken: 7, progress: 2, message: "two" },
      ]);
    },
  );

  await t.step(
    "caps a notification's text and says how much was left out",
    async () => {
      const { sent, send } = recorder();
      const reporter = new ProgressReporter(send, "t", {
        intervalMs: 60_000,
        heartbeatMs: 60_000,
        logger: SILENT_LOGGER,
      });
      reporter.push("x".repeat(20_000));
      await reporter.close();
      assert.equal(sent.length, 1);
      assert.ok(sent[0]!.message!.startsWith("x".repeat(16 * 1024) + "\n["));
      assert.match(sent[0]!.message!, /\[3616 more characters of output\]$/);
    },
  );

  await t.step(
    "keeps a silent call alive with message-less progress",
    async () => {
      const { sent, send } = recorder();
      const reporter = new ProgressReporter(send, "t", {
        intervalMs: 10,
        heartbeatMs: 20,
        logger: SILENT_LOGGER,
      });
      await waitUntil("two heartbeats", () => sent.length >= 2);
      await reporter.close();
      assert.ok(sent.every((s) => s.message === undefined));
      assert.deepEqual(sent.map((s) => s.progress), sent.map((_, i) => i + 1));
    },
  );

  await t.step("sends nothing once the request is cancelled", async () => {
    const { sent, send } = recorder();
    const controller = new AbortController();
    const reporter = new ProgressReporter(send, "t", {
      intervalMs: 60_000,
      heartbeatMs: 60_000,
      logger: SILENT_LOGGER,
      signal: controller.signal,
    });
    reporter.push("x");
    controller.abort();
    await reporter.close();
    assert.deepEqual(sent, []);
  });

  await t.step("a failing send does not break the call", async () => {
    const reporter = new ProgressReporter(
      () => Promise.reject(new Error("closed")),
      "t",
      { intervalMs: 60_000, heartbeatMs: 60_000, logger: SILENT_LOGGER },
    );
    reporter.push("x");
    await reporter.close();
  });
});
