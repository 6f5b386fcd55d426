/**
 * The remote backend against a real Jupyter Server on 127.0.0.1: execution,
 * images, timeout with state kept, deaths (os._exit, DELETE by another
 * client, lost socket), clear errors, IOPub rate limit, base URL prefix.
 */

import assert from "node:assert/strict";
import {
  createRemoteBackend,
  type ExecuteResult,
  ExecutionTimeoutError,
  type GatewayError,
  KernelDiedError,
  KernelGoneError,
  type KernelHandle,
  KernelRegistry,
  KernelStartError,
  type RemoteKernel,
} from "../../src/kernel/mod.ts";
import { startJupyterServer } from "../_helpers/jupyter_server.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";
import { PYTHON_DISPLAY_PNG } from "../_helpers/python_code.ts";

const server = await startJupyterServer();
const opts = { sanitizeResources: false, sanitizeOps: false };

function backendFor(extra: Record<string, unknown> = {}) {
  return createRemoteBackend({
    url: server.url,
    token: server.token,
    username: "tester",
    ...extra,
  });
}

async function rejects<E>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof type, `unexpected error: ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

function ppid(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

async function kernelPid(kernel: KernelHandle): Promise<number> {
  const r = await kernel.execute("import os; print(os.getpid())");
  return Number(r.stdout.trim());
}

Deno.test(
  "remote kernel: state, result, images, pid null, runs under the server",
  opts,
  async () => {
    await using kernel = await backendFor().start({ cwd: ".", packages: [] });
    assert.equal(kernel.backend, "remote");
    assert.equal(kernel.pid, null);
    assert.equal(kernel.location, server.url);
    assert(!kernel.location!.includes(server.token));
    assert.equal(kernel.cwd, server.root);
    const pid = await kernelPid(kernel);
    assert.equal(ppid(pid), server.pid, "the kernel is a child of the server");
    await kernel.execute("x = 41");
    const r = await kernel.execute("x + 1");
    assert.equal(r.result, "42");
    const img = await kernel.execute(PYTHON_DISPLAY_PNG);
    assert.equal(img.images.length, 1);
    assert.equal(img.images[0]!.mimeType, "image/png");
    assert(!img.images[0]!.data.includes("\n"));
    const err = await kernel.execute("1/0");
    assert.equal(err.error?.ename, "ZeroDivisionError");
    assert(!err.error!.traceback.includes("\x1b["));
    const after = await kernel.execute("x");
    assert.equal(after.result, "41");
    const inp = await kernel.execute("input('name?')");
    assert(inp.error, "input() is refused by the start-up code");
    const state = await kernel.inspect();
    assert(state.variables.includes("x"));
  },
);

Deno.test(
  "remote kernel: timeout interrupts and keeps state",
  opts,
  async () => {
    await using kernel = await backendFor().start({ cwd: ".", packages: [] });
    await kernel.execute("y = 7");
    const error = await rejects(
      () =>
        kernel.execute("import time\nwhile True: time.sleep(0.1)", {
          timeoutMs: 1500,
        }),
      ExecutionTimeoutError,
    );
    assert(error.kernelAlive);
    assert.equal((await kernel.execute("y")).result, "7");
  },
);

Deno.test(
  "remote kernel: interrupt stops running code through REST, state kept",
  opts,
  async () => {
    await using kernel = await backendFor().start({ cwd: ".", packages: [] });
    await kernel.execute("k = 9");
    const result = await kernel.execute(
      "import time\nprint('started', flush=True)\nwhile True: time.sleep(0.05)",
      {
        timeoutMs: 60_000,
        onOutput: (chunk) => {
          if (chunk.text.includes("started")) kernel.interrupt();
        },
      },
    );
    assert.equal(result.error?.ename, "KeyboardInterrupt");
    assert.equal((await kernel.execute("k")).result, "9");
  },
);

Deno.test(
  "remote kernel: os._exit is a death well under the timeout",
  opts,
  async () => {
    const kernel = await backendFor().start({ cwd: ".", packages: [] });
    // A death, not the 60 s timeout (that would be ExecutionTimeoutError);
    // how fast it is noticed is the benchmark's business.
    const error = await rejects(
      () => kernel.execute("import os; os._exit(1)", { timeoutMs: 60_000 }),
      KernelDiedError,
    );
    assert.equal(error.exit.reason, "remote_restarted");
    assert(!kernel.alive);
    assert.equal((await kernel.exited).reason, "remote_restarted");
    await kernel.shutdown();
  },
);

/**
 * Starts `code` in a fresh kernel, DELETEs the kernel through the REST API
 * once the cell has printed, and returns how the cell ended and how the
 * next call ended.
 */
async function deleteWhileRunning(code: string): Promise<{
  cell: PromiseSettledResult<ExecuteResult>;
  next: PromiseSettledResult<ExecuteResult>;
}> {
  const kernel = await backendFor().start({ cwd: ".", packages: [] });
  try {
    const id = (kernel as RemoteKernel).kernelId;
    // DELETE once the cell runs (a cell not started yet is aborted by the
    // kernel's shutdown instead, a different case).
    const started = Promise.withResolvers<void>();
    const running = kernel.execute(code, {
      timeoutMs: 60_000,
      onOutput: () => started.resolve(),
    });
    await started.promise;
    const response = await fetch(`${server.url}api/kernels/${id}`, {
      method: "DELETE",
      headers: { Authorization: `token ${server.token}` },
    });
    await response.body?.cancel();
    assert.equal(response.status, 204);
    const [cell] = await Promise.allSettled([running]);
    const [next] = await Promise.allSettled([
      kernel.execute("1", { timeoutMs: 60_000 }),
    ]);
    return { cell: cell!, next: next! };
  } finally {
    await kernel.shutdown();
  }
}

/** The settled call failed with a death of the given reason. */
function assertDied(
  settled: PromiseSettledResult<ExecuteResult>,
  reason: string,
): void {
  assert.equal(settled.status, "rejected", JSON.stringify(settled));
  const error = (settled as PromiseRejectedResult).reason;
  assert(error instanceof KernelDiedError, String(error));
  assert.equal(error.exit.reason, reason, error.exit.detail);
}

Deno.test(
  "remote kernel: DELETE by another client is a death",
  opts,
  async (t) => {
    await t.step(
      "a cell that outlives the shutdown ends as a death",
      async () => {
        // The server interrupts a kernel before shutting it down; a cell
        // that ignores SIGINT runs until the server kills the kernel.
        const { cell, next } = await deleteWhileRunning(
          "import signal, time\n" +
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n" +
            "print('started', flush=True)\ntime.sleep(30)",
        );
        assertDied(cell, "remote_gone");
        assertDied(next, "remote_gone");
      },
    );
    await t.step("an interruptible cell: the next call says so", async () => {
      // Here the server's interrupt may end the cell before the kernel
      // goes (a KeyboardInterrupt result) or not (a death); either way the
      // next call reports the kernel gone.
      const { cell, next } = await deleteWhileRunning(
        "import time; print('started', flush=True); time.sleep(30)",
      );
      if (cell.status === "fulfilled") {
        assert.equal(cell.value.error?.ename, "KeyboardInterrupt");
      } else {
        assertDied(cell, "remote_gone");
      }
      assertDied(next, "remote_gone");
    });
  },
);

Deno.test(
  "remote kernel: IOPub rate limit reported as truncated",
  opts,
  async () => {
    await using kernel = await backendFor().start({ cwd: ".", packages: [] });
    const r = await kernel.execute(
      "import sys\nfor _ in range(100): sys.stdout.write('x' * 100_000 + '\\n')",
      { timeoutMs: 120_000 },
    );
    assert(r.stdout.length < 10_000_000);
    assert.match(r.stderr, /output truncated/);
  },
);

Deno.test(
  "remote backend: wrong token, unreachable URL, unknown kernel name",
  opts,
  async () => {
    const wrong = await rejects(
      () => backendFor({ token: "nope" }).start({ cwd: ".", packages: [] }),
      KernelStartError,
    );
    // Used as a library: the hint is data, worded with option names.
    assert.match(
      wrong.message,
      /rejected the token \(403\); pass a valid token and check authScheme$/,
    );
    assert.deepEqual(wrong.hints, [
      { option: "token", advice: "set" },
      { option: "authScheme", advice: "check" },
    ]);
    assert.doesNotMatch(wrong.message, /CODER_|--/);
    assert(!wrong.message.includes(server.token));
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const unreachable = await rejects(
      () =>
        createRemoteBackend({ url: `http://127.0.0.1:${port}/`, token: "t" })
          .start({ cwd: ".", packages: [] }),
      KernelStartError,
    );
    assert.match(unreachable.message, /Cannot reach the gateway/);
    const unknown = await rejects(
      () =>
        backendFor({ kernelName: "nosuch" }).start({ cwd: ".", packages: [] }),
      KernelStartError,
    );
    assert.match(
      unknown.message,
      /no kernel spec named "nosuch".*pass a valid kernelName/,
    );
    assert.deepEqual(unknown.hints, [{ option: "kernelName", advice: "set" }]);
    assert.doesNotMatch(unknown.message, /CODER_|--/);
  },
);

