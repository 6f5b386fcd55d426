/**
 * A real Jupyter Server on 127.0.0.1 for remote-kernel tests: random port and
 * token, temporary root/config/runtime/data dirs, stopped by pid.
 *
 * @module
 */

import { testEnv } from "./kernel_env.ts";
import { spawnCollecting } from "./processes.ts";
import { waitUntil } from "./wait.ts";

/** A running Jupyter Server started by a test. */
export interface JupyterServer extends AsyncDisposable {
  /** Base URL with a trailing slash (includes the base_url prefix). */
  url: string;
  /** The server's token. */
  token: string;
  /** The server's root dir (kernels' cwd). */
  root: string;
  /** Pid of the server process (parent of its kernels). */
  pid: number;
  /** Temporary directory holding everything. */
  dir: string;
  /** Everything the server wrote to stdout/stderr so far. */
  log(): string;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startJupyterServer}. */
export interface JupyterServerOptions {
  /** Extra command-line options (e.g. culling settings). */
  args?: string[];
  /** `--ServerApp.base_url` (e.g. "/user/alice/"). */
  baseUrl?: string;
  /** Extra environment of the server (and so of its kernels). */
  env?: Record<string, string>;
  /** Writes kernelspecs into the data dir before the start. */
  prepare?: (dataDir: string) => Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts a Jupyter Server and waits until its REST API answers.
 *
 * @param options Extra args, base URL, env.
 * @returns The running server.
 */
export async function startJupyterServer(
  options: JupyterServerOptions = {},
): Promise<JupyterServer> {
  const dir = await Deno.makeTempDir({ prefix: "coder_jupyter_" });
  const root = `${dir}/root`;
  const dataDir = `${dir}/data`;
  for (const sub of ["root", "config", "runtime", "data"]) {
    await Deno.mkdir(`${dir}/${sub}`);
  }
  await options.prepare?.(dataDir);
  const token = crypto.randomUUID().replaceAll("-", "");
  const baseUrl = options.baseUrl ?? "/";
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    const env = {
      ...testEnv(),
      JUPYTER_CONFIG_DIR: `${dir}/config`,
      JUPYTER_RUNTIME_DIR: `${dir}/runtime`,
      JUPYTER_DATA_DIR: dataDir,
      JUPYTER_PLATFORM_DIRS: "0",
      ...options.env,
    };
    const { child, output, drained } = spawnCollecting("/usr/bin/python3", {
      args: [
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        `--ServerApp.port=${port}`,
        "--ServerApp.port_retries=0",
        `--ServerApp.token=${token}`,
        `--ServerApp.root_dir=${root}`,
        `--ServerApp.base_url=${baseUrl}`,
        "--allow-root",
        ...(options.args ?? []),
      ],
      env,
      cwd: root,
    });
    const url = `http://127.0.0.1:${port}${baseUrl}`;
    let exited = false;
    child.status.then(() => exited = true);
    const state = await waitUntil("Jupyter Server's /api/status", async () => {
      if (exited) return "exited";
      try {
        const response = await fetch(`${url}api/status`, {
          headers: { Authorization: `token ${token}` },
        });
        await response.body?.cancel();
        return response.ok ? "ready" : `HTTP ${response.status}`;
      } catch {
        return "not listening yet";
      }
    }, {
      until: (state) => state === "ready" || state === "exited",
      intervalMs: 100,
    }).catch(() => "gave up");
    if (state !== "ready") {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await drained;
      lastError = new Error(
        `Jupyter Server did not start (${state}):\n${output()}`,
      );
      continue;
    }
    let stopped: Promise<void> | null = null;
    // A run that skips the test which stops the server (--filter) or fails
    // early must not leave it behind: SIGTERM lets it stop its kernels.
    const onUnload = () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* best effort */ }
    };
    globalThis.addEventListener("unload", onUnload);
    const stop = () => {
      stopped ??= (async () => {
        globalThis.removeEventListener("unload", onUnload);
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        }, 10_000);
        await child.status;
        clearTimeout(timer);
        await drained;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      })();
      return stopped;
    };
    return {
      url,
      token,
      root,
      pid: child.pid,
      dir,
      log: () => output(),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastError;
}
