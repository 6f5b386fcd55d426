/**
 * A benchmark harness around the real `ipython_mcp` server: spawns
 * `deno run <scoped permissions> src/cli/ipython_mcp.ts` through the SDK
 * `Client` + `StdioClientTransport` with an explicit environment, times tool
 * calls and reads the server's memory from /proc.
 *
 * @module
 */

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { fileURLToPath } from "node:url";
import {
  findKernels,
  killPids,
  type ProcMemory,
  readMemory,
  waitGone,
} from "./proc.ts";

import { runFlags } from "../scripts/permissions.ts";
import {
  callTool,
  createClient,
  type ToolAnswer,
  toolCall,
} from "./requests.ts";

export type { ToolAnswer } from "./requests.ts";

/** Path of the server entry file. */
export const SERVER_ENTRY: string = fileURLToPath(
  new URL("../src/cli/ipython_mcp.ts", import.meta.url),
);

/** The flags of `deno task ipython_mcp`: permissions and V8 flags. */
export const SERVER_PERMISSIONS: readonly string[] = runFlags("ipython_mcp");

/** Options of {@linkcode startBenchServer}. */
export interface BenchServerOptions {
  /** Full environment of the server (the SDK would otherwise drop CODER_* vars). */
  env: Record<string, string>;
  /** Working directory of the server (and its kernels). */
  cwd: string;
  /** Extra server arguments. */
  args?: string[];
  /** Server entry file (default {@linkcode SERVER_ENTRY}). */
  entry?: string;
  /** Further `deno run` flags (before the entry). */
  denoArgs?: string[];
}

/** A running server with a connected client. */
export interface BenchServer extends AsyncDisposable {
  /** Pid of the server (deno) process. */
  readonly pid: number;
  /** The SDK client. */
  readonly client: Client;
  /** Milliseconds from spawn until `initialize` completed. */
  readonly connectMs: number;
  /** Last lines the server wrote to stderr. */
  stderrTail(): string;
  /**
   * Calls a tool and parses its JSON text item.
   *
   * @param name Tool name.
   * @param args Tool arguments.
   * @param timeoutMs Request timeout (default 60 s).
   * @returns The answer.
   * @throws {Error} When the answer has no JSON text item.
   */
  call(
    name: string,
    args?: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<ToolAnswer>;
  /** VmRSS/VmHWM of the server process. */
  memory(): Promise<ProcMemory | null>;
  /**
   * Closes stdin (the server shuts its kernels down and exits), waits for
   * the server and its kernels to end, and kills what is left.
   *
   * @returns Pids that had to be killed (empty on a clean exit).
   */
  close(): Promise<number[]>;
}

/**
 * Spawns the server and connects a client.
 *
 * @param options Environment, working directory, arguments.
 * @returns The connected harness.
 * @throws {Error} When the server does not complete `initialize`.
 */
export async function startBenchServer(
  options: BenchServerOptions,
): Promise<BenchServer> {
  const started = performance.now();
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      ...SERVER_PERMISSIONS,
      ...(options.denoArgs ?? []),
      options.entry ?? SERVER_ENTRY,
      ...(options.args ?? []),
    ],
    env: options.env,
    cwd: options.cwd,
    stderr: "pipe",
  });
  const stderrChunks: string[] = [];
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    stderrChunks.push(
      typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk),
    );
    if (stderrChunks.length > 200) stderrChunks.splice(0, 100);
  });
  const stderrTail = () =>
    stderrChunks.join("").trimEnd().split("\n").slice(-10).join("\n");
  const client = createClient("2025");
  try {
    await client.connect(transport, { timeout: 60_000 });
  } catch (error) {
    await transport.close().catch(() => {});
    throw new Error(`ipython_mcp did not start:\n${stderrTail()}`, {
      cause: error,
    });
  }
  const connectMs = performance.now() - started;
  const pid = transport.pid;
  if (pid === null) throw new Error("ipython_mcp has no pid");
  let closing: Promise<number[]> | null = null;
  const close = async (): Promise<number[]> => {
    const kernels = (await findKernels({ JPY_PARENT_PID: String(pid) })).map(
      (k) => k.pid,
    );
    await client.close().catch(() => {});
    const left = await waitGone([pid, ...kernels], 10_000);
    // Kernels the server started after the listing above.
    const late = (await findKernels({ JPY_PARENT_PID: String(pid) })).map(
      (k) => k.pid,
    );
    const stuck = [...new Set([...left, ...late])];
    killPids(stuck);
    return stuck;
  };
  return {
    pid,
    client,
    connectMs,
    stderrTail,
    call(name, args = {}, timeoutMs = 60_000) {
      return callTool(client, toolCall(name, args), { timeoutMs });
    },
    memory: () => readMemory(pid),
    close() {
      closing ??= close();
      return closing;
    },
    async [Symbol.asyncDispose]() {
      closing ??= close();
      await closing;
    },
  };
}
