/**
 * Builds the standalone binaries `coder` and `ipython_mcp` with `deno compile`.
 *
 * ```sh
 * deno task compile            # dist/coder, dist/ipython_mcp for this machine
 * deno task compile --all      # dist/coder-<target>, dist/ipython_mcp-<target> for 5 targets
 * ```
 *
 * Every run writes `SHA256SUMS` (sha256sum format) beside the binaries.
 * Permissions are scoped per program (see `scripts/permissions.ts`); prompts,
 * model configs and templates reach the binaries through the module graph, so
 * no `--include` is needed.
 *
 * `deno compile` needs Deno's `denort` runtime for each target and downloads it
 * from dl.deno.land. `DENORT_BIN` (read by Deno itself) names a local runtime
 * instead; this script passes it through to single-target builds and, with
 * `--all`, to the host target only. When the runtime cannot be downloaded the
 * script prints one line saying so and exits 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PERMISSIONS, type ProgramName, RUNTIME_FLAGS } from "./permissions.ts";

/** Targets built by `--all` (Deno's `--target` names). */
export const TARGETS: readonly string[] = Object.freeze([
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
]);

/** One program to compile. */
export interface BinarySpec {
  /** Program (and output file) name. */
  readonly name: ProgramName;
  /** Entry module, relative to the project root. */
  readonly entry: string;
  /** Permission flags baked into the binary. */
  readonly permissions: readonly string[];
}

/** The programs `deno task compile` builds. */
export const BINARIES: readonly BinarySpec[] = Object.freeze([
  {
    name: "coder",
    entry: "src/cli/coder.ts",
    permissions: PERMISSIONS.coder,
  },
  {
    name: "ipython_mcp",
    entry: "src/cli/ipython_mcp.ts",
    permissions: PERMISSIONS.ipython_mcp,
  },
]);

/** One `deno compile` invocation. */
export interface CompileJob {
  /** What to build. */
  readonly binary: BinarySpec;
  /** Deno target name, or `null` for the host (no `--target` flag). */
  readonly target: string | null;
  /** Absolute output file path, `.exe` included for Windows. */
  readonly output: string;
}

/** Options of {@linkcode planJobs}. */
export interface PlanOptions {
  /** Build every target in {@linkcode TARGETS}. */
  all?: boolean;
  /** Build this one target (file names get the target suffix). */
  target?: string;
  /** Directory the binaries are written to. */
  outDir: string;
  /** OS of the host, for the `.exe` suffix of host builds; default `Deno.build.os`. */
  hostOs?: string;
}

/**
 * Lists the `deno compile` runs for a build: both programs for the host, for one
 * target, or for all targets.
 *
 * @param options Which targets and where the files go.
 * @returns The jobs, programs in {@linkcode BINARIES} order within each target.
 * @throws {RangeError} When `target` is not one of {@linkcode TARGETS}.
 * @example Plan a release build
 * ```ts
 * import { planJobs } from "./compile.ts";
 *
 * const jobs = planJobs({ all: true, outDir: "/tmp/dist" });
 * // jobs[0].output === "/tmp/dist/coder-x86_64-unknown-linux-gnu"
 * ```
 */
export function planJobs(options: PlanOptions): CompileJob[] {
  const hostOs = options.hostOs ?? Deno.build.os;
  if (options.target !== undefined && !TARGETS.includes(options.target)) {
    throw new RangeError(
      `Cannot build for target "${options.target}": expected one of ${
        TARGETS.join(", ")
      }`,
    );
  }
  const targets: (string | null)[] = options.all
    ? [...TARGETS]
    : [options.target ?? null];
  const jobs: CompileJob[] = [];
  for (const target of targets) {
    for (const binary of BINARIES) {
      const windows = target === null
        ? hostOs === "windows"
        : target.includes("windows");
      const file =
        (target === null ? binary.name : `${binary.name}-${target}`) +
        (windows ? ".exe" : "");
      jobs.push({ binary, target, output: join(options.outDir, file) });
    }
  }
  return jobs;
}

/**
 * Builds the argument list of `deno` for one job (without the `deno` itself).
 *
 * @param job The job to run.
 * @returns `["compile", ...permissions, "--output", FILE, ("--target", T), ENTRY]`.
 * @example Arguments for the host build of coder
 * ```ts
 * import { compileArgs, planJobs } from "./compile.ts";
 *
 * const [job] = planJobs({ outDir: "dist" });
 * const args = compileArgs(job!);
 * ```
 */
