import assert from "node:assert/strict";
import {
  connect,
  encodeCommandBody,
  encodeGreeting,
  encodeMessage,
  encodeReady,
  type Frame,
  FrameDecoder,
  GREETING_SIZE,
  openSocket,
  parseCommand,
  parseEndpoint,
  parseReady,
  ZmtpClosedError,
  ZmtpProtocolError,
  type ZmtpSocket,
} from "../../src/zmtp/mod.ts";
import { startZmtpPeer } from "../_helpers/zmtp_peer.ts";

const text = new TextEncoder();
const str = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const strs = (frames: Uint8Array[]) => frames.map(str);
const frames = (...parts: string[]) => parts.map((p) => text.encode(p));

/** Per-wait deadline so a broken socket fails the test instead of hanging it. */
const deadline = () => ({ signal: AbortSignal.timeout(10_000) });

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Waits until the PUB side has seen a subscription. */
async function awaitSubscription(pub: ZmtpSocket): Promise<Uint8Array> {
  const [subscription] = await pub.receive(deadline());
  assert.ok(subscription);
  return subscription;
}

Deno.test("connect() DEALER <-> ROUTER", async (t) => {
  await using peer = startZmtpPeer("ROUTER");
  await using dealer = await connect("DEALER", peer.endpoint, deadline());
  await using router = await peer.accepted;

  await t.step("reports socket types", () => {
    assert.equal(dealer.type, "DEALER");
    assert.equal(dealer.peerType, "ROUTER");
    assert.equal(router.peerType, "DEALER");
    assert.equal(dealer.peerMinorVersion, 1);
  });

  await t.step(
    "round trips multipart messages both ways, in order",
    async () => {
      await dealer.send(frames("<IDS|MSG>", "", "header", "x".repeat(300)));
      await dealer.send(frames("second"));
      assert.deepEqual(strs(await router.receive(deadline())), [
        "<IDS|MSG>",
        "",
        "header",
        "x".repeat(300),
      ]);
      assert.deepEqual(strs(await router.receive(deadline())), ["second"]);
      await router.send(frames("reply", "2"));
      assert.deepEqual(strs(await dealer.receive(deadline())), ["reply", "2"]);
    },
  );

  await t.step("carries a 5 MB frame both ways", async () => {
    const big = new Uint8Array(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    await dealer.send([text.encode("big"), big]);
    const received = await router.receive(deadline());
    assert.equal(str(received[0]), "big");
    assert.deepEqual(received[1], big);
    await router.send([big]);
    const [echo] = await dealer.receive(deadline());
    assert.deepEqual(echo, big);
  });

  await t.step("concurrent sends do not interleave", async () => {
    const big = new Uint8Array(1024 * 1024).fill(7);
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => dealer.send([text.encode(String(i)), big]),
      ),
    );
    for (let i = 0; i < 20; i++) {
      const message = await router.receive(deadline());
      assert.equal(str(message[0]), String(i));
      assert.equal(message[1]!.length, big.length);
    }
  });

  await t.step(
    "receive() with an aborted signal leaves the socket usable",
    async () => {
      const controller = new AbortController();
      const pending = dealer.receive({ signal: controller.signal });
      controller.abort(new Error("stop waiting"));
      await assert.rejects(pending, /stop waiting/);
      await router.send(frames("after abort"));
      assert.deepEqual(strs(await dealer.receive(deadline())), ["after abort"]);
    },
  );

  await t.step(
    "a second concurrent receive is refused (single consumer)",
    async () => {
      const first = dealer.receive(deadline());
      await assert.rejects(dealer.receive(deadline()), TypeError);
      await router.send(frames("one"));
      assert.deepEqual(strs(await first), ["one"]);
    },
  );

  await t.step("subscribe() is refused on a DEALER", async () => {
    await assert.rejects(dealer.subscribe(), TypeError);
  });
});

