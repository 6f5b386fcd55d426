/**
 * Test harness for the real ipython_mcp server: spawns
 * `deno run <scoped permissions> src/cli/ipython_mcp.ts` as a subprocess and
 * talks to it through the SDK `Client` + `StdioClientTransport`; plus /proc
 * helpers to find the server's python processes and wait until they are
 * gone.
 *
 * @module
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
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
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options?: RequestOptions,
): Promise<ToolJson> {
  const result = await client.callTool(
    { name, arguments: args },
    undefined,
    options,
  ) as CallToolResult;
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
  /** The connected SDK client. */
  client: Client;
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
   * @returns The raw result and the parsed JSON of its first item.
   */
  call(
    name: string,
    args?: Record<string, unknown>,
    options?: RequestOptions,
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
  const transport = new StdioClientTransport({
    command,
    args,
    env: serverEnv(options.env),
    cwd,
    stderr: "pipe",
  });
  let stderrText = "";
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    stderrText += typeof chunk === "string"
      ? chunk
      : new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: "mcp-test", version: "0.0.0" });
  try {
    await client.connect(transport);
  } catch (error) {
    await transport.close().catch(() => {});
    if (ownCwd) await Deno.remove(cwd, { recursive: true }).catch(() => {});
    throw new Error(`Server did not start. Stderr:\n${stderrText}`, {
      cause: error,
    });
  }
  const pid = transport.pid;
  if (pid === null) throw new Error("Server has no pid");
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.close();
  };
  return {
    client,
    pid,
    cwd,
    stderr: () => stderrText,
    call: (name, callArgs, requestOptions) =>
      callToolJson(client, name, callArgs, requestOptions),
    close,
    async [Symbol.asyncDispose]() {
      await close();
      await waitForExit(pid, 10_000);
      if (ownCwd) await Deno.remove(cwd, { recursive: true }).catch(() => {});
    },
  };
}
