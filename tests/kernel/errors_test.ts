import assert from "node:assert/strict";
import { describeExit } from "../../src/kernel/mod.ts";

Deno.test("describeExit() names a signal, never a raw code above 128", () => {
  assert.equal(describeExit({ code: 1, signal: null }), "exit code 1");
  assert.equal(
    describeExit({ code: null, signal: "SIGKILL" }),
    "signal SIGKILL",
  );
  assert.equal(describeExit({ code: 137, signal: null }), "signal SIGKILL");
  assert.equal(describeExit({ code: 139, signal: null }), "signal SIGSEGV");
  assert.equal(describeExit({ code: 130, signal: null }), "signal SIGINT");
  assert.equal(describeExit({ code: 128, signal: null }), "exit code 128");
  assert.equal(
    describeExit({ code: null, signal: null }),
    "unknown exit status",
  );
});
