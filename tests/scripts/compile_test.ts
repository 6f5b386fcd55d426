import assert from "node:assert/strict";
import { testEnv } from "../_helpers/kernel_env.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BINARIES,
  compileArgs,
  isRuntimeDownloadFailure,
  main,
  planJobs,
  runtimeFailureLine,
  TARGETS,
} from "../../scripts/compile.ts";
import {
  CODER_PERMISSIONS,
  IPYTHON_MCP_PERMISSIONS,
  LOADING_FLAGS,
  PERMISSIONS,
  runFlags,
  RUNTIME_FLAGS,
} from "../../scripts/permissions.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const COMPILE_SCRIPT = join(REPO_ROOT, "scripts", "compile.ts");

/** stderr of `deno compile` on a machine that cannot reach dl.deno.land (Deno 2.9.6). */
const OFFLINE_STDERR = `Compile a.ts to a
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
error: Writing deno compile executable to temporary file '/tmp/cc/a.tmp-9e18bb7f9ae03c94'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
`;

const TYPE_ERROR_STDERR = `Check src/cli/coder.ts
TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.
error: Type checking failed.
`;

/** Flags that hand out every permission or native code. */
function isBroadFlag(flag: string): boolean {
  return flag === "-A" || /^--allow-(all|ffi)(=|$)/.test(flag);
}

/** Environment for a child `deno` that cannot download the denort runtime. */
function offlineEnv(): Record<string, string> {
  const env = testEnv();
  for (const name of Object.keys(env)) {
    if (/^(DENORT_BIN|no_proxy|NO_PROXY|all_proxy|ALL_PROXY)$/.test(name)) {
      delete env[name];
    }
  }
  // A closed loopback port as proxy: the download fails fast, online or not.
  env.HTTPS_PROXY = "http://127.0.0.1:9";
  env.https_proxy = "http://127.0.0.1:9";
  env.NO_COLOR = "1";
  return env;
}

/** Whether Deno already has the runtime for `target` cached (then it will not download). */
async function denortCached(target: string): Promise<boolean> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const { denoDir } = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    denoDir: string;
  };
  const zip = join(
    denoDir,
    "dl",
    "release",
    `v${Deno.version.deno}`,
    `denort-${target}.zip`,
  );
  try {
    await Deno.stat(zip);
    return true;
  } catch {
    return false;
  }
}

