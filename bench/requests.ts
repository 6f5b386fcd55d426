/**
 * The one builder of every request the benchmark sections send: Jupyter
 * messages (signed ZMTP frames for a bare DEALER, JSON for a kernel
 * websocket), raw MCP JSON-RPC lines for both eras (`initialize` for
 * 2025-11-25, `server/discover` and enveloped requests for 2026-07-28), the
 * MCP clients of both SDK lines, and tool calls with their parsed answers.
 * A section never writes a header, an envelope or a `tools/call` by hand.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import type { MessageHeader } from "../src/kernel/messages.ts";
import { Client as Client2025 } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Client as Client2026 } from "@modelcontextprotocol/client";

const encoder = new TextEncoder();

/** Protocol revision of the 2025 era (`initialize` handshake, sessions). */
export const PROTOCOL_2025 = "2025-11-25";
/** Protocol revision of the 2026 era (stateless, per-request envelope). */
export const PROTOCOL_2026 = "2026-07-28";

/** Client name every benchmark connection reports. */
export const CLIENT_INFO: Readonly<{ name: string; version: string }> = Object
  .freeze({ name: "ipython_mcp-bench", version: "0.0.0" });

// Jupyter messages.

/** The delimiter frame between routing identities and a Jupyter message. */
export const DELIMITER: Uint8Array = encoder.encode("<IDS|MSG>");

/** A Jupyter message as it goes on the wire (spec casing). */
export interface JupyterMessage {
  /** msg_id, msg_type, session, username, date, version. */
  header: MessageHeader;
  /** Always empty for a request. */
  parent_header: Record<string, never>;
  /** Always empty for a request. */
  metadata: Record<string, never>;
  /** The request's content. */
  content: Record<string, unknown>;
}

/** Options of {@linkcode jupyterRequest}. */
export interface JupyterRequestOptions {
  /** The client session id (one per connection). */
  session: string;
  /** The content (default `{}`, as for `kernel_info_request`). */
  content?: Record<string, unknown>;
}

/**
 * Builds a Jupyter request message.
 *
 * @param msgType e.g. `execute_request`, `kernel_info_request`.
 * @param options Session and content.
 * @returns The message, with a fresh msg_id.
 */
export function jupyterRequest(
  msgType: string,
  options: JupyterRequestOptions,
): JupyterMessage {
  return {
    header: {
      msg_id: crypto.randomUUID(),
      msg_type: msgType,
      session: options.session,
      username: "bench",
      date: new Date().toISOString(),
      version: "5.3",
    },
    parent_header: {},
    metadata: {},
    content: options.content ?? {},
  };
}

/**
 * The content of an `execute_request` as every client sends it.
 *
 * @param code Python source.
 * @returns The content.
 */
export function executeContent(code: string): Record<string, unknown> {
  return {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  };
}

/**
 * Signs a message for a ZMTP socket (HMAC-SHA256 over header, parent,
 * metadata and content).
 *
 * @param message The message.
 * @param key The connection's key.
 * @returns Frames from the delimiter on, ready for a DEALER.
 */
export function signedFrames(
  message: JupyterMessage,
  key: string,
): Uint8Array[] {
  const parts = [
    message.header,
    message.parent_header,
    message.metadata,
    message.content,
  ].map((part) => encoder.encode(JSON.stringify(part)));
  const hmac = createHmac("sha256", key);
  for (const part of parts) hmac.update(part);
  return [DELIMITER, encoder.encode(hmac.digest("hex")), ...parts];
}

/**
 * A message as a Jupyter Server kernel websocket takes it (JSON protocol).
 *
 * @param message The message.
 * @param channel The channel (default `shell`).
 * @returns The text frame.
 */
export function websocketText(
  message: JupyterMessage,
  channel = "shell",
): string {
  return JSON.stringify({ channel, ...message, buffers: [] });
}

// Raw MCP JSON-RPC (one line each over stdio).

/** One JSON-RPC request or notification. */
export interface JsonRpcMessage {
  /** Always "2.0". */
  jsonrpc: "2.0";
  /** Absent for a notification. */
  id?: number;
  /** The method. */
  method: string;
  /** The params. */
  params?: Record<string, unknown>;
}

/**
 * The `_meta` envelope a 2026-07-28 request carries instead of a handshake.
 *
 * @param version The protocol version to claim (default 2026-07-28).
 * @returns The `_meta` object.
 */
