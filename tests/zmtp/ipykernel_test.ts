/**
 * Proves the ZMTP sockets against a real ipykernel (libzmq 4.3.4). The Jupyter
 * wire signing here is a minimal test-only copy; src/kernel/wire.ts owns the
 * real one.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import {
  connect,
  ZmtpClosedError,
  type ZmtpSocket,
} from "../../src/zmtp/mod.ts";

const PYTHON = "/usr/bin/python3";
const DELIMITER = "<IDS|MSG>";
const text = new TextEncoder();
const str = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

interface JupyterMessage {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
}

function sign(key: string, parts: readonly string[]): string {
  const hmac = createHmac("sha256", key);
  for (const part of parts) hmac.update(part);
  return hmac.digest("hex");
}

function request(
  key: string,
  msgType: string,
  content: Record<string, unknown>,
): { msgId: string; frames: Uint8Array[] } {
  const msgId = randomUUID();
  const header = JSON.stringify({
    msg_id: msgId,
    session: "zmtp-test",
    username: "test",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: "5.3",
  });
  const parts = [header, "{}", "{}", JSON.stringify(content)];
  return {
    msgId,
    frames: [DELIMITER, sign(key, parts), ...parts].map((part) =>
      text.encode(part)
    ),
  };
}

/** Parses a signed Jupyter message, asserting its HMAC (proves the frames arrived byte-exact). */
function parse(key: string, frames: Uint8Array[]): JupyterMessage {
  const at = frames.findIndex((frame) => str(frame) === DELIMITER);
  assert.ok(at >= 0, "message has the <IDS|MSG> delimiter");
  const parts = frames.slice(at + 2, at + 6).map(str);
  assert.equal(parts.length, 4);
  assert.equal(str(frames[at + 1]), sign(key, parts), "HMAC signature matches");
  const [header, parent, _metadata, content] = parts.map((part) =>
    JSON.parse(part)
  );
  return { header, parent_header: parent, content };
}

function executeRequest(key: string, code: string) {
  return request(key, "execute_request", {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  });
}

interface TestKernel extends AsyncDisposable {
  key: string;
  shell: ZmtpSocket;
  iopub: ZmtpSocket;
  hb: ZmtpSocket;
  /** SIGKILLs the kernel process. */
  kill(): void;
}

