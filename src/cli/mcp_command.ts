/**
 * The ipython_mcp server runner, shared by `ipython_mcp` and `coder mcp`:
 * parses `--dir`, resolves the working directory, builds the kernel
 * registry from the environment, serves MCP on stdin/stdout and shuts every
 * kernel down on stdin EOF, SIGTERM or SIGINT.
 *
 * @module
 */

import { settleWithin } from "../base/mod.ts";
import { dirname, join, resolve } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import {
  createLocalSyntaxChecker,
  type KernelBackend,
  KernelRegistry,
  KernelSlots,
  type LaunchOptions,
  type Logger,
  SecretMasker,
} from "../kernel/mod.ts";
import { BackendChoiceError, createBackend } from "./backend.ts";
import { renderCliHint } from "./hints.ts";
import { type CliIo, writeText } from "./io.ts";
import { type LogLevel, readSettings } from "./env.ts";
import { optionHelp, type OptionValues, parseWith } from "./options.ts";
import { createLevelLogger } from "./logger.ts";
import { kernelEnvironment, serverSecrets } from "./secrets.ts";
import { MIN_TOKEN_LENGTH, readTokensFile, UserSlots } from "./mcp_users.ts";
import type { GuardedServer, McpUser } from "../mcp/mod.ts";
import {
  MCP_OPTIONS,
  MCP_OWN_OPTIONS,
  openStdio,
  type StdioStart,
} from "./mcp_early.ts";

/** Help text of `ipython_mcp` / `coder mcp`. */
export const MCP_HELP_TEXT =
  `ipython_mcp: MCP server on stdio (or Streamable HTTP with --http) giving MCP
clients persistent Python (IPython) kernels.

Usage:
  ipython_mcp [--dir DIR] [--sandbox | --gateway URL] [--http [HOST:]PORT]
  coder mcp [same options]

Options:
${
    optionHelp([
      "dir",
      "sandbox",
      "memory-limit",
      "allow-host",
      "gateway",
      [
        "    --http [HOST:]PORT",
        "Serve MCP over Streamable HTTP at /mcp instead of stdio (host default 127.0.0.1; bearer token CODER_MCP_TOKEN)",
      ],
      "version",
      "help",
    ])
  }
Without --dir the kernels work in the current directory, or in
~/.ipython_mcp/workspace when that is / or not writable; saved output goes to
DIR/.ipython_mcp/.

Environment:
  CODER_PYTHON       Python interpreter that has ipykernel
  CODER_MAX_KERNELS  Most live kernels (default 10)
  CODER_POOL_SIZE    Warm spare kernels (default 1)
  CODER_LOG_LEVEL    stderr log level: debug, info, warning (default), error
  CODER_MCP_TOKEN    Bearer token of --http (generated and printed when unset;
                     required for a non-loopback host, 16 characters or more)
  CODER_MCP_TOKENS_FILE
                     File of "user:token" lines (mode 0600): each user gets
                     their own kernels, jobs and DIR/users/USER directory
  CODER_MAX_KERNELS_PER_USER
                     Most live kernels of one --http user (default
                     CODER_MAX_KERNELS)
  CODER_MCP_MAX_CONNECTIONS
                     Most open --http connections (default 256; more get
                     503); each must send its request headers within 10 s
                     and is closed after 600 s without traffic
  CODER_MCP_RECLAIM_AFTER
                     Idle seconds after which an --http session's kernels
                     may be shut down when the kernel limit is reached
                     (default 60; its owner is told on the next call)
  CODER_MCP_SESSION_TTL
                     Idle seconds before an --http session and its kernels
                     end (default 1800)
  CODER_SANDBOX_ALLOW_HOSTS
                     Hosts sandboxed kernels may reach (like --allow-host)

Tools: python_exec (also as a background job), python_job, python_reset,
python_status, python_interrupt, python_export, submit_code.
Stdout carries only MCP messages; logs go to stderr.
`;

