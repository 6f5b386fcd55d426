import assert from "node:assert/strict";
import { join } from "node:path";
import {
  KernelRegistry,
  KernelStartError,
  resolvePython,
  startKernel,
} from "../../src/kernel/mod.ts";
import { testEnv, testLaunch } from "../_helpers/kernel_env.ts";
import { buildWheel } from "../_helpers/wheel.ts";
import { kernelPidsOf, pidAlive, waitGone } from "../_helpers/processes.ts";

Deno.test("kernel launcher", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step(
      "resolvePython() finds an interpreter with ipykernel",
      async () => {
        const python = await resolvePython(testLaunch());
        const out = await new Deno.Command(python, {
          args: ["-c", "import ipykernel"],
        }).output();
        assert.ok(out.success);
      },
    );

    await t.step(
      "a wrong interpreter path gives one clear error naming it",
      async () => {
        const error = await startKernel({
          ...testLaunch({ python: "/no/such/python3" }),
          cwd: dir,
        })
          .then(() => null, (e) => e);
        assert.ok(error instanceof KernelStartError, String(error));
        assert.match(error.message, /\/no\/such\/python3/);
        assert.match(error.message, /ipykernel/);
        assert.deepEqual(error.tried.length, 1);
      },
    );

    await t.step(
      "an interpreter without ipykernel gives one clear error naming it",
      async () => {
        const fake = join(dir, "python-without-ipykernel");
        await Deno.writeTextFile(
          fake,
          "#!/bin/sh\necho 'ModuleNotFoundError: No module named ipykernel' >&2\nexit 1\n",
          { mode: 0o755 },
        );
        const error = await startKernel({
          ...testLaunch({ python: fake }),
          cwd: dir,
        })
          .then(() => null, (e) => e);
        assert.ok(error instanceof KernelStartError, String(error));
        assert.match(error.message, /python-without-ipykernel/);
        assert.match(error.message, /No module named ipykernel/);
        assert.match(error.message, /pip install ipykernel|python3-ipykernel/);
      },
    );

    await t.step("no interpreter anywhere names everything tried", async () => {
      const error = await resolvePython({ env: { PATH: join(dir, "empty") } })
        .then(() => null, (e) => e);
      // The system locations may hold a Python with ipykernel (they do here);
      // then resolution succeeds, which is also correct.
      if (error !== null) {
        assert.ok(error instanceof KernelStartError);
        assert.match(error.message, /Tried:/);
      }
    });

    await t.step(
      "a kernel that dies during start-up reports its stderr",
      async () => {
        const crashing = join(dir, "crashing-python");
        await Deno.writeTextFile(
          crashing,
          `#!/bin/sh\nfor a in "$@"; do if [ "$a" = "-f" ]; then echo 'boom: kernel crashed at start' >&2; exit 3; fi; done\nexec ${await resolvePython(
            testLaunch(),
          )} "$@"\n`,
          { mode: 0o755 },
        );
        const error = await startKernel({
          ...testLaunch({ python: crashing }),
          cwd: dir,
        })
          .then(() => null, (e) => e);
        assert.ok(error instanceof KernelStartError, String(error));
        assert.match(error.message, /exited during start-up \(exit code 3\)/);
        assert.match(error.stderrTail, /boom: kernel crashed at start/);
      },
    );

    await t.step(
      "kernels exit when their owner is SIGKILLed",
      async () => {
        const owner = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-all",
            new URL("../fixtures/kernel_owner.ts", import.meta.url).pathname,
          ],
          cwd: dir,
          env: testEnv(),
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const reader = owner.stdout.pipeThrough(new TextDecoderStream())
          .getReader();
        let line = "";
        while (!line.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          line += value;
        }
        const { pid } = JSON.parse(line);
        assert.ok(pidAlive(pid));
        owner.kill("SIGKILL");
        await owner.status;
        reader.releaseLock();
        await owner.stdout.cancel().catch(() => {});
        assert.deepEqual(
          await waitGone([pid]),
          [],
          "kernel outlived its owner",
        );
      },
    );

    await t.step(
      "a package is installed into a managed venv that a second kernel reuses",
      async () => {
        const python = await resolvePython(testLaunch());
        const wheels = join(dir, "wheels");
        await Deno.mkdir(wheels);
        await buildWheel(wheels, python);
        const cacheDir = join(dir, "cache");
        const launch = {
          env: { ...testEnv(), PIP_NO_INDEX: "1", PIP_FIND_LINKS: wheels },
          python,
          cacheDir,
        };
        const registry = new KernelRegistry({ cwd: dir, launch });
        try {
          const first = await registry.create({
            packages: ["coder-demo-pkg==1.2.3"],
          });
          const result = await first.kernel.execute(
            "import coder_demo_pkg\ncoder_demo_pkg.ANSWER",
          );
          assert.equal(result.result, "42");
          assert.match(first.kernel.python, /venvs/);
          const versions = await first.kernel.packageVersions([
            "coder-demo-pkg",
          ]);
          assert.equal(versions["coder-demo-pkg"], "1.2.3");
          const venvs =
            (await Array.fromAsync(Deno.readDir(join(cacheDir, "venvs")))).map((
              e,
            ) => e.name);
          assert.equal(venvs.length, 1);
          const marker = join(cacheDir, "venvs", venvs[0]!, ".coder-complete");
          const before = (await Deno.stat(marker)).mtime;
          // Make reinstalling impossible: a reuse must not need the wheel.
          await Deno.remove(wheels, { recursive: true });
          const second = await registry.create({
            packages: ["coder-demo-pkg==1.2.3"],
          });
          assert.equal(
            (await second.kernel.execute(
              "import coder_demo_pkg; coder_demo_pkg.ANSWER",
            )).result,
            "42",
          );
          assert.equal(second.kernel.python, first.kernel.python);
          assert.deepEqual((await Deno.stat(marker)).mtime, before);
          assert.equal(
            (await Array.fromAsync(Deno.readDir(join(cacheDir, "venvs"))))
              .length,
            1,
          );
        } finally {
          await registry.shutdownAll();
        }
      },
    );

    await t.step(
      "with uv on PATH, packages go to `uv run --no-project --with`",
      async () => {
        // A stand-in uv records its arguments, then runs the kernel with the
        // real interpreter (uv itself cannot be installed here).
        const python = await resolvePython(testLaunch());
        const bin = join(dir, "fake-uv-bin");
        await Deno.mkdir(bin);
        const argsFile = join(dir, "uv-args");
        await Deno.writeTextFile(
          join(bin, "uv"),
          `#!/bin/sh\necho "$@" > ${argsFile}\nwhile [ "$1" != "python" ]; do shift; done\nshift\nexec ${python} "$@"\n`,
          { mode: 0o755 },
        );
        const env = testEnv();
        const kernel = await startKernel({
          cwd: dir,
          env: { ...env, PATH: `${bin}:${env.PATH}` },
          packages: ["coder-demo-pkg==1.2.3"],
        });
        try {
          assert.match(
            kernel.launchedWith,
            /^uv run --with coder-demo-pkg==1\.2\.3$/,
          );
          assert.match(
            await Deno.readTextFile(argsFile),
            /^run --no-project --with ipykernel --with coder-demo-pkg==1\.2\.3 python -c [^]*runpy\.run_module\("ipykernel_launcher"[^]* -f \S+kernel\.json\n$/,
          );
          assert.equal((await kernel.execute("1 + 1")).result, "2");
        } finally {
          await kernel.shutdown();
        }
        assert.equal(pidAlive(kernel.pid), false);
      },
    );

    await t.step(
      "a package pip cannot find gives a clear error and no kernel",
      async () => {
        const error = await startKernel({
          cwd: dir,
          env: {
            ...testEnv(),
            PIP_NO_INDEX: "1",
            PIP_FIND_LINKS: join(dir, "nowhere"),
          },
          cacheDir: join(dir, "cache"),
          packages: ["coder-missing-pkg"],
        }).then(() => null, (e) => e);
        assert.ok(error instanceof KernelStartError, String(error));
        assert.match(
          error.message,
          /Cannot install coder-missing-pkg with pip/,
        );
      },
    );
  } finally {
    assert.deepEqual(await waitGone(kernelPidsOf(Deno.pid)), []);
    await Deno.remove(dir, { recursive: true });
  }
});
