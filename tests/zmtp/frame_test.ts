import assert from "node:assert/strict";
import {
  encodeCommandBody,
  encodeMessage,
  FLAG_COMMAND,
  FLAG_LONG,
  FLAG_MORE,
  type Frame,
  FrameDecoder,
  parseCommand,
  ZmtpProtocolError,
} from "../../src/zmtp/mod.ts";

const text = new TextEncoder();

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function filled(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function decodeAll(stream: Uint8Array, cuts: number[]): Frame[] {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  let start = 0;
  for (const cut of [...cuts, stream.length]) {
    frames.push(...decoder.push(stream.subarray(start, cut)));
    start = cut;
  }
  assert.ok(decoder.idle, "decoder holds no partial frame at the end");
  return frames;
}

Deno.test("encodeMessage()", async (t) => {
  const cases: {
    name: string;
    frames: Uint8Array[];
    command?: boolean;
    header: number[]; // expected first octets
    length: number;
  }[] = [
    {
      name: "empty frame is 2 octets",
      frames: [bytes()],
      header: [0, 0],
      length: 2,
    },
    {
      name: "short frame",
      frames: [bytes(9, 8)],
      header: [0, 2, 9, 8],
      length: 4,
    },
    {
      name: "255 octets stay short",
      frames: [filled(255)],
      header: [0, 255],
      length: 257,
    },
    {
      name: "256 octets become long with 8-octet big-endian size",
      frames: [filled(256)],
      header: [FLAG_LONG, 0, 0, 0, 0, 0, 0, 1, 0],
      length: 265,
    },
    {
      name: "every frame but the last has MORE",
      frames: [bytes(1), bytes(), bytes(3)],
      header: [FLAG_MORE, 1, 1, FLAG_MORE, 0, 0, 1, 3],
      length: 8,
    },
    {
      name: "long frame inside a multipart message keeps MORE",
      frames: [filled(300), bytes(7)],
      header: [FLAG_MORE | FLAG_LONG, 0, 0, 0, 0, 0, 0, 1, 44],
      length: 9 + 300 + 3,
    },
    {
      name: "command flag",
      frames: [encodeCommandBody("PING", bytes(0, 0))],
      command: true,
      header: [FLAG_COMMAND, 7, 4, ...text.encode("PING"), 0, 0],
      length: 9,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const out = encodeMessage(c.frames, { command: c.command ?? false });
      assert.equal(out.length, c.length);
      assert.deepEqual([...out.subarray(0, c.header.length)], c.header);
    });
  }

  await t.step("rejects an empty message and a multi-frame command", () => {
    assert.throws(() => encodeMessage([]), RangeError);
    assert.throws(
      () => encodeMessage([bytes(), bytes()], { command: true }),
      RangeError,
    );
  });
});

Deno.test("FrameDecoder.push()", async (t) => {
  const messages: { frames: Uint8Array[]; command?: boolean }[] = [
    { frames: [bytes()] },
    { frames: [text.encode("<IDS|MSG>"), bytes(), filled(255, 1)] },
    { frames: [encodeCommandBody("READY", bytes(1, 2, 3))], command: true },
    { frames: [filled(256, 2), filled(1000, 3)] },
    { frames: [filled(70_000, 4)] },
  ];
  const stream = concat(
    messages.map((m) =>
      encodeMessage(m.frames, { command: m.command ?? false })
    ),
  );
  const expected: Frame[] = messages.flatMap((m) =>
    m.frames.map((body, i) => ({
      more: !m.command && i < m.frames.length - 1,
      command: m.command ?? false,
      body,
    }))
  );

  await t.step("decodes a whole stream in one chunk", () => {
    assert.deepEqual(decodeAll(stream, []), expected);
  });

  await t.step("decodes the stream split at every position", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      assert.deepEqual(decodeAll(stream, [cut]), expected, `split at ${cut}`);
    }
  });

  await t.step("decodes the stream fed one octet at a time", () => {
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(decodeAll(stream, cuts), expected);
  });

  await t.step(
    "bodies are copies, independent of the reused chunk buffer",
    () => {
      const encoded = encodeMessage([bytes(1, 2, 3)]);
      const reused = new Uint8Array(encoded);
      const [frame] = new FrameDecoder().push(reused);
      reused.fill(0);
      assert.deepEqual([...frame!.body], [1, 2, 3]);
    },
  );

  await t.step("decodes a 5 MB frame from 64 KiB chunks", () => {
    const body = filled(5 * 1024 * 1024, 5);
    const encoded = encodeMessage([body]);
    const cuts: number[] = [];
    for (let at = 65_536; at < encoded.length; at += 65_536) cuts.push(at);
    const frames = decodeAll(encoded, cuts);
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0]!.body, body);
  });

  await t.step("rejects reserved flag bits", () => {
    assert.throws(
      () => new FrameDecoder().push(bytes(0x08, 0)),
      ZmtpProtocolError,
    );
  });

  await t.step("rejects a command frame with MORE", () => {
    assert.throws(
      () => new FrameDecoder().push(bytes(FLAG_COMMAND | FLAG_MORE, 0)),
      ZmtpProtocolError,
    );
  });

  await t.step("rejects a frame above maxFrameSize", () => {
    const decoder = new FrameDecoder({ maxFrameSize: 100 });
    assert.throws(
      () => decoder.push(bytes(0, 101)),
      /exceeds the limit of 100/,
    );
    assert.throws(
      () =>
        new FrameDecoder().push(bytes(FLAG_LONG, 0xff, 0, 0, 0, 0, 0, 0, 0)),
      ZmtpProtocolError,
    );
  });
});

Deno.test("parseCommand()", async (t) => {
  await t.step("round trips encodeCommandBody()", () => {
    const { name, data } = parseCommand(
      encodeCommandBody("SUBSCRIBE", bytes(7, 7)),
    );
    assert.equal(name, "SUBSCRIBE");
    assert.deepEqual([...data], [7, 7]);
  });

  await t.step("rejects a body shorter than its name length", () => {
    assert.throws(() => parseCommand(bytes(5, 65)), ZmtpProtocolError);
    assert.throws(() => parseCommand(bytes()), ZmtpProtocolError);
  });

  await t.step("encodeCommandBody() rejects an empty name", () => {
    assert.throws(() => encodeCommandBody(""), RangeError);
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