/**
 * Longest wait for the registry's shutdown (it aborts starts and kills
 * process groups itself, within its own budget).
 */
const SHUTDOWN_WAIT_MS = 10_000;
/** After stdin EOF, how long requests already received may take to finish. */
const EOF_DRAIN_MS = 1_000;
/** How long loading the MCP SDK waits for the first kernel's spawn. */
const FIRST_SPAWN_WAIT_MS = 250;
/** After kernel shutdown, how long the last answers may take to be written. */
const FINAL_DRAIN_MS = 300;

/** A logger whose pending writes can be awaited. */
export interface FlushableLogger extends Logger {
  /** Resolves when every line written so far reached the stream. */
  flush(): Promise<void>;
}

/**
 * Creates a logger writing timestamped lines to a stream (stderr).
 *
 * @param stream Where lines go; never stdout of an MCP server.
 * @param level Lowest level written.
 * @param name Program name in each line.
 * @returns The logger.
 * @example Logging warnings and worse
 * ```ts
 * import { createStderrLogger } from "./mcp_command.ts";
 * const logger = createStderrLogger(new WritableStream(), "warning");
 * logger.warn("kernel slow to start");
 * await logger.flush();
 * ```
 */
export function createStderrLogger(
  stream: WritableStream<Uint8Array>,
  level: LogLevel,
  name = "ipython_mcp",
  mask: (text: string) => string = (text) => text,
): FlushableLogger {
  let chain: Promise<void> = Promise.resolve();
  const logger = createLevelLogger(level, (at, message) => {
    const line = `${new Date().toISOString()} ${at.toUpperCase()} ${name}: ${
      mask(message)
    }\n`;
    chain = chain.then(() => writeText(stream, line)).catch(() => {});
  });
  return {
    ...logger,
    flush: () => chain,
  };
}

