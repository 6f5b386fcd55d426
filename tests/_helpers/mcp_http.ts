/**
 * Test harness for `ipython_mcp --http`: spawns the real server from source
 * with the program's permissions, reads the URL it prints on stderr, and
 * connects SDK clients through `StreamableHTTPClientTransport` with the
 * bearer token.
 *
 * @module
 */

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  type Client as Client2026,
  StreamableHTTPClientTransport as HttpTransport2026,
} from "@modelcontextprotocol/client";
import {
  type AnyClient,
  assertEra,
  callToolJson,
  type Era,
  modernClient,
  serverCommand,
  serverEnv,
  type ToolJson,
} from "./mcp_client.ts";
import { kernelDescendants, killAll, waitForExit } from "./processes.ts";

/** Options of {@linkcode startHttpServer}. */
export interface StartHttpServerOptions {
  /** Variables added to (or, with `undefined`, removed from) the test env. */
  env?: Record<string, string | undefined>;
  /** The `--http` value; default `127.0.0.1:0`. */
  listen?: string;
  /** Further server arguments. */
  args?: string[];
}

/** A connected SDK client over HTTP. */
export interface HttpClient {
  /** The era it speaks. */
  era: Era;
  /** The SDK client (v1 for 2025, v2 for 2026). */
  client: AnyClient;
  /** Its transport (session id, terminateSession). */
  transport: StreamableHTTPClientTransport | HttpTransport2026;
  /**
   * Calls a tool and parses its JSON text item.
   *
   * @param name Tool name.
   * @param args Arguments.
   * @param options Request options.
   * @returns The raw result and the parsed JSON of its first item.
   */
  call(
    name: string,
    args?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<ToolJson>;
}

/** A running HTTP server. */
export interface HttpServerHarness extends AsyncDisposable {
  /** The server process. */
  child: Deno.ChildProcess;
  /** Its pid. */
  pid: number;
  /** The endpoint, e.g. `http://127.0.0.1:40909/mcp`. */
  url: URL;
  /** The bearer token (printed by the server when not given). */
  token: string;
  /** The working directory. */
  cwd: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /**
   * Connects a new client (a new MCP session in the 2025 era).
   *
   * @param token Token to send; default the server's.
   * @param era Protocol era; default "2025".
   * @param capabilities Client capabilities.
   * @returns The client.
   */
  connect(
    token?: string,
    era?: Era,
    capabilities?: Record<string, unknown>,
  ): Promise<HttpClient>;
  /** Kernel processes below the server. */
  kernels(): number[];
}

/**
 * Spawns `ipython_mcp --http` and waits for the URL line on stderr.
 *
 * @param options Environment, listen address, arguments.
 * @returns The harness; dispose it to kill the server and its kernels.
 */
export async function startHttpServer(
  options: StartHttpServerOptions = {},
): Promise<HttpServerHarness> {
  const cwd = await Deno.makeTempDir({ prefix: "mcp_http_" });
  const { command, args } = serverCommand([
    "--http",
    options.listen ?? "127.0.0.1:0",
    ...(options.args ?? []),
  ]);
  const child = new Deno.Command(command, {
    args,
    cwd,
    env: serverEnv(options.env),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const found = Promise.withResolvers<URL>();
  const reading = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      text += chunk;
      const url = /at (http:\/\/\S+\/mcp)/.exec(text)?.[1];
      if (url) found.resolve(new URL(url));
    }
    found.reject(new Error(`Server exited before listening. Stderr:\n${text}`));
  })();
  const timer = setTimeout(
    () => found.reject(new Error(`No URL after 60 s. Stderr:\n${text}`)),
    60_000,
  );
  let url: URL;
  try {
    url = await found.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    await reading;
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const token = options.env?.CODER_MCP_TOKEN ??
    /the token of this run is (\S+)/.exec(text)?.[1] ?? "";
  const clients: HttpClient[] = [];
  const seen = new Set<number>();
  return {
    child,
    pid: child.pid,
    url,
    token,
    cwd,
    stderr: () => text,
    kernels() {
      const pids = kernelDescendants(child.pid);
      for (const pid of pids) seen.add(pid);
      return pids;
    },
    async connect(withToken = token, era = "2025", capabilities = {}) {
      const init = {
        requestInit: { headers: { Authorization: `Bearer ${withToken}` } },
      };
      let client: AnyClient;
      let transport: StreamableHTTPClientTransport | HttpTransport2026;
      if (era === "2025") {
        const v1 = new Client({ name: "mcp-http-test", version: "0.0.0" }, {
          capabilities,
        });
        transport = new StreamableHTTPClientTransport(url, init);
        await v1.connect(transport);
        client = v1;
      } else {
        const v2: Client2026 = modernClient(capabilities);
        transport = new HttpTransport2026(url, init);
        await v2.connect(transport);
        client = v2;
      }
      assertEra(client, era);
      const handle: HttpClient = {
        era,
        client,
        transport,
        call: (name, callArgs, requestOptions) =>
          callToolJson(client, name, callArgs, requestOptions),
      };
      clients.push(handle);
      return handle;
    },
    async [Symbol.asyncDispose]() {
      for (const pid of kernelDescendants(child.pid)) seen.add(pid);
      for (const { client } of clients) await client.close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      if (!await waitForExit(child.pid, 10_000)) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
      }
      await child.status;
      await reading;
      killAll([...seen]);
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A raw JSON-RPC POST to the endpoint, with the headers the transport wants.
 *
 * @param url The endpoint.
 * @param body The request body (string or JSON value).
 * @param headers Extra or replacing headers.
 * @returns The response.
 */
export function rawPost(
  url: URL,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The `initialize` request a raw client sends. */
export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "raw", version: "0" },
  },
};

/**
 * Where an optional npm tool the CI installs lives: the directory named by
 * `variable`, when `entry` (a path inside it) exists.
 *
 * @param variable The environment variable naming the directory.
 * @param entry The tool's entry file, relative to that directory.
 * @returns The directory, or undefined when unset or not installed.
 */
function optionalToolDir(variable: string, entry: string): string | undefined {
  const dir = Deno.env.get(variable);
  if (!dir) return undefined;
  try {
    Deno.statSync(`${dir}/${entry}`);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Where the npm package `@modelcontextprotocol/conformance` is installed
 * (`MCP_CONFORMANCE_DIR`), for the optional conformance test.
 *
 * @returns The directory, or undefined when unset or not installed.
 */
export function conformancePackageDir(): string | undefined {
  return optionalToolDir(
    "MCP_CONFORMANCE_DIR",
    "node_modules/@modelcontextprotocol/conformance/dist/index.js",
  );
}

/**
 * Where the npm package `@modelcontextprotocol/inspector` is installed
 * (`MCP_INSPECTOR_DIR`), for the optional `--strict` schema check.
 *
 * @returns The directory, or undefined when unset or not installed.
 */
export function inspectorPackageDir(): string | undefined {
  return optionalToolDir(
    "MCP_INSPECTOR_DIR",
    "node_modules/@modelcontextprotocol/inspector/clients/cli/build/index.js",
  );
}

/** The per-request `_meta` envelope of a 2026-07-28 request. */
export function envelope(
  capabilities: Record<string, unknown> = {},
  version = "2026-07-28",
): Record<string, unknown> {
  return {
    "io.modelcontextprotocol/protocolVersion": version,
    "io.modelcontextprotocol/clientInfo": { name: "raw", version: "0" },
    "io.modelcontextprotocol/clientCapabilities": capabilities,
  };
}

/** The answer of one raw 2026 request. */
export interface ModernAnswer {
  /** HTTP status. */
  status: number;
  /** The JSON-RPC response (from a JSON body or the SSE stream). */
  message: {
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
}

/**
 * Sends one stateless 2026-07-28 request by hand (the headers and envelope
 * the revision asks for) and reads its response, JSON or SSE.
 *
 * @param url The endpoint.
 * @param token Bearer token.
 * @param method JSON-RPC method.
 * @param params Parameters (the envelope is added to `_meta`).
 * @param options Client capabilities, protocol version.
 * @returns Status and the JSON-RPC response.
 */
export async function modernRequest(
  url: URL,
  token: string,
  method: string,
  params: Record<string, unknown> = {},
  options: { capabilities?: Record<string, unknown>; version?: string } = {},
): Promise<ModernAnswer> {
  const version = options.version ?? "2026-07-28";
  const meta = {
    ...(params._meta as Record<string, unknown> | undefined),
    ...envelope(options.capabilities, version),
  };
  const name = typeof params.name === "string"
    ? params.name
    : typeof params.taskId === "string"
    ? params.taskId
    : undefined;
  const response = await rawPost(url, {
    jsonrpc: "2.0",
    id: 1,
    method,
    params: { ...params, _meta: meta },
  }, {
    authorization: `Bearer ${token}`,
    "mcp-protocol-version": version,
    "mcp-method": method,
    ...(name === undefined ? {} : { "mcp-name": name }),
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("text/event-stream")) {
    return { status: response.status, message: JSON.parse(text) };
  }
  for (const line of text.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const message = JSON.parse(line.slice(5));
    if (message.id === 1) return { status: response.status, message };
  }
  throw new Error(`No response in the SSE stream: ${text}`);
}