Deno.test("connect() SUB <- PUB", async (t) => {
  await using peer = startZmtpPeer("PUB");
  await using sub = await connect("SUB", peer.endpoint, deadline());
  await using pub = await peer.accepted;

  await t.step("PUB drops messages nobody subscribed to", async () => {
    await pub.send(frames("before subscribe"));
    await sub.subscribe(text.encode("a"));
    assert.deepEqual([...(await awaitSubscription(pub))], [
      1,
      ...text.encode("a"),
    ]);
  });

  await t.step(
    "SUB receives only matching topics after subscribe()",
    async () => {
      await pub.send(frames("b-ignored", "x"));
      await pub.send(frames("a-1", "payload"));
      assert.deepEqual(strs(await sub.receive(deadline())), ["a-1", "payload"]);
    },
  );

  await t.step("the default empty topic receives everything", async () => {
    await sub.subscribe();
    assert.deepEqual([...(await awaitSubscription(pub))], [1]);
    await pub.send(frames("b-now"));
    assert.deepEqual(strs(await sub.receive(deadline())), ["b-now"]);
  });

  await t.step("unsubscribe() sends a cancel", async () => {
    await sub.unsubscribe(text.encode("a"));
    assert.deepEqual([...(await awaitSubscription(pub))], [
      0,
      ...text.encode("a"),
    ]);
  });

  await t.step(
    "a burst the consumer is not reading is queued without loss",
    async () => {
      const count = 5000;
      for (let i = 0; i < count; i++) {
        await pub.send(
          frames(`m${i}`, "x".repeat(100)),
        );
      }
      const received: string[] = [];
      for await (const message of sub) {
        received.push(str(message[0]));
        if (received.length === count) break;
      }
      assert.deepEqual(
        received,
        Array.from({ length: count }, (_, i) => `m${i}`),
      );
    },
  );

  await t.step("send() is refused on a SUB", async () => {
    await assert.rejects(sub.send(frames("x")), TypeError);
  });
});

Deno.test("openSocket() PUB filters by the peer's subscriptions", async (t) => {
  await using peer = startZmtpPeer("PUB");
  const raw = new RawPeer(
    await Deno.connect({ hostname: "127.0.0.1", port: peer.port }),
  );
  try {
    const [, pub] = await Promise.all([
      raw.handshake("SUB", false),
      peer.accepted,
    ]);

    await t.step(
      "sends nothing before a subscription and only matches after",
      async () => {
        await pub.send(frames("t-before"));
        await raw.conn.write(
          encodeMessage([new Uint8Array([1, ...text.encode("t")])]),
        );
        assert.deepEqual([...(await awaitSubscription(pub))], [
          1,
          ...text.encode("t"),
        ]);
        await pub.send(frames("x-other"));
        await pub.send(frames("t-after", "body"));
        const received = await raw.readFrames(2);
        assert.deepEqual(received.map((f) => str(f.body)), ["t-after", "body"]);
      },
    );

    await t.step("accepts the ZMTP 3.1 SUBSCRIBE command form", async () => {
      const command = encodeCommandBody("SUBSCRIBE", text.encode("u"));
      await raw.conn.write(encodeMessage([command], { command: true }));
      assert.deepEqual([...(await awaitSubscription(pub))], [
        1,
        ...text.encode("u"),
      ]);
      await pub.send(frames("u-now"));
      assert.deepEqual((await raw.readFrames(1)).map((f) => str(f.body)), [
        "u-now",
      ]);
    });
  } finally {
    raw.conn.close();
  }
});

Deno.test("connect() REQ", async (t) => {
  await t.step(
    "adds and strips the empty delimiter against a REP",
    async () => {
      await using peer = startZmtpPeer("REP");
      await using req = await connect("REQ", peer.endpoint, deadline());
      await using rep = await peer.accepted;
      await req.send(frames("ping"));
      assert.deepEqual(strs(await rep.receive(deadline())), ["ping"]);
      await rep.send(frames("pong"));
      assert.deepEqual(strs(await req.receive(deadline())), ["pong"]);
      await assert.rejects(rep.send(frames("unsolicited")), TypeError);
    },
  );

  await t.step(
    "puts the delimiter on the wire (as a ROUTER sees it)",
    async () => {
      await using peer = startZmtpPeer("ROUTER");
      await using req = await connect("REQ", peer.endpoint, deadline());
      await using router = await peer.accepted;
      await req.send(frames("ping"));
      assert.deepEqual(strs(await router.receive(deadline())), ["", "ping"]);
      await router.send(frames("no delimiter: dropped"));
      await router.send(frames("", "echo"));
      assert.deepEqual(strs(await req.receive(deadline())), ["echo"]);
    },
  );
});