async function isWritableDir(dir: string): Promise<boolean> {
  try {
    const probe = await Deno.makeTempFile({ dir, prefix: ".ipython_mcp_" });
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks the working directory: `--dir` (created when missing), else `cwd`;
 * when that is a file-system root or not writable, `~/.ipython_mcp/workspace`
 * (created).
 *
 * @param dir The `--dir` value, if any.
 * @param cwd The directory the program was started from.
 * @param home The user's home directory.
 * @returns The absolute working directory.
 * @throws {Deno.errors.PermissionDenied} When the directory cannot be created.
 */
export async function resolveWorkingDir(
  dir: string | undefined,
  cwd: string,
  home: string,
): Promise<string> {
  if (dir !== undefined && dir !== "") {
    const chosen = resolve(cwd, dir);
    await Deno.mkdir(chosen, { recursive: true });
    return chosen;
  }
  const current = resolve(cwd);
  if (dirname(current) !== current && await isWritableDir(current)) {
    return current;
  }
  const workspace = join(home, ".ipython_mcp", "workspace");
  await Deno.mkdir(workspace, { recursive: true });
  return workspace;
}

function addSignalListeners(handler: (signal: string) => void): () => void {
  const removers: (() => void)[] = [];
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    const listener = () => handler(signal);
    try {
      Deno.addSignalListener(signal, listener);
      removers.push(() => Deno.removeSignalListener(signal, listener));
    } catch {
      // SIGTERM cannot be listened for on Windows; stdin EOF still works.
    }
  }
  return () => removers.forEach((remove) => remove());
}

/**
 * Starts the first kernel when the first real request of a connection
 * arrives (SPEC §10, issue 19): the warm spare of the pool
 * (CODER_POOL_SIZE, default 1), which the first `python_exec` or
 * `python_reset` takes. A `server/discover` probe (SDK clients in `auto`
 * mode start a throwaway copy of the server just for it) starts nothing.
 * With the pool off nothing starts before it is asked for. A failed early
 * start is only logged; the first call that needs a kernel starts one and
 * reports the error.
 */
export class FirstRequestWarmer {
  readonly #registry: Pick<KernelRegistry, "warm">;
  #started = false;

  /** @param registry The server's registry. */
  constructor(registry: Pick<KernelRegistry, "warm">) {
    this.#registry = registry;
  }

  /** Whether the first kernel was asked for. */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Looks at one incoming message; the first real request warms the pool.
   *
   * @param message A parsed JSON-RPC message.
   */
  observe = (message: unknown): void => {
    if (this.#started || typeof message !== "object" || message === null) {
      return;
    }
    const m = message as { id?: unknown; method?: unknown };
    if (typeof m.method !== "string" || m.id === undefined) return;
    if (m.method === "server/discover" || m.method === "ping") return;
    this.#started = true;
    this.#registry.warm();
  };
}

/**
 * Runs the MCP server on `io.stdin`/`io.stdout` until stdin ends or SIGTERM
 * or SIGINT arrives, then kills every kernel and returns.
 *
 * @param args Arguments after the program name (`--dir DIR`, `--help`).
 * @param io Streams, environment and working directory.
 * @param early The stdio connection when the entry opened it already (and
 *   answered the handshake); default: opened here.
 * @returns 0 after a clean shutdown, 2 on a usage error, 1 when the server
 *   cannot start.
 * @example Running from an entry file
 * ```ts ignore
 * import { processIo } from "./io.ts";
 * Deno.exit(await runMcpServer(Deno.args, processIo()));
 * ```
 */
export async function runMcpServer(
  args: string[],
  io: CliIo,
  early?: StdioStart,
): Promise<number> {
  let values: OptionValues & { http?: string };
  try {
    values = parseWith(args, MCP_OPTIONS, MCP_OWN_OPTIONS, false)
      .values as OptionValues & { http?: string };
  } catch (error) {
    await writeText(
      io.stderr,
      `ipython_mcp: ${
        error instanceof Error ? error.message : error
      }\nRun with --help for usage.\n`,
    );
    return 2;
  }
  if (values.help) {
    await writeText(io.stdout, MCP_HELP_TEXT);
    return 0;
  }
  if (values.version) {
    await writeText(io.stdout, `ipython_mcp ${denoJson.version}\n`);
    return 0;
  }

  let settings;
  try {
    settings = readSettings(io.env);
  } catch (error) {
    await writeText(
      io.stderr,
      `ipython_mcp: ${error instanceof Error ? error.message : error}\n`,
    );
    return 2;
  }
  // Every known secret is masked in answers, saved outputs, notebooks and
  // the log, and no kernel gets one in its environment (SPEC §12).
  const secrets = serverSecrets(io.env, [
    settings.gatewayToken,
    settings.mcpToken,
  ]);
  const masker = new SecretMasker(secrets);
  const mask = (text: string): string => masker.mask(text);
  const logger = createStderrLogger(
    io.stderr,
    settings.logLevel,
    "ipython_mcp",
    mask,
  );

  let cwd: string;
  try {
    cwd = await resolveWorkingDir(values.dir, io.cwd, settings.home);
  } catch (error) {
    await writeText(
      io.stderr,
      `ipython_mcp: cannot use working directory "${values.dir ?? io.cwd}": ${
        error instanceof Error ? error.message : error
      }\n`,
    );
    return 1;
  }

  const firstSpawn = Promise.withResolvers<void>();
  const launch = {
    onSpawn: () => firstSpawn.resolve(),
    env: kernelEnvironment(io.env, secrets),
    ...(settings.python ? { python: settings.python } : {}),
    cacheDir: settings.cacheDir,
    logger,
    renderHint: renderCliHint,
  };
  let backend;
  try {
    backend = createBackend(
      {
        sandbox: values.sandbox ?? false,
        memoryLimit: values["memory-limit"] ?? null,
        gateway: values.gateway ?? null,
        allowHost: values["allow-host"] ?? [],
      },
      settings,
      launch,
    );
  } catch (error) {
    await writeText(
      io.stderr,
      `ipython_mcp: ${error instanceof Error ? error.message : error}\n`,
    );
    return error instanceof BackendChoiceError ? 2 : 1;
  }
  if (values.http !== undefined) {
    return await serveHttp(values.http, {
      io,
      settings,
      logger,
      cwd,
      launch,
      backend,
      masker,
    });
  }
  const registry = new KernelRegistry({
    cwd,
    launch,
    backend,
    syntax: createLocalSyntaxChecker(launch, backend),
    maxKernels: settings.maxKernels,
    // A spare remote kernel is a pod or a server-side process held for
    // nothing until the first call: no pool for remote kernels unless asked.
    poolSize: !backend.capabilities.poolable && !io.env.CODER_POOL_SIZE
      ? 0
      : settings.poolSize,
  });
  const warmer = new FirstRequestWarmer(registry);
  const stop = Promise.withResolvers<string>();
  const removeSignalListeners = addSignalListeners((signal) =>
    stop.resolve(signal)
  );
  // The transport reads (and answers the handshake) before the MCP SDK
  // loads (~130 ms of module evaluation that blocks the event loop); when
  // the first message is a real request, its kernel process starts first.
  const stdio = early ?? openStdio(io, denoJson.version);
  const { transport } = stdio;
  transport.onerror = (error) =>
    logger.warn(`Transport error: ${error.message}`);
  stdio.ended.then(() => stop.resolve("stdin closed"));
  transport.closed.then(() => stop.resolve("transport closed"));
  await Promise.race([stdio.first, stop.promise]);
  stdio.watch(warmer.observe);
  // With the handshake answered, nothing needs the SDK until the client says
  // more; a client that hangs up then (an SDK client's `server/discover`
  // probe) gets no server object: the SDK is not even loaded.
  if (transport.pendingRequests === 0) {
    await Promise.race([stdio.more, stop.promise]);
  }
  if (warmer.started && backend.capabilities.localProcess) {
    await settleWithin(firstSpawn.promise, FIRST_SPAWN_WAIT_MS);
  }
  const stoppedBy = await Promise.race([stop.promise, Promise.resolve(null)]);
  let handle: { close(): Promise<void> } | undefined;
  try {
    if (stoppedBy === "SIGTERM" || stoppedBy === "SIGINT") {
      logger.info(`Shutting down (${stoppedBy})`);
      return 0;
    }
    if (stdio.inputEnded && transport.pendingRequests === 0) {
      logger.info("Input ended with every request answered");
      return 0;
    }
    const { outputStoreFor, serveStdioConnection } = await import(
      "../mcp/mod.ts"
    );
    handle = serveStdioConnection({
      transport,
      registry,
      logger,
      cwd,
      outputs: outputStoreFor(backend, cwd, settings.cacheDir),
      mask,
      version: denoJson.version,
      renderHint: renderCliHint,
    });
    logger.info(`Serving MCP on stdio; working directory ${cwd}`);
    const reason = await stop.promise;
    logger.info(`Shutting down (${reason})`);
    // A client may close its end after its last request: answer it first.
    if (reason === "stdin closed") {
      await settleWithin(transport.drained(), EOF_DRAIN_MS);
    }
  } finally {
    await settleWithin(
      registry.shutdownAll().catch((error) =>
        logger.error(`Kernel shutdown failed: ${error}`)
      ),
      SHUTDOWN_WAIT_MS,
    );
    // Calls that the shutdown cut short still get their (error) answer.
    await settleWithin(transport.drained(), FINAL_DRAIN_MS);
    await handle?.close().catch(() => {});
    await transport.close();
    removeSignalListeners();
    await logger.flush();
  }
  return 0;
}

/** Longest wait for every session's kernels to shut down on exit. */
const HTTP_SHUTDOWN_MS = 5_000;
/** How long open HTTP requests may take to end after every session closed. */
const HTTP_DRAIN_MS = 1_000;

/** What {@linkcode serveHttp} needs from `runMcpServer`. */
interface HttpContext {
  io: CliIo;
  settings: ReturnType<typeof readSettings>;
  logger: FlushableLogger;
  cwd: string;
  launch: LaunchOptions;
  backend: KernelBackend;
  masker: SecretMasker;
}

/** A random bearer token: 32 bytes, base64url. */
function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  ).replace(/=+$/, "");
}

