/**
 * SPEC §12, secrets: no kernel of ipython_mcp (local here, not sandboxed)
 * gets the server's secrets in its environment, and every known secret a
 * kernel finds elsewhere (a file of the user's) is masked in answers, saved
 * outputs, exported notebooks and the log. The unprotected path (a kernel
 * started with the server's environment) shows the same probe leaking.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startKernel } from "../../src/kernel/mod.ts";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

const SECRETS = {
  CODER_MCP_TOKEN: "mcp-token-e3b1c9d7a5f24068",
  CODER_GATEWAY_TOKEN: "gw-token-71c5a9e3b1d24f86",
  OPENAI_API_KEY: "sk-openai-4c2e0a8f6d1b3957",
  OPENROUTER_API_KEY: "sk-or-9a7c5e3b1d2f4068",
};
const NAMES = Object.keys(SECRETS);

/** Lists which secret variables the kernel has; prints a file of secrets. */
const PROBE = `import os
print("env:", sorted(n for n in ${JSON.stringify(NAMES)} if n in os.environ))
print(open("secrets.txt").read())`;

Deno.test("ipython_mcp: kernels get no server secret; found secrets are masked everywhere (SPEC §12)", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_secrets_" });
  const secretsFile = Object.values(SECRETS).join("\n");
  await Deno.writeTextFile(join(cwd, "secrets.txt"), secretsFile);
  try {
    await t.step(
      "unprotected: a kernel with the server's environment sees them",
      async () => {
        await using kernel = await startKernel({
          cwd,
          python: PYTHON,
          env: { ...testEnv(), ...SECRETS },
        });
        const out = await kernel.execute(PROBE);
        for (const name of NAMES) assert.match(out.stdout, new RegExp(name));
        for (const value of Object.values(SECRETS)) {
          assert.match(out.stdout, new RegExp(value));
        }
      },
    );

    await t.step("product: none in the kernel, all masked", async () => {
      await using server = await startMcpServer({
        cwd,
        env: { ...SECRETS, CODER_LOG_LEVEL: "debug" },
      });
      const probe = await server.call("python_exec", { code: PROBE });
      assert.equal(probe.json.success, true, JSON.stringify(probe.json));
      assert.match(String(probe.json.stdout), /env: \[\]/);
      // A long output is saved in full; the saved text is masked too.
      const long = await server.call("python_exec", {
        code: `print(open("secrets.txt").read() * 4000)`,
      });
      const saved = JSON.stringify(long.json).match(
        /full text: ([^\]]+?\.txt)/,
      )?.[1];
      assert.ok(saved, JSON.stringify(long.json).slice(0, 300));
      const savedText = await Deno.readTextFile(saved);
      assert.match(savedText, /\[REDACTED\]/);
      const exported = await server.call("python_export", {});
      assert.equal(exported.json.success, true, JSON.stringify(exported.json));
      const notebook = await Deno.readTextFile(String(exported.json.path));
      assert.match(notebook, /\[REDACTED\]/);
      const everything = [
        JSON.stringify(probe.result),
        JSON.stringify(long.result),
        savedText,
        notebook,
        server.stderr(),
      ].join("\n");
      for (const value of Object.values(SECRETS)) {
        assert.doesNotMatch(everything, new RegExp(value));
      }
    });
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
