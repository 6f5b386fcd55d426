import assert from "node:assert/strict";
import {
  checkGreetingPrefix,
  encodeCommandBody,
  encodeGreeting,
  encodeMetadata,
  encodeReady,
  GREETING_SIZE,
  parseGreeting,
  parseMetadata,
  parseReady,
  ZmtpProtocolError,
} from "../../src/zmtp/mod.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array | undefined) =>
  new TextDecoder().decode(bytes);

Deno.test("encodeGreeting()", async (t) => {
  await t.step(
    "lays out signature, version, NULL, as-server and filler",
    () => {
      const greeting = encodeGreeting({ asServer: true });
      assert.equal(greeting.length, GREETING_SIZE);
      assert.deepEqual([...greeting.subarray(0, 12)], [
        0xff,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0x7f,
        3,
        1,
      ]);
      assert.deepEqual([...greeting.subarray(12, 32)], [
        ...text.encode("NULL"),
        ...new Array(16).fill(0),
      ]);
      assert.equal(greeting[32], 1);
      assert.deepEqual([...greeting.subarray(33)], new Array(31).fill(0));
    },
  );

  const cases = [
    {
      options: {},
      expected: { major: 3, minor: 1, mechanism: "NULL", asServer: false },
    },
    {
      options: { minor: 0, asServer: true },
      expected: { major: 3, minor: 0, mechanism: "NULL", asServer: true },
    },
    {
      options: { mechanism: "CURVE" },
      expected: { major: 3, minor: 1, mechanism: "CURVE", asServer: false },
    },
    {
      options: { mechanism: "X".repeat(20) },
      expected: {
        major: 3,
        minor: 1,
        mechanism: "X".repeat(20),
        asServer: false,
      },
    },
  ];
  for (const { options, expected } of cases) {
    await t.step(`round trips ${JSON.stringify(options)}`, () => {
      assert.deepEqual(parseGreeting(encodeGreeting(options)), expected);
    });
  }

  await t.step("rejects a mechanism name over 20 octets", () => {
    assert.throws(
      () => encodeGreeting({ mechanism: "X".repeat(21) }),
      RangeError,
    );
  });
});

Deno.test("parseGreeting()", async (t) => {
  const bad: {
    name: string;
    mutate: (g: Uint8Array) => void;
    message: RegExp;
  }[] = [
    {
      name: "first octet not 0xFF",
      mutate: (g) => (g[0] = 0x47),
      message: /first octet 0x47/,
    },
    {
      name: "octet 9 not 0x7F",
      mutate: (g) => (g[9] = 0x00),
      message: /octet 9/,
    },
    {
      name: "major version 2",
      mutate: (g) => (g[10] = 2),
      message: /major version 2/,
    },
  ];
  for (const c of bad) {
    await t.step(`rejects a bad signature: ${c.name}`, () => {
      const greeting = encodeGreeting();
      c.mutate(greeting);
      assert.throws(() => parseGreeting(greeting), c.message);
      assert.throws(
        () => checkGreetingPrefix(greeting.subarray(0, 11)),
        ZmtpProtocolError,
      );
    });
  }

  await t.step("rejects an HTTP response early from its first octet", () => {
    assert.throws(
      () => checkGreetingPrefix(text.encode("H")),
      ZmtpProtocolError,
    );
  });

  await t.step("accepts a valid prefix of any length", () => {
    const greeting = encodeGreeting();
    for (let n = 0; n <= GREETING_SIZE; n++) {
      checkGreetingPrefix(greeting.subarray(0, n));
    }
  });

  await t.step("rejects fewer than 64 octets", () => {
    assert.throws(
      () => parseGreeting(encodeGreeting().subarray(0, 63)),
      /got 63 octets/,
    );
  });
});

Deno.test("encodeReady() / parseReady()", async (t) => {
  await t.step(
    "encodes name length, name, 4-octet big-endian value length, value",
    () => {
      const data = encodeMetadata({ "Socket-Type": "DEALER" });
      assert.deepEqual([...data], [
        11,
        ...text.encode("Socket-Type"),
        0,
        0,
        0,
        6,
        ...text.encode("DEALER"),
      ]);
    },
  );

  const cases: Record<string, string | Uint8Array>[] = [
    { "Socket-Type": "DEALER" },
    { "Socket-Type": "REQ", Identity: "" },
    {
      "Socket-Type": "ROUTER",
      Identity: new Uint8Array([0, 1, 2]),
      "X-Big": "v".repeat(70_000),
    },
  ];
  for (const properties of cases) {
    await t.step(`round trips ${Object.keys(properties).join(", ")}`, () => {
      const parsed = parseReady(encodeReady(properties));
      assert.deepEqual(
        Object.keys(parsed),
        Object.keys(properties).map((k) => k.toLowerCase()),
      );
      for (const [name, value] of Object.entries(properties)) {
        const expected = typeof value === "string" ? text.encode(value) : value;
        assert.deepEqual(parsed[name.toLowerCase()], expected);
      }
    });
  }

  await t.step("property names are matched case-insensitively", () => {
    assert.equal(
      decode(parseReady(encodeReady({ "SOCKET-TYPE": "PUB" }))["socket-type"]),
      "PUB",
    );
  });

  await t.step("rejects another command", () => {
    assert.throws(
      () => parseReady(encodeCommandBody("ERROR")),
      /got command "ERROR"/,
    );
  });

  await t.step("rejects truncated metadata", () => {
    const data = encodeMetadata({ "Socket-Type": "SUB" });
    assert.throws(
      () => parseMetadata(data.subarray(0, data.length - 1)),
      /truncated/,
    );
    assert.throws(() => parseMetadata(data.subarray(0, 5)), /truncated/);
  });
});
