/**
 * The sandbox backend and memory limits at the kernel layer: sizes, the
 * bwrap argument list, exit naming, the memory limit on local kernels, and
 * the working-directory guard.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createLocalBackend,
  createMemoryLimiter,
  createSandboxBackend,
  formatMemorySize,
  KernelDiedError,
  KernelStartError,
  parseMemorySize,
  sandboxArgs,
} from "../../src/kernel/mod.ts";
import { exitFromStatus } from "../../src/kernel/memory_limit.ts";
import {
  BackendChoiceError,
  resolveMemoryLimit,
} from "../../src/cli/backend.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

Deno.test("memory sizes parse with binary units and format back", () => {
  assert.equal(parseMemorySize("4G"), 4 * 2 ** 30);
  assert.equal(parseMemorySize("512M"), 512 * 2 ** 20);
  assert.equal(parseMemorySize("1.5GiB"), 1.5 * 2 ** 30);
  assert.equal(parseMemorySize("2gb"), 2 * 2 ** 30);
  assert.equal(parseMemorySize(String(2 ** 30)), 2 ** 30);
  for (const bad of ["", "lots", "4X", "-1G", "1M", "G"]) {
    assert.throws(() => parseMemorySize(bad), RangeError, bad);
  }
  assert.equal(formatMemorySize(4 * 2 ** 30), "4 GiB");
  assert.equal(formatMemorySize(512 * 2 ** 20), "512 MiB");
  assert.equal(formatMemorySize(1.5 * 2 ** 30), "1.5 GiB");
});

Deno.test("the CLI's memory limit: 4 GiB by default with the sandbox, none without, 'none' turns it off", () => {
  assert.equal(resolveMemoryLimit(null, true), 4 * 2 ** 30);
  assert.equal(resolveMemoryLimit(null, false), null);
  assert.equal(resolveMemoryLimit("512M", false), 512 * 2 ** 20);
  assert.equal(resolveMemoryLimit("none", true), null);
  assert.throws(() => resolveMemoryLimit("big", true), BackendChoiceError);
});

/** Kernel code: SIGSTOPs every process of its pid namespace but itself. */
const STOP_OTHERS = `import os, signal
me = os.getpid()
stopped = []
for name in os.listdir("/proc"):
    if name.isdigit() and int(name) != me:
        try:
            os.kill(int(name), signal.SIGSTOP)
            stopped.append(int(name))
        except OSError:
            pass
print("stopped", stopped)`;

Deno.test("exit codes above 128 from bwrap or sh are named as signals", () => {
  assert.deepEqual(exitFromStatus({ code: 137, signal: null }), {
    code: null,
    signal: "SIGKILL",
  });
  assert.deepEqual(exitFromStatus({ code: 139, signal: null }), {
    code: null,
    signal: "SIGSEGV",
  });
  assert.deepEqual(exitFromStatus({ code: 1, signal: null }), {
    code: 1,
    signal: null,
  });
  assert.deepEqual(exitFromStatus({ code: 1, signal: "SIGTERM" }), {
    code: null,
    signal: "SIGTERM",
  });
});

Deno.test("bwrap arguments: full isolation first, hiding tmpfs before the binds", () => {
  const args = sandboxArgs({
    home: "/home/me",
    readOnly: ["/home/me/.pyenv"],
    readWrite: ["/home/me/work"],
    chdir: "/home/me/work",
  });
  const text = args.join(" ");
  for (
    const flag of [
      "--die-with-parent",
      "--unshare-user --cap-drop ALL --disable-userns",
      "--unshare-pid",
      "--unshare-ipc",
      "--unshare-uts",
      "--unshare-net",
      "--new-session",
      "--ro-bind / /",
      "--tmpfs /run",
      "--tmpfs /home",
      "--tmpfs /root",
      "--tmpfs /home/me",
    ]
  ) assert.ok(text.includes(flag), flag);
  assert.match(text, /--size \d+ --tmpfs \/tmp --size \d+ --tmpfs \/var\/tmp/);
  const hide = args.lastIndexOf("--tmpfs");
  assert.ok(args.lastIndexOf("--ro-bind") > hide);
  assert.ok(args.indexOf("--bind") > args.indexOf("/home/me/.pyenv"));
  assert.deepEqual(args.slice(-2), ["--chdir", "/home/me/work"]);
});