Deno.test("connect() handshake failures", async (t) => {
  await t.step(
    "refuses an incompatible peer socket type, on both sides",
    async () => {
      await using peer = startZmtpPeer("PUB");
      await assert.rejects(
        connect("DEALER", peer.endpoint, deadline()),
        (error: unknown) => {
          assert.ok(error instanceof ZmtpProtocolError);
          assert.match(error.message, /peer socket type "PUB" is incompatible/);
          return true;
        },
      );
      await assert.rejects(peer.accepted, ZmtpProtocolError);
    },
  );

  await t.step("rejects a non-ZMTP server by its greeting", async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const server = (async () => {
      const conn = await listener.accept();
      await conn.write(text.encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
      await conn.read(new Uint8Array(64)).catch(() => null);
      conn.close();
    })();
    const { port } = listener.addr as Deno.NetAddr;
    await assert.rejects(
      connect("DEALER", `tcp://127.0.0.1:${port}`, deadline()),
      /bad signature/,
    );
    await server;
  });

  await t.step("reports the peer closing during the handshake", async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const server = listener.accept().then((conn) => conn.close());
    const { port } = listener.addr as Deno.NetAddr;
    await assert.rejects(
      connect("DEALER", `tcp://127.0.0.1:${port}`, deadline()),
      ZmtpClosedError,
    );
    await server;
  });

  await t.step("rejects malformed endpoints", async () => {
    for (
      const endpoint of [
        "127.0.0.1:5555",
        "tcp://127.0.0.1",
        "tcp://h:0",
        "udp://h:1",
      ]
    ) {
      await assert.rejects(connect("DEALER", endpoint), TypeError, endpoint);
    }
    assert.deepEqual(parseEndpoint("tcp://[::1]:5"), {
      transport: "tcp",
      hostname: "::1",
      port: 5,
    });
    assert.deepEqual(parseEndpoint("ipc:///tmp/k.sock"), {
      transport: "ipc",
      path: "/tmp/k.sock",
    });
  });
});

