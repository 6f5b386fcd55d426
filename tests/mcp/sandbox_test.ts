/**
 * The real ipython_mcp server with `--sandbox` (real bwrap, real ipykernel,
 * the SDK client over stdio, the documented permission flags): each escape
 * attempt is run in a sandboxed server and in an unsandboxed one, and must
 * fail in the first and succeed in the second.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type McpServerHarness,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import {
  descendants,
  killAll,
  pidAlive,
  waitGone,
} from "../_helpers/processes.ts";
import { runFlags } from "../../scripts/permissions.ts";
import { waitUntil } from "../_helpers/wait.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";
const SECRET_KEY = "sk-or-planted-SANDBOX-SECRET-7f3a";
const SECRET_SSH = "PLANTED-SSH-PRIVATE-KEY-91c2";
const AS_ROOT = Deno.uid() === 0;
const REPO = fileURLToPath(new URL("../../", import.meta.url));

function comm(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}

/** Runs a probe; its last stdout line is `OK <detail>` or `BLOCKED <detail>`. */
async function probe(
  server: McpServerHarness,
  code: string,
  answers: string[],
): Promise<{ ok: boolean; detail: string }> {
  const { result, json } = await server.call("python_exec", {
    code,
    timeout: 60,
  });
  answers.push(JSON.stringify(result));
  assert.equal(json.success, true, JSON.stringify(json));
  const line = String(json.stdout ?? "").trim().split("\n").at(-1) ?? "";
  const [word, ...rest] = line.split(" ");
  assert.ok(word === "OK" || word === "BLOCKED", `probe said: ${line}`);
  return { ok: word === "OK", detail: rest.join(" ") };
}

function attempt(body: string): string {
  const indented = body.split("\n").map((l) => "    " + l).join("\n");
  return `try:\n${indented}\nexcept BaseException as e:\n    print("BLOCKED", type(e).__name__, e)\nelse:\n    print("OK", result)\n`;
}

