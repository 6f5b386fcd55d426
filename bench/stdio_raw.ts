/**
 * A bare JSON-RPC client of the real `ipython_mcp` over stdio, for the
 * measurements an SDK client hides: the exact moment stdin closes (the SDK
 * transport follows EOF with its own SIGTERM after 2 s), signals sent to the
 * server's pid, and the arrival time of every notification. Every message it
 * sends is built by `requests.ts`.
 *
 * @module
 */

import { findKernels, type KernelProcess, killPids, waitGone } from "./proc.ts";
import { SERVER_ENTRY, SERVER_PERMISSIONS } from "./server.ts";
import {
  initializedNotification,
  type JsonRpcMessage,
  openingRequest,
  parseToolAnswer,
  type ToolAnswer,
  type ToolCall,
  toolsCallRequest,
} from "./requests.ts";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

/** A message the server sent, with its arrival time (`performance.now()`). */
export interface Incoming {
  /** The parsed JSON-RPC message. */
  message: {
    id?: number;
    method?: string;
    params?: Record<string, unknown>;
    result?: unknown;
    error?: { code: number; message: string };
  };
  /** When its line was read. */
  at: number;
}

/** Options of {@linkcode startRawServer}. */
export interface RawServerOptions {
  /** Full environment of the server. */
  env: Record<string, string>;
  /** Working directory of the server and its kernels. */
  cwd: string;
}

/** A running server spoken to line by line. */
export interface RawServer extends AsyncDisposable {
  /** Pid of the server (deno) process. */
  readonly pid: number;
  /** Settles when the server process has exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Every notification the server sent so far, in order. */
  readonly notifications: readonly Incoming[];
  /**
   * Calls a tool and parses its answer.
   *
   * @param call Tool name and arguments.
   * @param progressToken Sent in `_meta` when given.
   * @returns The answer.
   * @throws {Error} On a JSON-RPC error or when the server exits first.
   */
  call(call: ToolCall, progressToken?: string): Promise<ToolAnswer>;
  /** The server's kernels (by `JPY_PARENT_PID`). */
  kernels(): Promise<KernelProcess[]>;
  /** Closes the server's stdin (EOF). */
  closeStdin(): Promise<void>;
  /** Last lines the server wrote to stderr. */
  stderrTail(): string;
}

/**
 * Spawns the server with the flags of `deno task ipython_mcp` and completes
 * the 2025-era handshake.
 *
 * @param options Environment and working directory.
 * @returns The connected server; disposing it kills what is left of the
 *   server and its kernels.
 * @throws {Error} When the server does not answer `initialize`.
 */
export async function startRawServer(
  options: RawServerOptions,
): Promise<RawServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...SERVER_PERMISSIONS, SERVER_ENTRY],
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = child.pid;
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const pending = new Map<number, PromiseWithResolvers<Incoming>>();
  const notifications: Incoming[] = [];
  let stderr = "";
  let nextId = 1;
  let stdinOpen = true;

  const reading = (async () => {
    let buffer = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      const at = performance.now();
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        let message: Incoming["message"];
        try {
          message = JSON.parse(line);
        } catch {
          // Not protocol: the section's checks fail on what it lacks.
          continue;
        }
        if (message.method === undefined && message.id !== undefined) {
          pending.get(message.id)?.resolve({ message, at });
          pending.delete(message.id);
        } else if (message.method !== undefined) {
          notifications.push({ message, at });
        }
      }
    }
  })().catch(() => {}).finally(() => {
    for (const waiter of pending.values()) {
      waiter.reject(
        new Error(`ipython_mcp exited before answering:\n${stderrTail()}`),
      );
    }
    pending.clear();
  });
  const draining = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      stderr = (stderr + chunk).slice(-8_000);
    }
  })().catch(() => {});
  const exited = child.status.then(async (status) => {
    await Promise.all([reading, draining]);
    return status;
  });
  const stderrTail = () => stderr.trimEnd().split("\n").slice(-10).join("\n");

  const send = async (message: JsonRpcMessage): Promise<void> => {
    await writer.write(encoder.encode(JSON.stringify(message) + "\n"));
  };
  const request = async (message: JsonRpcMessage): Promise<Incoming> => {
    const waiter = Promise.withResolvers<Incoming>();
    pending.set(message.id!, waiter);
    await send(message);
    const answer = await waiter.promise;
    if (answer.message.error) {
      throw new Error(
        `${message.method} failed: ${answer.message.error.message}`,
      );
    }
    return answer;
  };
  const closeStdin = async () => {
    if (!stdinOpen) return;
    stdinOpen = false;
    await writer.close().catch(() => {});
  };
  const kernels = () => findKernels({ JPY_PARENT_PID: String(pid) });

  const dispose = async () => {
    const left = (await kernels()).map((k) => k.pid);
    await closeStdin();
    const timer = setTimeout(() => killPids([pid]), 10_000);
    await exited;
    clearTimeout(timer);
    killPids(await waitGone(left, 5_000));
  };

  try {
    await request(openingRequest("2025", nextId++));
    await send(initializedNotification());
  } catch (error) {
    killPids([pid]);
    await exited;
    throw new Error(`ipython_mcp did not start:\n${stderrTail()}`, {
      cause: error,
    });
  }
  return {
    pid,
    exited,
    notifications,
    async call(call, progressToken) {
      const answer = await request(
        toolsCallRequest(call, {
          era: "2025",
          id: nextId++,
          ...(progressToken !== undefined ? { progressToken } : {}),
        }),
      );
      return parseToolAnswer(
        call.name,
        answer.message.result as CallToolResult,
      );
    },
    kernels,
    closeStdin,
    stderrTail,
    [Symbol.asyncDispose]: dispose,
  };
}
