/**
 * The server's identity and its answer to a connection's opening message,
 * without the MCP SDK: the name, instructions and capabilities the SDK
 * server object is built from (`server.ts`), and the same `initialize`
 * (2025 era) and `server/discover` (2026 era) results the SDK would send,
 * so stdio can answer them while the SDK is still loading. Only a plainly
 * valid opening message gets an early answer; anything else is left to the
 * SDK. A test holds these answers equal to the SDK's, byte for byte.
 *
 * @module
 */

import { TASKS_EXTENSION } from "./tasks.ts";

/** Name the server reports in `initialize` and `server/discover`. */
export const SERVER_NAME = "ipython_mcp";

/** Instructions sent to clients (shown to models). */
export const SERVER_INSTRUCTIONS =
  `Persistent Python (IPython) kernels. Run code with python_exec; variables persist between calls. ` +
  `The default session starts on first use. Parallel agents: call python_reset() once for your own kernel_id ` +
  `and pass it to every call. Use python_status to see variables and the working directory, ` +
  `python_interrupt to stop runaway code, submit_code to syntax-check final code without running it. ` +
  `Work that may take more than a minute: python_exec(background=true) returns a job_id at once; poll it with python_job. ` +
  `python_export writes the session as a Jupyter notebook.`;

/**
 * The MCP Apps extension's id (`UI_EXTENSION` of `view.ts`, written here so
 * the answer needs nothing that loads the kernel layer; a test holds them
 * equal).
 */
const UI_EXTENSION_ID = "io.modelcontextprotocol/ui";

/**
 * The capabilities the server declares (2025 `initialize`; the 2026 wire
 * form drops `tasks`, which that revision moved into the extension).
 *
 * @returns A fresh object (the SDK keeps and may merge into what it gets).
 */
export function serverCapabilities(): {
  tools: Record<string, never>;
  resources: Record<string, never>;
  tasks: {
    list: Record<string, never>;
    cancel: Record<string, never>;
    requests: { tools: { call: Record<string, never> } };
  };
  extensions: Record<string, Record<string, never>>;
} {
  return {
    tools: {},
    resources: {},
    tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
    extensions: { [TASKS_EXTENSION]: {}, [UI_EXTENSION_ID]: {} },
  };
}

/** The 2026 revision, the only one `server/discover` offers. */
export const MODERN_PROTOCOL_VERSION = "2026-07-28";

/**
 * The 2025-era versions `initialize` negotiates, in the SDK's order of
 * preference (its `SUPPORTED_PROTOCOL_VERSIONS`): a requested one is echoed,
 * any other gets the first.
 */
export const LEGACY_PROTOCOL_VERSIONS: readonly string[] = Object.freeze([
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
]);

const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
const CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo";
const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";
const SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo";

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `clientInfo` of the common shape: name and version, maybe title. */
function plainClientInfo(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  if (typeof value.name !== "string" || typeof value.version !== "string") {
    return false;
  }
  return Object.entries(value).every(([key, field]) =>
    key === "name" || key === "version" ||
    (["title", "description", "websiteUrl"].includes(key) &&
      typeof field === "string")
  );
}

/** Client capabilities of the common shape: an object of objects. */
function plainCapabilities(value: unknown): boolean {
  return isPlainObject(value) && Object.values(value).every(isPlainObject);
}

/**
 * The answer to a connection's opening message when it is a plainly valid
 * `initialize` (2025 era) or `server/discover` (2026 era), built as the SDK
 * server builds it; undefined for anything else (the SDK answers it).
 *
 * @param message The first JSON-RPC message of the connection.
 * @param version The server version reported in `serverInfo`.
 * @returns The JSON-RPC response, or undefined.
 * @example Answering initialize
 * ```ts
 * import { handshakeAnswer } from "./handshake.ts";
 * const answer = handshakeAnswer({
 *   jsonrpc: "2.0",
 *   id: 1,
 *   method: "initialize",
 *   params: {
 *     protocolVersion: "2025-06-18",
 *     capabilities: {},
 *     clientInfo: { name: "client", version: "1.0" },
 *   },
 * }, "0.1.0");
 * ```
 */
export function handshakeAnswer(
  message: unknown,
  version: string,
): Json | undefined {
  if (!isPlainObject(message) || message.jsonrpc !== "2.0") return undefined;
  const { id, method, params } = message;
  if (typeof id !== "string" && typeof id !== "number") return undefined;
  if (!isPlainObject(params)) return undefined;
  const serverInfo = { name: SERVER_NAME, version };
  if (method === "initialize") {
    const meta = params._meta;
    if (meta !== undefined && !isPlainObject(meta)) return undefined;
    if (meta !== undefined && PROTOCOL_VERSION_KEY in meta) return undefined;
    const requested = params.protocolVersion;
    if (typeof requested !== "string") return undefined;
    if (!plainCapabilities(params.capabilities)) return undefined;
    if (!plainClientInfo(params.clientInfo)) return undefined;
    const protocolVersion = LEGACY_PROTOCOL_VERSIONS.includes(requested)
      ? requested
      : LEGACY_PROTOCOL_VERSIONS[0];
    return {
      result: {
        protocolVersion,
        capabilities: serverCapabilities(),
        serverInfo,
        instructions: SERVER_INSTRUCTIONS,
      },
      jsonrpc: "2.0",
      id,
    };
  }
  if (method === "server/discover") {
    const meta = params._meta;
    if (!isPlainObject(meta)) return undefined;
    if (meta[PROTOCOL_VERSION_KEY] !== MODERN_PROTOCOL_VERSION) {
      return undefined;
    }
    if (!plainClientInfo(meta[CLIENT_INFO_KEY])) return undefined;
    if (!plainCapabilities(meta[CLIENT_CAPABILITIES_KEY])) return undefined;
    const otherReserved = Object.keys(meta).some((key) =>
      key.startsWith("io.modelcontextprotocol/") &&
      ![PROTOCOL_VERSION_KEY, CLIENT_INFO_KEY, CLIENT_CAPABILITIES_KEY]
        .includes(key)
    );
    if (otherReserved) return undefined;
    const { tasks: _movedToExtension, ...capabilities } = serverCapabilities();
    return {
      result: {
        supportedVersions: [MODERN_PROTOCOL_VERSION],
        capabilities,
        instructions: SERVER_INSTRUCTIONS,
        resultType: "complete",
        ttlMs: 0,
        cacheScope: "private",
        _meta: { [SERVER_INFO_KEY]: serverInfo },
      },
      jsonrpc: "2.0",
      id,
    };
  }
  return undefined;
}