Deno.test(
  "remote kernel: code over 10 MiB is refused, the kernel keeps working",
  opts,
  async () => {
    await using kernel = await backendFor().start({ cwd: ".", packages: [] });
    await kernel.execute("v = 3");
    const error = await rejects(
      () => kernel.execute("s = '" + "a".repeat(11 * 1024 * 1024) + "'"),
      Error,
    );
    assert.match(error.message, /over 10 MiB/);
    assert.equal((await kernel.execute("v")).result, "3");
  },
);

Deno.test("remote kernel: two kernels are isolated", opts, async () => {
  const backend = backendFor();
  await using a = await backend.start({ cwd: ".", packages: [] });
  await using b = await backend.start({ cwd: ".", packages: [] });
  await a.execute("z = 1");
  const r = await b.execute("z");
  assert.equal(r.error?.ename, "NameError");
});

Deno.test("remote kernel: culled by the server is a death", opts, async () => {
  await using culling = await startJupyterServer({
    args: [
      "--MappingKernelManager.cull_idle_timeout=2",
      "--MappingKernelManager.cull_interval=1",
      "--MappingKernelManager.cull_connected=True",
    ],
  });
  const backend = createRemoteBackend({
    url: culling.url,
    token: culling.token,
  });
  // The server may cull a kernel during its own start-up on a slow machine
  // (or the start outlasts its deadline there): that is a clear start
  // error, and the next start is tried.
  let kernel: KernelHandle | undefined;
  for (let attempt = 0; attempt < 5 && !kernel; attempt++) {
    kernel = await backend.start({ cwd: ".", packages: [] }).catch((error) => {
      assert.match(String(error), /deleted or culled|404|timeout|timed out/);
      return undefined;
    });
  }
  assert.ok(kernel);
  const exit = await kernel.exited;
  assert.equal(exit.reason, "remote_gone");
  await rejects(() => kernel.execute("1"), KernelDiedError);
  await kernel.shutdown();
});

