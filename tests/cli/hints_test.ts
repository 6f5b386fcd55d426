/**
 * The CLI words error hints with its flags and environment variables
 * (issue 22): one table from the kernel layer's option names, rendered for
 * every hint kind, and passed down so the errors of the backends it builds
 * name what to change at the command line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createBackend } from "../../src/cli/backend.ts";
import { readSettings } from "../../src/cli/env.ts";
import { CLI_OPTION_NAMES, renderCliHint } from "../../src/cli/hints.ts";
import {
  createSandboxBackend,
  type ErrorHint,
  KernelLimitError,
  KernelStartError,
} from "../../src/kernel/mod.ts";

Deno.test("renderCliHint() renders each hint kind with flags and variables", () => {
  const cases: [ErrorHint, string][] = [
    [
      { option: "sandbox", advice: "disable" },
      "run without --sandbox (and CODER_SANDBOX unset)",
    ],
    [{ option: "token", advice: "set" }, "set CODER_GATEWAY_TOKEN"],
    [{ option: "kernelName", advice: "set" }, "set CODER_GATEWAY_KERNEL"],
    [{ option: "python", advice: "set" }, "set CODER_PYTHON"],
    [
      { option: "authScheme", advice: "check" },
      "check CODER_GATEWAY_AUTH_SCHEME",
    ],
    [
      { option: "memoryLimit", advice: "set", value: null },
      "set --memory-limit none (CODER_MEMORY_LIMIT=none)",
    ],
    [
      { option: "memoryLimit", advice: "set", value: "2G" },
      "set --memory-limit 2G (CODER_MEMORY_LIMIT=2G)",
    ],
    [
      { option: "memoryLimit", advice: "set" },
      "set --memory-limit or CODER_MEMORY_LIMIT",
    ],
    [
      { option: "allowHosts", advice: "add", value: "pypi.org" },
      "restart coder / ipython_mcp with --allow-host pypi.org (or CODER_SANDBOX_ALLOW_HOSTS=pypi.org)",
    ],
    [{ option: "maxKernels", advice: "raise" }, "raise CODER_MAX_KERNELS"],
    [
      { option: "maxKernels", advice: "set", value: 20 },
      "set CODER_MAX_KERNELS=20",
    ],
    [{ option: "maxKernels", advice: "disable" }, "unset CODER_MAX_KERNELS"],
    [
      { option: "python", advice: "add", value: "/usr/bin/python3" },
      "restart coder / ipython_mcp with /usr/bin/python3 added to CODER_PYTHON",
    ],
    [
      { option: "memoryLimit", advice: "raise" },
      "raise --memory-limit (CODER_MEMORY_LIMIT)",
    ],
  ];
  for (const [hint, text] of cases) assert.equal(renderCliHint(hint), text);
  // Every variable the table names is one coder reads.
  for (const { env } of Object.values(CLI_OPTION_NAMES)) {
    assert.match(env, /^CODER_[A-Z_]+$/);
  }
});

Deno.test("the errors of backends the CLI builds name its flags and variables", async (t) => {
  const settings = readSettings({ HOME: "/home/u" });

  await t.step(
    "a gateway URL with credentials names CODER_GATEWAY_TOKEN",
    () => {
      assert.throws(
        () =>
          createBackend(
            { gateway: "http://me:s3cr3t@127.0.0.1:1/" },
            settings,
            { env: {} },
          ),
        (error: Error) =>
          error.name === "BackendChoiceError" &&
          /; set CODER_GATEWAY_TOKEN instead$/.test(error.message) &&
          !error.message.includes("s3cr3t"),
      );
    },
  );

  await t.step(
    "a sandbox without bubblewrap says: run without --sandbox",
    async () => {
      const backend = createBackend({ sandbox: true }, settings, {
        env: { PATH: "/nonexistent" },
      });
      const error = await backend.start({ cwd: "/nonexistent", packages: [] })
        .then(() => assert.fail("started"), (e: KernelStartError) => e);
      assert.ok(error instanceof KernelStartError);
      assert.match(
        error.message,
        /needs bubblewrap .* or run without --sandbox/,
      );
      assert.deepEqual(error.hints, [{ option: "sandbox", advice: "disable" }]);
    },
  );

  await t.step("the sandbox on macOS: Run without --sandbox", async () => {
    const backend = createSandboxBackend({
      env: {},
      memoryLimit: null,
      os: "darwin",
      renderHint: renderCliHint,
    });
    await assert.rejects(
      () => backend.preflight(),
      /Linux only\. Run without --sandbox \(and CODER_SANDBOX unset\), or run in a Linux VM or container$/,
    );
  });

  await t.step("the kernel limit names CODER_MAX_KERNELS", () => {
    assert.match(
      new KernelLimitError(2, renderCliHint).message,
      /limit of 2 live kernels is reached; shut one down first or raise CODER_MAX_KERNELS$/,
    );
  });
});