/** Sorted names in a directory; none when it does not exist. */
async function listNames(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Writes a tiny project with both entry files. */
async function writeFixtureProject(root: string): Promise<void> {
  await Deno.mkdir(join(root, "src", "cli"), { recursive: true });
  for (const binary of BINARIES) {
    await Deno.writeTextFile(
      join(root, binary.entry),
      `export const name = "${binary.name}";\n`,
    );
  }
}

async function runDeno(
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; stdout: string; stderrLines: string[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderrLines: stderr.split("\n").filter((line) => line !== ""),
  };
}

Deno.test("permission lists", async (t) => {
  await t.step("grant no -A, --allow-all or --allow-ffi", () => {
    for (const [name, flags] of Object.entries(PERMISSIONS)) {
      assert.deepEqual(flags.filter(isBroadFlag), [], name);
      assert.ok(flags.every((flag) => flag.startsWith("--allow-")), name);
      assert.equal(new Set(flags).size, flags.length, `${name} has duplicates`);
    }
  });

  await t.step(
    "give ipython_mcp the same permissions as coder in every mode (SPEC §6a)",
    () => {
      assert.deepEqual(IPYTHON_MCP_PERMISSIONS, CODER_PERMISSIONS);
      assert.ok(IPYTHON_MCP_PERMISSIONS.includes("--allow-net"));
      assert.ok(
        !IPYTHON_MCP_PERMISSIONS.some((flag) =>
          flag.startsWith("--allow-net=")
        ),
      );
      assert.deepEqual(runFlags("ipython_mcp"), [
        ...IPYTHON_MCP_PERMISSIONS,
        ...RUNTIME_FLAGS.ipython_mcp,
        ...LOADING_FLAGS.ipython_mcp,
      ]);
    },
  );

  await t.step("match the deno.json tasks coder and ipython_mcp", async () => {
    const config = JSON.parse(
      await Deno.readTextFile(join(REPO_ROOT, "deno.json")),
    ) as { tasks: Record<string, string> };
    for (const binary of BINARIES) {
      const task = config.tasks[binary.name];
      assert.ok(task, `deno.json has no task "${binary.name}"`);
      const words = task.split(/\s+/);
      const flags = words.filter((word) =>
        word === "-A" || word.startsWith("--allow-") ||
        word.startsWith("--deny-")
      );
      assert.deepEqual(
        [...flags].sort(),
        [...binary.permissions].sort(),
        `task "${binary.name}"`,
      );
      assert.ok(words.includes(binary.entry), `task "${binary.name}" entry`);
      for (
        const flag of [
          ...RUNTIME_FLAGS[binary.name],
          ...LOADING_FLAGS[binary.name],
        ]
      ) {
        assert.ok(words.includes(flag), `task "${binary.name}" lacks ${flag}`);
      }
    }
  });
});

Deno.test("scripts/compile.ts", async (t) => {
  await t.step("compileArgs() bakes each program's own permissions", () => {
    for (const job of planJobs({ outDir: "/out", hostOs: "linux" })) {
      const args = compileArgs(job);
      assert.equal(args[0], "compile");
      assert.equal(args.at(-1), job.binary.entry);
      assert.deepEqual(
        args.filter((arg) => arg.startsWith("--allow-")),
        [...job.binary.permissions],
      );
      assert.ok(!args.includes("--target"));
      assert.equal(args[args.indexOf("--output") + 1], job.output);
    }
    const [crossJob] = planJobs({
      target: "aarch64-apple-darwin",
      outDir: "/out",
    });
    const crossArgs = compileArgs(crossJob!);
    assert.equal(
      crossArgs[crossArgs.indexOf("--target") + 1],
      "aarch64-apple-darwin",
    );
  });

  await t.step("planJobs() names host, target and Windows files", () => {
    assert.deepEqual(
      planJobs({ outDir: "/out", hostOs: "linux" }).map((job) => job.output),
      ["/out/coder", "/out/ipython_mcp"],
    );
    assert.deepEqual(
      planJobs({ outDir: "/out", hostOs: "windows" }).map((job) => job.output),
      ["/out/coder.exe", "/out/ipython_mcp.exe"],
    );
    const all = planJobs({ all: true, outDir: "/out", hostOs: "linux" });
    assert.equal(all.length, TARGETS.length * BINARIES.length);
    assert.deepEqual(all.map((job) => job.output).sort(), [
      "/out/coder-aarch64-apple-darwin",
      "/out/coder-aarch64-unknown-linux-gnu",
      "/out/coder-x86_64-apple-darwin",
      "/out/coder-x86_64-pc-windows-msvc.exe",
      "/out/coder-x86_64-unknown-linux-gnu",
      "/out/ipython_mcp-aarch64-apple-darwin",
      "/out/ipython_mcp-aarch64-unknown-linux-gnu",
      "/out/ipython_mcp-x86_64-apple-darwin",
      "/out/ipython_mcp-x86_64-pc-windows-msvc.exe",
      "/out/ipython_mcp-x86_64-unknown-linux-gnu",
    ]);
    assert.throws(
      () => planJobs({ target: "riscv64-unknown-linux-gnu", outDir: "/out" }),
      RangeError,
    );
  });

  await t.step(
    "isRuntimeDownloadFailure() tells a download error from others",
    () => {
      assert.equal(isRuntimeDownloadFailure(OFFLINE_STDERR), true);
      assert.equal(isRuntimeDownloadFailure(TYPE_ERROR_STDERR), false);
    },
  );

  await t.step("refuses bad usage with exit code 2", async () => {
    const lines: string[] = [];
    const io = {
      out: (l: string) => lines.push(l),
      err: (l: string) => lines.push(l),
    };
    assert.equal(await main(["--bogus"], io), 2);
    assert.equal(await main(["--all", "--target", TARGETS[0]!], io), 2);
    assert.equal(await main(["--target", "pdp11"], io), 2);
    assert.equal(await main(["--timeout", "soon"], io), 2);
    assert.equal(lines.length, 4);
  });

  const hostCached = await denortCached(Deno.build.target);

  await t.step({
    name: "without a runtime, --all fails with one line naming the target",
    ignore: await denortCached(TARGETS[0]!),
    fn: async () => {
      const root = await Deno.makeTempDir({ prefix: "compile_test_" });
      try {
        await writeFixtureProject(root);
        const result = await runDeno(
          ["run", "--allow-all", COMPILE_SCRIPT, "--all", "--root", root],
          { cwd: root, env: offlineEnv() },
        );
        assert.equal(result.code, 1);
        assert.equal(result.stdout, "");
        assert.deepEqual(result.stderrLines, [runtimeFailureLine(TARGETS[0]!)]);
        assert.deepEqual(
          await listNames(join(root, "dist")),
          [],
          "a failed build leaves no files behind",
        );
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  });

  await t.step({
    name: "deno task compile without DENORT_BIN fails with one line, exit 1",
    ignore: hostCached,
    fn: async () => {
      const result = await runDeno(["task", "compile"], {
        cwd: REPO_ROOT,
        env: offlineEnv(),
      });
      // `deno task` announces the task itself ("Task compile ..."); the rest is ours.
      const ours = result.stderrLines.filter((line) =>
        !line.startsWith("Task compile")
      );
      assert.deepEqual(ours, [runtimeFailureLine(Deno.build.target)]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
    },
  });

  // A plain deno given as DENORT_BIN yields a "binary" that only prints
  // Deno's version: the script refuses it before compiling anything.
  await t.step(
    "a plain deno as DENORT_BIN is refused with one line, exit 1, nothing written",
    async () => {
      const root = await Deno.makeTempDir({ prefix: "compile_test_" });
      try {
        await writeFixtureProject(root);
        const env = { ...offlineEnv(), DENORT_BIN: Deno.execPath() };
        const result = await runDeno(
          ["run", "--allow-all", COMPILE_SCRIPT, "--root", root],
          { cwd: root, env },
        );
        assert.equal(result.code, 1);
        assert.equal(
          result.stderrLines.length,
          1,
          result.stderrLines.join("\n"),
        );
        assert.match(
          result.stderrLines[0]!,
          /is a plain deno, not the denort runtime/,
        );
        assert.equal(result.stdout, "");
        assert.deepEqual(await listNames(join(root, "dist")), []);
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  );
});