Deno.test(
  "remote kernel: culled while idle, the registry's _default answers that it died until restarted",
  opts,
  async () => {
    await using culling = await startJupyterServer({
      args: [
        "--MappingKernelManager.cull_idle_timeout=2",
        "--MappingKernelManager.cull_interval=1",
        "--MappingKernelManager.cull_connected=True",
      ],
    });
    await using registry = new KernelRegistry({
      cwd: ".",
      launch: testLaunch(),
      backend: createRemoteBackend({ url: culling.url, token: culling.token }),
    });
    // The server may cull a kernel during its own start-up on a slow
    // machine: that start fails clearly and is tried again.
    let kernel: KernelHandle | undefined;
    for (let attempt = 0; attempt < 5 && !kernel; attempt++) {
      kernel = await registry.ensureDefault().catch((error) => {
        assert.match(String(error), /deleted or culled|404/);
        return undefined;
      });
    }
    assert.ok(kernel);
    await kernel.exited;
    const error = await rejects(
      () => registry.ensureDefault(),
      KernelGoneError,
    );
    assert.equal(error.idle, true);
    assert.match(
      error.message,
      /^Kernel _default died while idle \(.*culled.*\); its state is lost; call python_reset$/,
    );
  },
);

Deno.test("remote kernel: base URL with a path prefix", opts, async () => {
  await using prefixed = await startJupyterServer({
    baseUrl: "/user/alice/",
  });
  assert.ok(prefixed.url.endsWith("/user/alice/"));
  await using kernel = await createRemoteBackend({
    url: prefixed.url.replace(/\/$/, ""),
    token: prefixed.token,
  }).start({ cwd: ".", packages: [] });
  assert.equal(kernel.location, prefixed.url);
  assert.equal((await kernel.execute("6 * 7")).result, "42");
});

