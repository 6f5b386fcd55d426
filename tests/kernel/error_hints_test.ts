/**
 * Errors carry structured hints (issue 22): used as a library, from the
 * `./kernel` entry point, an error says which option to change as data and
 * in option names, never a command-line flag or environment variable.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  createRemoteBackend,
  createSandboxBackend,
  describeHint,
  type ErrorHint,
  GatewayError,
  KernelError,
  KernelStartError,
  resolvePython,
} from "../../src/kernel/public.ts";

/** What no library message may contain: our flags and variables. */
const CLI_NAMES = /CODER_|--sandbox|--allow-host|--memory-limit|--gateway/;

async function failure<E extends Error>(
  run: () => Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await run().then(
    () => assert.fail("it did not fail"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof type, String(error));
  return error;
}

Deno.test("describeHint() words each advice with the option's name", () => {
  const cases: [ErrorHint, string][] = [
    [{ option: "token", advice: "set" }, "pass a valid token"],
    [
      { option: "memoryLimit", advice: "set", value: null },
      "pass memoryLimit: null",
    ],
    [{ option: "authScheme", advice: "check" }, "check authScheme"],
    [
      { option: "allowHosts", advice: "add", value: "pypi.org" },
      'add "pypi.org" to allowHosts',
    ],
    [{ option: "maxKernels", advice: "raise" }, "raise maxKernels"],
    [
      { option: "sandbox", advice: "disable" },
      "use an unsandboxed backend (createLocalBackend)",
    ],
  ];
  for (const [hint, text] of cases) assert.equal(describeHint(hint), text);
});

Deno.test("KernelError: hints default to those of a kernel-error cause", () => {
  const hints: ErrorHint[] = [{ option: "token", advice: "set" }];
  const inner = new GatewayError("refused", 403, { hints });
  assert.deepEqual(
    new KernelStartError("outer", {}, { cause: inner }).hints,
    hints,
  );
  assert.deepEqual(new KernelError("plain").hints, []);
  assert.deepEqual(
    new KernelError("own", { cause: inner, hints: [] }).hints,
    [],
  );
});

Deno.test("library errors carry the hint and name no flag or variable", async (t) => {
  await t.step(
    "a sandbox without bubblewrap: use an unsandboxed backend",
    async () => {
      const backend = createSandboxBackend({
        env: { PATH: "/nonexistent" },
        memoryLimit: null,
      });
      const error = await failure(() => backend.preflight(), KernelStartError);
      assert.match(
        error.message,
        /needs bubblewrap .* or use an unsandboxed backend \(createLocalBackend\)$/,
      );
      assert.deepEqual(error.hints, [{ option: "sandbox", advice: "disable" }]);
      assert.doesNotMatch(error.message, CLI_NAMES);
    },
  );

  await t.step("no interpreter with ipykernel: pass python", async () => {
    const error = await failure(
      () =>
        resolvePython({
          env: { PATH: "/nonexistent" },
          python: "/nonexistent/python3",
        }),
      KernelStartError,
    );
    assert.match(
      error.message,
      /or pass a valid python: an interpreter that has ipykernel$/,
    );
    assert.deepEqual(error.hints, [{ option: "python", advice: "set" }]);
    assert.doesNotMatch(error.message, CLI_NAMES);
  });

  await t.step("a gateway URL with credentials: pass the token instead", () => {
    const error = (() => {
      try {
        createRemoteBackend({ url: "http://me:s3cr3t@127.0.0.1:1/" });
      } catch (error) {
        return error;
      }
      assert.fail("the URL was accepted");
    })();
    assert.ok(error instanceof GatewayError);
    assert.match(error.message, /; pass a valid token instead$/);
    assert.deepEqual(error.hints, [{ option: "token", advice: "set" }]);
    assert.doesNotMatch(error.message, CLI_NAMES);
    assert.ok(!error.message.includes("s3cr3t"));
  });
});
