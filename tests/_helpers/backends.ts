/**
 * The three kernel backends for one parameterised suite: local, sandboxed
 * (bwrap) and remote (a real Jupyter Server on 127.0.0.1 started here).
 *
 * @module
 */

import {
  createLocalBackend,
  createRemoteBackend,
  createSandboxBackend,
  type KernelBackend,
} from "../../src/kernel/mod.ts";
import { testEnv } from "./kernel_env.ts";
import { startJupyterServer } from "./jupyter_server.ts";

/** One backend under test and the working directory its kernels use. */
export interface BackendCase {
  /** `local`, `sandbox` or `remote`. */
  name: string;
  /** Starts the kernels. */
  backend: KernelBackend;
  /**
   * A directory the test and the kernel both see at the same path (the
   * kernel's cwd for local and sandboxed kernels; remote kernels run in
   * the server's root but on this machine, so they see it too).
   */
  shared: string;
}

/**
 * Runs `body` once per backend, each as a test step named after it. The
 * Jupyter Server and temp dirs are removed at the end.
 *
 * @param t The test context.
 * @param body The steps for one backend.
 */
export async function forEachBackend(
  t: Deno.TestContext,
  body: (c: BackendCase, t: Deno.TestContext) => Promise<void>,
): Promise<void> {
  const shared = await Deno.makeTempDir({ prefix: "coder_backends_" });
  const python = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";
  const launch = { env: testEnv(), python };
  const server = await startJupyterServer();
  try {
    const cases: BackendCase[] = [
      { name: "local", backend: createLocalBackend(launch), shared },
      {
        name: "sandbox",
        backend: createSandboxBackend({ ...launch, memoryLimit: null }),
        shared,
      },
      {
        name: "remote",
        backend: createRemoteBackend({
          url: server.url,
          token: server.token,
          username: "tester",
        }),
        shared,
      },
    ];
    // CODER_TEST_BACKENDS=local,remote narrows a run while debugging.
    const only = Deno.env.get("CODER_TEST_BACKENDS")?.split(",");
    for (const c of cases.filter((c) => !only || only.includes(c.name))) {
      await t.step(c.name, (t) => body(c, t));
    }
  } finally {
    await server.stop();
    await Deno.remove(shared, { recursive: true }).catch(() => {});
  }
}