Deno.test(
  "remote kernel: a server that selects no subprotocol is spoken to in JSON",
  opts,
  async () => {
    // What older servers and gateways do; here a stock server told so.
    await using legacy = await startJupyterServer({
      args: ["--ServerApp.kernel_ws_protocol="],
    });
    await using kernel = await createRemoteBackend({
      url: legacy.url,
      token: legacy.token,
    }).start({ cwd: ".", packages: [] }) as RemoteKernel;
    assert.equal(kernel.protocol, "json");
    assert.equal((await kernel.execute("6 * 7")).result, "42");
    const img = await kernel.execute(PYTHON_DISPLAY_PNG);
    assert.equal(img.images.length, 1);
  },
);

/** A TCP proxy in front of the server whose connections a test can cut. */
function startProxy(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let accepted = 0;
  (async () => {
    for await (const client of listener) {
      accepted++;
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.add(client);
      conns.add(upstream);
      client.readable.pipeTo(upstream.writable).catch(() => {});
      upstream.readable.pipeTo(client.writable).catch(() => {});
    }
  })().catch(() => {});
  const cut = () => {
    for (const conn of conns) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    conns.clear();
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    cut,
    close() {
      listener.close();
      cut();
    },
  };
}

Deno.test(
  "remote kernel: a lost socket reconnects with the same session and gets the missed output",
  opts,
  async () => {
    const port = Number(new URL(server.url).port);
    const proxy = startProxy(port);
    try {
      await using kernel = await createRemoteBackend({
        url: `http://127.0.0.1:${proxy.port}/`,
        token: server.token,
      }).start({ cwd: ".", packages: [] });
      await kernel.execute("w = 5");
      const before = proxy.accepted();
      // Cut once the cell runs: its 'before' line came; the kernel's sleep
      // keeps it running while the client reconnects.
      const started = Promise.withResolvers<void>();
      const running = kernel.execute(
        "import time\nprint('before', flush=True)\ntime.sleep(2)\nprint('after')\nw * 2",
        { timeoutMs: 60_000, onOutput: () => started.resolve() },
      );
      await started.promise;
      proxy.cut();
      const result = await running;
      assert.ok(proxy.accepted() > before, "a new connection was made");
      assert.match(result.stdout, /after/);
      assert.equal(result.result, "10");
      assert.ok(kernel.alive);
      assert.equal((await kernel.execute("w")).result, "5");
    } finally {
      proxy.close();
    }
  },
);

Deno.test(
  "remote backend: the scheme and token go only in the Authorization header",
  opts,
  async () => {
    const seen: { auth: string | null; url: string; body: string }[] = [];
    await using fake = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        seen.push({
          auth: request.headers.get("authorization"),
          url: request.url,
          body: await request.text(),
        });
        return new Response("{}", { status: 401 });
      },
    );
    const error = await rejects(
      () =>
        createRemoteBackend({
          url: `http://127.0.0.1:${fake.addr.port}/hub/user/bob`,
          token: "secret-123",
          authScheme: "Bearer",
          kernelName: "python_kubernetes",
          username: "alice",
          kernelEnv: {
            KERNEL_NAMESPACE: "team-a",
            KERNEL_BAD: "has $dollar",
            OTHER: "not sent",
          },
        }).start({ cwd: ".", packages: [] }),
      KernelStartError,
    );
    assert.match(error.message, /rejected the token \(401\)/);
    assert.ok(!error.message.includes("secret-123"));
    assert.equal(seen[0]?.auth, "Bearer secret-123");
    assert.equal(
      seen[0]?.url,
      `http://127.0.0.1:${fake.addr.port}/hub/user/bob/api/kernels`,
    );
    // Start requests carry KERNEL_USERNAME and valid KERNEL_* variables only.
    assert.deepEqual(JSON.parse(seen[0]!.body), {
      name: "python_kubernetes",
      path: "",
      env: { KERNEL_NAMESPACE: "team-a", KERNEL_USERNAME: "alice" },
    });
  },
);

