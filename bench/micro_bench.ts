/**
 * Micro-benchmarks (`deno task bench:micro`, `Deno.bench`): the per-message
 * work of the kernel client without processes: ZMTP framing, Jupyter message
 * signing, encoding and decoding of a `1+1` execute round trip's messages,
 * and ANSI stripping of a traceback. The process-level figures (start-up,
 * MCP round trips, memory) stay in `bench/main.ts`.
 *
 * @module
 */

import {
  createHeader,
  createMessageSigner,
  decodeMessage,
  encodeMessage,
  stripAnsi,
} from "../src/kernel/wire.ts";
import {
  encodeMessage as encodeFrames,
  FrameDecoder,
} from "../src/zmtp/mod.ts";

const signer = await createMessageSigner(crypto.randomUUID());
const session = crypto.randomUUID();
const request = {
  header: createHeader("execute_request", session),
  parent_header: {},
  metadata: {},
  content: {
    code: "1+1",
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  },
};
const reply = encodeMessage({
  header: createHeader("execute_result", session),
  parent_header: request.header,
  metadata: {},
  content: {
    execution_count: 1,
    data: { "text/plain": "2" },
    metadata: {},
  },
}, signer);
const wire = encodeFrames(reply);
const traceback = Array.from(
  { length: 20 },
  (_, i) =>
    `\u001b[0;31mFile \u001b[0;32m<cell ${i}>\u001b[0m, line ${i}: \u001b[1;31mZeroDivisionError\u001b[0m`,
).join("\n");

Deno.bench("sign + encode an execute_request", { group: "wire" }, () => {
  encodeMessage(
    { ...request, header: createHeader("execute_request", session) },
    signer,
  );
});

Deno.bench("verify + decode an execute_result", { group: "wire" }, () => {
  const decoded = decodeMessage(reply, signer);
  if (!decoded.ok) throw new Error(decoded.reason);
});

Deno.bench("ZMTP: frame a 6-part message", { group: "zmtp" }, () => {
  encodeFrames(reply);
});

Deno.bench("ZMTP: parse a 6-part message", { group: "zmtp" }, () => {
  const frames = new FrameDecoder().push(wire);
  if (frames.length !== reply.length) throw new Error("short read");
});

Deno.bench("strip ANSI from a 20-line traceback", () => {
  stripAnsi(traceback);
});
