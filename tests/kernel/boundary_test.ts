/**
 * SPEC §12, the file boundary: a sandboxed kernel starts a process that
 * swaps `.ipython_mcp` with a symlink to a host directory in a
 * `renameat2(RENAME_EXCHANGE)` loop. A plain check-then-use on the host
 * (the code this project had) writes and reads through the swapped link;
 * the product's writers (the sandbox backend's workspace, the private
 * output store) never do.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createSandboxBackend,
  HOST_FILES,
  type KernelHandle,
} from "../../src/kernel/mod.ts";
import {
  outputStoreFor,
  readResource,
  ResourcePathError,
  safePathIn,
} from "../../src/mcp/mod.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";
const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** Swaps its two arguments with renameat2(RENAME_EXCHANGE) until killed. */
const SWAP_LOOP = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
while True:
    libc.renameat2(-100, a, -100, b, 2)
`;

/** Kernel code: plants the link and starts the swap loop in the background. */
function plantSwap(victim: string): string {
  return `import os, subprocess, sys
os.makedirs(".ipython_mcp", exist_ok=True)
open(".ipython_mcp/secret.txt", "w").write("harmless")
os.symlink(${JSON.stringify(victim)}, ".swap")
swapper = subprocess.Popen([sys.executable, "-c", ${
    JSON.stringify(SWAP_LOOP)
  }, ".ipython_mcp", ".swap"])
print("swapping", swapper.pid)`;
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("the file boundary holds against a kernel swapping links in a loop (SPEC §12)", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "boundary_cwd_" });
  // A host directory the kernel can see (read-only) inside its sandbox.
  const victim = await Deno.makeTempDir({ dir: REPO, prefix: ".victim_" });
  const cache = await Deno.makeTempDir({ prefix: "boundary_cache_" });
  await Deno.writeTextFile(join(victim, "secret.txt"), "HOST-ONLY-SECRET");
  await Deno.chmod(join(victim, "secret.txt"), 0o600);
  const backend = createSandboxBackend({
    env: testEnv(),
    python: PYTHON,
    memoryLimit: null,
  });
  let kernel: KernelHandle | null = null;
  try {
    kernel = await backend.start({ cwd, packages: [] });
    const planted = await kernel.execute(plantSwap(victim));
    assert.equal(planted.error, null, JSON.stringify(planted.error));
    assert.match(planted.stdout, /swapping/);

    await t.step(
      "unprotected: a plain check-then-use write lands in the host directory",
      async () => {
        let wins = 0;
        for (let i = 0; i < 20_000 && wins === 0; i++) {
          try {
            await safePathIn(cwd, ".ipython_mcp");
            await Deno.writeTextFile(
              join(cwd, ".ipython_mcp", `plain-${i}.txt`),
              "attacker-chosen",
            );
          } catch {
            continue; // the check caught the link this time
          }
          wins = (await entries(victim)).filter((n) => n.startsWith("plain-"))
            .length;
        }
        assert.ok(wins > 0, "the swap loop never won against check-then-use");
      },
    );

    await t.step(
      "unprotected: a plain check-then-use read serves the host file",
      async () => {
        const uri = pathToFileURL(join(cwd, ".ipython_mcp", "secret.txt"))
          .href;
        let leaked = 0;
        for (let i = 0; i < 20_000 && leaked === 0; i++) {
          const read = await readResource(cwd, uri).catch(() => null);
          if (read && "text" in read && read.text === "HOST-ONLY-SECRET") {
            leaked++;
          }
        }
        assert.ok(leaked > 0, "the swap loop never won against the reader");
      },
    );

    await t.step(
      "product: 60 writes from inside the sandbox never reach the host directory",
      async () => {
        const before = await entries(victim);
        let written = 0;
        for (let i = 0; i < 60; i++) {
          await backend.workspace.writeFile(
            cwd,
            `.ipython_mcp/sandboxed-${i}.ipynb`,
            "{}",
          ).then(() => written++, () => {});
        }
        assert.ok(written > 0, "no write went through at all");
        assert.deepEqual(await entries(victim), before);
        assert.equal(
          await Deno.readTextFile(join(victim, "secret.txt")),
          "HOST-ONLY-SECRET",
        );
      },
    );

    await t.step(
      "product: a sandboxed server's store serves only its own files",
      async () => {
        const store = await outputStoreFor(backend, cwd, cache);
        assert.equal(store.private, true);
        assert.ok(!store.dir.startsWith(cwd));
        const path = store.pathFactory()("stdout", "txt");
        await store.save([{ path, data: "full output" }]);
        const own = await store.read(pathToFileURL(path).href);
        assert.deepEqual(own, {
          uri: pathToFileURL(path).href,
          mimeType: "text/plain",
          text: "full output",
        });
        const uri = pathToFileURL(join(cwd, ".ipython_mcp", "secret.txt"))
          .href;
        for (let i = 0; i < 500; i++) {
          await assert.rejects(store.read(uri), ResourcePathError);
        }
      },
    );
  } finally {
    await kernel?.shutdown();
    await Deno.remove(cwd, { recursive: true });
    await Deno.remove(victim, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("planted links and FIFOs: workspace writes replace them, never follow or block on them", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "boundary_links_" });
  const victim = await Deno.makeTempDir({ dir: REPO, prefix: ".victim_" });
  const target = join(victim, "sitecustomize.py");
  const backend = createSandboxBackend({
    env: testEnv(),
    python: PYTHON,
    memoryLimit: null,
  });
  const plant = async () => {
    await Deno.writeTextFile(target, "# original\n");
    for (const name of ["solution.py", "log.jsonl"]) {
      await Deno.remove(join(cwd, name)).catch(() => {});
      await Deno.symlink(target, join(cwd, name));
    }
    await Deno.remove(join(cwd, "fifo.ipynb")).catch(() => {});
    await new Deno.Command("mkfifo", { args: [join(cwd, "fifo.ipynb")] })
      .output();
  };
  try {
    await t.step("unprotected: a plain write follows the link", async () => {
      await plant();
      await Deno.writeTextFile(join(cwd, "solution.py"), "print('owned')\n");
      assert.equal(await Deno.readTextFile(target), "print('owned')\n");
    });

    for (
      const [name, files] of [
        ["the sandbox's workspace", backend.workspace],
        ["the host writer", HOST_FILES],
      ] as const
    ) {
      await t.step(
        `product (${name}): links and FIFOs are replaced`,
        async () => {
          await plant();
          for (const file of ["solution.py", "log.jsonl", "fifo.ipynb"]) {
            const path = await files.writeFile(cwd, file, `new ${file}\n`);
            assert.equal(path, join(cwd, file));
            const info = await Deno.lstat(path);
            assert.ok(info.isFile, `${file} is a regular file now`);
            assert.equal(await Deno.readTextFile(path), `new ${file}\n`);
          }
          assert.equal(await Deno.readTextFile(target), "# original\n");
          await assert.rejects(
            files.writeFile(cwd, "../escape.txt", "x"),
            /outside the working directory/,
          );
        },
      );
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
    await Deno.remove(victim, { recursive: true });
  }
});