/** Writes a connection file, spawns ipykernel and connects DEALER/SUB/REQ. */
async function startKernel(): Promise<TestKernel> {
  const dir = await Deno.makeTempDir({ prefix: "zmtp_ipykernel_" });
  const ports = Array.from(
    { length: 5 },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  )
    .map((listener) => {
      const { port } = listener.addr as Deno.NetAddr;
      listener.close();
      return port;
    });
  const key = randomBytes(32).toString("hex");
  const [shellPort, iopubPort, stdinPort, controlPort, hbPort] = ports as [
    number,
    number,
    number,
    number,
    number,
  ];
  const file = `${dir}/kernel.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      shell_port: shellPort,
      iopub_port: iopubPort,
      stdin_port: stdinPort,
      control_port: controlPort,
      hb_port: hbPort,
      ip: "127.0.0.1",
      key,
      transport: "tcp",
      signature_scheme: "hmac-sha256",
      kernel_name: "python3",
    }),
    { mode: 0o600 },
  );
  const child = new Deno.Command(PYTHON, {
    args: ["-m", "ipykernel_launcher", "-f", file],
    env: { JPY_PARENT_PID: String(Deno.pid) },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const sockets: ZmtpSocket[] = [];
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  let disposed: Promise<void> | undefined;
  const dispose = () =>
    disposed ??= (async () => {
      for (const socket of sockets) socket.close();
      await Promise.all(sockets.map((socket) => socket.closed));
      kill();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    })();
  try {
    const signal = AbortSignal.timeout(30_000);
    const endpoint = (port: number) => `tcp://127.0.0.1:${port}`;
    const iopub = await connect("SUB", endpoint(iopubPort), { signal });
    sockets.push(iopub);
    await iopub.subscribe();
    const shell = await connect("DEALER", endpoint(shellPort), { signal });
    sockets.push(shell);
    const hb = await connect("REQ", endpoint(hbPort), { signal });
    sockets.push(hb);
    return { key, shell, iopub, hb, kill, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Reads iopub until `done` returns true for a message with parent `msgId`; returns those messages. */
async function iopubFor(
  kernel: TestKernel,
  msgId: string,
  done: (message: JupyterMessage) => boolean,
  signal: AbortSignal,
): Promise<JupyterMessage[]> {
  const messages: JupyterMessage[] = [];
  for (;;) {
    const message = parse(kernel.key, await kernel.iopub.receive({ signal }));
    if (message.parent_header.msg_id !== msgId) continue;
    messages.push(message);
    if (done(message)) return messages;
  }
}

const isIdle = (message: JupyterMessage) =>
  message.header.msg_type === "status" &&
  message.content.execution_state === "idle";

function streamText(messages: JupyterMessage[]): string {
  return messages
    .filter((message) => message.header.msg_type === "stream")
    .map((message) => String(message.content.text))
    .join("");
}

Deno.test("ZmtpSocket against a real ipykernel", async (t) => {
  await using kernel = await startKernel();

  await t.step(
    "kernel_info_request: reply on shell, status on iopub",
    async () => {
      // The SUB subscription may reach the kernel after the first request is
      // handled (slow joiner), so retry until iopub shows our request's status.
      let statuses: JupyterMessage[] | undefined;
      for (let attempt = 0; attempt < 20 && !statuses; attempt++) {
        const { msgId, frames } = request(
          kernel.key,
          "kernel_info_request",
          {},
        );
        await kernel.shell.send(frames);
        const reply = parse(
          kernel.key,
          await kernel.shell.receive({ signal: AbortSignal.timeout(10_000) }),
        );
        assert.equal(reply.header.msg_type, "kernel_info_reply");
        assert.equal(reply.parent_header.msg_id, msgId);
        assert.equal(reply.content.status, "ok");
        assert.equal(reply.content.implementation, "ipython");
        statuses = await iopubFor(
          kernel,
          msgId,
          isIdle,
          AbortSignal.timeout(1_000),
        )
          .catch((error) => {
            if (
              error instanceof DOMException && error.name === "TimeoutError"
            ) return undefined;
            throw error;
          });
      }
      assert.ok(statuses, "iopub delivered a status for a kernel_info_request");
      assert.deepEqual(
        statuses.map((message) => message.content.execution_state),
        ["busy", "idle"],
      );
    },
  );

  await t.step("heartbeat REQ gets its ping echoed", async () => {
    assert.equal(kernel.hb.peerType, "ROUTER");
    const ping = `ping-${randomUUID()}`;
    await kernel.hb.send([text.encode(ping)]);
    const echo = await kernel.hb.receive({
      signal: AbortSignal.timeout(10_000),
    });
    assert.deepEqual(echo.map(str), [ping]);
  });

  await t.step(
    "execute_request print('hi') streams 'hi' on iopub",
    async () => {
      const { msgId, frames } = executeRequest(kernel.key, "print('hi')");
      await kernel.shell.send(frames);
      const reply = parse(
        kernel.key,
        await kernel.shell.receive({ signal: AbortSignal.timeout(10_000) }),
      );
      assert.equal(reply.header.msg_type, "execute_reply");
      assert.equal(reply.content.status, "ok");
      const messages = await iopubFor(
        kernel,
        msgId,
        isIdle,
        AbortSignal.timeout(10_000),
      );
      const stream = messages.find((message) =>
        message.header.msg_type === "stream"
      );
      assert.deepEqual(stream?.content, { name: "stdout", text: "hi\n" });
    },
  );

  await t.step(
    "a 300-message print burst arrives on iopub without loss",
    async () => {
      const { msgId, frames } = executeRequest(
        kernel.key,
        "for i in range(300): print(i, flush=True)",
      );
      await kernel.shell.send(frames);
      // Do not touch iopub until the kernel has finished: the read loop must
      // have queued everything on its own.
      const reply = parse(
        kernel.key,
        await kernel.shell.receive({ signal: AbortSignal.timeout(30_000) }),
      );
      assert.equal(reply.content.status, "ok");
      const messages = await iopubFor(
        kernel,
        msgId,
        isIdle,
        AbortSignal.timeout(30_000),
      );
      const expected = Array.from({ length: 300 }, (_, i) => `${i}\n`).join("");
      assert.equal(streamText(messages), expected);
    },
  );

  await t.step("a 5 MB output arrives intact in long frames", async () => {
    const { msgId, frames } = executeRequest(
      kernel.key,
      "import sys; sys.stdout.write('y' * 5_000_000); sys.stdout.flush()",
    );
    await kernel.shell.send(frames);
    const messages = await iopubFor(
      kernel,
      msgId,
      isIdle,
      AbortSignal.timeout(30_000),
    );
    const output = streamText(messages);
    assert.equal(output.length, 5_000_000);
    assert.ok(/^y+$/.test(output));
    parse(
      kernel.key,
      await kernel.shell.receive({ signal: AbortSignal.timeout(10_000) }),
    );
  });

  await t.step(
    "the sockets end by themselves when the kernel is killed",
    async () => {
      const drained = (async () => {
        for await (const _ of kernel.iopub) {
          // drain
        }
      })();
      kernel.kill();
      await Promise.all([
        kernel.shell.closed,
        kernel.iopub.closed,
        kernel.hb.closed,
        drained,
      ]);
      await assert.rejects(
        kernel.shell.send([text.encode("x")]),
        ZmtpClosedError,
      );
    },
  );
});
