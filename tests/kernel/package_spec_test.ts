import assert from "node:assert/strict";
import {
  InvalidPackageSpecError,
  startKernel,
  validatePackageSpec,
  validatePackageSpecs,
} from "../../src/kernel/mod.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

Deno.test("validatePackageSpec()", async (t) => {
  await t.step("accepts names, extras and version constraints", () => {
    for (
      const spec of [
        "numpy",
        "numpy==2.1.0",
        "pandas>=2,<3",
        "requests[security]",
        "scikit-learn~=1.5",
        "zope.interface",
        "a_b-c.d",
        "pkg[a,b]>=1.0.post1",
        "numpy==2.*",
      ]
    ) {
      assert.equal(validatePackageSpec(spec), spec);
    }
    assert.equal(validatePackageSpec("  numpy  "), "numpy");
  });

  await t.step(
    "refuses options, whitespace, paths, URLs and shell metacharacters",
    () => {
      for (
        const spec of [
          "--index-url=http://x",
          "-e .",
          "-r requirements.txt",
          "numpy; rm -rf /",
          "a b",
          "./local",
          "../pkg",
          "/abs/path",
          "git+https://github.com/x/y",
          "pkg @ https://x/y.whl",
          "numpy`id`",
          "$(whoami)",
          "numpy|cat",
          "numpy&&ls",
          "",
          "   ",
          "numpy==",
          "[extra]",
        ]
      ) {
        assert.throws(
          () => validatePackageSpec(spec),
          InvalidPackageSpecError,
          `expected ${JSON.stringify(spec)} to be refused`,
        );
      }
    },
  );

  await t.step("names the refused spec in the message", () => {
    assert.throws(
      () => validatePackageSpec("numpy; rm -rf /"),
      /Invalid package spec "numpy; rm -rf \/": whitespace is not allowed/,
    );
  });

  await t.step("validatePackageSpecs() sorts and removes duplicates", () => {
    assert.deepEqual(validatePackageSpecs(["b", "a", "b"]), ["a", "b"]);
  });

  await t.step(
    "startKernel() refuses a bad spec before anything is spawned",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const marker = `${dir}/spawned`;
        const fakePython = `${dir}/python`;
        await Deno.writeTextFile(
          fakePython,
          `#!/bin/sh\ntouch ${marker}\nexit 1\n`,
          { mode: 0o755 },
        );
        await assert.rejects(
          startKernel({
            cwd: dir,
            env: testEnv(),
            python: fakePython,
            packages: ["--index-url=http://x"],
          }),
          InvalidPackageSpecError,
        );
        await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});
