/**
 * The real `ipython_mcp` over stdio with `--gateway` against a real Jupyter
 * Server on 127.0.0.1 (flags from scripts/permissions.ts): the MCP checks
 * that apply to remote kernels, deaths, errors, packages, and clean-up.
 */

import assert from "node:assert/strict";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import { startJupyterServer } from "../_helpers/jupyter_server.ts";
import { PYTHON_DISPLAY_PNG } from "../_helpers/python_code.ts";
import { waitUntil } from "../_helpers/wait.ts";

const WHEEL_DIR = await Deno.makeTempDir({ prefix: "coder_wheels_" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(WHEEL_DIR, { recursive: true });
  } catch { /* removed by the teardown test */ }
});
await buildWheel(WHEEL_DIR);
const server = await startJupyterServer({
  env: { PIP_NO_INDEX: "1", PIP_FIND_LINKS: WHEEL_DIR },
  prepare: makeVenvKernelspec,
});
const opts = { sanitizeResources: false, sanitizeOps: false };

/** A pure-Python wheel `coderdemo 1.2.3`, written with zipfile (offline). */
async function buildWheel(dir: string): Promise<void> {
  const script = `
import base64, hashlib, sys, zipfile
name, ver = "coderdemo", "1.2.3"
files = {
  f"{name}/__init__.py": "VALUE = 42\\n",
  f"{name}-{ver}.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {ver}\\n",
  f"{name}-{ver}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(text.encode())}")
record.append(f"{name}-{ver}.dist-info/RECORD,,")
files[f"{name}-{ver}.dist-info/RECORD"] = "\\n".join(record) + "\\n"
with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{ver}-py3-none-any.whl", "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
`;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, dir],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** A kernelspec `venvpy` on a venv with system site-packages (not PEP 668). */
async function makeVenvKernelspec(dataDir: string): Promise<void> {
  const venv = `${dataDir}/venv`;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-m", "venv", "--system-site-packages", venv],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  await Deno.mkdir(`${dataDir}/kernels/venvpy`, { recursive: true });
  await Deno.writeTextFile(
    `${dataDir}/kernels/venvpy/kernel.json`,
    JSON.stringify({
      argv: [
        `${venv}/bin/python`,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
      ],
      display_name: "venv",
      language: "python",
    }),
  );
}

function gatewayEnv(extra: Record<string, string | undefined> = {}) {
  return { CODER_GATEWAY_TOKEN: server.token, ...extra };
}

async function listKernels(): Promise<string[]> {
  const response = await fetch(`${server.url}api/kernels`, {
    headers: { Authorization: `token ${server.token}` },
  });
  return (await response.json()).map((k: { id: string }) => k.id);
}

Deno.test(
  "ipython_mcp --gateway: state, status, images, timeout, reset, isolation, unknown ids",
  opts,
  async () => {
    const before = await listKernels();
    await using mcp = await startMcpServer({
      args: ["--gateway", server.url],
      env: gatewayEnv(),
    });
    const set = await mcp.call("python_exec", {
      code: "import os\nx = 41\nprint(os.getppid())",
    });
    assert.equal(set.json.success, true, JSON.stringify(set.json));
    assert.equal(
      Number((set.json.stdout as string).trim()),
      server.pid,
      "the kernel is the Jupyter server's child",
    );
    assert.equal(
      (await mcp.call("python_exec", { code: "x + 1" })).json.result,
      "42",
    );
    const status = await mcp.call("python_status");
    assert.equal(status.json.backend, "remote");
    assert.equal(status.json.location, server.url);
    assert.ok((status.json.variables as string[]).includes("x"));
    assert.ok(!JSON.stringify(status.json).includes(server.token));
    const image = await mcp.call("python_exec", { code: PYTHON_DISPLAY_PNG });
    assert.ok(
      image.result.content.some((c: { type: string }) => c.type === "image"),
    );
    const slow = await mcp.call("python_exec", {
      code: "import time\nwhile True: time.sleep(0.1)",
      timeout: 2,
    });
    assert.equal(slow.json.success, false);
    assert.match(JSON.stringify(slow.json), /timed out/i);
    assert.equal(
      (await mcp.call("python_exec", { code: "x" })).json.result,
      "41",
    );
    const reset = await mcp.call("python_reset");
    const other = reset.json.kernel_id as string;
    assert.ok(other && other !== "_default");
    const isolated = await mcp.call("python_exec", {
      code: "x",
      kernel_id: other,
    });
    assert.match(JSON.stringify(isolated.json), /NameError/);
    const unknown = await mcp.call("python_exec", {
      code: "1",
      kernel_id: "0badf00d",
    });
    assert.match(JSON.stringify(unknown.json), /not found/);
    await mcp.call("python_exec", { code: "q = 3", kernel_id: other });
    // Interrupt once the loop runs: its first output came as progress (an
    // interrupt that lands before the code runs is lost).
    const started = Promise.withResolvers<void>();
    const looping = mcp.call("python_exec", {
      code: "import time\nprint('looping', flush=True)\n" +
        "while True: time.sleep(0.05)",
      kernel_id: other,
      timeout: 120,
    }, { onprogress: () => started.resolve() });
    await started.promise;
    const interrupted = await mcp.call("python_interrupt", {
      kernel_id: other,
    });
    assert.equal(
      interrupted.json.success,
      true,
      JSON.stringify(interrupted.json),
    );
    assert.match(JSON.stringify((await looping).json), /KeyboardInterrupt/);
    const kept = await mcp.call("python_exec", { code: "q", kernel_id: other });
    assert.equal(kept.json.result, "3");
    assert.equal((await listKernels()).length - before.length, 2);
    await mcp.close();
    // EOF on stdin: the server deletes its remote kernels before it exits.
    await waitUntil("the remote kernels to be deleted", listKernels, {
      until: (kernels) => kernels.length === before.length,
      intervalMs: 200,
    });
    assert.deepEqual(await listKernels(), before);
  },
);

