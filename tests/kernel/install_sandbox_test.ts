/**
 * Package installs of the sandbox backend (SPEC §12): pip runs in a sandbox
 * of its own that reaches only the package index hosts (here a PEP 503
 * index served on 127.0.0.1), a refused host is named in one error, and no
 * package code (a `.pth` file) ever runs on the host with the server's
 * environment, while the same probe does succeed on an unprotected host
 * install.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createLocalBackend,
  createSandboxBackend,
  KernelStartError,
} from "../../src/kernel/mod.ts";
import { testEnv } from "../_helpers/kernel_env.ts";
import {
  buildSdist,
  buildWheelFile,
  serveSimpleIndex,
} from "../_helpers/simple_index.ts";
import { serveTarget } from "../_helpers/http_targets.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

Deno.test("pip installs a package from the index through the install sandbox's allow list", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx_install_" });
  try {
    const wheels = join(dir, "wheels");
    await Deno.mkdir(wheels);
    const wheel = await buildWheelFile(wheels, PYTHON, {
      name: "idx-demo-pkg",
      version: "2.0.0",
      files: { "idx_demo_pkg/__init__.py": "ANSWER = 7\n" },
    });
    await using index = serveSimpleIndex(wheels);
    const cwd = join(dir, "work");
    await Deno.mkdir(cwd);
    const backend = createSandboxBackend({
      env: { ...testEnv(), PIP_INDEX_URL: index.url },
      python: PYTHON,
      cacheDir: join(dir, "cache"),
      memoryLimit: null,
    });
    await using kernel = await backend.start({
      cwd,
      packages: ["idx-demo-pkg==2.0.0"],
    });
    const used = await kernel.execute(
      "import idx_demo_pkg\nidx_demo_pkg.ANSWER",
    );
    assert.equal(used.result, "7");
    const host = `127.0.0.1:${index.port}`;
    assert.ok(
      index.requests.includes(`GET /simple/idx-demo-pkg/ ${host}`),
      index.requests.join("\n"),
    );
    assert.ok(index.requests.includes(`GET /files/${wheel} ${host}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an install reaching a host that is not an index host fails with one error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx_install_refused_" });
  try {
    const wheels = join(dir, "wheels");
    await Deno.mkdir(wheels);
    await buildWheelFile(wheels, PYTHON, {
      name: "elsewhere-pkg",
      version: "1.0.0",
      files: { "elsewhere_pkg/__init__.py": "" },
    });
    await using files = serveTarget(async (request) =>
      new Response(
        await Deno.readFile(
          join(wheels, new URL(request.url).pathname.split("/").at(-1)!),
        ),
      )
    );
    // The index links its files on another port: not an index host.
    await using index = serveSimpleIndex(
      wheels,
      `http://127.0.0.1:${files.port}`,
    );
    const cwd = join(dir, "work");
    await Deno.mkdir(cwd);
    const backend = createSandboxBackend({
      env: {
        ...testEnv(),
        PIP_INDEX_URL: index.url,
        PIP_RETRIES: "0",
      },
      python: PYTHON,
      cacheDir: join(dir, "cache"),
      memoryLimit: null,
    });
    const error = await backend.start({ cwd, packages: ["elsewhere-pkg"] })
      .then(() => null, (e) => e);
    assert.ok(error instanceof KernelStartError, String(error));
    assert.match(error.message, /^Cannot install elsewhere-pkg with pip: /);
    assert.match(
      error.message,
      new RegExp(
        `The install sandbox refused 127\\.0\\.0\\.1:${files.port}: it is not a package index host: name the index in PIP_INDEX_URL`,
      ),
    );
    assert.deepEqual(files.requests, []);
    assert.ok(index.requests.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a .pth file of an installed package never runs on the host with the server's env (it does without the install sandbox)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx_pth_" });
  const drop = await Deno.makeTempDir({ prefix: "sbx_pth_drop_" });
  try {
    const wheels = join(dir, "wheels");
    await Deno.mkdir(wheels);
    // Runs at every start of an interpreter of the environment: writes
    // the server's token (if it can see it) to a host directory.
    const pth = "import os; os.makedirs(" + JSON.stringify(drop) +
      ", exist_ok=True); open(os.path.join(" + JSON.stringify(drop) +
      ", 'leak-%d' % os.getpid()), 'w').write(os.environ.get('CODER_MCP_TOKEN', 'no-secret'))\n";
    await buildWheelFile(wheels, PYTHON, {
      name: "pth-probe",
      version: "1.0.0",
      files: { "pth_probe.pth": pth, "pth_probe_mod.py": "X = 1\n" },
    });
    await using index = serveSimpleIndex(wheels);
    const env = {
      ...testEnv(),
      PIP_INDEX_URL: index.url,
      CODER_MCP_TOKEN: "probe-secret",
    };
    const leaks = async () => {
      const found: string[] = [];
      for await (const entry of Deno.readDir(drop)) {
        found.push(await Deno.readTextFile(join(drop, entry.name)));
      }
      return found;
    };

    // The product: the sandbox backend installs and starts the kernel.
    const cwd = join(dir, "work");
    await Deno.mkdir(cwd);
    const backend = createSandboxBackend({
      env,
      python: PYTHON,
      cacheDir: join(dir, "cache"),
      memoryLimit: null,
    });
    {
      await using kernel = await backend.start({
        cwd,
        packages: ["pth-probe"],
      });
      // The .pth did run, inside the kernel's sandbox: its file landed in
      // the sandbox's private /tmp, without the secret.
      const inside = await kernel.execute(
        "import os\n" +
          `sorted(open(os.path.join(${
            JSON.stringify(drop)
          }, f)).read() for f in os.listdir(${JSON.stringify(drop)}))`,
      );
      assert.equal(inside.result, "['no-secret']");
    }
    assert.deepEqual(await leaks(), []);

    // Unprotected: the same package installed and run on the host.
    const venv = join(dir, "host-venv");
    const run = async (command: string, args: string[]) => {
      const out = await new Deno.Command(command, { args, env, clearEnv: true })
        .output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    };
    await run(PYTHON, ["-m", "venv", "--system-site-packages", venv]);
    await run(join(venv, "bin", "python"), [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "pth-probe",
    ]);
    await run(join(venv, "bin", "python"), ["-c", "pass"]);
    assert.ok((await leaks()).includes("probe-secret"));
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(drop, { recursive: true });
  }
});

Deno.test("a build backend (setup.py) runs without the server's secrets: sandboxed it cannot write the host, locally it sees no secret, unprotected it does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx_build_" });
  const drop = await Deno.makeTempDir({ prefix: "sbx_build_drop_" });
  try {
    const dists = join(dir, "dists");
    await Deno.mkdir(dists);
    await buildSdist(
      dists,
      PYTHON,
      "build_probe",
      "1.0",
      "import os\nfrom setuptools import setup\n" +
        `d = ${JSON.stringify(drop)}\n` +
        "try:\n    os.makedirs(d, exist_ok=True)\n" +
        "    open(os.path.join(d, 'build-%d' % os.getpid()), 'w').write(os.environ.get('CODER_MCP_TOKEN', 'no-secret'))\n" +
        "except OSError:\n    pass\n" +
        "setup(name='build-probe', version='1.0', py_modules=[])\n",
    );
    await using index = serveSimpleIndex(dists);
    const env = {
      ...testEnv(),
      PIP_INDEX_URL: index.url,
      // Build with the interpreter's setuptools (no index has it here).
      PIP_NO_BUILD_ISOLATION: "0",
      // No wheel cache: every install builds from the sdist again.
      PIP_NO_CACHE_DIR: "1",
      CODER_MCP_TOKEN: "probe-secret",
    };
    const leaks = async () => {
      const found: string[] = [];
      for await (const entry of Deno.readDir(drop)) {
        found.push(await Deno.readTextFile(join(drop, entry.name)));
        await Deno.remove(join(drop, entry.name));
      }
      return [...new Set(found)]; // setup.py runs once per build step
    };
    const cwd = join(dir, "work");
    await Deno.mkdir(cwd);

    // Sandboxed: the build ran (the kernel starts), but not on the host.
    {
      await using _kernel = await createSandboxBackend({
        env,
        python: PYTHON,
        cacheDir: join(dir, "cache-sandbox"),
        memoryLimit: null,
      }).start({ cwd, packages: ["build-probe"] });
    }
    assert.deepEqual(await leaks(), []);

    // Local backend: the build runs on the host, without the secret.
    {
      await using _kernel = await createLocalBackend({
        env,
        python: PYTHON,
        cacheDir: join(dir, "cache-local"),
      }).start({ cwd, packages: ["build-probe"] });
    }
    assert.deepEqual(await leaks(), ["no-secret"]);

    // Unprotected: pip with the full environment hands the secret over.
    const venv = join(dir, "host-venv");
    for (
      const [command, args] of [
        [PYTHON, ["-m", "venv", "--system-site-packages", venv]],
        [join(venv, "bin", "python"), ["-m", "pip", "install", "build-probe"]],
      ] as const
    ) {
      const out = await new Deno.Command(command, {
        args: [...args],
        env,
        clearEnv: true,
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    }
    assert.deepEqual(await leaks(), ["probe-secret"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(drop, { recursive: true });
  }
});