export function envelope2026(
  version: string = PROTOCOL_2026,
): Record<string, unknown> {
  return {
    "io.modelcontextprotocol/protocolVersion": version,
    "io.modelcontextprotocol/clientInfo": { ...CLIENT_INFO },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
}

/**
 * The first request of a connection: `initialize` (2025 era) or
 * `server/discover` (2026 era).
 *
 * @param era Which era's handshake.
 * @param id The request id.
 * @returns The request.
 */
export function openingRequest(
  era: "2025" | "2026",
  id = 1,
): JsonRpcMessage {
  return era === "2025"
    ? {
      jsonrpc: "2.0",
      id,
      method: "initialize",
      params: {
        protocolVersion: PROTOCOL_2025,
        capabilities: {},
        clientInfo: { ...CLIENT_INFO },
      },
    }
    : {
      jsonrpc: "2.0",
      id,
      method: "server/discover",
      params: { _meta: envelope2026() },
    };
}

/**
 * The notification a 2025 client sends after `initialize` is answered.
 *
 * @returns The notification.
 */
export function initializedNotification(): JsonRpcMessage {
  return { jsonrpc: "2.0", method: "notifications/initialized" };
}

/** Options of {@linkcode toolsCallRequest}. */
export interface ToolsCallRequestOptions {
  /** Which era (the 2026 era adds the envelope). */
  era: "2025" | "2026";
  /** The request id. */
  id: number;
  /** A progress token: the server then sends `notifications/progress`. */
  progressToken?: string | number;
}

/**
 * A `tools/call` request.
 *
 * @param call Tool name and arguments.
 * @param options Era, request id and progress token.
 * @returns The request.
 */
export function toolsCallRequest(
  call: ToolCall,
  options: ToolsCallRequestOptions,
): JsonRpcMessage {
  return {
    jsonrpc: "2.0",
    id: options.id,
    method: "tools/call",
    params: {
      name: call.name,
      arguments: call.arguments,
      ...(options.era === "2026" || options.progressToken !== undefined
        ? {
          _meta: {
            ...(options.era === "2026" ? envelope2026() : {}),
            ...(options.progressToken !== undefined
              ? { progressToken: options.progressToken }
              : {}),
          },
        }
        : {}),
    },
  };
}

// MCP clients and tool calls.

/** How a client picks its era: fixed 2025, or the 2026 SDK's `auto` probe. */
export type ClientMode = "2025" | "auto";

/** An MCP client of either SDK line. */
export type McpClient = Client2025 | Client2026;

/**
 * Creates the MCP client a section connects: the v1 SDK client (2025 era)
 * or the v2 SDK client in `auto` mode (probes `server/discover` on a
 * throwaway connection, then picks an era, as Claude Code does).
 *
 * @param mode The era choice.
 * @returns An unconnected client.
 */
export function createClient(mode: "2025"): Client2025;
export function createClient(mode: "auto"): Client2026;
export function createClient(mode: ClientMode): McpClient;
export function createClient(mode: ClientMode): McpClient {
  return mode === "2025"
    ? new Client2025({ ...CLIENT_INFO })
    : new Client2026({ ...CLIENT_INFO }, {
      versionNegotiation: { mode: "auto" },
    });
}

/** A tool name and its arguments. */
export interface ToolCall {
  /** Tool name. */
  name: string;
  /** Tool arguments. */
  arguments: Record<string, unknown>;
}

/**
 * Builds a tool call.
 *
 * @param name Tool name.
 * @param args Tool arguments.
 * @returns The call.
 */
export function toolCall(
  name: string,
  args: Record<string, unknown> = {},
): ToolCall {
  return { name, arguments: args };
}

/**
 * Builds a `python_exec` call.
 *
 * @param code Python source.
 * @param extra Further arguments (`kernel_id`, `timeout`, …).
 * @returns The call.
 */
export function pythonExec(
  code: string,
  extra: Record<string, unknown> = {},
): ToolCall {
  return toolCall("python_exec", { code, ...extra });
}

/** A parsed tool answer. */
export interface ToolAnswer {
  /** The raw MCP result. */
  result: CallToolResult;
  /** The tool's JSON object (its first text item, else structured content). */
  json: Record<string, unknown>;
}

/**
 * Parses a tool result into its JSON object.
 *
 * @param name Tool name (for the error).
 * @param result The raw result.
 * @returns The answer.
 * @throws {Error} When the result has neither a text item nor structured
 *   content.
 */
export function parseToolAnswer(
  name: string,
  result: CallToolResult,
): ToolAnswer {
  const first = result.content[0];
  if (first?.type === "text") return { result, json: JSON.parse(first.text) };
  const structured = result.structuredContent;
  if (structured && typeof structured === "object") {
    return { result, json: structured as Record<string, unknown> };
  }
  throw new Error(
    `${name}: no text item in ${JSON.stringify(result).slice(0, 300)}`,
  );
}

/** Options of {@linkcode callTool}. */
export interface CallToolOptions {
  /** Request timeout in ms (default 60 s). */
  timeoutMs?: number;
}

/**
 * Calls a tool through a client of either SDK line, without parsing the
 * answer (for tools whose text is not JSON, e.g. `notebook_view`).
 *
 * @param client A connected client.
 * @param call The call.
 * @param options Timeout.
 * @returns The raw result.
 * @throws {Error} When the request fails.
 */
export async function callToolRaw(
  client: McpClient,
  call: ToolCall,
  options: CallToolOptions = {},
): Promise<CallToolResult> {
  const timeout = options.timeoutMs ?? 60_000;
  const result = client instanceof Client2026
    ? await client.callTool(call, { timeout })
    : await client.callTool(call, undefined, { timeout });
  return result as CallToolResult;
}

/**
 * Calls a tool through a client of either SDK line and parses the answer.
 *
 * @param client A connected client.
 * @param call The call.
 * @param options Timeout.
 * @returns The answer.
 * @throws {Error} When the answer cannot be parsed (see
 *   {@linkcode parseToolAnswer}) or the request fails.
 */
export async function callTool(
  client: McpClient,
  call: ToolCall,
  options: CallToolOptions = {},
): Promise<ToolAnswer> {
  return parseToolAnswer(call.name, await callToolRaw(client, call, options));
}

/**
 * Times one `python_exec("1+1")` and checks its result is "2".
 *
 * @param client A connected client.
 * @returns Milliseconds.
 * @throws {Error} When the result is not "2".
 */
export async function timedOnePlusOne(client: McpClient): Promise<number> {
  const started = performance.now();
  const { json } = await callTool(client, pythonExec("1+1"));
  const ms = performance.now() - started;
  if (json.result !== "2") {
    throw new Error(`python_exec("1+1") gave ${JSON.stringify(json)}`);
  }
  return ms;
}