Deno.test(
  "ipython_mcp --gateway: os._exit reported as a death well under the timeout",
  opts,
  async () => {
    await using mcp = await startMcpServer({
      args: ["--gateway", server.url],
      env: gatewayEnv(),
    });
    await mcp.call("python_exec", { code: "1" });
    // A death, not the 120 s timeout; how fast is the benchmark's business.
    const dead = await mcp.call("python_exec", {
      code: "import os; os._exit(1)",
      timeout: 120,
    });
    assert.equal(dead.json.success, false);
    assert.doesNotMatch(JSON.stringify(dead.json), /timed out/i);
    assert.match(JSON.stringify(dead.json), /died/i);
    assert.match(JSON.stringify(dead.json), /server restarted it/);
  },
);

Deno.test(
  "ipython_mcp --gateway: SIGTERM deletes the remote kernels",
  opts,
  async () => {
    const before = await listKernels();
    await using mcp = await startMcpServer({
      args: ["--gateway", server.url],
      env: gatewayEnv(),
    });
    await mcp.call("python_exec", { code: "1" });
    await mcp.call("python_reset");
    assert.equal((await listKernels()).length - before.length, 2);
    Deno.kill(mcp.pid, "SIGTERM");
    await waitUntil("the remote kernels to be deleted", listKernels, {
      until: (kernels) => kernels.length === before.length,
      intervalMs: 200,
    });
    assert.deepEqual(await listKernels(), before);
  },
);

Deno.test(
  "ipython_mcp --gateway: wrong token and unknown kernel spec are clear errors",
  opts,
  async () => {
    await using mcp = await startMcpServer({
      args: ["--gateway", server.url],
      env: gatewayEnv({ CODER_GATEWAY_TOKEN: "wrong-token-value" }),
    });
    const wrong = await mcp.call("python_exec", { code: "1" });
    const text = JSON.stringify(wrong.json);
    assert.match(text, /token/);
    // The model is told the variable to set, as the CLI words the hint.
    assert.match(
      text,
      /set CODER_GATEWAY_TOKEN and check CODER_GATEWAY_AUTH_SCHEME/,
    );
    assert.ok(!text.includes("wrong-token-value"));
    assert.ok(!mcp.stderr().includes("wrong-token-value"));
    // The URL from CODER_GATEWAY_URL instead of the flag.
    await using mcp2 = await startMcpServer({
      env: gatewayEnv({
        CODER_GATEWAY_URL: server.url,
        CODER_GATEWAY_KERNEL: "nosuch",
      }),
    });
    const unknown = await mcp2.call("python_exec", { code: "1" });
    assert.match(
      JSON.stringify(unknown.json),
      /no kernel spec named \\"nosuch\\".*set CODER_GATEWAY_KERNEL/,
    );
  },
);

Deno.test(
  "ipython_mcp --gateway: any gateway host works with the program's own flags (SPEC §6a)",
  opts,
  async () => {
    await using mcp = await startMcpServer({
      args: ["--gateway", server.url.replace("127.0.0.1", "localhost")],
      env: gatewayEnv(),
    });
    const out = await mcp.call("python_exec", { code: "1+1" });
    assert.equal(out.json.result, "2", JSON.stringify(out.json));
  },
);

Deno.test(
  "ipython_mcp --gateway: packages installed with pip in a venv kernel; PEP 668 reported",
  opts,
  async () => {
    await using mcp = await startMcpServer({
      args: ["--gateway", server.url],
      env: gatewayEnv({ CODER_GATEWAY_KERNEL: "venvpy" }),
    });
    const reset = await mcp.call("python_reset", {
      packages: ["coderdemo>=1"],
    });
    assert.equal(reset.json.success, true, JSON.stringify(reset.json));
    assert.match(reset.json.message as string, /coderdemo 1\.2\.3/);
    const id = reset.json.kernel_id as string;
    const used = await mcp.call("python_exec", {
      code: "import coderdemo; coderdemo.VALUE",
      kernel_id: id,
    });
    assert.equal(used.json.result, "42");
    const missing = await mcp.call("python_reset", { packages: ["nosuchpkg"] });
    assert.equal(missing.json.success, false);
    assert.match(JSON.stringify(missing.json), /nosuchpkg/);
    const refused = await mcp.call("python_reset", {
      packages: ["bad; rm -rf /"],
    });
    assert.equal(refused.json.success, false);

    await using system = await startMcpServer({
      args: ["--gateway", server.url],
      env: gatewayEnv(),
    });
    const managed = await system.call("python_reset", {
      packages: ["coderdemo"],
    });
    assert.equal(managed.json.success, false);
    assert.match(
      JSON.stringify(managed.json),
      /externally managed \(PEP 668\)/,
    );
  },
);

Deno.test("remote mcp: teardown", opts, async () => {
  const left = await listKernels();
  await server.stop();
  assert.deepEqual(left, [], "every test deleted its remote kernels");
  await Deno.remove(WHEEL_DIR, { recursive: true });
});
