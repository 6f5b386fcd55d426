/**
 * Bench section `http`: `python_exec('1+1')` round trip over Streamable
 * HTTP (`ipython_mcp --http`, SSE replies, bearer token) against the same
 * call over stdio, both servers running side by side in the same run and
 * timed in alternating blocks so drift of a shared machine hits both alike.
 *
 * @module
 */

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { join } from "node:path";
import {
  SERVER_ENTRY,
  SERVER_PERMISSIONS,
  startBenchServer,
} from "./server.ts";
import { formatMs, formatRatio, summarize, type Summary } from "./report.ts";
import { createClient, timedOnePlusOne } from "./requests.ts";

/** What the section takes. */
export interface HttpBenchOptions {
  /** Environment of the servers. */
  env: Record<string, string>;
  /** Scratch directory (removed by the caller). */
  tmp: string;
  /** Timed round trips per transport. */
  n: number;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

/** One printed row. */
export interface HttpBenchRow {
  /** What was measured. */
  measurement: string;
  /** The value. */
  value: string;
  /** Comparison with the baseline. */
  compare: string;
  /** Target and PASS/MISS. */
  target: string;
}

/** What the section returns. */
export interface HttpBenchResult {
  /** Raw summaries. */
  data: { stdio: Summary; http: Summary };
  /** `http_over_stdio_p50`. */
  ratios: Record<string, number>;
  /** Rows for the table. */
  rows: HttpBenchRow[];
}

/** Goal: HTTP p50 within 1.2x of stdio p50. */
const GOAL = 1.2;
/** Round trips per alternating block. */
const BLOCK = 25;

/** A running `ipython_mcp --http` with one connected client. */
export interface HttpServer {
  /** The client (bearer token set). */
  client: Client;
  /** The server process (stdin closed, stderr drained). */
  child: Deno.ChildProcess;
}

/**
 * Starts `ipython_mcp --http 127.0.0.1:0` with a random token and connects
 * a client.
 *
 * @param env Environment of the server.
 * @param cwd Its working directory.
 * @returns The server and its client; the caller closes the client and
 *   stops the server.
 * @throws {Error} When the server does not print its URL.
 */
export async function startHttp(
  env: Record<string, string>,
  cwd: string,
): Promise<HttpServer> {
  const token = crypto.randomUUID();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...SERVER_PERMISSIONS,
      SERVER_ENTRY,
      "--http",
      "127.0.0.1:0",
    ],
    cwd,
    env: { ...env, CODER_MCP_TOKEN: token },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let url: string | undefined;
  while (!url) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`ipython_mcp --http did not start:\n${text}`);
    }
    text += value;
    url = /at (http:\/\/\S+\/mcp)/.exec(text)?.[1];
  }
  (async () => {
    while (!(await reader.read()).done) { /* keep the pipe drained */ }
  })().catch(() => {});
  const client = createClient("2025");
  try {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  }
  return { client, child };
}

/**
 * Times `1+1` over stdio and over HTTP.
 *
 * @param options Environment, scratch directory, count, log.
 * @returns Summaries, the p50 ratio and the table rows.
 */
export async function benchHttp(
  options: HttpBenchOptions,
): Promise<HttpBenchResult> {
  const env = { ...options.env, CODER_POOL_SIZE: "0" };
  const dir = (name: string) => join(options.tmp, `http-${name}`);
  await Deno.mkdir(dir("stdio"), { recursive: true });
  await Deno.mkdir(dir("http"), { recursive: true });
  const stdio = await startBenchServer({ env, cwd: dir("stdio") });
  let http: HttpServer | undefined;
  try {
    http = await startHttp(env, dir("http"));
    const clients = { stdio: stdio.client, http: http.client };
    const samples = { stdio: [] as number[], http: [] as number[] };
    options.log(`bench: http: warming up`);
    for (let i = 0; i < 20; i++) {
      await timedOnePlusOne(clients.stdio);
      await timedOnePlusOne(clients.http);
    }
    options.log(`bench: http: ${options.n} round trips per transport`);
    while (samples.http.length < options.n) {
      const block = Math.min(BLOCK, options.n - samples.http.length);
      for (const name of ["stdio", "http"] as const) {
        for (let i = 0; i < block; i++) {
          samples[name].push(await timedOnePlusOne(clients[name]));
        }
      }
    }
    const data = {
      stdio: summarize(samples.stdio),
      http: summarize(samples.http),
    };
    const ratio = data.http.p50 / data.stdio.p50;
    return {
      data,
      ratios: { http_over_stdio_p50: ratio },
      rows: [
        {
          measurement: "python_exec 1+1 over HTTP (SSE), p50",
          value: formatMs(data.http.p50),
          compare: `${formatRatio(ratio)} of stdio (${
            formatMs(data.stdio.p50)
          })`,
          target: `<= ${GOAL}x ${ratio <= GOAL ? "PASS" : "MISS"}`,
        },
        {
          measurement: "python_exec 1+1 over HTTP (SSE), p99",
          value: formatMs(data.http.p99),
          compare: `stdio p99 ${formatMs(data.stdio.p99)}`,
          target: "",
        },
      ],
    };
  } finally {
    await stdio.close();
    if (http) {
      await http.client.close().catch(() => {});
      try {
        http.child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await http.child.status;
    }
  }
}
