/**
 * How local kernels are wired: on Linux the ipc transport with socket files
 * in the kernel's private runtime dir (no port is picked before the kernel
 * binds it, so kernels starting together cannot take each other's ports),
 * and a socket that cannot bind fails the start at once.
 */

import assert from "node:assert/strict";
import {
  KernelStartError,
  type SpawnWrapper,
  startKernel,
} from "../../src/kernel/mod.ts";
import { testLaunch } from "../_helpers/kernel_env.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

Deno.test({
  name:
    "local kernels use ipc socket files in their private runtime dir, also many at once",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const cwd = await Deno.makeTempDir({ prefix: "coder_ipc_" });
    const kernels = await Promise.all(
      Array.from(
        { length: 8 },
        () => startKernel({ ...testLaunch({ python: PYTHON }), cwd }),
      ),
    );
    try {
      for (const kernel of kernels) {
        const info = kernel.connectionInfo;
        assert.equal(info.transport, "ipc");
        const dir = info.ip.slice(0, info.ip.lastIndexOf("/"));
        assert.match(dir, /\/coder-kernel-\d+-[^/]+$/);
        assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
        const socket = await Deno.stat(`${info.ip}-${info.shell_port}`);
        assert.ok(socket.isSocket, "the shell socket file exists");
        assert.equal((await kernel.execute("6 * 7")).result, "42");
      }
    } finally {
      await Promise.all(kernels.map((kernel) => kernel.shutdown()));
      await Deno.remove(cwd, { recursive: true });
    }
  },
});

Deno.test("a kernel whose heartbeat port is taken fails its start at once, naming it", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "coder_bind_" });
  // The port another program holds; every attempt's connection file names it.
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = (holder.addr as Deno.NetAddr).port;
  const wrapper: SpawnWrapper = {
    transport: "tcp",
    async wrap(command) {
      const file = command.args.at(-1)!;
      const info = JSON.parse(await Deno.readTextFile(file));
      await Deno.writeTextFile(
        file,
        JSON.stringify({ ...info, hb_port: taken }),
      );
      return command;
    },
  };
  try {
    const error = await startKernel({
      ...testLaunch({ python: PYTHON }),
      cwd,
      wrapper,
      // Far longer than the test takes: a start that waits for the
      // heartbeat would fail with "did not become ready" instead.
      startupTimeoutMs: 600_000,
    }).then(() => null, (e) => e);
    assert.ok(error instanceof KernelStartError, String(error));
    assert.match(error.message, /could not bind its sockets/);
    assert.match(error.stderrTail, /address already in use/i);
  } finally {
    holder.close();
    await Deno.remove(cwd, { recursive: true });
  }
});