Deno.test(
  "remote backend: a stopped JupyterHub server and a wrong base URL are named",
  opts,
  async () => {
    for (
      const [status, pattern] of [
        [424, /JupyterHub user server is not running/],
        [503, /JupyterHub user server is not running/],
        [404, /not found \(404\).*base URL/],
      ] as const
    ) {
      await using fake = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () => new Response("not here", { status }),
      );
      const error = await rejects(
        () =>
          createRemoteBackend({
            url: `http://127.0.0.1:${fake.addr.port}/user/alice/`,
            token: "t0k3n",
          }).start({ cwd: ".", packages: [] }),
        KernelStartError,
      );
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("t0k3n"));
    }
  },
);

Deno.test(
  "remote kernel: v1 subprotocol by default, JSON protocol when not offered",
  opts,
  async () => {
    await using v1 = await backendFor().start({ cwd: ".", packages: [] });
    assert.equal((v1 as RemoteKernel).protocol, "v1");
    await using json = await backendFor({ offerV1: false }).start({
      cwd: ".",
      packages: [],
    });
    assert.equal((json as RemoteKernel).protocol, "json");
    for (const kernel of [v1, json]) {
      const r = await kernel.execute("print('é ✓'); 'x' * 3");
      assert.equal(r.stdout, "é ✓\n");
      assert.equal(r.result, "'xxx'");
      const img = await kernel.execute(PYTHON_DISPLAY_PNG);
      assert.equal(img.images.length, 1);
    }
  },
);

Deno.test("remote backend: a URL carrying credentials or a query is refused", () => {
  for (
    const url of [
      "http://127.0.0.1:1/?token=s3cr3t",
      "http://me:s3cr3t@127.0.0.1:1/",
    ]
  ) {
    assert.throws(
      () => createRemoteBackend({ url }),
      (error: GatewayError) =>
        /pass a valid token instead$/.test(error.message) &&
        error.hints[0]?.option === "token" &&
        !/CODER_/.test(error.message) &&
        !error.message.includes("s3cr3t"),
    );
  }
  assert.throws(
    () => createRemoteBackend({ url: "ftp://x/" }),
    /http or https/,
  );
});

Deno.test(
  "remote kernel: a server that stays unreachable is a lost connection",
  opts,
  async () => {
    const proxy = startProxy(Number(new URL(server.url).port));
    const kernel = await createRemoteBackend({
      url: `http://127.0.0.1:${proxy.port}/`,
      token: server.token,
    }).start({ cwd: ".", packages: [] });
    const id = (kernel as RemoteKernel).kernelId;
    try {
      // Close once the cell runs (its first output came); a lost connection,
      // not the 300 s timeout, ends the call.
      const started = Promise.withResolvers<void>();
      const running = kernel.execute(
        "import time; print('started', flush=True); time.sleep(120)",
        { timeoutMs: 300_000, onOutput: () => started.resolve() },
      );
      await started.promise;
      proxy.close();
      const error = await rejects(() => running, KernelDiedError);
      assert.equal(error.exit.reason, "connection_lost");
      assert.match(error.message, /lost the connection/);
    } finally {
      await kernel.shutdown();
      const response = await fetch(`${server.url}api/kernels/${id}`, {
        method: "DELETE",
        headers: { Authorization: `token ${server.token}` },
      });
      await response.body?.cancel();
    }
  },
);

Deno.test("remote kernel: teardown", opts, async () => {
  const response = await fetch(`${server.url}api/kernels`, {
    headers: { Authorization: `token ${server.token}` },
  });
  const left = await response.json();
  await server.stop();
  assert.deepEqual(left, [], "every test deleted its remote kernels");
});