Deno.test("sandboxed kernels refuse the hidden home (or /) as working directory", async () => {
  const home = await Deno.makeTempDir({ prefix: "sbx_home_" });
  try {
    const backend = createSandboxBackend({
      env: { ...testEnv(), HOME: home },
      python: PYTHON,
      memoryLimit: null,
    });
    for (const cwd of [home, "/"]) {
      await assert.rejects(
        () => backend.start({ cwd, packages: [] }),
        (error: unknown) =>
          error instanceof KernelStartError &&
          /home directory is hidden inside the sandbox/.test(error.message),
      );
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("kernel deaths name the signal, sandboxed or not; no JPY_PARENT_PID inside", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "sbx_sig_" });
  const launch = { env: testEnv(), python: PYTHON };
  try {
    for (
      const backend of [
        createSandboxBackend({ ...launch, memoryLimit: null }),
        createLocalBackend(launch),
      ]
    ) {
      await using kernel = await backend.start({ cwd, packages: [] });
      assert.equal(kernel.backend, backend.kind);
      const parent = await kernel.execute(
        "import os\nos.environ.get('JPY_PARENT_PID')",
      );
      if (backend.kind === "sandbox") assert.equal(parent.result, null);
      else assert.match(parent.result ?? "", /'\d+'/);
      const error = await kernel.execute(
        "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
      ).then(() => null, (e) => e);
      assert.ok(error instanceof KernelDiedError, String(error));
      assert.equal(error.message, "Kernel died (signal SIGSEGV)");
      assert.equal(error.exit.signal, "SIGSEGV");
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("--memory-limit is honoured by local kernels too (cgroup, threads keep working)", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "mem_local_" });
  const launch = { env: testEnv(), python: PYTHON };
  const limit = 300 * 2 ** 20;
  const allocate = "block = bytearray(700 * 1024 * 1024)\nlen(block)";
  try {
    const limited = createLocalBackend({
      ...launch,
      wrapper: createMemoryLimiter(limit),
    });
    await using kernel = await limited.start({ cwd, packages: [] });
    const threads = await kernel.execute(
      "import threading\nts = [threading.Thread(target=lambda: None) for _ in range(200)]\n" +
        "[t.start() for t in ts]\n[t.join() for t in ts]\nlen(ts)",
    );
    assert.equal(threads.result, "200");
    const error = await kernel.execute(allocate).then(() => null, (e) => e);
    assert.ok(error instanceof KernelDiedError, String(error));
    assert.equal(error.exit.reason, "memory_limit");
    assert.equal(error.exit.detail, "300 MiB");
    assert.equal(
      error.message,
      "Kernel stopped: it exceeded its memory limit of 300 MiB",
    );

    await using free = await createLocalBackend(launch).start({
      cwd,
      packages: [],
    });
    const ok = await free.execute(allocate);
    assert.equal(ok.result, String(700 * 1024 * 1024));
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

/** Builds a minimal pure-Python wheel by hand (a wheel is a zip). */
async function buildWheel(dir: string): Promise<void> {
  const script = `
import base64, hashlib, sys, zipfile
files = {
    "sbx_demo_pkg/__init__.py": b"ANSWER = 42\\n",
    "sbx_demo_pkg-1.0.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: sbx-demo-pkg\\nVersion: 1.0.0\\n",
    "sbx_demo_pkg-1.0.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}" for n, d in files.items()]
files["sbx_demo_pkg-1.0.0.dist-info/RECORD"] = ("\\n".join(record + ["sbx_demo_pkg-1.0.0.dist-info/RECORD,,"]) + "\\n").encode()
with zipfile.ZipFile(sys.argv[1] + "/sbx_demo_pkg-1.0.0-py3-none-any.whl", "w") as z:
    for n, d in files.items():
        z.writestr(n, d)
`;
  const out = await new Deno.Command(PYTHON, { args: ["-c", script, dir] })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("packages are installed outside the sandbox; a venv under HOME is bound read-only", async () => {
  const home = await Deno.makeTempDir({ prefix: "sbx_pkg_home_" });
  const cwd = await Deno.makeTempDir({ prefix: "sbx_pkg_cwd_" });
  try {
    const wheels = join(home, "wheels");
    await Deno.mkdir(wheels);
    await buildWheel(wheels);
    await Deno.mkdir(join(home, ".ssh"));
    await Deno.writeTextFile(join(home, ".ssh", "id_x"), "secret");
    const backend = createSandboxBackend({
      env: {
        ...testEnv(),
        HOME: home,
        PIP_NO_INDEX: "1",
        PIP_FIND_LINKS: wheels,
      },
      python: PYTHON,
      cacheDir: join(home, ".cache", "agentic-python-coder"),
      memoryLimit: null,
    });
    await using kernel = await backend.start({
      cwd,
      packages: ["sbx-demo-pkg==1.0.0"],
    });
    assert.match(kernel.python, new RegExp(`^${home}/\\.cache/`));
    const used = await kernel.execute(
      "import sbx_demo_pkg\nsbx_demo_pkg.ANSWER",
    );
    assert.equal(used.result, "42");
    const probe = await kernel.execute(
      "import os, sys\nout = []\n" +
        "for f in [os.path.join(sys.prefix, 'planted'), os.path.expanduser('~/.ssh/id_x')]:\n" +
        "    try:\n        open(f, 'a').close(); out.append('ok')\n" +
        "    except OSError as e:\n        out.append(type(e).__name__)\nout",
    );
    assert.equal(probe.result, "['OSError', 'FileNotFoundError']");
    assert.equal(
      await Deno.stat(join(home, ".ssh", "id_x")).then((s) => s.size),
      6,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("the sandbox backend on macOS and Windows is refused with a clear error and a hint", async () => {
  for (
    const [os, name] of [["darwin", "macOS"], ["windows", "Windows"]] as const
  ) {
    const backend = createSandboxBackend({
      env: testEnv(),
      python: PYTHON,
      memoryLimit: null,
      os,
    });
    const error = await backend.preflight().then(
      () => assert.fail("preflight passed"),
      (e: KernelStartError) => e,
    );
    assert.match(
      error.message,
      new RegExp(
        `^The sandbox is not available on ${name}: .*Linux only\\. Use an unsandboxed backend \\(createLocalBackend\\)`,
      ),
    );
    assert.deepEqual(error.hints, [{ option: "sandbox", advice: "disable" }]);
    assert.doesNotMatch(error.message, /CODER_|--sandbox|coder/);
    await assert.rejects(
      () => backend.start({ cwd: "/nonexistent", packages: [] }),
      KernelStartError,
    );
  }
});

Deno.test("with uv, packages are installed by uv outside the sandbox, then its interpreter runs inside", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sbx_uv_" });
  try {
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    const calls = join(dir, "uv-cache", "uv-calls.txt");
    // A stand-in for uv: records its arguments in its cache (the one
    // directory its install sandbox may write), then runs everything after
    // "python" with the test interpreter (as `uv run --with ... python ARGS` would).
    await Deno.writeTextFile(
      join(bin, "uv"),
      `#!/bin/sh\necho "$@" >> "$UV_CACHE_DIR/uv-calls.txt"\nwhile [ "$1" != python ]; do shift; done\nshift\nexec ${PYTHON} "$@"\n`,
    );
    await Deno.chmod(join(bin, "uv"), 0o755);
    const env = testEnv();
    const backend = createSandboxBackend({
      env: {
        ...env,
        PATH: `${bin}:${env.PATH ?? "/usr/bin:/bin"}`,
        UV_CACHE_DIR: join(dir, "uv-cache"),
      },
      memoryLimit: null,
    });
    await using kernel = await backend.start({
      cwd: dir,
      packages: ["sbx-demo-pkg"],
    });
    assert.match(
      kernel.launchedWith,
      /uv run --with sbx-demo-pkg \(installed before the sandbox\)/,
    );
    const inside = await kernel.execute("import os\nos.getpid()");
    assert.equal(inside.result, "2");
    const recorded = await Deno.readTextFile(calls);
    assert.match(
      recorded,
      /^run --no-project --with ipykernel --with sbx-demo-pkg python -c /,
    );
    assert.equal(recorded.trim().split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without a memory cgroup the server enforces the limit from outside; stopping every process in the sandbox does not escape it", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "sbx_watchdog_" });
  const warnings: string[] = [];
  try {
    const backend = createSandboxBackend({
      env: testEnv(),
      python: PYTHON,
      memoryLimit: 300 * 2 ** 20,
      memoryEnforcement: "watchdog",
      logger: {
        debug: () => {},
        info: () => {},
        warn: (message: string) => warnings.push(message),
        error: () => {},
      },
    });
    await using kernel = await backend.start({ cwd, packages: [] });
    assert.match(
      warnings.join("\n"),
      /polling the sandbox's processes' resident memory .* from outside the sandbox/,
    );
    const threads = await kernel.execute(
      "import threading\nts = [threading.Thread(target=lambda: None) for _ in range(200)]\n" +
        "[t.start() for t in ts]\n[t.join() for t in ts]\nsmall = bytearray(100 * 1024 * 1024)\nlen(ts)",
    );
    assert.equal(threads.result, "200");
    // The attack on a watchdog inside the sandbox: stop every other process.
    const stopped = await kernel.execute(STOP_OTHERS);
    assert.equal(stopped.error, null, JSON.stringify(stopped.error));
    const error = await kernel.execute(
      "import time\nblocks = []\nfor _ in range(40):\n    blocks.append(bytearray(50 * 1024 * 1024))\n    time.sleep(0.05)",
      { timeoutMs: 60_000 },
    ).then(() => null, (e) => e);
    assert.ok(error instanceof KernelDiedError, String(error));
    assert.equal(error.exit.reason, "memory_limit");
    assert.equal(
      error.message,
      "Kernel stopped: it exceeded its memory limit of 300 MiB",
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
