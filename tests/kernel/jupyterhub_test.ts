/**
 * A real JupyterHub (Debian's `jupyterhub` 3.0 with the npm
 * `configurable-http-proxy` on PATH) on 127.0.0.1 spawning a user server
 * with SimpleLocalProcessSpawner; the remote backend works against
 * `/user/NAME/` with a hub API token, and a user server the hub stopped is
 * a clear 424/503 error, never a hang. Ignored where either program is
 * missing.
 */

import assert from "node:assert/strict";
import {
  createRemoteBackend,
  KernelDiedError,
  KernelStartError,
} from "../../src/kernel/mod.ts";
import { testEnv } from "../_helpers/kernel_env.ts";
import {
  descendants,
  killAll,
  spawnCollecting,
  waitGone,
} from "../_helpers/processes.ts";
import { waitUntil } from "../_helpers/wait.ts";

const TOKEN = "hub-service-token-0123456789abcdef";
const USER = "alice";

function onPath(program: string): boolean {
  for (const dir of (testEnv().PATH ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

const AVAILABLE = Deno.build.os === "linux" && onPath("jupyterhub") &&
  onPath("jupyterhub-singleuser") && onPath("configurable-http-proxy");

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running hub with its temp dir; dispose to stop it and its servers. */
interface Hub extends AsyncDisposable {
  url: string;
  api(method: string, path: string): Promise<Response>;
  log(): string;
}

async function startHub(): Promise<Hub> {
  const dir = await Deno.makeTempDir({ prefix: "coder_hub_" });
  await Deno.mkdir(`${dir}/home/${USER}`, { recursive: true });
  const [port, hubPort, apiPort] = [freePort(), freePort(), freePort()];
  await Deno.writeTextFile(
    `${dir}/config.py`,
    `c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = ${port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = ${hubPort}
c.JupyterHub.db_url = "sqlite:///${dir}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "${dir}/cookie_secret"
c.JupyterHub.pid_file = "${dir}/hub.pid"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:${apiPort}"
c.ConfigurableHTTPProxy.pid_file = "${dir}/proxy.pid"
c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
c.Authenticator.allowed_users = {"${USER}"}
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = "${dir}/home/{username}"
c.Spawner.cmd = ["jupyterhub-singleuser"]
c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = 60
c.JupyterHub.services = [{"name": "tester", "api_token": "${TOKEN}"}]
c.JupyterHub.load_roles = [{"name": "tester", "scopes": ["admin:users", "admin:servers", "access:servers"], "services": ["tester"]}]
`,
  );
  const { child, output, drained } = spawnCollecting("jupyterhub", {
    args: ["-f", `${dir}/config.py`],
    cwd: dir,
    env: testEnv(),
  });
  const url = `http://127.0.0.1:${port}/`;
  const api = (method: string, path: string) =>
    fetch(`${url}hub/api/${path}`, {
      method,
      headers: { Authorization: `token ${TOKEN}` },
    });
  const seen = new Set<number>();
  const hub: Hub = {
    url,
    api,
    log: () => output(),
    async [Symbol.asyncDispose]() {
      for (const pid of descendants(child.pid)) seen.add(pid);
      try {
        child.kill("SIGTERM"); // the hub stops user servers and the proxy
      } catch { /* gone */ }
      const left = await waitGone([child.pid, ...seen], 20_000);
      killAll(left);
      await child.status;
      await drained;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  try {
    await waitUntil(
      "JupyterHub's API",
      () =>
        api("GET", "").then(async (response) => {
          await response.body?.cancel();
          return response.ok;
        }, () => false),
      { intervalMs: 200 },
    );
    return hub;
  } catch (error) {
    await hub[Symbol.asyncDispose]();
    throw new Error(`JupyterHub did not start:\n${output()}`, {
      cause: error,
    });
  }
}

/** Starts the user's server through the hub API and waits until ready. */
async function startUserServer(hub: Hub): Promise<void> {
  const started = await hub.api("POST", `users/${USER}/server`);
  await started.body?.cancel();
  assert.ok([201, 202].includes(started.status), String(started.status));
  try {
    await waitUntil(`${USER}'s server to be ready`, async () => {
      const response = await hub.api("GET", `users/${USER}`);
      return (await response.json()).servers?.[""];
    }, { until: (server) => server?.ready === true, intervalMs: 200 });
  } catch (error) {
    throw new Error(`The user server did not start:\n${hub.log()}`, {
      cause: error,
    });
  }
}

Deno.test({
  name: "remote backend against a JupyterHub user server",
  ignore: !AVAILABLE,
  fn: async (t) => {
    await using hub = await startHub();
    await startUserServer(hub);
    const backend = createRemoteBackend({
      url: `${hub.url}user/${USER}/`,
      token: TOKEN,
    });
    await backend.preflight();

    await t.step("start, execute, interrupt and delete a kernel", async () => {
      const kernel = await backend.start({ cwd: "", packages: [] });
      try {
        assert.equal((await kernel.execute("1 + 1")).result, "2");
        const started = Promise.withResolvers<void>();
        const running = kernel.execute(
          "import time\nprint('sleeping', flush=True)\ntime.sleep(60)",
          { onOutput: () => started.resolve() },
        );
        await started.promise;
        await kernel.interrupt();
        // A single SIGINT is lost now and then (it reaches another thread
        // of the kernel); interrupt() sends it again until the cell ends.
        // The hub's and user server's log goes with a failure.
        const result = await running.catch((error) => {
          throw new Error(
            `the interrupted cell did not end: ${error}\n${
              hub.log().slice(-6000)
            }`,
            { cause: error },
          );
        });
        assert.equal(result.error?.ename, "KeyboardInterrupt", hub.log());
        assert.equal((await kernel.execute("'kept'")).result, "'kept'");
      } finally {
        await kernel.shutdown();
      }
      const list = await fetch(`${hub.url}user/${USER}/api/kernels`, {
        headers: { Authorization: `token ${TOKEN}` },
      });
      assert.deepEqual(await list.json(), []);
    });

    await t.step(
      "a user server the hub stopped is a clear error, not a hang",
      async () => {
        const kernel = await backend.start({ cwd: "", packages: [] });
        const stopped = await hub.api("DELETE", `users/${USER}/server`);
        await stopped.body?.cancel();
        assert.ok([202, 204].includes(stopped.status), String(stopped.status));
        const error = await kernel.execute("1").then(
          () => null,
          (error) => error,
        );
        assert.ok(error instanceof KernelDiedError, String(error));
        assert.match(error.message, /JupyterHub user server was stopped/);
        assert.ok(!kernel.alive);
        await kernel.shutdown();
        const refused = await backend.start({ cwd: "", packages: [] }).then(
          () => null,
          (error) => error,
        );
        assert.ok(refused instanceof KernelStartError, String(refused));
        assert.match(
          refused.message,
          /answered (424|503); the JupyterHub user server is not running/,
        );
      },
    );
  },
});