Deno.test("connect() retries until the peer listens", async (t) => {
  await t.step("tcp: a port that starts listening later", async () => {
    const port = freePort();
    const connecting = connect("DEALER", `tcp://127.0.0.1:${port}`, {
      ...deadline(),
      retryDelayMs: 5,
    });
    // A deliberate idle: the peer starts listening after connect() was
    // refused (a loaded machine only makes the idle count fewer refusals).
    await new Promise((resolve) => setTimeout(resolve, 150));
    await using peer = serveOnce(Deno.listen({ hostname: "127.0.0.1", port }));
    await using dealer = await connecting;
    assert.equal(dealer.peerType, "ROUTER");
    await dealer.send(frames("late"));
    assert.deepEqual(strs(await (await peer.accepted).receive(deadline())), [
      "late",
    ]);
  });

  await t.step("ipc: a socket file that appears later", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/shell.sock`;
      const connecting = connect("DEALER", `ipc://${path}`, deadline());
      // A deliberate idle, as above: the socket file appears later.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await using peer = serveOnce(Deno.listen({ transport: "unix", path }));
      await using dealer = await connecting;
      await dealer.send(frames("over ipc"));
      assert.deepEqual(strs(await (await peer.accepted).receive(deadline())), [
        "over ipc",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step(
    "stops with the signal's reason when nobody listens",
    async () => {
      const port = freePort();
      await assert.rejects(
        connect("DEALER", `tcp://127.0.0.1:${port}`, {
          signal: AbortSignal.timeout(100),
        }),
        (error: unknown) =>
          error instanceof DOMException && error.name === "TimeoutError",
      );
    },
  );
});

Deno.test("ZmtpSocket end of connection", async (t) => {
  await t.step(
    "close() ends a pending iteration and resolves closed",
    async () => {
      await using peer = startZmtpPeer("ROUTER");
      const dealer = await connect("DEALER", peer.endpoint, deadline());
      const received: string[][] = [];
      const first = Promise.withResolvers<void>();
      const loop = (async () => {
        for await (const message of dealer) {
          received.push(strs(message));
          first.resolve();
        }
      })();
      await (await peer.accepted).send(frames("one"));
      await first.promise;
      dealer.close();
      dealer.close(); // idempotent
      await loop;
      await dealer.closed;
      assert.deepEqual(received, [["one"]]);
      assert.equal(dealer.error, undefined);
      await assert.rejects(dealer.send(frames("late")), ZmtpClosedError);
      await assert.rejects(dealer.receive(), ZmtpClosedError);
    },
  );

  await t.step(
    "peer close drains queued messages, then ends iteration",
    async () => {
      await using peer = startZmtpPeer("ROUTER");
      await using dealer = await connect("DEALER", peer.endpoint, deadline());
      const router = await peer.accepted;
      await router.send(frames("a"));
      await router.send(frames("b"));
      await router[Symbol.asyncDispose]();
      await dealer.closed;
      const received: string[][] = [];
      for await (const message of dealer) received.push(strs(message));
      assert.deepEqual(received, [["a"], ["b"]]);
    },
  );

  await t.step(
    "a protocol violation ends the connection with an error",
    async () => {
      await using raw = rawRouter();
      await using dealer = await connect("DEALER", raw.endpoint, deadline());
      const { conn } = await raw.handshaken;
      await conn.write(new Uint8Array([0x40, 0])); // reserved flag bit
      await dealer.closed;
      assert.ok(dealer.error instanceof ZmtpProtocolError);
      await assert.rejects(dealer.receive(), ZmtpClosedError);
    },
  );
});

Deno.test("ZmtpSocket against a raw libzmq-like peer", async (t) => {
  await using raw = rawRouter();
  await using dealer = await connect("DEALER", raw.endpoint, deadline());
  const peer = await raw.handshaken;
  const { conn } = peer;

  await t.step(
    "sent our full greeting and a READY with our Socket-Type",
    () => {
      assert.deepEqual(peer.otherGreeting, encodeGreeting());
      assert.equal(str(parseReady(peer.otherReady)["socket-type"]), "DEALER");
    },
  );

  await t.step("answers PING with PONG carrying the context", async () => {
    const ping = encodeCommandBody(
      "PING",
      new Uint8Array([0, 10, ...text.encode("ctx")]),
    );
    await conn.write(encodeMessage([ping], { command: true }));
    const [pong] = await peer.readFrames(1);
    assert.ok(pong?.command);
    const { name, data } = parseCommand(pong.body);
    assert.equal(name, "PONG");
    assert.equal(str(data), "ctx");
  });

  await t.step(
    "sets MORE on every frame of a message but the last",
    async () => {
      await dealer.send(frames("a", "b"));
      const received = await peer.readFrames(2);
      assert.deepEqual(received.map((f) => [f.more, str(f.body)]), [
        [true, "a"],
        [false, "b"],
      ]);
    },
  );

  await t.step(
    "an ERROR command from the peer ends the connection",
    async () => {
      await conn.write(
        encodeMessage([
          encodeCommandBody(
            "ERROR",
            new Uint8Array([3, ...text.encode("bye")]),
          ),
        ], {
          command: true,
        }),
      );
      await dealer.closed;
      assert.match(String(dealer.error?.message), /peer sent ERROR: "bye"/);
    },
  );
});

/** Accepts one connection on `listener` as a ROUTER. */
function serveOnce(listener: Deno.Listener) {
  const accepted = listener.accept().then((conn) => {
    listener.close();
    return openSocket(conn, "ROUTER", { asServer: true });
  });
  accepted.catch(() => {});
  return {
    accepted,
    async [Symbol.asyncDispose]() {
      try {
        listener.close();
      } catch {
        // closed after accept
      }
      const socket = await accepted.catch(() => undefined);
      await socket?.[Symbol.asyncDispose]();
    },
  };
}

/**
 * A hand-written ZMTP endpoint that behaves like libzmq on the wire: it sends
 * its greeting in two pieces (11 octets, then the rest) and its READY right
 * after, then lets the test read raw frames and write raw octets.
 */
class RawPeer {
  readonly conn: Deno.Conn;
  readonly #decoder = new FrameDecoder();
  readonly #buffer = new Uint8Array(65_536);
  readonly #inbox: Frame[] = [];
  #greeting: number[] = [];
  /** The other side's greeting and READY body, once `handshake()` resolved. */
  otherGreeting: Uint8Array = new Uint8Array(0);
  otherReady: Uint8Array = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  async handshake(type: string, asServer: boolean): Promise<void> {
    const greeting = encodeGreeting({ asServer });
    await this.conn.write(greeting.subarray(0, 11));
    // A deliberate idle so the two pieces arrive as separate reads.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await this.conn.write(greeting.subarray(11));
    await this.conn.write(
      encodeMessage([encodeReady({ "Socket-Type": type })], { command: true }),
    );
    const [ready] = await this.readFrames(1);
    this.otherGreeting = new Uint8Array(this.#greeting);
    this.otherReady = ready!.body;
  }

  async readFrames(count: number): Promise<Frame[]> {
    while (this.#inbox.length < count) {
      const n = await this.conn.read(this.#buffer);
      if (n === null) throw new Error("raw peer: connection closed");
      let chunk = this.#buffer.subarray(0, n);
      if (this.#greeting.length < GREETING_SIZE) {
        const take = Math.min(
          GREETING_SIZE - this.#greeting.length,
          chunk.length,
        );
        this.#greeting.push(...chunk.subarray(0, take));
        chunk = chunk.subarray(take);
      }
      this.#inbox.push(...this.#decoder.push(chunk));
    }
    return this.#inbox.splice(0, count);
  }
}

/** A raw ROUTER server on a free port; `handshaken` resolves after READY. */
function rawRouter() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  let peer: RawPeer | undefined;
  const handshaken = (async () => {
    peer = new RawPeer(await listener.accept());
    listener.close();
    await peer.handshake("ROUTER", true);
    return peer;
  })();
  handshaken.catch(() => {});
  return {
    endpoint: `tcp://127.0.0.1:${port}`,
    handshaken,
    [Symbol.asyncDispose](): Promise<void> {
      for (const resource of [listener, peer?.conn]) {
        try {
          resource?.close();
        } catch {
          // already closed
        }
      }
      return Promise.resolve();
    },
  };
}
