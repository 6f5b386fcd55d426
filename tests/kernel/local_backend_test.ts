import assert from "node:assert/strict";
import { join } from "node:path";
import { createLocalBackend } from "../../src/kernel/local_backend.ts";
import { resolvePythonCached } from "../../src/kernel/launcher.ts";
import { KernelStartError } from "../../src/kernel/mod.ts";

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
