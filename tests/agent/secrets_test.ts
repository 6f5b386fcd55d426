import assert from "node:assert/strict";
import { AgentLog, SecretMasker } from "../../src/agent/mod.ts";

Deno.test("SecretMasker", async (t) => {
  await t.step("masks every occurrence of every secret", () => {
    const masker = new SecretMasker(["sk-one-1234", undefined, null, ""]);
    masker.add("tok-two-5678");
    assert.equal(
      masker.mask("a sk-one-1234 b tok-two-5678 c sk-one-1234"),
      "a [REDACTED] b [REDACTED] c [REDACTED]",
    );
  });

  await t.step("ignores secrets shorter than 4 characters", () => {
    const masker = new SecretMasker(["abc"]);
    assert.equal(masker.size, 0);
    assert.equal(masker.mask("abc"), "abc");
  });

  await t.step("masks a secret inside serialized JSON too", () => {
    const secret = 'sk-"quoted"\\back';
    const masker = new SecretMasker([secret]);
    const json = JSON.stringify({ stdout: `key=${secret}\n` });
    assert.ok(!json.includes(secret), "the JSON form differs from the raw one");
    assert.equal(JSON.parse(masker.mask(json)).stdout, "key=[REDACTED]\n");
  });

  await t.step("masks a secret containing another one whole", () => {
    const masker = new SecretMasker(["sk-abcd", "sk-abcd-longer"]);
    assert.equal(masker.mask("sk-abcd-longer"), "[REDACTED]");
  });

  await t.step("the log shares the masker, including later additions", () => {
    const masker = new SecretMasker();
    const log = new AgentLog(masker);
    log.add({ event: "start", task: "use sk-late-9999" });
    masker.add("sk-late-9999");
    assert.equal(
      log.toJsonLines(),
      '{"event":"start","task":"use [REDACTED]"}\n',
    );
  });
});
