/**
 * The sandbox's filtering proxy on its own (SPEC §12 `--allow-host`): what
 * it lets through, and the attacks it refuses, each sent as raw bytes to its
 * unix socket.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DEFAULT_INDEX_HOSTS,
  indexHosts,
  installEnv,
  localIndexDirs,
  parseAllowHosts,
  startFilteringProxy,
} from "../../src/kernel/mod.ts";
import { rawExchange, serveTarget } from "../_helpers/http_targets.ts";

async function withProxy(
  allow: string[],
  fn: (path: string) => Promise<void>,
  limits = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "proxy_test_" });
  try {
    const path = join(dir, "net.sock");
    const proxy = startFilteringProxy({
      path,
      allow: parseAllowHosts(allow),
      limits,
    });
    try {
      await fn(path);
    } finally {
      await proxy.close();
    }
    assert.equal(await Deno.stat(path).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("allow lists: host for 80/443, host:port for one port, bad entries named", () => {
  assert.deepEqual(parseAllowHosts("PyPI.org., 127.0.0.1:8080 [::1]:9"), [
    { host: "pypi.org", port: null },
    { host: "127.0.0.1", port: 8080 },
    { host: "::1", port: 9 },
  ]);
  assert.deepEqual(parseAllowHosts(["a.io", "a.io"]), [
    { host: "a.io", port: null },
  ]);
  for (
    const bad of ["http://x.org", "x.org:0", "x.org:99999", "a b@c", "[zz]"]
  ) {
    assert.throws(
      () => parseAllowHosts(bad.replace(" ", "")),
      new RegExp(`Not a host or host:port: "`),
      bad,
    );
  }
});

Deno.test("installers get index hosts from the index variables, else PyPI, and no secrets", () => {
  assert.deepEqual(
    indexHosts({}).map((h) => h.host),
    [...DEFAULT_INDEX_HOSTS],
  );
  assert.deepEqual(
    indexHosts({
      PIP_INDEX_URL: "https://user:pw@mirror.example:8443/simple",
      PIP_EXTRA_INDEX_URL: "https://extra.example/simple http://x.example/",
      UV_INDEX: "corp=https://uv.example/simple",
    }),
    parseAllowHosts([
      "mirror.example:8443",
      "extra.example",
      "x.example",
      "uv.example",
    ]),
  );
  assert.deepEqual(
    localIndexDirs({
      PIP_FIND_LINKS: "/opt/wheels file:///srv/more https://x.example/",
      PIP_INDEX_URL: "file:///srv/simple/",
      UV_FIND_LINKS: "/a,/b",
      PIP_EXTRA_INDEX_URL: "/not/a/url",
    }),
    ["/srv/simple/", "/opt/wheels", "/srv/more", "/a", "/b"],
  );
  const env = installEnv({
    PATH: "/usr/bin",
    HOME: "/home/u",
    PIP_INDEX_URL: "https://i/simple",
    UV_CACHE_DIR: "/c",
    LC_ALL: "C",
    CODER_MCP_TOKEN: "secret",
    CODER_GATEWAY_TOKEN: "secret",
    OPENAI_API_KEY: "secret",
    ANTHROPIC_API_KEY: "secret",
    HTTPS_PROXY: "http://corp",
  });
  assert.deepEqual(Object.keys(env).sort(), [
    "HOME",
    "LC_ALL",
    "PATH",
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "PIP_INDEX_URL",
    "PIP_NO_INPUT",
    "UV_CACHE_DIR",
  ]);
});

Deno.test("the proxy forwards absolute-form HTTP and CONNECT to allowed hosts only", async () => {
  await using target = serveTarget();
  await using other = serveTarget();
  const allowed = `127.0.0.1:${target.port}`;
  await withProxy([allowed], async (path) => {
    const get = await rawExchange(
      path,
      `GET http://${allowed}/a?b=1 HTTP/1.1\r\nHost: ${allowed}\r\nProxy-Authorization: x\r\n\r\n`,
    );
    assert.match(get, /^HTTP\/1\.1 200 /);
    assert.match(get, new RegExp(`hello from ${target.port}`));
    assert.deepEqual(target.requests, [`GET /a ${allowed}`]);

    const tunnel = await rawExchange(path, [
      `CONNECT ${allowed} HTTP/1.1\r\nHost: ${allowed}\r\n\r\n`,
      `GET /t HTTP/1.1\r\nHost: ${allowed}\r\nConnection: close\r\n\r\n`,
    ]);
    assert.match(tunnel, /^HTTP\/1\.1 200 Connection established\r\n\r\n/);
    assert.match(tunnel, new RegExp(`hello from ${target.port}`));
    assert.equal(target.requests.at(-1), `GET /t ${allowed}`);

    // Another port of the same host, another spelling of the same address,
    // a name: refused, named, with the way to allow it.
    for (
      const host of [
        `127.0.0.1:${other.port}`,
        `127.1:${target.port}`,
        "localhost:80",
      ]
    ) {
      for (
        const request of [
          `CONNECT ${host} HTTP/1.1\r\n\r\n`,
          `GET http://${host}/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        ]
      ) {
        const answer = await rawExchange(path, request);
        const shown = host.replace(/:80$/, "");
        assert.match(answer, /^HTTP\/1\.1 403 Forbidden: /, request);
        assert.ok(answer.includes(`refused ${host}`), answer);
        // The default hint names the library option, never a flag.
        assert.ok(answer.includes(`add "${shown}" to allowHosts`), answer);
        assert.ok(!/--allow-host|CODER_/.test(answer), answer);
      }
    }
    assert.deepEqual(other.requests, []);
  });
});

Deno.test("the proxy refuses smuggling: Host mismatch, userinfo, origin form, https in absolute form, bad lines", async () => {
  await using target = serveTarget();
  const allowed = `127.0.0.1:${target.port}`;
  await withProxy([allowed], async (path) => {
    const cases: [string, RegExp][] = [
      [
        `GET http://${allowed}/ HTTP/1.1\r\nHost: evil.example\r\n\r\n`,
        /^HTTP\/1\.1 400 Host header does not match/,
      ],
      [
        `GET http://${allowed}/ HTTP/1.1\r\nHost: ${allowed}\r\nHost: evil.example\r\n\r\n`,
        /^HTTP\/1\.1 400 Host header does not match/,
      ],
      [
        `GET http://evil.example@${allowed}/ HTTP/1.1\r\n\r\n`,
        /^HTTP\/1\.1 400 No user information/,
      ],
      [
        `GET / HTTP/1.1\r\nHost: ${allowed}\r\n\r\n`,
        /^HTTP\/1\.1 400 Absolute http URL required/,
      ],
      [
        `GET https://${allowed}/ HTTP/1.1\r\n\r\n`,
        /^HTTP\/1\.1 400 Absolute http URL required/,
      ],
      [`CONNECT ${allowed.split(":")[0]} HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [
        `GET http://${allowed}/ HTTP/2\r\n\r\n`,
        /^HTTP\/1\.1 400 Bad request line/,
      ],
      [
        `GET http://${allowed}/ HTTP/1.1\r\nno colon\r\n\r\n`,
        /^HTTP\/1\.1 400 Bad header line/,
      ],
    ];
    for (const [request, expected] of cases) {
      assert.match(await rawExchange(path, request), expected, request);
    }
    assert.deepEqual(target.requests, []);
  });
});

Deno.test("the proxy caps request heads, slow heads and concurrent connections", async () => {
  await using target = serveTarget();
  const allowed = `127.0.0.1:${target.port}`;
  await withProxy([allowed], async (path) => {
    const huge = await rawExchange(path, [
      `GET http://${allowed}/ HTTP/1.1\r\n`,
      `X-Big: ${"a".repeat(64 * 1024)}\r\n`,
    ]);
    assert.match(huge, /^HTTP\/1\.1 431 /);

    // Slowloris: half a head, then nothing; the proxy hangs up.
    const slow = await rawExchange(path, `GET http://${allowed}/ HTTP/1.1\r\n`);
    assert.equal(slow, "");

    // Fill the two slots with open tunnels; the third connection gets 503.
    const held: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const conn = await Deno.connect({ transport: "unix", path });
        held.push(conn);
        await conn.write(
          new TextEncoder().encode(`CONNECT ${allowed} HTTP/1.1\r\n\r\n`),
        );
        const buf = new Uint8Array(100);
        const n = await conn.read(buf);
        assert.match(new TextDecoder().decode(buf.subarray(0, n!)), / 200 /);
      }
      const third = await rawExchange(
        path,
        `GET http://${allowed}/ HTTP/1.1\r\n\r\n`,
      );
      assert.match(third, /^HTTP\/1\.1 503 /);
    } finally {
      for (const conn of held) conn.close();
    }
    assert.deepEqual(target.requests, []);
  }, { headTimeoutMs: 300, maxConnections: 2 });
});