Deno.test("ipython_mcp --sandbox: escape attempts fail inside, succeed outside", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "sbx_home_" });
  const hostDir = await Deno.makeTempDir({ prefix: "sbx_host_" });
  const roDir = await Deno.makeTempDir({
    dir: REPO,
    prefix: ".sbx_ro_",
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const unix = Deno.listen({
    transport: "unix",
    path: join(hostDir, "host.sock"),
  });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })();
  const acceptingUnix = (async () => {
    for await (const conn of unix) conn.close();
  })();
  await Deno.mkdir(join(home, ".config", "coder"), { recursive: true });
  await Deno.mkdir(join(home, ".ssh"));
  await Deno.writeTextFile(
    join(home, ".config", "coder", ".env"),
    `OPENROUTER_API_KEY=${SECRET_KEY}\n`,
  );
  await Deno.writeTextFile(join(home, ".ssh", "id_x"), SECRET_SSH);
  const target = join(roDir, "host_file.txt");
  const env = {
    HOME: home,
    CODER_PYTHON: PYTHON,
    OPENROUTER_API_KEY: SECRET_KEY,
  };
  const sandboxAnswers: string[] = [];
  const localAnswers: string[] = [];
  const sandboxed = await startMcpServer({
    args: ["--sandbox", "--memory-limit", "400M"],
    env,
  });
  const local = await startMcpServer({ env });
  const both = async (
    code: string,
  ): Promise<
    {
      inside: { ok: boolean; detail: string };
      outside: { ok: boolean; detail: string };
    }
  > => {
    const [inside, outside] = await Promise.all([
      probe(sandboxed, code, sandboxAnswers),
      probe(local, code, localAnswers),
    ]);
    return { inside, outside };
  };
  try {
    await t.step(
      "the kernels start; the sandboxed one sees itself as pid 2",
      async () => {
        const { inside, outside } = await both(
          attempt("import os\nresult = os.getpid()"),
        );
        assert.equal(inside.detail, "2");
        assert.notEqual(outside.detail, "2");
      },
    );

    await t.step(
      "TCP to a listener on the host's 127.0.0.1 is refused",
      async () => {
        const port = (listener.addr as Deno.NetAddr).port;
        const { inside, outside } = await both(attempt(
          `import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=5).close()\nresult = "connected"`,
        ));
        assert.equal(inside.ok, false, inside.detail);
        assert.match(inside.detail, /ConnectionRefused|Errno/);
        assert.equal(outside.ok, true, outside.detail);
      },
    );

    await t.step("DNS fails", async () => {
      const { inside, outside } = await both(attempt(
        `import socket\nresult = socket.getaddrinfo("registry.npmjs.org", 443)[0][4][0]`,
      ));
      assert.equal(inside.ok, false, inside.detail);
      assert.match(inside.detail, /gaierror/);
      assert.equal(outside.ok, true, outside.detail);
    });

    await t.step(
      "a unix socket in a host directory is unreachable",
      async () => {
        const path = join(hostDir, "host.sock");
        const { inside, outside } = await both(attempt(
          `import socket\ns = socket.socket(socket.AF_UNIX)\ns.settimeout(5)\ns.connect(${
            JSON.stringify(path)
          })\ns.close()\nresult = "connected"`,
        ));
        assert.equal(inside.ok, false, inside.detail);
        assert.equal(outside.ok, true, outside.detail);
      },
    );

    await t.step(
      "writes outside the working directory fail; host files stay",
      async () => {
        await Deno.writeTextFile(target, "original");
        const code = attempt(
          `open(${
            JSON.stringify(target)
          }, "w").write("overwritten")\nresult = "written"`,
        );
        const inside = await probe(sandboxed, code, sandboxAnswers);
        assert.equal(inside.ok, false, inside.detail);
        // Read-only where the host directory is visible; absent when it lies
        // under a hidden one (a checkout under /tmp or $HOME).
        assert.match(
          inside.detail,
          /Read-only file system|No such file or directory/,
        );
        assert.equal(await Deno.readTextFile(target), "original");
        for (
          const path of ["/etc/coder-sandbox-probe", "/usr/coder-sandbox-probe"]
        ) {
          const blocked = await probe(
            sandboxed,
            attempt(
              `open(${
                JSON.stringify(path)
              }, "w").write("x")\nresult = "written"`,
            ),
            sandboxAnswers,
          );
          assert.equal(blocked.ok, false, blocked.detail);
          assert.equal(
            await Deno.stat(path).then(() => true, () => false),
            false,
          );
        }
        const outside = await probe(local, code, localAnswers);
        assert.equal(outside.ok, true, outside.detail);
        assert.equal(await Deno.readTextFile(target), "overwritten");
      },
    );

    await t.step(
      "the planted ~/.config/coder/.env and ~/.ssh/id_x are unreadable",
      async () => {
        for (
          const file of [
            join(home, ".config", "coder", ".env"),
            join(home, ".ssh", "id_x"),
          ]
        ) {
          const { inside, outside } = await both(attempt(
            `result = open(${JSON.stringify(file)}).read().strip()`,
          ));
          assert.equal(inside.ok, false, inside.detail);
          assert.match(inside.detail, /FileNotFoundError/);
          assert.equal(outside.ok, true);
          // Read outside; the server's own key is masked in the answer.
          assert.match(
            outside.detail,
            /PLANTED|OPENROUTER_API_KEY=\[REDACTED\]/,
          );
        }
        const { inside, outside } = await both(attempt(
          `import os\nresult = "|".join(f"{k}={v}" for k, v in os.environ.items())`,
        ));
        assert.equal(inside.ok, true);
        assert.doesNotMatch(inside.detail, /SANDBOX-SECRET|OPENROUTER/);
        // SPEC §12: no kernel, sandboxed or not, gets the server's secrets.
        assert.match(outside.detail, /HOME=/);
        assert.doesNotMatch(outside.detail, /SANDBOX-SECRET|OPENROUTER/);
      },
    );

    await t.step(
      "unmounting the tmpfs that hides the home does not reveal it",
      async () => {
        const secret = join(home, ".ssh", "id_x");
        const { inside, outside } = await both(attempt(
          `import subprocess\nfor d in [${
            JSON.stringify(home)
          }, "/tmp"]:\n    subprocess.run(["umount", "-l", d], capture_output=True)\nresult = open(${
            JSON.stringify(secret)
          }).read()`,
        ));
        assert.equal(inside.ok, false, inside.detail);
        assert.equal(outside.ok, true, outside.detail);
      },
    );

    await t.step(
      "no capabilities, also when the server runs as root",
      async () => {
        const code = attempt(
          `result = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]`,
        );
        const { inside, outside } = await both(code);
        assert.equal(inside.detail, "0000000000000000");
        if (AS_ROOT) assert.notEqual(outside.detail, "0000000000000000");
      },
    );

    await t.step("nested user namespaces are refused", async () => {
      const { inside, outside } = await both(attempt(
        `import subprocess\nsubprocess.run(["unshare", "-U", "true"], check=True, capture_output=True)\nresult = "unshared"`,
      ));
      assert.equal(inside.ok, false, inside.detail);
      assert.equal(outside.ok, true, outside.detail);
    });

    await t.step("only sandbox processes are in /proc", async () => {
      // A process may end between the listing and the read (outside, the
      // other tests' processes come and go): it is left out.
      const { inside, outside } = await both(attempt(
        `import os\ndef comm(pid):\n    try:\n        with open(f"/proc/{pid}/comm") as f:\n            return f.read().strip()\n    except (FileNotFoundError, ProcessLookupError):\n        return None\nresult = sorted(filter(None, (comm(p) for p in os.listdir("/proc") if p.isdigit())))`,
      ));
      assert.doesNotMatch(inside.detail, /deno/);
      assert.ok(inside.detail.split(",").length <= 4, inside.detail);
      assert.match(outside.detail, /deno/);
    });

    await t.step("subprocess and fork work", async () => {
      const { inside, outside } = await both(attempt(
        `import os, subprocess\nout = subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip()\npid = os.fork()\nif pid == 0:\n    os._exit(7)\n_, status = os.waitpid(pid, 0)\nresult = f"{out}-{os.waitstatus_to_exitcode(status)}"`,
      ));
      assert.equal(inside.detail, "child-7");
      assert.equal(outside.detail, "child-7");
    });

    await t.step(
      "numpy and 200 threads work under the memory limit",
      async () => {
        const { inside } = await both(attempt(
          `import threading, numpy as np\nts = [threading.Thread(target=lambda: None) for _ in range(200)]\n[t.start() for t in ts]\n[t.join() for t in ts]\na = np.ones((400, 400))\nresult = int((a @ a)[0, 0])`,
        ));
        assert.equal(inside.detail, "400");
      },
    );

    await t.step(
      "a file written in the working directory appears on the host",
      async () => {
        await both(attempt(
          `import os\nopen("made_in_kernel.txt", "w").write(str(os.getpid()))\nresult = os.getcwd()`,
        ));
        assert.equal(
          await Deno.readTextFile(join(sandboxed.cwd, "made_in_kernel.txt")),
          "2",
        );
        assert.ok(await Deno.stat(join(local.cwd, "made_in_kernel.txt")));
      },
    );

    await t.step("a timeout interrupts and keeps the state", async () => {
      for (const server of [sandboxed, local]) {
        await server.call("python_exec", { code: "kept = 41" });
        const { json } = await server.call("python_exec", {
          code: "import time\ntime.sleep(60)",
          timeout: 2,
        });
        assert.equal(json.success, false);
        assert.match(String(json.error), /timed out.*state preserved/);
        const after = await server.call("python_exec", { code: "kept + 1" });
        assert.equal(after.json.result, "42");
      }
    });

    await t.step(
      "python_interrupt stops a run (and its subprocess) and keeps the state",
      async () => {
        for (const server of [sandboxed, local]) {
          const marker = join(server.cwd, "started.txt");
          await Deno.remove(marker).catch(() => {});
          const running = server.call("python_exec", {
            code:
              "import subprocess\nkept = 7\nopen('started.txt', 'w').close()\nsubprocess.run(['sleep', '60'])",
            timeout: 120,
          });
          // Interrupt once the run has started: it creates the marker file.
          await waitUntil(
            "the run's marker file",
            () => Deno.stat(marker).then(() => true, () => false),
          );
          await server.call("python_interrupt", {});
          const { json } = await running;
          assert.equal(json.success, false, JSON.stringify(json));
          assert.match(JSON.stringify(json), /KeyboardInterrupt/);
          const after = await server.call("python_exec", { code: "kept" });
          assert.equal(after.json.result, "7");
        }
      },
    );

    await t.step(
      "the memory limit stops the kernel with the SPEC message; python_reset recovers",
      async () => {
        const code = "block = bytearray(800 * 1024 * 1024)\nlen(block)";
        const { json } = await sandboxed.call("python_exec", {
          code,
          timeout: 120,
        });
        assert.equal(json.success, false);
        assert.equal(
          json.error,
          "Kernel stopped: it exceeded its memory limit of 400 MiB; its state is lost, call python_reset",
        );
        const outside = await local.call("python_exec", { code, timeout: 120 });
        assert.equal(outside.json.result, String(800 * 1024 * 1024));
        await local.call("python_exec", { code: "del block" });
        await sandboxed.call("python_reset", { kernel_id: "_default" });
        const after = await sandboxed.call("python_exec", {
          code: "import os\nos.getpid()",
        });
        assert.equal(after.json.success, true, JSON.stringify(after.json));
        assert.equal(after.json.result, "2");
      },
    );

    await t.step(
      "no answer of the sandboxed server holds a planted secret",
      () => {
        const all = sandboxAnswers.join("\n");
        assert.ok(sandboxAnswers.length > 10);
        assert.doesNotMatch(all, new RegExp(SECRET_KEY));
        assert.doesNotMatch(all, new RegExp(SECRET_SSH));
        // The local kernel read the planted file; its answer masked the key.
        const local = localAnswers.join("\n");
        assert.doesNotMatch(local, new RegExp(SECRET_KEY));
        assert.match(local, /\[REDACTED\]/);
      },
    );
  } finally {
    await sandboxed[Symbol.asyncDispose]();
    await local[Symbol.asyncDispose]();
    listener.close();
    unix.close();
    await accepting.catch(() => {});
    await acceptingUnix.catch(() => {});
    for (const dir of [home, hostDir, roDir]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("ipython_mcp --sandbox leaves no bwrap or python process behind", async (t) => {
  const ends: [string, (server: McpServerHarness) => Promise<void>][] = [
    ["stdin EOF", (server) => server.close()],
    ["SIGTERM", (server) => Promise.resolve(Deno.kill(server.pid, "SIGTERM"))],
    ["SIGKILL", (server) => Promise.resolve(Deno.kill(server.pid, "SIGKILL"))],
  ];
  for (const [name, end] of ends) {
    await t.step(name, async () => {
      const server = await startMcpServer({
        args: ["--sandbox"],
        env: { CODER_PYTHON: PYTHON },
      });
      let below: number[] = [];
      try {
        await server.call("python_exec", {
          code: "import subprocess\np = subprocess.Popen(['sleep', '300'])",
        });
        const created = await server.call("python_reset", {});
        assert.equal(created.json.success, true, JSON.stringify(created.json));
        below = descendants(server.pid);
        const names = below.map(comm);
        assert.ok(
          names.filter((n) => n === "bwrap").length >= 2,
          names.join(","),
        );
        assert.ok(names.some((n) => n.startsWith("python")), names.join(","));
        assert.ok(names.includes("sleep"), names.join(","));
        await end(server);
        assert.deepEqual(await waitGone([server.pid, ...below], 10_000), []);
      } finally {
        killAll(below.filter(pidAlive));
        await Promise.resolve(server[Symbol.asyncDispose]()).catch(() => {});
      }
    });
  }
});

Deno.test("ipython_mcp --sandbox without a usable bwrap answers with one clear error", async (t) => {
  const bin = await Deno.makeTempDir({ prefix: "sbx_bin_" });
  try {
    await t.step(
      "bwrap missing: names the package to install; never runs unsandboxed",
      async () => {
        await using server = await startMcpServer({
          args: ["--sandbox"],
          env: { CODER_PYTHON: PYTHON, PATH: bin },
        });
        for (let i = 0; i < 2; i++) {
          const { json } = await server.call("python_exec", { code: "1 + 1" });
          assert.equal(json.success, false);
          assert.match(
            String(json.error),
            /bubblewrap \(bwrap\).*not on PATH.*apt-get install bubblewrap/,
          );
        }
        const status = await server.call("python_status", {});
        assert.ok(status.json);
      },
    );

    await t.step("bwrap unusable: says what to enable", async () => {
      const fake = join(bin, "bwrap");
      await Deno.writeTextFile(
        fake,
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
      );
      await Deno.chmod(fake, 0o755);
      await using server = await startMcpServer({
        args: ["--sandbox"],
        env: { CODER_PYTHON: PYTHON, PATH: `${bin}:/usr/bin:/bin` },
      });
      const { json } = await server.call("python_exec", { code: "1 + 1" });
      assert.equal(json.success, false);
      assert.match(
        String(json.error),
        /cannot create the sandbox: bwrap: setting up uid map: Permission denied\. It needs unprivileged user namespaces/,
      );
    });

    await t.step("a bad --memory-limit is a usage error (exit 2)", async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          join(REPO, "src/cli/ipython_mcp.ts"),
          "--sandbox",
          "--memory-limit",
          "lots",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 2);
      assert.match(
        new TextDecoder().decode(out.stderr),
        /Invalid memory size "lots"/,
      );
    });

    await t.step(
      "the program's own flags serve --sandbox (SPEC §6a)",
      async () => {
        const run = (flags: string[]) =>
          new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "--quiet",
              ...flags,
              join(REPO, "src/cli/ipython_mcp.ts"),
              "--sandbox",
            ],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).output();
        // SPEC §6a: the program's own flags (those of `deno task
        // ipython_mcp` and the binary) serve --sandbox (the server then
        // serves until stdin ends: here at once).
        const served = await run(runFlags("ipython_mcp"));
        assert.equal(served.code, 0, new TextDecoder().decode(served.stderr));
      },
    );
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
