import assert from "node:assert/strict";
import { join } from "node:path";
import { createLocalBackend } from "../../src/kernel/local_backend.ts";
import { resolvePythonCached } from "../../src/kernel/launcher.ts";
import { KernelStartError } from "../../src/kernel/mod.ts";
import { readIfExists, waitUntil } from "../_helpers/wait.ts";

const SYSTEM_PYTHON = "/usr/bin/python3";

/** Writes `text` padded to a fixed size with a fixed mtime: same fingerprint. */
async function writeScript(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text.padEnd(200, " ") + "\n", { mode: 0o755 });
  await Deno.utime(path, 1_700_000_000, 1_700_000_000);
}

const GOOD = `#!/bin/sh\nexec ${SYSTEM_PYTHON} "$@"\n#`;
const BAD =
  `#!/bin/sh\necho 'ModuleNotFoundError: No module named ipykernel' >&2\nexit 1\n#`;

Deno.test({
  name: "LocalBackend interpreter resolution cache",
  ignore: Deno.build.os !== "linux",
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "local_backend_" });
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    const python = join(bin, "python3");
    const options = {
      env: { PATH: bin, HOME: dir },
      cacheDir: join(dir, "cache"),
    };
    try {
      await t.step(
        "resolves by probing once, then from the cache",
        async () => {
          await writeScript(python, GOOD);
          assert.deepEqual(await resolvePythonCached(options), {
            python,
            cached: false,
          });
          assert.deepEqual(await resolvePythonCached(options), {
            python,
            cached: true,
          });
        },
      );

      await t.step("a changed interpreter file is probed again", async () => {
        await Deno.utime(python, 1_700_000_100, 1_700_000_100);
        assert.equal((await resolvePythonCached(options)).cached, false);
        await Deno.utime(python, 1_700_000_000, 1_700_000_000);
        assert.equal((await resolvePythonCached(options)).cached, false);
        assert.equal((await resolvePythonCached(options)).cached, true);
      });

      await t.step(
        "a stale cached interpreter is dropped and the next candidate starts",
        async () => {
          // Same size and mtime: the cache still names it, but it lost ipykernel.
          await writeScript(python, BAD);
          assert.deepEqual(await resolvePythonCached(options), {
            python,
            cached: true,
          });
          const backend = createLocalBackend(options);
          await using kernel = await backend.start({ cwd: dir, packages: [] });
          assert.equal(kernel.launchedWith, SYSTEM_PYTHON);
          assert.deepEqual(await resolvePythonCached(options), {
            python: SYSTEM_PYTHON,
            cached: true,
          });
        },
      );

      await t.step(
        "a stale explicit interpreter reports the start failure",
        async () => {
          const explicit = { ...options, python };
          await writeScript(python, GOOD);
          assert.equal((await resolvePythonCached(explicit)).cached, false);
          await writeScript(python, BAD);
          const error = await createLocalBackend(explicit)
            .start({ cwd: dir, packages: [] })
            .then(() => null, (e) => e);
          assert.ok(error instanceof KernelStartError, String(error));
          assert.match(error.message, /No module named ipykernel/);
          // The stale entry is gone: the next resolution probes (and fails).
          await assert.rejects(resolvePythonCached(explicit), KernelStartError);
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "LocalBackend: a lookup cut by one caller's abort is resolved again for a caller still waiting",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // A registry shutting down aborts its warm-up lookup; a start waiting on
    // the same shared lookup (another registry on the same backend) must get
    // an answer, not the other registry's abort.
    const dir = await Deno.makeTempDir({ prefix: "local_backend_cut_" });
    const probing = join(dir, "probing");
    const release = join(dir, "release");
    const python = join(dir, "python3");
    await Deno.writeTextFile(
      python,
      `#!/bin/sh\necho $$ >> '${probing}'\ni=0\n` +
        `while [ ! -e '${release}' ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done\n` +
        `echo '${python}'\n`,
      { mode: 0o755 },
    );
    try {
      const backend = createLocalBackend({
        env: { PATH: "/usr/bin:/bin", HOME: dir },
        cacheDir: join(dir, "cache"),
        python,
      });
      const warmUp = new AbortController();
      const warming = backend.preflight(warmUp.signal);
      const probes = async () =>
        (await readIfExists(probing))?.trim().split("\n") ?? [];
      await waitUntil("the first probe", async () => (await probes()).length);
      const waiting = backend.python();
      warmUp.abort(new Error("registry shut down"));
      await assert.rejects(warming, /registry shut down/);
      await waitUntil(
        "a second probe for the caller still waiting",
        async () => (await probes()).length >= 2,
      );
      await Deno.writeTextFile(release, "");
      assert.equal(await waiting, python);
    } finally {
      await Deno.writeTextFile(release, "").catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
