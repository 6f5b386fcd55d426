import assert from "node:assert/strict";
import { join } from "node:path";
import {
  serverCommand,
  serverEnv,
  startMcpServer,
} from "../_helpers/mcp_client.ts";
import {
  kernelDescendants,
  kernelPidsOf,
  killAll,
  waitForExit,
  waitGone,
} from "../_helpers/processes.ts";
import { HANG_GUARD_MS, waitUntil } from "../_helpers/wait.ts";

/**
 * A hang guard, not the SPEC's 5 s shutdown bound (a timing claim, measured
 * by the benchmark): the server and its kernels must end at all.
 */
const BOUND_MS = HANG_GUARD_MS;

/** Starts a server with a warm spare, the default kernel and one created kernel. */
async function serverWithKernels() {
  const server = await startMcpServer({
    env: { CODER_POOL_SIZE: "1", CODER_LOG_LEVEL: "info" },
  });
  await server.call("python_exec", { code: "1" });
  await server.call("python_reset");
  const kernels = kernelDescendants(server.pid);
  assert.ok(kernels.length >= 2, `kernels: ${kernels}`);
  return { server, kernels };
}

/** A raw stdio session: JSON lines in, every stdout line collected. */
class RawSession {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #waiters: { id: number; resolve: (line: unknown) => void }[] = [];
  readonly #reading: Promise<void>;

  constructor(cwd: string, env: Record<string, string>, args: string[] = []) {
    const { command, args: argv } = serverCommand(args);
    this.child = new Deno.Command(command, {
      args: argv,
      cwd,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    const lines = this.child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(splitLines());
    for await (const line of lines) {
      this.lines.push(line);
      let message: { id?: number } = {};
      try {
        message = JSON.parse(line);
      } catch {
        // Kept in `lines`; the test asserts on it.
      }
      for (const waiter of this.#waiters.filter((w) => w.id === message.id)) {
        waiter.resolve(message);
      }
    }
  }

  sendRaw(text: string): Promise<void> {
    return this.#writer.write(new TextEncoder().encode(text));
  }

  send(message: Record<string, unknown>): Promise<void> {
    const line = JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n";
    return this.#writer.write(new TextEncoder().encode(line));
  }

  async request(
    id: number,
    method: string,
    params: Record<string, unknown>,
  ): Promise<unknown> {
    const answered = new Promise((resolve) => {
      this.#waiters.push({ id, resolve });
    });
    await this.send({ id, method, params });
    return await answered;
  }

  async initialize(): Promise<void> {
    await this.request(1, "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "raw", version: "0" },
    });
    await this.send({ method: "notifications/initialized" });
  }

  /** Closes stdin (EOF) and waits for the exit status and stdout's end. */
  async endInput(): Promise<Deno.CommandStatus> {
    await this.#writer.close();
    const status = await this.child.status;
    await this.#reading;
    return status;
  }
}

function splitLines(): TransformStream<string, string> {
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (buffer !== "") controller.enqueue(buffer);
    },
  });
}

