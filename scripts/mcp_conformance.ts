/**
 * Runs the MCP conformance suite (npm `@modelcontextprotocol/conformance`,
 * server mode) against `ipython_mcp --http`.
 *
 * The suite takes only `--url` and sends no custom headers, so a loopback
 * proxy in front of the server adds `Authorization: Bearer <token>`. It
 * forwards every other header as it came, rewriting only a Host or Origin
 * that names the proxy itself to the server's address: a forged Host (the
 * DNS-rebinding scenario) reaches the server unchanged.
 *
 * ```sh
 * # once, where the npm registry is reachable:
 * npm install --prefix /tmp/mcp-conformance @modelcontextprotocol/conformance@0.1.16
 * deno run --allow-all scripts/mcp_conformance.ts --package /tmp/mcp-conformance [--scenario NAME]...
 * ```
 *
 * Prints the suite's output and one line per scenario; exits 1 when a
 * scenario in {@linkcode GENERIC_SCENARIOS} fails. The other scenarios of
 * 0.1.16 need what only the suite's reference server has, so they are not
 * run by default: fixture tools (`tools-call-*` except simple-text/error,
 * which pass only because an unknown tool answers an error,
 * `json-schema-2020-12`, `server-sse-polling`, `elicitation-*`), the logging
 * and completions capabilities (`logging-set-level`, `completion-complete`),
 * fixture resources (`resources-*`) and prompts (`prompts-*`). Pass them with
 * `--scenario NAME` to see for yourself.
 *
 * @module
 */

import http from "node:http";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runFlags } from "./permissions.ts";

/** Scenarios that apply to any MCP server; they must pass. */
export const GENERIC_SCENARIOS: readonly string[] = Object.freeze([
  "server-initialize",
  "ping",
  "tools-list",
  "server-sse-multiple-streams",
  "dns-rebinding-protection",
]);

/** Options of {@linkcode runConformance}. */
export interface ConformanceOptions {
  /** Directory where the npm package is installed (has `node_modules/`). */
  packageDir: string;
  /** Scenarios to run; default {@linkcode GENERIC_SCENARIOS}. */
  scenarios?: readonly string[];
  /** Environment of the server (CODER_PYTHON etc.). */
  env: Record<string, string>;
  /** Receives the suite's output lines. */
  log?: (line: string) => void;
}

/** The outcome of one scenario. */
export interface ScenarioResult {
  /** Scenario name. */
  scenario: string;
  /** Whether the suite exited 0 for it. */
  passed: boolean;
  /** The suite's output. */
  output: string;
}

/** Hop-by-hop headers the proxy does not copy from the server's answer. */
const HOP_HEADERS = ["connection", "keep-alive", "transfer-encoding"];

/**
 * Starts the token-adding proxy on loopback. It forwards with `node:http`,
 * because `fetch` replaces the Host header with the URL's.
 */
function startProxy(target: URL, token: string): Deno.HttpServer<Deno.NetAddr> {
  let own = "";
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => {
      own = `${addr.hostname}:${addr.port}`;
    },
  }, async (request) => {
    const url = new URL(request.url);
    const headers: Record<string, string> = Object.fromEntries(request.headers);
    const names = [own, own.replace("127.0.0.1", "localhost")];
    if (names.includes(headers.host ?? "")) headers.host = target.host;
    if (headers.origin !== undefined) {
      try {
        if (names.includes(new URL(headers.origin).host)) {
          headers.origin = target.origin;
        }
      } catch {
        // Forwarded as it came.
      }
    }
    headers.authorization = `Bearer ${token}`;
    const body = request.body
      ? new Uint8Array(await request.arrayBuffer())
      : undefined;
    return await new Promise<Response>((resolve, reject) => {
      const forward = http.request({
        host: target.hostname,
        port: Number(target.port),
        method: request.method,
        path: url.pathname + url.search,
        headers,
      }, (answer) => {
        const copied = new Headers();
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value === undefined || HOP_HEADERS.includes(name)) continue;
          copied.set(name, Array.isArray(value) ? value.join(", ") : value);
        }
        const status = answer.statusCode ?? 502;
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            answer.on(
              "data",
              (chunk: Uint8Array) => controller.enqueue(new Uint8Array(chunk)),
            );
            answer.on("end", () => controller.close());
            answer.on("error", (error) => controller.error(error));
          },
          cancel() {
            answer.destroy();
          },
        });
        resolve(
          new Response([204, 304].includes(status) ? null : stream, {
            status,
            headers: copied,
          }),
        );
      });
      forward.on("error", reject);
      if (body) forward.write(body);
      forward.end();
    });
  });
  return server;
}

/**
 * Starts the server and the proxy, runs each scenario with the suite, and
 * stops everything.
 *
 * @param options Package directory, scenarios, server env.
 * @returns One result per scenario.
 */
export async function runConformance(
  options: ConformanceOptions,
): Promise<ScenarioResult[]> {
  const log = options.log ?? (() => {});
  const token = crypto.randomUUID();
  const entry = fileURLToPath(
    new URL("../src/cli/ipython_mcp.ts", import.meta.url),
  );
  const cwd = await Deno.makeTempDir({ prefix: "mcp_conformance_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...runFlags("ipython_mcp"),
      entry,
      "--http",
      "127.0.0.1:0",
    ],
    cwd,
    env: { ...options.env, CODER_MCP_TOKEN: token, CODER_POOL_SIZE: "0" },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const results: ScenarioResult[] = [];
  let proxy: Deno.HttpServer<Deno.NetAddr> | undefined;
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    let url: string | undefined;
    while (!url) {
      const { value, done } = await stderr.read();
      if (done) throw new Error(`ipython_mcp did not start:\n${text}`);
      text += value;
      url = /at (http:\/\/\S+\/mcp)/.exec(text)?.[1];
    }
    const draining = (async () => {
      while (!(await stderr.read()).done) { /* keep the pipe flowing */ }
    })();
    proxy = startProxy(new URL(url), token);
    const proxyUrl = `http://localhost:${proxy.addr.port}/mcp`;
    const cli = join(
      options.packageDir,
      "node_modules/@modelcontextprotocol/conformance/dist/index.js",
    );
    for (const scenario of options.scenarios ?? GENERIC_SCENARIOS) {
      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          cli,
          "server",
          "--url",
          proxyUrl,
          "--scenario",
          scenario,
        ],
        cwd: options.packageDir,
        stdin: "null",
        env: { NO_COLOR: "1" },
      }).output();
      const output = new TextDecoder().decode(run.stdout) +
        new TextDecoder().decode(run.stderr);
      for (const line of output.split("\n")) log(line);
      results.push({ scenario, passed: run.code === 0, output });
    }
    child.kill("SIGTERM");
    await child.status;
    await draining;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    await proxy?.shutdown();
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
  return results;
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      package: { type: "string" },
      scenario: { type: "string", multiple: true },
    },
    strict: true,
  });
  if (!values.package) {
    print("usage: mcp_conformance.ts --package DIR [--scenario NAME]...");
    Deno.exit(2);
  }
  const results = await runConformance({
    packageDir: values.package,
    ...(values.scenario ? { scenarios: values.scenario } : {}),
    env: Deno.env.toObject(),
    log: print,
  });
  for (const r of results) print(`${r.passed ? "PASS" : "FAIL"} ${r.scenario}`);
  const failed = results.filter((r) =>
    !r.passed && GENERIC_SCENARIOS.includes(r.scenario)
  );
  Deno.exit(failed.length > 0 ? 1 : 0);
}
