import assert from "node:assert/strict";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import denoJson from "../../deno.json" with { type: "json" };
import manifest from "../../packaging/manifest.json" with { type: "json" };
import serverJson from "../../packaging/server.json" with { type: "json" };
import serverSchema from "../../packaging/server.schema.json" with {
  type: "json",
};
import {
  bundleManifest,
  packageRelease,
  registryServerJson,
} from "../../scripts/package.ts";

/** The npm package that publishes the `.mcpb` manifest schema. */
const MCPB_PACKAGE = "@anthropic-ai/mcpb@2.1.2";

function validator(schema: object): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // deno-lint-ignore no-explicit-any
  (addFormats as any)(ajv);
  return ajv.compile(schema);
}

function problems(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors, null, 1);
}

/** The published manifest schema, fetched with npm (`npm pack`). */
async function mcpbSchema(dir: string): Promise<object> {
  const pack = await new Deno.Command("npm", {
    args: ["pack", MCPB_PACKAGE, "--silent"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  assert.ok(pack.success, new TextDecoder().decode(pack.stderr));
  const tarball = new TextDecoder().decode(pack.stdout).trim().split("\n")
    .at(-1)!;
  const untar = await new Deno.Command("tar", {
    args: ["-xzf", tarball, "package/dist/mcpb-manifest-v0.3.schema.json"],
    cwd: dir,
  }).output();
  assert.ok(untar.success, new TextDecoder().decode(untar.stderr));
  return JSON.parse(
    await Deno.readTextFile(
      join(dir, "package", "dist", "mcpb-manifest-v0.3.schema.json"),
    ),
  );
}

Deno.test("packaging for MCP clients", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "packaging_test_" });
  try {
    const validateManifest = validator(await mcpbSchema(dir));
    const validateServer = validator(serverSchema);

    await t.step(
      `packaging/manifest.json is valid under ${MCPB_PACKAGE}'s schema`,
      () => {
        assert.ok(validateManifest(manifest), problems(validateManifest));
        assert.equal(manifest.server.type, "binary");
        assert.equal(manifest.version, denoJson.version);
      },
    );

    await t.step("a broken manifest is rejected by that schema", () => {
      const broken = {
        ...manifest,
        server: { ...manifest.server, type: "deno" },
      };
      assert.equal(validateManifest(broken), false);
    });

    await t.step("packaging/server.json is valid under its schema", () => {
      assert.ok(validateServer(serverJson), problems(validateServer));
      assert.equal(serverJson.version, denoJson.version);
    });

    await t.step(
      "the server.json schema refuses an mcpb package without a SHA-256",
      () => {
        const [first] = serverJson.packages;
        const { fileSha256: _, ...noHash } = first!;
        assert.equal(
          validateServer({ ...serverJson, packages: [noHash] }),
          false,
        );
      },
    );

    await t.step(
      "scripts/package.ts bundles each target and writes a valid server.json",
      async () => {
        const dist = join(dir, "dist");
        await Deno.mkdir(dist);
        for (
          const name of [
            "ipython_mcp-x86_64-unknown-linux-gnu",
            "ipython_mcp-aarch64-apple-darwin",
            "ipython_mcp-x86_64-pc-windows-msvc.exe",
          ]
        ) {
          await Deno.writeTextFile(join(dist, name), `binary ${name}`);
        }
        const release = { version: denoJson.version, repo: "someone/fork" };
        const bundles = await packageRelease(dist, release);
        assert.deepEqual(bundles.map((b) => b.file).sort(), [
          "ipython_mcp-aarch64-apple-darwin.mcpb",
          "ipython_mcp-x86_64-pc-windows-msvc.mcpb",
          "ipython_mcp-x86_64-unknown-linux-gnu.mcpb",
        ]);
        const written = JSON.parse(
          await Deno.readTextFile(join(dist, "server.json")),
        );
        assert.ok(validateServer(written), problems(validateServer));
        assert.deepEqual(written, registryServerJson(bundles, release));
        const list = await new Deno.Command("unzip", {
          args: ["-Z1", join(dist, "ipython_mcp-x86_64-pc-windows-msvc.mcpb")],
          stdout: "piped",
        }).output();
        assert.deepEqual(
          new TextDecoder().decode(list.stdout).trim().split("\n").sort(),
          ["manifest.json", "server/", "server/ipython_mcp.exe"],
        );
        for (
          const target of ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin"]
        ) {
          const m = bundleManifest(target, release);
          assert.ok(validateManifest(m), problems(validateManifest));
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