Deno.test("ipython_mcp process lifecycle", async (t) => {
  await t.step(
    "stdout carries only JSON-RPC; stdin EOF exits 0 and kills kernels",
    async () => {
      const cwd = await Deno.makeTempDir({ prefix: "mcp_raw_" });
      const session = new RawSession(cwd, serverEnv({ CODER_POOL_SIZE: "1" }));
      let kernels: number[] = [];
      try {
        await session.initialize();
        const answer = await session.request(2, "tools/call", {
          name: "python_exec",
          arguments: {
            code: "import os, sys\nprint('to stdout')\n" +
              "print('to stderr', file=sys.stderr)\n" +
              "os.write(1, b'raw fd 1\\n')\nos.write(2, b'raw fd 2\\n')\n" +
              "os.system('echo from a shell')\n'done'",
          },
          _meta: { progressToken: "p1" },
        }) as { result: { content: { text: string }[] } };
        const json = JSON.parse(answer.result.content[0]!.text);
        assert.equal(json.result, "'done'");
        assert.match(json.stdout, /to stdout/);
        kernels = kernelDescendants(session.child.pid);
        assert.ok(kernels.length >= 1);

        const status = await session.endInput();
        assert.equal(status.code, 0);
        assert.deepEqual(await waitGone(kernels, BOUND_MS), []);
        assert.deepEqual(kernelPidsOf(session.child.pid), []);
        assert.ok(session.lines.length >= 2);
        for (const line of session.lines) {
          const message = JSON.parse(line);
          assert.equal(message.jsonrpc, "2.0", line);
        }
      } finally {
        killAll(kernels);
        try {
          session.child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
        await session.child.status;
        await Deno.remove(cwd, { recursive: true });
      }
    },
  );

  await t.step(
    "malformed lines get -32700 / -32600 replies and the server keeps serving",
    async () => {
      const cwd = await Deno.makeTempDir({ prefix: "mcp_raw_" });
      const session = new RawSession(cwd, serverEnv());
      try {
        await session.initialize();
        await session.sendRaw(
          "this is not json\n" +
            '{"jsonrpc":"2.0","id":7,"method":42}\n' +
            '{"unrelated":true}\n' +
            "[1,2]\n" +
            '{"jsonrpc":"2.0","id":8,"method":"ping"\n',
        );
        const pong = await session.request(9, "ping", {}) as {
          result?: unknown;
        };
        assert.deepEqual(pong.result, {});
        const errors = session.lines.map((line) => JSON.parse(line)).filter(
          (m) => m.error !== undefined,
        );
        assert.deepEqual(
          errors.map((m) => [m.id, m.error.code]),
          [[null, -32700], [7, -32600], [null, -32600], [null, -32600], [
            null,
            -32700,
          ]],
        );
        for (const m of errors) assert.equal(m.jsonrpc, "2.0");
        // Still a working server: a tool call after the bad lines.
        const answer = await session.request(10, "tools/call", {
          name: "submit_code",
          arguments: { code: "x = 1" },
        }) as { result: { content: { text: string }[] } };
        assert.deepEqual(JSON.parse(answer.result.content[0]!.text), {
          ok: true,
        });
        assert.equal((await session.endInput()).code, 0);
      } finally {
        try {
          session.child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
        await session.child.status;
        await Deno.remove(cwd, { recursive: true });
      }
    },
  );

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    await t.step(`${signal} kills every kernel and exits`, async () => {
      const { server, kernels } = await serverWithKernels();
      try {
        Deno.kill(server.pid, signal);
        assert.ok(await waitForExit(server.pid, BOUND_MS), "server still runs");
        // The handler ran (not just the default signal death).
        const logged = `Shutting down (${signal})`;
        await waitUntil(`"${logged}" on stderr`, () => server.stderr(), {
          until: (text) => text.includes(logged),
        });
        assert.deepEqual(await waitGone(kernels, BOUND_MS), []);
        // A spare the pool was still starting exits too, once it is up.
        assert.deepEqual(
          await waitGone(kernelPidsOf(server.pid), BOUND_MS),
          [],
        );
      } finally {
        killAll(kernels);
        await server[Symbol.asyncDispose]();
      }
    });
  }

  await t.step(
    "SIGKILL of the server: kernels exit by themselves",
    async () => {
      const { server, kernels } = await serverWithKernels();
      try {
        Deno.kill(server.pid, "SIGKILL");
        assert.ok(await waitForExit(server.pid, BOUND_MS));
        assert.deepEqual(await waitGone(kernels, BOUND_MS), []);
        // A spare the pool was still starting exits too, once it is up.
        assert.deepEqual(
          await waitGone(kernelPidsOf(server.pid), BOUND_MS),
          [],
        );
      } finally {
        killAll(kernels);
        await server[Symbol.asyncDispose]();
      }
    },
  );

  await t.step(
    "a server started in / works in a workspace under HOME",
    async () => {
      const home = await Deno.makeTempDir({ prefix: "mcp_home_" });
      try {
        await using server = await startMcpServer({
          cwd: "/",
          env: { HOME: home },
        });
        const workspace = join(home, ".ipython_mcp", "workspace");
        const status = await server.call("python_status");
        assert.equal(status.json.cwd, workspace);
        assert.ok((await Deno.stat(workspace)).isDirectory);
        const where = await server.call("python_exec", {
          code: "import os; os.getcwd()",
        });
        assert.equal(where.json.result, `'${workspace}'`);
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    },
  );

  await t.step(
    "--dir DIR is created and used for kernels and saved output",
    async () => {
      const base = await Deno.makeTempDir({ prefix: "mcp_dir_" });
      try {
        await using server = await startMcpServer({
          cwd: base,
          args: ["--dir", "work/sub"],
        });
        const dir = join(base, "work", "sub");
        assert.equal((await server.call("python_status")).json.cwd, dir);
        const big = await server.call("python_exec", {
          code: "print('b' * 120_000)",
        });
        const path = (big.json.stdout as string).match(/full text: (.+)\]$/)
          ?.[1];
        assert.ok(path?.startsWith(join(dir, ".ipython_mcp") + "/"), path);
      } finally {
        await Deno.remove(base, { recursive: true });
      }
    },
  );
});
