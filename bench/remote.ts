/**
 * Benchmark section "remote": `1+1` round trips on a remote kernel (a stock
 * Jupyter Server on 127.0.0.1 started here) against a local kernel, both
 * measured in the same run, back to back and paced (100 ms gaps).
 *
 * @module
 */

import {
  createRemoteBackend,
  type KernelHandle,
  startKernel,
} from "../src/kernel/mod.ts";
import { startJupyterServer } from "../tests/_helpers/jupyter_server.ts";
import { executeContent, jupyterRequest, websocketText } from "./requests.ts";

/** Inputs of {@linkcode benchRemote}. */
export interface BenchRemoteInput {
  /** Environment for kernels and the server. */
  env: Record<string, string>;
  /** Scratch directory. */
  tmp: string;
  /** Round trips per series. */
  n: number;
  /** Progress output. */
  log: (line: string) => void;
}

/** One row of the report. */
export interface BenchRemoteRow {
  measurement: string;
  value: string;
  compare: string;
  target: string;
}

/** Output of {@linkcode benchRemote}. */
export interface BenchRemoteOutput {
  /** Raw series (ms). */
  data: Record<string, number[]>;
  /** Named ratios (remote / local). */
  ratios: Record<string, number>;
  /** Table rows. */
  rows: BenchRemoteRow[];
}

const GAP_MS = 100;

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function series(
  kernel: KernelHandle,
  n: number,
  gapMs: number,
): Promise<number[]> {
  for (let i = 0; i < 10; i++) await kernel.execute("1+1");
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
    const t0 = performance.now();
    await kernel.execute("1+1");
    times.push(performance.now() - t0);
  }
  return times;
}

/**
 * `1+1` round trips through Deno's built-in WebSocket (JSON protocol), which
 * cannot send pongs: the baseline that made us pick the `ws` package.
 */
async function denoWebSocketSeries(
  url: string,
  token: string,
  n: number,
): Promise<number[]> {
  const auth = { Authorization: `token ${token}` };
  const started = await fetch(`${url}api/kernels`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "python3" }),
  });
  const { id } = await started.json();
  const session = crypto.randomUUID();
  const ws = new WebSocket(
    `${
      url.replace(/^http/, "ws")
    }api/kernels/${id}/channels?session_id=${session}`,
    // Deno's non-standard headers option.
    { headers: auth } as unknown as string[],
  );
  try {
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    interface Incoming {
      msg_type?: string;
      parent_header?: { msg_id?: string };
      content?: { execution_state?: string };
    }
    let onMessage: (msg: Incoming) => void = () => {};
    ws.onmessage = (event) => onMessage(JSON.parse(event.data));
    const one = () => {
      const message = jupyterRequest("execute_request", {
        session,
        content: executeContent("1+1"),
      });
      const msgId = message.header.msg_id;
      let reply = false, idle = false;
      const done = new Promise<void>((resolve) => {
        onMessage = (msg) => {
          if (msg.parent_header?.msg_id !== msgId) return;
          if (msg.msg_type === "execute_reply") reply = true;
          if (
            msg.msg_type === "status" && msg.content?.execution_state === "idle"
          ) idle = true;
          if (reply && idle) resolve();
        };
      });
      ws.send(websocketText(message));
      return done;
    };
    for (let i = 0; i < 10; i++) await one();
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await one();
      times.push(performance.now() - t0);
    }
    return times;
  } finally {
    ws.close();
    const deleted = await fetch(`${url}api/kernels/${id}`, {
      method: "DELETE",
      headers: auth,
    });
    await deleted.body?.cancel();
  }
}

/**
 * Measures remote vs local `1+1` latency.
 *
 * @param input Environment, scratch dir, iterations, log.
 * @returns Raw data, ratios and rows.
 */
export async function benchRemote(
  input: BenchRemoteInput,
): Promise<BenchRemoteOutput> {
  const n = Math.max(20, input.n);
  const python = input.env.CODER_PYTHON || "/usr/bin/python3";
  const data: Record<string, number[]> = {};
  {
    await using local = await startKernel({
      cwd: input.tmp,
      env: input.env,
      python,
    });
    data.localBackToBack = await series(local, n, 0);
    data.localPaced = await series(local, Math.min(n, 50), GAP_MS);
  }
  input.log("remote: local kernel measured; starting a Jupyter Server");
  await using server = await startJupyterServer({ env: input.env });
  {
    await using remote = await createRemoteBackend({
      url: server.url,
      token: server.token,
    }).start({ cwd: input.tmp, packages: [] });
    data.remoteBackToBack = await series(remote, n, 0);
    data.remotePaced = await series(remote, Math.min(n, 50), GAP_MS);
  }
  data.denoWebSocket = await denoWebSocketSeries(
    server.url,
    server.token,
    Math.min(n, 50),
  );
  const local = p50(data.localBackToBack);
  const localPaced = p50(data.localPaced);
  const remote = p50(data.remoteBackToBack);
  const remotePaced = p50(data.remotePaced);
  const plain = p50(data.denoWebSocket);
  const ratios = {
    remoteBackToBackVsLocal: remote / local,
    remotePacedVsLocalPaced: remotePaced / localPaced,
  };
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  return {
    data,
    ratios,
    rows: [
      {
        measurement: "remote 1+1 p50, back to back",
        value: ms(remote),
        compare: `${ratios.remoteBackToBackVsLocal.toFixed(2)}x local (${
          ms(local)
        })`,
        target: `<= 1.5x local: ${
          ratios.remoteBackToBackVsLocal <= 1.5 ? "PASS" : "MISS"
        }`,
      },
      {
        measurement: `remote 1+1 p50, ${GAP_MS} ms gaps`,
        value: ms(remotePaced),
        compare: `${ratios.remotePacedVsLocalPaced.toFixed(2)}x local paced (${
          ms(localPaced)
        })`,
        target: "",
      },
      {
        measurement: "Deno WebSocket (no pong) 1+1 p50, back to back",
        value: ms(plain),
        compare: `ws + pong is ${(plain / remote).toFixed(1)}x faster`,
        target: "",
      },
    ],
  };
}
