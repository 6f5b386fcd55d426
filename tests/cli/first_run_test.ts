import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../../deno.json" with { type: "json" };
import { denoVersionProblem } from "../../src/cli/deno_version.ts";
import { serverEnv } from "../_helpers/mcp_client.ts";
import { runFlags } from "../../scripts/permissions.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

async function runDeno(
  args: string[],
  options: { cwd: string; env: Record<string, string>; stdin?: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) {
    await writer.write(new TextEncoder().encode(options.stdin));
  }
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "first-run-test", version: "0" },
  },
}) + "\n";

Deno.test("denoVersionProblem() accepts Deno 2.8 and newer only", () => {
  assert.equal(denoVersionProblem("2.8.0", "x"), null);
  assert.equal(denoVersionProblem("2.9.6", "x"), null);
  assert.equal(denoVersionProblem("3.0.0-rc.1", "x"), null);
  assert.equal(denoVersionProblem(Deno.version.deno, "x"), null);
  assert.match(
    denoVersionProblem("2.7.14", "ipython_mcp") ?? "",
    /^ipython_mcp needs Deno 2\.8\.0 or newer \(this is Deno 2\.7\.14\)/,
  );
  assert.notEqual(denoVersionProblem("1.46.3", "coder"), null);
});

Deno.test("programs started from an unrelated directory", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "unrelated_cwd_" });
  try {
    for (const program of ["coder", "ipython_mcp"] as const) {
      await t.step(`${program} --version works`, async () => {
        const result = await runDeno(
          [
            "run",
            "--quiet",
            ...runFlags(program),
            join(REPO_ROOT, "src", "cli", `${program}.ts`),
            "--version",
          ],
          { cwd, env: serverEnv() },
        );
        assert.equal(result.stdout, `${program} ${denoJson.version}\n`);
        assert.equal(result.code, 0, result.stderr);
      });
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

// Needs the npm registry: a fresh DENO_DIR and a copy without node_modules
// fetch every package once. Timed in `deno task bench` (section startup).
Deno.test({
  name:
    "a first run on a fresh DENO_DIR: set-up fetches, then initialize is answered",
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "fresh_deno_dir_" });
    try {
      for (const name of ["deno.json", "deno.lock"]) {
        await Deno.copyFile(join(REPO_ROOT, name), join(dir, name));
      }
      const copy = await new Deno.Command("cp", {
        args: ["-r", join(REPO_ROOT, "src"), join(dir, "src")],
      }).output();
      assert.ok(copy.success);
      const env = serverEnv({ DENO_DIR: join(dir, ".deno"), NO_COLOR: "1" });

      await t.step(
        "deno task setup fetches the packages and says so",
        async () => {
          const result = await runDeno(["task", "setup"], { cwd: dir, env });
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stderr, /Download .*registry\.npmjs\.org/);
        },
      );

      await t.step("the server then answers initialize", async () => {
        const result = await runDeno(
          [
            "run",
            ...runFlags("ipython_mcp"),
            join(dir, "src", "cli", "ipython_mcp.ts"),
          ],
          { cwd: dir, env, stdin: INITIALIZE },
        );
        const first = JSON.parse(result.stdout.split("\n")[0]!);
        assert.equal(first.id, 1);
        assert.equal(first.result.serverInfo.name, "ipython_mcp");
        assert.equal(result.code, 0, result.stderr);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
