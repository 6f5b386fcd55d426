/**
 * SPEC §12 hardening of sandboxed kernels, each as a real attempt that
 * succeeds on the unprotected path and fails on the product: keyrings and
 * other denied system calls (seccomp), the private size-capped /dev/shm,
 * and the memory watch that a kernel can no longer stop (a watchdog inside
 * the sandbox, this project's earlier design, is stopped from inside).
 */
import assert from "node:assert/strict";
import {
  createSandboxBackend,
  DENIED_CALLS,
  sandboxArgs,
  seccompFilter,
} from "../../src/kernel/mod.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

/** Prints `name=result/errno` for a few denied calls. */
const SYSCALL_PROBE = `import ctypes, json, platform
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
nr = json.loads(${
  JSON.stringify(
    JSON.stringify(Object.fromEntries(DENIED_CALLS.map((c) => [c.name, c]))),
  )
})
arch = "x86_64" if platform.machine() == "x86_64" else "aarch64"
def call(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(nr[name][arch], *args)
    return f"{name}={r}/{ctypes.get_errno()}"
out = [
    call("keyctl", 0, -3, 0),
    call("add_key", b"user", b"probe", b"SECRET", 6, -3),
    call("request_key", b"user", b"probe", None, -3),
    call("bpf", 0, None, 0),
    call("userfaultfd", 0),
    call("unshare", 0x00020000),
]
print(" ".join(out))`;

async function bwrap(
  args: string[],
  command: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command("bwrap", {
    args: [...args, "--", ...command],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test("sandbox hardening (SPEC §12)", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "sbx_hardening_" });
  const backend = createSandboxBackend({
    env: testEnv(),
    python: PYTHON,
    memoryLimit: null,
  });
  try {
    await using kernel = await backend.start({ cwd, packages: [] });

    await t.step(
      "unprotected: without the filter the sandbox reaches the session keyring",
      async () => {
        const out = await bwrap(sandboxArgs(), [PYTHON, "-c", SYSCALL_PROBE]);
        assert.ok(out.ok, out.stderr);
        assert.match(out.stdout, /keyctl=[1-9]\d*\/0/);
        assert.match(out.stdout, /add_key=[1-9]\d*\/0/);
      },
    );

    await t.step(
      "product: keyring and the other denied calls fail with EPERM",
      async () => {
        const probe = await kernel.execute(SYSCALL_PROBE);
        assert.equal(probe.error, null, JSON.stringify(probe.error));
        for (
          const name of [
            "keyctl",
            "add_key",
            "request_key",
            "bpf",
            "userfaultfd",
            "unshare",
          ]
        ) {
          assert.match(probe.stdout, new RegExp(`${name}=-1/1\\b`), name);
        }
        // Ordinary work still runs: threads, subprocesses, files.
        const work = await kernel.execute(
          "import subprocess, threading\nt = threading.Thread(target=lambda: None); t.start(); t.join()\n" +
            "subprocess.run(['true'], check=True)\nopen('f.txt', 'w').write('x')\nprint('fine')",
        );
        assert.equal(work.stdout, "fine\n", JSON.stringify(work.error));
      },
    );

    await t.step("the filter rejects other architectures and x32 calls", () => {
      assert.throws(() => seccompFilter("riscv64"), /riscv64/);
      const x86 = seccompFilter("x86_64");
      const arm = seccompFilter("aarch64");
      // One 8-byte instruction per check, plus the head and the two returns.
      const armCalls = DENIED_CALLS.filter((c) => c.aarch64 !== null).length;
      assert.equal(arm.length, (4 + armCalls + 2) * 8);
      assert.equal(x86.length, (4 + 1 + DENIED_CALLS.length + 2) * 8);
    });

    await t.step(
      "/dev/shm is private and capped; without the cap a write goes through",
      async () => {
        const fill = [
          "/bin/sh",
          "-c",
          "head -c 80000000 /dev/zero > /dev/shm/fill && echo wrote",
        ];
        const capped = await bwrap(
          sandboxArgs({ shmSize: 32 * 2 ** 20 }),
          fill,
        );
        assert.equal(capped.ok, false);
        assert.match(capped.stderr, /No space left on device/);
        // The same sandbox without the /dev/shm tmpfs (the earlier args).
        const args = sandboxArgs();
        const at = args.indexOf("/dev/shm");
        const uncapped = await bwrap(
          [...args.slice(0, at - 3), ...args.slice(at + 1)],
          fill,
        );
        assert.ok(uncapped.ok, uncapped.stderr);
        assert.match(uncapped.stdout, /wrote/);
        // Inside the kernel: the host's /dev/shm is not visible.
        const marker = `/dev/shm/coder-probe-${crypto.randomUUID()}`;
        await Deno.writeTextFile(marker, "host");
        try {
          const seen = await kernel.execute(
            `import os\nprint(os.path.exists(${JSON.stringify(marker)}))`,
          );
          assert.equal(seen.stdout, "False\n");
        } finally {
          await Deno.remove(marker);
        }
      },
    );

    await t.step(
      "unprotected: a watchdog inside the sandbox is stopped from inside",
      async () => {
        // This project's earlier design: a shell watchdog started the kernel
        // inside the sandbox and polled its memory.
        const watchdog = `l=$1; shift
"$@" &
k=$!
while kill -0 $k 2>/dev/null; do
  sleep 0.2
  t=0
  for f in /proc/[0-9]*/statm; do read -r _ r _ < "$f" 2>/dev/null && t=$((t + r)); done
  if [ $((t * 4)) -gt "$l" ]; then kill -9 -1; exit 137; fi
done
wait $k`;
        const attack = `import os, signal, time
me = os.getpid()
stopped = []
for name in os.listdir("/proc"):
    if name.isdigit() and int(name) != me:
        try:
            os.kill(int(name), signal.SIGSTOP)
            stopped.append(int(name))
        except OSError: pass
blocks = [bytearray(50 * 1024 * 1024) for _ in range(8)]
time.sleep(1)
print("survived", sum(map(len, blocks)) // 2**20, "MiB", flush=True)
for pid in stopped:
    os.kill(pid, signal.SIGCONT)`;
        const out = await bwrap(sandboxArgs(), [
          "/bin/sh",
          "-c",
          watchdog,
          "sh",
          String(200 * 1024),
          PYTHON,
          "-c",
          attack,
        ]);
        assert.match(out.stdout, /survived 400 MiB/, out.stderr);
      },
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