export function compileArgs(job: CompileJob): string[] {
  return [
    "compile",
    ...job.binary.permissions,
    ...RUNTIME_FLAGS[job.binary.name],
    "--output",
    job.output,
    ...(job.target === null ? [] : ["--target", job.target]),
    job.binary.entry,
  ];
}

/**
 * Tells whether `deno compile` failed because it could not obtain the `denort`
 * runtime (download refused, DNS failure, bad archive).
 *
 * @param stderr What `deno compile` wrote to stderr.
 * @returns `true` for a runtime set-up failure.
 * @example
 * ```ts
 * import { isRuntimeDownloadFailure } from "./compile.ts";
 *
 * isRuntimeDownloadFailure("0: Setting up base binary.\n1: error sending request"); // true
 * ```
 */
export function isRuntimeDownloadFailure(stderr: string): boolean {
  return /Setting up base binary/.test(stderr) ||
    /error sending request for url \(\S*denort/.test(stderr);
}

/**
 * The one line printed when the runtime cannot be downloaded.
 *
 * @param target The target whose runtime was needed.
 * @returns The message, without a trailing newline.
 */
export function runtimeFailureLine(target: string): string {
  return `compile: cannot download the Deno runtime (denort) for ${target}; set DENORT_BIN to a local denort binary`;
}

/** Where {@linkcode main} writes its lines. */
export interface LineIo {
  /** Writes one line of normal output. */
  out(line: string): void;
  /** Writes one line of diagnostics. */
  err(line: string): void;
}

const HELP_TEXT =
  `Usage: deno task compile [--all | --target TARGET] [--out DIR] [--timeout SECONDS]

Builds dist/coder and dist/ipython_mcp with deno compile and writes dist/SHA256SUMS.

Options:
  --all              build for ${TARGETS.join(", ")}
                     (files named PROGRAM-TARGET, .exe for Windows)
  --target TARGET    build for one of those targets
  --out DIR          output directory (default: dist/ in the project)
  --root DIR         project root (default: the directory above scripts/)
  --timeout SECONDS  limit per deno compile run (default 600)
  -h, --help         show this help

Environment:
  DENORT_BIN         local denort runtime binary, used instead of downloading one
                     (with --all: for the host target only)`;

function consoleIo(): LineIo {
  return {
    // deno-lint-ignore no-console
    out: (line) => console.log(line),
    // deno-lint-ignore no-console
    err: (line) => console.error(line),
  };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Checks that a runtime is not a plain `deno`: given as DENORT_BIN, a plain
 * deno yields a "binary" that ignores the embedded program and only prints
 * Deno's version. A plain deno answers `--version` with `deno X.Y.Z`; denort
 * does not.
 *
 * @param runtime Path of the runtime binary.
 * @returns One line for stderr, or null when the runtime is not a plain deno.
 */
export async function plainDenoProblem(
  runtime: string,
): Promise<string | null> {
  let stdout = "";
  try {
    const out = await new Deno.Command(runtime, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
      clearEnv: true,
      signal: AbortSignal.timeout(10_000),
    }).output();
    stdout = new TextDecoder().decode(out.stdout);
  } catch {
    return null; // not runnable here (another target): deno compile decides
  }
  return /^deno \d+\.\d+\.\d+/m.test(stdout)
    ? `compile: DENORT_BIN "${runtime}" is a plain deno, not the denort runtime (its binaries would only print Deno's version); set DENORT_BIN to denort from denort-<target>.zip of the Deno release`
    : null;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function formatSize(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Options parsed from the command line by {@linkcode parseCompileArgs}. */
export interface CompileOptions {
  /** `--all`: every target in {@linkcode TARGETS}. */
  all: boolean;
  /** `--target`: one target. */
  target: string | undefined;
  /** `--out`: output directory (relative to the user's directory). */
  out: string | undefined;
  /** `--root`: project root (relative to the user's directory). */
  root: string | undefined;
  /** `--timeout`: limit per `deno compile` run, in seconds. */
  timeoutSeconds: number;
  /** `--help`. */
  help: boolean;
}

/**
 * Parses the command line of the compile script.
 *
 * @param args Command-line arguments.
 * @returns The options.
 * @throws {TypeError} On unknown options, `--all` with `--target`, or a bad `--timeout`.
 * @example
 * ```ts
 * import { parseCompileArgs } from "./compile.ts";
 *
 * parseCompileArgs(["--all"]).all; // true
 * ```
 */
export function parseCompileArgs(args: string[]): CompileOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      all: { type: "boolean", default: false },
      target: { type: "string" },
      out: { type: "string" },
      root: { type: "string" },
      timeout: { type: "string", default: "600" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.all && values.target !== undefined) {
    throw new TypeError("use either --all or --target, not both");
  }
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new TypeError(
      `--timeout must be a positive number of seconds, got "${values.timeout}"`,
    );
  }
  return {
    all: values.all,
    target: values.target,
    out: values.out,
    root: values.root,
    timeoutSeconds,
    help: values.help,
  };
}

/**
 * Runs the build.
 *
 * @param args Command-line arguments (see `--help`).
 * @param io Where lines go; default: the console.
 * @returns Exit code: 0 built, 1 build failed, 2 usage error.
 * @example Build for the host
 * ```ts ignore
 * import { main } from "./compile.ts";
 *
 * Deno.exit(await main([]));
 * ```
 */
export async function main(
  args: string[],
  io: LineIo = consoleIo(),
): Promise<number> {
  let options: CompileOptions;
  try {
    options = parseCompileArgs(args);
  } catch (error) {
    io.err(`compile: ${(error as Error).message}`);
    return 2;
  }
  if (options.help) {
    io.out(HELP_TEXT);
    return 0;
  }
  const env = Deno.env.toObject();
  const userCwd = env.INIT_CWD || Deno.cwd();
  const root = options.root === undefined
    ? dirname(dirname(fileURLToPath(import.meta.url)))
    : resolve(userCwd, options.root);
  const outDir = options.out === undefined
    ? join(root, "dist")
    : resolve(userCwd, options.out);

  let jobs: CompileJob[];
  try {
    jobs = planJobs({ all: options.all, target: options.target, outDir });
  } catch (error) {
    io.err(`compile: ${(error as Error).message}`);
    return 2;
  }

  // Deno reads DENORT_BIN itself; make it absolute (deno runs from the root)
  // and keep it away from cross-target builds of --all, which need their own runtime.
  const denortBin = env.DENORT_BIN
    ? (isAbsolute(env.DENORT_BIN)
      ? env.DENORT_BIN
      : resolve(userCwd, env.DENORT_BIN))
    : undefined;
  if (denortBin !== undefined && !(await isFile(denortBin))) {
    io.err(`compile: DENORT_BIN is set to "${denortBin}", which is not a file`);
    return 1;
  }
  if (denortBin !== undefined) {
    const problem = await plainDenoProblem(denortBin);
    if (problem !== null) {
      io.err(problem);
      return 1;
    }
  }
  delete env.DENORT_BIN;

  const built: string[] = [];
  for (const job of jobs) {
    const target = job.target ?? Deno.build.target;
    const childEnv = { ...env };
    if (
      denortBin !== undefined && (!options.all || target === Deno.build.target)
    ) {
      childEnv.DENORT_BIN = denortBin;
    }
    const output = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(job),
      cwd: root,
      env: childEnv,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(options.timeoutSeconds * 1000),
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    if (output.success) {
      const size = (await Deno.stat(job.output)).size;
      io.out(`compile: wrote ${job.output} (${formatSize(size)})`);
      built.push(job.output);
      continue;
    }
    if (isRuntimeDownloadFailure(stderr)) {
      io.err(runtimeFailureLine(target));
      return 1;
    }
    if (output.signal !== null) {
      io.err(
        /Download \S*denort/.test(stderr)
          ? runtimeFailureLine(target)
          : `compile: deno compile of ${job.binary.name} for ${target} did not finish within ${options.timeoutSeconds} s`,
      );
      return 1;
    }
    // Deno's own report, without the Rust backtrace RUST_BACKTRACE adds.
    const detail = (new TextDecoder().decode(output.stdout) + stderr)
      .replace(/\n\s*Stack backtrace:[\s\S]*$/, "").trimEnd();
    if (detail) io.err(detail);
    io.err(
      `compile: deno compile of ${job.binary.name} for ${target} failed (exit code ${output.code})`,
    );
    return 1;
  }

  const lines: string[] = [];
  for (const file of built) {
    lines.push(`${await sha256File(file)}  ${basename(file)}`);
  }
  const sums = join(outDir, "SHA256SUMS");
  await Deno.writeTextFile(sums, lines.join("\n") + "\n");
  io.out(`compile: wrote ${sums}`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
