/**
 * Round trips below MCP: through the kernel layer (`Kernel.execute`) and
 * through the bare ZMTP transport (a DEALER on the kernel's shell port
 * sending pre-signed `execute_request` frames and waiting for the
 * `execute_reply` only).
 *
 * @module
 */

import type { Kernel } from "../src/kernel/mod.ts";
import { connect } from "../src/zmtp/mod.ts";
import { writeConnectionFile } from "../src/kernel/launcher.ts";
import { type ConnectionInfo, endpointOf } from "../src/kernel/connection.ts";
import {
  DELIMITER,
  executeContent,
  jupyterRequest,
  signedFrames,
} from "./requests.ts";

const decoder = new TextDecoder();

/** One pre-signed request: its frames and msg_id. */
export interface SignedRequest {
  /** Frames from the delimiter on, ready for a DEALER. */
  frames: Uint8Array[];
  /** The header's msg_id. */
  msgId: string;
}

/**
 * Builds and signs `count` distinct `execute_request` messages.
 *
 * @param code Python source of every request.
 * @param key The connection's HMAC-SHA256 key.
 * @param count How many.
 * @returns The signed requests.
 */
export function presignExecuteRequests(
  code: string,
  key: string,
  count: number,
): SignedRequest[] {
  const session = crypto.randomUUID();
  const requests: SignedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const message = jupyterRequest("execute_request", {
      session,
      content: executeContent(code),
    });
    requests.push({
      frames: signedFrames(message, key),
      msgId: message.header.msg_id,
    });
  }
  return requests;
}

function isDelimiter(frame: Uint8Array | undefined): boolean {
  if (!frame || frame.length !== DELIMITER.length) return false;
  for (let i = 0; i < frame.length; i++) {
    if (frame[i] !== DELIMITER[i]) return false;
  }
  return true;
}

/**
 * The msg_type and parent msg_id of a received message (no HMAC check:
 * the bare path measures the transport, not our verification).
 */
function replyOf(
  frames: readonly Uint8Array[],
): { msgType: string; parentId: string } | null {
  const at = frames.findIndex(isDelimiter);
  if (at < 0 || frames.length < at + 6) return null;
  const header = JSON.parse(decoder.decode(frames[at + 2]));
  const parent = JSON.parse(decoder.decode(frames[at + 3]));
  return { msgType: header.msg_type, parentId: parent.msg_id ?? "" };
}

/**
 * Times one `Kernel.execute("1+1")` (reply and iopub idle).
 *
 * @param kernel A ready kernel.
 * @returns Milliseconds.
 * @throws {Error} When the call does not return "2".
 */
export async function kernelRoundTrip(kernel: Kernel): Promise<number> {
  const t0 = performance.now();
  const result = await kernel.execute("1+1", { timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  if (result.result !== "2") {
    throw new Error(`Kernel.execute("1+1") gave ${JSON.stringify(result)}`);
  }
  return ms;
}

/** A DEALER on a kernel's shell port with pre-signed requests. */
export interface BareShell extends AsyncDisposable {
  /**
   * Sends the next pre-signed `execute_request("1+1")` and waits for its
   * `execute_reply` only.
   *
   * @returns Milliseconds.
   * @throws {RangeError} When the pre-signed requests are used up.
   */
  roundTrip(): Promise<number>;
  /** Closes the socket. */
  close(): Promise<void>;
}

/**
 * Connects a second DEALER to the kernel's shell port and signs `count`
 * distinct requests before any timing starts.
 *
 * @param info The kernel's connection details.
 * @param count How many round trips will be made.
 * @param signal Deadline.
 * @returns The shell.
 */
export async function openBareShell(
  info: ConnectionInfo,
  count: number,
  signal: AbortSignal,
): Promise<BareShell> {
  const requests = presignExecuteRequests("1+1", info.key, count);
  const shell = await connect(
    "DEALER",
    endpointOf(info, info.shell_port),
    { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) },
  );
  let next = 0;
  return {
    async roundTrip() {
      const request = requests[next++];
      if (!request) throw new RangeError("No pre-signed request left");
      const t0 = performance.now();
      await shell.send(request.frames);
      for (;;) {
        const reply = replyOf(await shell.receive({ signal }));
        if (reply?.parentId !== request.msgId) continue;
        if (reply.msgType !== "execute_reply") {
          throw new Error(`Expected execute_reply, got ${reply.msgType}`);
        }
        return performance.now() - t0;
      }
    },
    async close() {
      await shell[Symbol.asyncDispose]();
    },
    async [Symbol.asyncDispose]() {
      await shell[Symbol.asyncDispose]();
    },
  };
}

/** Timings of a kernel process started without the kernel layer. */
export interface BareStart {
  /** Spawn until the shell port completes a ZMTP handshake (5 ms polling). */
  bindMs: number;
  /** Spawn until the first kernel_info_reply on shell. */
  kernelInfoMs: number;
}

/**
 * Starts `python -m ipykernel_launcher` directly (own connection file, no
 * kernel layer), polls its shell port every 5 ms and asks kernel_info once
 * it accepts: the floor under any client's kernel start. The process group
 * is killed before returning. `launchArgs` replaces `-m ipykernel_launcher`
 * (e.g. with the kernel layer's own launch arguments).
 *
 * @param python Interpreter with ipykernel.
 * @param options Environment, working directory, deadline.
 * @returns The timings.
 */
export async function bareKernelStart(
  python: string,
  options: {
    env: Record<string, string>;
    cwd: string;
    signal: AbortSignal;
    /** Connect retry delay in ms (default 5); omit the cap to use zmtp's backoff. */
    pollMs?: number | null;
    /** Interpreter arguments before `-f FILE` (default `-m ipykernel_launcher`). */
    launchArgs?: readonly string[];
  },
): Promise<BareStart> {
  const { runtimeDir: dir, info, file } = await writeConnectionFile();
  const { shell_port: shell, key } = info;
  const t0 = performance.now();
  const child = new Deno.Command(python, {
    args: [...options.launchArgs ?? ["-m", "ipykernel_launcher"], "-f", file],
    cwd: options.cwd,
    env: {
      ...options.env,
      JPY_PARENT_PID: String(Deno.pid),
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  try {
    const signal = AbortSignal.any([
      options.signal,
      AbortSignal.timeout(60_000),
    ]);
    await using socket = await connect(
      "DEALER",
      `tcp://127.0.0.1:${shell}`,
      options.pollMs === null ? { signal } : {
        signal,
        retryDelayMs: options.pollMs ?? 5,
        maxRetryDelayMs: options.pollMs ?? 5,
      },
    );
    const bindMs = performance.now() - t0;
    await socket.send(
      signedFrames(
        jupyterRequest("kernel_info_request", { session: crypto.randomUUID() }),
        key,
      ),
    );
    for (;;) {
      const reply = replyOf(await socket.receive({ signal }));
      if (reply?.msgType === "kernel_info_reply") break;
    }
    return { bindMs, kernelInfoMs: performance.now() - t0 };
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
