/**
 * Packages the compiled `ipython_mcp` binaries for MCP clients: one `.mcpb`
 * bundle per target (`packaging/manifest.json` + `server/ipython_mcp[.exe]`,
 * zipped) and the MCP registry's `server.json` listing every bundle with its
 * download URL and SHA-256. Run by the release workflow after
 * `deno task compile --all`.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-run scripts/package.ts --repo OWNER/NAME [--dist dist]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import manifestTemplate from "../packaging/manifest.json" with { type: "json" };
import serverTemplate from "../packaging/server.json" with { type: "json" };
import { TARGETS } from "./compile.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The `.mcpb` platform name (Node's `process.platform`) of a Deno target. */
export function mcpbPlatform(target: string): "darwin" | "linux" | "win32" {
  if (target.includes("windows")) return "win32";
  if (target.includes("apple")) return "darwin";
  return "linux";
}

/** What a release fills into the templates. */
export interface ReleaseInfo {
  /** Version, as in deno.json. */
  version: string;
  /** GitHub `owner/name`. */
  repo: string;
}

/**
 * The bundle manifest of one target: the template with the release's
 * version and repository, for that target's platform only.
 *
 * @param target Deno target name.
 * @param release Version and repository.
 * @returns The manifest object.
 */
export function bundleManifest(
  target: string,
  release: ReleaseInfo,
): Record<string, unknown> {
  const url = `https://github.com/${release.repo}`;
  return {
    ...manifestTemplate,
    version: release.version,
    repository: { type: "git", url },
    homepage: url,
    compatibility: { platforms: [mcpbPlatform(target)] },
  };
}

/** One built bundle. */
export interface BuiltBundle {
  /** File name, e.g. `ipython_mcp-x86_64-unknown-linux-gnu.mcpb`. */
  file: string;
  /** SHA-256 of the file, lowercase hex. */
  sha256: string;
}

/**
 * The registry's `server.json` for a release: one `mcpb` package per bundle,
 * downloaded from the GitHub release of the tag `v<version>`.
 *
 * @param bundles The built bundles.
 * @param release Version and repository.
 * @returns The server.json object.
 */
export function registryServerJson(
  bundles: readonly BuiltBundle[],
  release: ReleaseInfo,
): Record<string, unknown> {
  const [owner] = release.repo.split("/");
  return {
    ...serverTemplate,
    name: `io.github.${owner}/ipython-mcp`,
    version: release.version,
    repository: { url: `https://github.com/${release.repo}`, source: "github" },
    packages: bundles.map((bundle) => ({
      registryType: "mcpb",
      identifier:
        `https://github.com/${release.repo}/releases/download/v${release.version}/${bundle.file}`,
      version: release.version,
      fileSha256: bundle.sha256,
      transport: { type: "stdio" },
    })),
  };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * Builds the bundles for every compiled target found in `dist` and writes
 * `dist/server.json`.
 *
 * @param dist Directory holding `ipython_mcp-<target>[.exe]` (or a host
 *   build `ipython_mcp[.exe]`).
 * @param release Version and repository.
 * @returns The bundles written.
 * @throws {Error} When no binary is found or `zip` fails.
 */
export async function packageRelease(
  dist: string,
  release: ReleaseInfo,
): Promise<BuiltBundle[]> {
  const bundles: BuiltBundle[] = [];
  const candidates = [
    ...TARGETS.map((target) => ({ target, stem: `ipython_mcp-${target}` })),
    { target: Deno.build.target, stem: "ipython_mcp" },
  ];
  for (const { target, stem } of candidates) {
    const exe = mcpbPlatform(target) === "win32" ? ".exe" : "";
    const binary = join(dist, stem + exe);
    if (!(await exists(binary))) continue;
    const file = `ipython_mcp-${target}.mcpb`;
    if (bundles.some((b) => b.file === file)) continue;
    const stage = await Deno.makeTempDir({ prefix: "mcpb-" });
    try {
      await Deno.mkdir(join(stage, "server"));
      await Deno.copyFile(binary, join(stage, "server", `ipython_mcp${exe}`));
      await Deno.chmod(join(stage, "server", `ipython_mcp${exe}`), 0o755);
      await Deno.writeTextFile(
        join(stage, "manifest.json"),
        JSON.stringify(bundleManifest(target, release), null, 2) + "\n",
      );
      const out = join(dist, file);
      await Deno.remove(out).catch(() => {});
      const zip = await new Deno.Command("zip", {
        args: ["-q", "-r", "-X", out, "manifest.json", "server"],
        cwd: stage,
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!zip.success) {
        throw new Error(
          `Cannot zip ${file}: ${new TextDecoder().decode(zip.stderr).trim()}`,
        );
      }
      const sha256 = createHash("sha256").update(await Deno.readFile(out))
        .digest("hex");
      bundles.push({ file, sha256 });
    } finally {
      await Deno.remove(stage, { recursive: true });
    }
  }
  if (bundles.length === 0) {
    throw new Error(
      `No ipython_mcp binary in ${dist}; run deno task compile --all first`,
    );
  }
  await Deno.writeTextFile(
    join(dist, "server.json"),
    JSON.stringify(registryServerJson(bundles, release), null, 2) + "\n",
  );
  return bundles;
}

/**
 * Runs the packaging.
 *
 * @param args `--repo OWNER/NAME`, `--dist DIR`.
 * @returns Exit code: 0 written, 1 failed, 2 usage error.
 */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        repo: { type: "string" },
        dist: { type: "string", default: join(ROOT, "dist") },
      },
      strict: true,
    }));
  } catch (error) {
    // deno-lint-ignore no-console
    console.error(`package: ${(error as Error).message}`);
    return 2;
  }
  const repo = values.repo ?? "agentic/agentic-python-coder";
  try {
    const bundles = await packageRelease(resolve(values.dist), {
      version: denoJson.version,
      repo,
    });
    // deno-lint-ignore no-console
    for (const b of bundles) console.log(`package: wrote ${b.file}`);
    // deno-lint-ignore no-console
    console.log("package: wrote server.json");
    return 0;
  } catch (error) {
    // deno-lint-ignore no-console
    console.error(`package: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
