/**
 * `--allow-host` end to end (SPEC §12): a real sandboxed kernel reaches the
 * allowed hosts over HTTP and CONNECT through the relay and the filtering
 * proxy, is refused (with the host named) everywhere else, and still has no
 * other network. Without an allow list nothing changes: no proxy, no relay.
 */
import assert from "node:assert/strict";
import { basename, dirname } from "node:path";
import { createSandboxBackend } from "../../src/kernel/mod.ts";
import { testEnv } from "../_helpers/kernel_env.ts";
import { serveTarget } from "../_helpers/http_targets.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

/** This process's proxy socket directories (`coder-kernel-<pid>-net-*`). */
async function socketDirs(): Promise<string[]> {
  const found: string[] = [];
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  for await (const entry of Deno.readDir(tmp)) {
    if (entry.name.startsWith(`coder-kernel-${Deno.pid}-net-`)) {
      found.push(entry.name);
    }
  }
  return found;
}

Deno.test("an allowed host is reached over HTTP and CONNECT from a sandboxed kernel; others are refused by name", async () => {
  await using target = serveTarget();
  await using tunnelTarget = serveTarget();
  await using forbidden = serveTarget();
  const cwd = await Deno.makeTempDir({ prefix: "sbx_net_" });
  const logs: string[] = [];
  try {
    const backend = createSandboxBackend({
      env: testEnv(),
      python: PYTHON,
      // With a limit, the memory wrapper's exit handling must still stop the proxy.
      memoryLimit: 2 * 2 ** 30,
      allowHosts: [
        `127.0.0.1:${target.port}`,
        `127.0.0.1:${tunnelTarget.port}`,
      ],
      logger: {
        debug: () => {},
        info: (m: string) => logs.push(m),
        warn: (m: string) => logs.push(m),
        error: (m: string) => logs.push(m),
      },
    });
    const kernel = await backend.start({ cwd, packages: [] });
    let socketDir = "";
    try {
      const http = await kernel.execute(
        "import urllib.request\n" +
          `urllib.request.urlopen('http://127.0.0.1:${target.port}/via-http').read().decode()`,
      );
      assert.equal(http.error, null, JSON.stringify(http.error));
      assert.equal(http.result, `'hello from ${target.port}'`);
      assert.deepEqual(target.requests, [
        `GET /via-http 127.0.0.1:${target.port}`,
      ]);

      // CONNECT through the proxy variables, then plain HTTP inside the tunnel.
      const tunnel = await kernel.execute(
        "import http.client, os, urllib.parse\n" +
          "p = urllib.parse.urlsplit(os.environ['HTTPS_PROXY'])\n" +
          "c = http.client.HTTPConnection(p.hostname, p.port, timeout=20)\n" +
          `c.set_tunnel('127.0.0.1', ${tunnelTarget.port})\n` +
          "c.request('GET', '/via-connect')\n" +
          "c.getresponse().read().decode()",
      );
      assert.equal(tunnel.error, null, JSON.stringify(tunnel.error));
      assert.equal(tunnel.result, `'hello from ${tunnelTarget.port}'`);
      assert.deepEqual(tunnelTarget.requests, [
        `GET /via-connect 127.0.0.1:${tunnelTarget.port}`,
      ]);

      // A host that is not allowed: 403 naming it, over HTTP and CONNECT.
      const refused = await kernel.execute(
        "import urllib.request, urllib.error\n" +
          "try:\n" +
          `    urllib.request.urlopen('http://127.0.0.1:${forbidden.port}/x')\n` +
          "except urllib.error.HTTPError as e:\n" +
          "    r = f'{e.code} {e.read().decode()}'\n" +
          "r",
      );
      assert.match(
        String(refused.result),
        new RegExp(
          `^.403 .*refused 127\\.0\\.0\\.1:${forbidden.port}.*add "127\\.0\\.0\\.1:${forbidden.port}" to allowHosts`,
        ),
      );
      const refusedTunnel = await kernel.execute(
        "import http.client, os, urllib.parse\n" +
          "p = urllib.parse.urlsplit(os.environ['HTTPS_PROXY'])\n" +
          "c = http.client.HTTPConnection(p.hostname, p.port, timeout=20)\n" +
          "c.set_tunnel('pypi.org', 443)\n" +
          "try:\n    c.connect()\nexcept OSError as e:\n    r = str(e)\nr",
      );
      assert.match(
        String(refusedTunnel.result),
        /Tunnel connection failed: 403 Forbidden: pypi\.org:443 is not an allowed host \(add "pypi\.org" to allowHosts\)/,
      );
      assert.deepEqual(forbidden.requests, []);
      assert.ok(
        logs.some((l) => l.includes("refused a connection to pypi.org:443")),
      );

      // Raw sockets: the host's loopback is still unreachable, DNS too.
      const raw = await kernel.execute(
        "import socket\nout = []\n" +
          `for addr in [('127.0.0.1', ${target.port}), ('8.8.8.8', 53)]:\n` +
          "    try:\n        socket.create_connection(addr, timeout=5).close(); out.append('open')\n" +
          "    except OSError as e:\n        out.append(type(e).__name__)\n" +
          "try:\n    socket.getaddrinfo('pypi.org', 443); out.append('dns')\n" +
          "except OSError as e:\n    out.append(type(e).__name__)\nout",
      );
      assert.equal(
        raw.result,
        "['ConnectionRefusedError', 'OSError', 'gaierror']",
      );
      const where = await kernel.execute(
        "import os\n[os.environ.get(k) for k in ('HTTP_PROXY', 'https_proxy', 'NO_PROXY')]",
      );
      assert.equal(
        where.result,
        "['http://127.0.0.1:3128', 'http://127.0.0.1:3128', '']",
      );
      // The kernel cannot remove or replace the proxy's socket: its
      // directory is bound read-only (the relay, pid 2, names it).
      const tamper = await kernel.execute(
        "import os\nsock = open('/proc/2/cmdline').read().split('\\0')[5]\n" +
          "try:\n    os.remove(sock); r = 'removed'\n" +
          "except OSError as e:\n    r = e.strerror\nprint(sock)\n(sock.endswith('/net.sock'), r)",
      );
      assert.equal(tamper.result, "(True, 'Read-only file system')");
      socketDir = dirname(tamper.stdout.trim());
      // Other test files run kernels in this process too: this kernel's
      // directory is one of this process's.
      assert.ok((await socketDirs()).includes(basename(socketDir)));
    } finally {
      await kernel.shutdown();
    }
    // The proxy stopped with the kernel (the sanitizers would also catch a
    // listener left open) and its directory is gone.
    assert.ok(socketDir !== "");
    assert.ok(!(await socketDirs()).includes(basename(socketDir)));
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("without --allow-host a sandboxed kernel has no proxy variables and no network", async () => {
  await using target = serveTarget();
  const cwd = await Deno.makeTempDir({ prefix: "sbx_nonet_" });
  try {
    const backend = createSandboxBackend({
      env: { ...testEnv(), HTTP_PROXY: "http://127.0.0.1:1" },
      python: PYTHON,
      memoryLimit: null,
    });
    await using kernel = await backend.start({ cwd, packages: [] });
    const out = await kernel.execute(
      "import os, socket\n" +
        "env = [k for k in os.environ if 'proxy' in k.lower()]\n" +
        "try:\n" +
        `    socket.create_connection(('127.0.0.1', 3128), timeout=5); r = 'open'\n` +
        "except OSError as e:\n    r = type(e).__name__\n(env, r, os.getpid())",
    );
    assert.equal(out.result, "([], 'ConnectionRefusedError', 2)");
    assert.deepEqual(target.requests, []);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("a malformed --allow-host entry is refused when the backend is made", () => {
  assert.throws(
    () =>
      createSandboxBackend({
        env: testEnv(),
        memoryLimit: null,
        allowHosts: ["https://pypi.org/simple"],
      }).preflight(),
    /Not a host or host:port: "https:\/\/pypi\.org\/simple"/,
  );
});