/** A positive integer from the environment, or the default when unset. */
function positiveEnvInt(
  value: string | undefined,
  fallback: number,
  name: string,
): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new TypeError(`${name} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** A non-negative integer from the environment, or the default when unset. */
function nonNegativeEnvInt(
  value: string | undefined,
  fallback: number,
  name: string,
): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new TypeError(
      `${name} must be a whole number of seconds, got "${value}"`,
    );
  }
  return n;
}

function urlHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * Serves MCP over Streamable HTTP (`--http [HOST:]PORT`) until SIGTERM or
 * SIGINT, then ends every session and kills its kernels.
 */
async function serveHttp(value: string, context: HttpContext): Promise<number> {
  const { io, settings, logger, cwd, launch, backend, masker } = context;
  const {
    isLoopbackHost,
    isWildcardHost,
    McpHttpService,
    outputStoreFor,
    parseListenAddress,
    serveGuarded,
  } = await import("../mcp/mod.ts");
  let address;
  try {
    address = parseListenAddress(value, { renderHint: renderCliHint });
  } catch (error) {
    await writeText(io.stderr, `ipython_mcp: ${(error as Error).message}\n`);
    return 2;
  }
  const loopback = isLoopbackHost(address.hostname);
  const tokensFile = io.env.CODER_MCP_TOKENS_FILE || undefined;
  let users: McpUser[] | undefined;
  let perUser: number;
  let reclaimAfter: number;
  let maxConnections: number;
  try {
    maxConnections = positiveEnvInt(
      io.env.CODER_MCP_MAX_CONNECTIONS,
      256,
      "CODER_MCP_MAX_CONNECTIONS",
    );
    reclaimAfter = nonNegativeEnvInt(
      io.env.CODER_MCP_RECLAIM_AFTER,
      60,
      "CODER_MCP_RECLAIM_AFTER",
    );
    users = tokensFile === undefined
      ? undefined
      : await readTokensFile(resolve(io.cwd, tokensFile));
    perUser = positiveEnvInt(
      io.env.CODER_MAX_KERNELS_PER_USER,
      settings.maxKernels,
      "CODER_MAX_KERNELS_PER_USER",
    );
  } catch (error) {
    await writeText(io.stderr, `ipython_mcp: ${(error as Error).message}\n`);
    return 2;
  }
  if (!loopback && settings.mcpToken === undefined && users === undefined) {
    await writeText(
      io.stderr,
      `ipython_mcp: refusing to serve on non-loopback host "${address.hostname}" without CODER_MCP_TOKEN: ` +
        `set it to a long random secret (and put TLS in front), or bind 127.0.0.1\n`,
    );
    return 2;
  }
  if (
    !loopback && settings.mcpToken !== undefined &&
    settings.mcpToken.length < MIN_TOKEN_LENGTH
  ) {
    await writeText(
      io.stderr,
      `ipython_mcp: refusing to serve on non-loopback host "${address.hostname}": CODER_MCP_TOKEN has ${settings.mcpToken.length} characters; ` +
        `use a random secret of at least ${MIN_TOKEN_LENGTH} (e.g. openssl rand -base64 32)\n`,
    );
    return 2;
  }
  const token = users === undefined
    ? settings.mcpToken ?? generateToken()
    : settings.mcpToken;
  if (users === undefined && settings.mcpToken === undefined) {
    await writeText(
      io.stderr,
      `ipython_mcp: CODER_MCP_TOKEN is not set; the token of this run is ${token}\n`,
    );
  }
  masker.add(token);
  for (const user of users ?? []) masker.add(user.token);
  const slots = new KernelSlots(settings.maxKernels);
  const userSlots = new Map<string, KernelSlots>();
  const slotsOf = (user: string): KernelSlots => {
    let found = userSlots.get(user);
    if (!found) {
      found = new UserSlots(perUser, slots);
      userSlots.set(user, found);
    }
    return found;
  };
  // With a tokens file each user works in a directory of their own (kernel
  // cwd and saved outputs); the single-token user works in the directory.
  const cwdOf = (user: string): string =>
    users === undefined ? cwd : join(cwd, "users", user);
  for (const user of users ?? []) {
    await Deno.mkdir(cwdOf(user.name), { recursive: true });
  }
  // One syntax checker for every session (a few processes at once).
  const syntax = createLocalSyntaxChecker(launch, backend);
  const service = new McpHttpService({
    ...(token === undefined ? {} : { token }),
    ...(users === undefined ? {} : { users }),
    logger,
    version: denoJson.version,
    outputsFor: (dir) => outputStoreFor(backend, dir, settings.cacheDir),
    mask: (text) => masker.mask(text),
    renderHint: renderCliHint,
    sessionTtlMs: settings.mcpSessionTtl * 1000,
    reclaimAfterMs: reclaimAfter * 1000,
    kernelSlots: (user: string) => ({ user: slotsOf(user), server: slots }),
    // No warm spares per session: each would hold one of the server's
    // kernel slots while its session is idle.
    createRegistry: (user: string): KernelRegistry =>
      new KernelRegistry({
        cwd: cwdOf(user),
        launch,
        backend,
        syntax,
        maxKernels: settings.maxKernels,
        poolSize: 0,
        slots: slotsOf(user),
        reclaim: (): Promise<boolean> => service.reclaim(user),
      }),
    extraHostnames: isWildcardHost(address.hostname) ? [Deno.hostname()] : [],
  });
  let server: GuardedServer;
  try {
    server = serveGuarded({
      hostname: address.hostname,
      port: address.port,
      logger,
      limits: { maxConnections },
      onError: (error) => {
        logger.error(`HTTP request failed: ${error}`);
        return new Response("Internal Server Error", { status: 500 });
      },
    }, service.handle);
  } catch (error) {
    const hint = error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied
      ? " (grant it: --allow-net)"
      : "";
    await writeText(
      io.stderr,
      `ipython_mcp: cannot listen on ${
        urlHost(address.hostname)
      }:${address.port}: ${(error as Error).message}${hint}\n`,
    );
    return 1;
  }
  const bound = server.addr;
  service.listening(bound);
  const stop = Promise.withResolvers<string>();
  const removeSignalListeners = addSignalListeners((signal) =>
    stop.resolve(signal)
  );
  const where = `${urlHost(bound.hostname)}:${bound.port}`;
  await writeText(
    io.stderr,
    `ipython_mcp: serving MCP over Streamable HTTP at http://${where}/mcp (working directory ${cwd})\n`,
  );
  if (!loopback) {
    await writeText(
      io.stderr,
      `ipython_mcp: warning: listening on non-loopback host ${address.hostname}: plain HTTP; ` +
        `whoever can reach ${where} with the token runs code as this user: keep it behind TLS\n`,
    );
  }
  backend.preflight?.().catch(() => {}); // reported when a kernel starts
  try {
    const reason = await stop.promise;
    logger.info(`Shutting down (${reason})`);
  } finally {
    // Every session's registry kills its own kernels; a hung one does not
    // hold the exit (its kernels then exit by themselves: JPY_PARENT_PID).
    await settleWithin(service.close(), HTTP_SHUTDOWN_MS);
    await settleWithin(server.shutdown(), HTTP_DRAIN_MS);
    removeSignalListeners();
    await logger.flush();
  }
  return 0;
}
