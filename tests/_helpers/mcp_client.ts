/**
 * Test harness for the real ipython_mcp server: spawns
 * `deno run <scoped permissions> src/cli/ipython_mcp.ts` as a subprocess and
 * talks to it over stdio in either MCP era: the v1 SDK `Client` for the 2025
 * era (initialize, sessions), the v2 `@modelcontextprotocol/client` pinned to
 * 2026-07-28 (stateless); plus /proc helpers to find the server's python
 * processes and wait until they are gone.
 *
 * @module
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type {
  CallToolResult,
  ListResourcesResult,
  ListToolsResult,
  ReadResourceResult,
} from "@modelcontextprotocol/sdk/types.js";
import { Client as Client2026 } from "@modelcontextprotocol/client";
import { StdioClientTransport as StdioClientTransport2026 } from "@modelcontextprotocol/client/stdio";
import { fileURLToPath } from "node:url";
import { testEnv } from "./kernel_env.ts";
import { waitForExit } from "./processes.ts";
import { runFlags } from "../../scripts/permissions.ts";

/** Path of the server entry file. */
export const SERVER_ENTRY = fileURLToPath(
  new URL("../../src/cli/ipython_mcp.ts", import.meta.url),
);

/** The flags of `deno task ipython_mcp` (and of the compiled binary). */
export const SERVER_PERMISSIONS: readonly string[] = runFlags("ipython_mcp");

/** The two protocol eras the server speaks. */
export type Era = "2025" | "2026";

/** Both eras, for suites parameterised over them. */
export const ERAS: readonly Era[] = ["2025", "2026"];

/** The 2026 revision. */
export const MODERN_VERSION = "2026-07-28";

/**
 * The tools the server lists, in their fixed order (SPEC §8). Written out
 * here, not read from `src/`, so a test comparing against it can fail.
 */
export const EXPECTED_TOOL_NAMES: readonly string[] = Object.freeze([
  "python_exec",
  "python_job",
  "python_reset",
  "python_status",
  "python_interrupt",
  "python_export",
  "submit_code",
]);

/** A connected client of either era, as the tests use it. */
export type AnyClient = Client | Client2026;

/**
 * A v2 client pinned to the 2026-07-28 revision.
 *
 * @param capabilities Client capabilities (e.g. the tasks extension).
 * @returns The unconnected client.
 */
export function modernClient(
  capabilities: Record<string, unknown> = {},
): Client2026 {
  return new Client2026({ name: "mcp-test-2026", version: "0.0.0" }, {
    capabilities,
    versionNegotiation: { mode: { pin: MODERN_VERSION } },
  });
}

/**
 * Checks that a connected client speaks the era asked for.
 *
 * @param client The connected client.
 * @param era The expected era.
 * @throws {Error} When the negotiated version is of the other era.
 */
export function assertEra(client: AnyClient, era: Era): void {
  const version = client instanceof Client
    ? client.getServerVersion() && "2025"
    : client.getNegotiatedProtocolVersion();
  const got = version === MODERN_VERSION ? "2026" : "2025";
  if (got !== era) {
    throw new Error(`Client negotiated ${version}, not the ${era} era`);
  }
}

/** A tool's answer with its first text item parsed as JSON. */
export interface ToolJson {
  /** The raw MCP result. */
  result: CallToolResult;
  /** The JSON object of the first text item. */
  json: Record<string, unknown>;
}

/**
 * Calls a tool and parses its first text item as JSON.
 *
 * @throws {Error} When the answer has no text item.
 */
export async function callToolJson(
  client: AnyClient,
  name: string,
  args: Record<string, unknown> = {},
  options?: RequestOptions,
  meta?: Record<string, unknown>,
): Promise<ToolJson> {
  const params = {
    name,
    arguments: args,
    ...(meta === undefined ? {} : { _meta: meta }),
  };
  const result = client instanceof Client
    ? await client.callTool(params, undefined, options)
    : await client.callTool(
      params,
      options as Parameters<Client2026["callTool"]>[1],
    );
  return parseToolJson(result as CallToolResult);
}

/**
 * Parses a tool result's first text item as JSON.
 *
 * @param result The raw result.
 * @returns The result and its JSON.
 * @throws {Error} When the answer has no text item.
 */
export function parseToolJson(result: CallToolResult): ToolJson {
  const first = result.content[0];
  if (!first || first.type !== "text") {
    throw new Error(`No text item in ${JSON.stringify(result)}`);
  }
  return { result, json: JSON.parse(first.text) };
}

/** Options of {@linkcode startMcpServer} and {@linkcode serverCommand}. */
export interface StartMcpServerOptions {
  /** Variables added to (or, with `undefined`, removed from) the test env. */
  env?: Record<string, string | undefined>;
  /** Server arguments (e.g. `["--dir", DIR]`). */
  args?: string[];
  /** Working directory; default a fresh temp dir removed on dispose. */
  cwd?: string;
  /** Protocol era of the client; default "2025". */
  era?: Era;
  /** Capabilities the client declares. */
  capabilities?: Record<string, unknown>;
}

/**
 * The environment a test server gets: this process's env (CODER_PYTHON etc.
 * pass through), warm pool off unless asked for, overrides applied.
 *
 * @param overrides Variables to set, or to remove with `undefined`.
 * @returns The environment record.
 */
export function serverEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    ...testEnv(),
    NO_COLOR: "1",
    CODER_POOL_SIZE: "0",
    CODER_LOG_LEVEL: "warning",
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] =>
      e[1] !== undefined
    ),
  );
}

/**
 * The command line that starts the server from source.
 *
 * @param args Server arguments.
 * @returns Executable and arguments.
 */
export function serverCommand(
  args: readonly string[] = [],
): { command: string; args: string[] } {
  return {
    command: Deno.execPath(),
    // The program's documented flags: the same in every mode (SPEC §6a).
    args: ["run", "--quiet", ...runFlags("ipython_mcp"), SERVER_ENTRY, ...args],
  };
}

/** A running server with a connected client. */
export interface McpServerHarness extends AsyncDisposable {
  /** The era the client speaks. */
  era: Era;
  /** The connected SDK client (v1 for 2025, v2 for 2026). */
  client: AnyClient;
  /**
   * The v1 client of a 2025 harness (tasks, raw requests).
   *
   * @throws {Error} On a 2026 harness.
   */
  legacyClient(): Client;
  /** tools/list. */
  listTools(): Promise<ListToolsResult>;
  /** resources/list. */
  listResources(): Promise<ListResourcesResult>;
  /**
   * resources/read.
   *
   * @param uri The resource URI.
   */
  readResource(uri: string): Promise<ReadResourceResult>;
  /** Pid of the server (deno) process. */
  pid: number;
  /** The server's working directory. */
  cwd: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /**
   * Calls a tool and parses its JSON text item.
   *
   * @param name Tool name.
   * @param args Arguments.
   * @param options Request options (onprogress, timeout).
   * @param meta The request's `_meta` (e.g. `anthropic/maxResultSizeChars`).
   * @returns The raw result and the parsed JSON of its first item.
   */
  call(
    name: string,
    args?: Record<string, unknown>,
    options?: RequestOptions,
    meta?: Record<string, unknown>,
  ): Promise<ToolJson>;
  /** Closes the client (stdin EOF), which makes the server exit. */
  close(): Promise<void>;
}

/**
 * Spawns the real server and connects an SDK client over stdio.
 *
 * @param options Environment overrides, arguments, working directory.
 * @returns The harness; dispose it (`await using`) to stop everything.
 */
export async function startMcpServer(
  options: StartMcpServerOptions = {},
): Promise<McpServerHarness> {
  const ownCwd = options.cwd === undefined;
  const cwd = options.cwd ?? await Deno.makeTempDir({ prefix: "mcp_test_" });
  const { command, args } = serverCommand(options.args);
  const era = options.era ?? "2025";
  const params = {
    command,
    args,
    env: serverEnv(options.env),
    cwd,
    stderr: "pipe" as const,
  };
  const transport = era === "2025"
    ? new StdioClientTransport(params)
    : new StdioClientTransport2026(params);
  let stderrText = "";
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    stderrText += typeof chunk === "string"
      ? chunk
      : new TextDecoder().decode(chunk);
  });
  const client: AnyClient = era === "2025"
    ? new Client({ name: "mcp-test", version: "0.0.0" }, {
      capabilities: options.capabilities ?? {},
    })
    : modernClient(options.capabilities);
  try {
    await (client as Client).connect(transport as StdioClientTransport);
  } catch (error) {
    await transport.close().catch(() => {});
    if (ownCwd) await Deno.remove(cwd, { recursive: true }).catch(() => {});
    throw new Error(`Server did not start. Stderr:\n${stderrText}`, {
      cause: error,
    });
  }
  assertEra(client, era);
  const pid = transport.pid;
  if (pid === null) throw new Error("Server has no pid");
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.close();
  };
  return {
    era,
    client,
    legacyClient() {
      if (client instanceof Client) return client;
      throw new Error("This harness speaks 2026-07-28, not 2025");
    },
    listTools: () => client.listTools() as Promise<ListToolsResult>,
    listResources: () => client.listResources() as Promise<ListResourcesResult>,
    readResource: (uri) =>
      client.readResource({ uri }) as Promise<ReadResourceResult>,
    pid,
    cwd,
    stderr: () => stderrText,
    call: (name, callArgs, requestOptions, meta) =>
      callToolJson(client, name, callArgs, requestOptions, meta),
    close,
    async [Symbol.asyncDispose]() {
      await close();
      await waitForExit(pid, 10_000);
      if (ownCwd) await Deno.remove(cwd, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Runs the server on raw stdio: writes the lines, reads stdout until `until`
 * holds for a message, closes stdin and waits for the exit.
 *
 * @param env The server's environment ({@linkcode serverEnv}).
 * @param lines JSON-RPC messages, one per line.
 * @param until Which message ends the reading.
 * @returns Every message read, and the server's stderr.
 */
export async function rawStdio(
  env: Record<string, string>,
  lines: readonly unknown[],
  until: (message: Record<string, unknown>) => boolean,
): Promise<{ messages: Record<string, unknown>[]; stderr: string }> {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_raw_" });
  try {
    const { command, args } = serverCommand();
    const child = new Deno.Command(command, {
      args,
      cwd,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const writer = child.stdin.getWriter();
    const encoder = new TextEncoder();
    for (const line of lines) {
      await writer.write(encoder.encode(JSON.stringify(line) + "\n"));
    }
    const messages: Record<string, unknown>[] = [];
    let buffer = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    while (!messages.some(until)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const part of parts) {
        if (part.trim()) messages.push(JSON.parse(part));
      }
    }
    await writer.close();
    await reader.cancel();
    await child.status;
    return { messages, stderr: await stderr };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}
