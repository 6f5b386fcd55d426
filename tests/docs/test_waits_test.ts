/**
 * A guard on the tests themselves: no fixed sleeps and no timing assertions
 * (issue 22). A test awaits the event it needs (an output, a line on stderr,
 * a process's exit) or polls through `waitUntil` (tests/_helpers/wait.ts),
 * whose limit is a hang guard; speed targets belong to the benchmark. The
 * few deliberate idles that are the subject of a test are listed below, each
 * with its reason.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TESTS = join(ROOT, "tests");
const SELF = "tests/docs/test_waits_test.ts";

/** What the guard looks for, by name. */
const PATTERNS: { name: string; regex: RegExp }[] = [
  {
    name: "fixed sleep (a promise around setTimeout)",
    regex: /new Promise(?:<[^>]*>)?\(\s*\(?\s*\w*\s*\)?\s*=>\s*setTimeout\(/,
  },
  { name: "fixed sleep (await delay)", regex: /\bawait\s+delay\(/ },
  {
    name: "clock read (a deadline loop or an elapsed-time check)",
    regex: /\b(?:Date|performance)\.now\(\)/,
  },
  {
    name: "upper bound on an elapsed time",
    regex: /\b\w*(?:elapsed|duration|took)\w*\b[^\n;]*?\s<=?\s/i,
  },
];

/** Lines that may match, each with why. */
const ALLOWED: { file: string; line: string; reason: string }[] = [
  {
    file: "tests/_helpers/wait.ts",
    line: "const end = Date.now() + limitMs;",
    reason: "waitUntil's hang guard itself",
  },
  {
    file: "tests/_helpers/wait.ts",
    line: "if (Date.now() >= end) throw new WaitTimeoutError",
    reason: "waitUntil's hang guard itself",
  },
  {
    file: "tests/_helpers/wait.ts",
    line: "await delay(",
    reason: "waitUntil's pause between probes",
  },
  {
    file: "tests/base/async_test.ts",
    line: "await delay(1);",
    reason: "the subject: delay() itself resolves",
  },
  {
    file: "tests/base/async_test.ts",
    line: "await delay(5);",
    reason:
      "the subject: a cleared deadline(1) has not fired by a later timer (timers fire in order)",
  },
  {
    file: "tests/cli/coder_signals_test.ts",
    line: "setTimeout(resolve, 1_500)",
    reason:
      "the subject: a second signal after coder's 1 s duplicate window is a new request",
  },
  {
    file: "tests/zmtp/socket_test.ts",
    line: "setTimeout(resolve, 150)",
    reason:
      "the subject: a TCP peer that starts listening after connect() was refused",
  },
  {
    file: "tests/zmtp/socket_test.ts",
    line: "setTimeout(resolve, 100)",
    reason:
      "the subject: an IPC socket file that appears after connect() began",
  },
  {
    file: "tests/zmtp/socket_test.ts",
    line: "setTimeout(resolve, 10)",
    reason:
      "the subject: a peer whose greeting arrives in two reads, as libzmq's does",
  },
];

/** One match of a pattern. */
interface Hit {
  file: string;
  lineNumber: number;
  line: string;
  pattern: string;
}

/**
 * Every line of `text` that matches a pattern.
 *
 * @param file The file's path, relative to the repository.
 * @param text Its text.
 * @returns The hits.
 */
function scan(file: string, text: string): Hit[] {
  const hits: Hit[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    for (const { name, regex } of PATTERNS) {
      if (regex.test(line)) {
        hits.push({
          file,
          lineNumber: i + 1,
          line: line.trim(),
          pattern: name,
        });
      }
    }
  }
  return hits;
}

async function* testSources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* testSources(path);
    else if (/\.(?:ts|tsx|js|mjs)$/.test(entry.name)) yield path;
  }
}

Deno.test("tests have no fixed sleeps and no timing assertions", async (t) => {
  await t.step("the scan finds each pattern it names", () => {
    const sample = [
      "await new Promise((r) => setTimeout(r, 100));",
      "await new Promise<void>((resolve) => setTimeout(resolve, 5));",
      "await delay(50);",
      "const t0 = performance.now();",
      "assert.ok(elapsedMs < 2_000);",
      "const timer = setTimeout(() => controller.abort(), ms);",
      "code: 'import time\\ntime.sleep(1)',",
      "assert.ok((last.elapsed_seconds as number) >= 5.5);",
    ].join("\n");
    assert.deepEqual(
      scan("x.ts", sample).map((h) => [h.lineNumber, h.pattern]),
      [
        [1, PATTERNS[0]!.name],
        [2, PATTERNS[0]!.name],
        [3, PATTERNS[1]!.name],
        [4, PATTERNS[2]!.name],
        [5, PATTERNS[3]!.name],
      ],
    );
  });

  const hits: Hit[] = [];
  for await (const path of testSources(TESTS)) {
    const file = relative(ROOT, path);
    if (file === SELF) continue;
    hits.push(...scan(file, await Deno.readTextFile(path)));
  }
  const allowedFor = (hit: Hit) =>
    ALLOWED.find((a) => a.file === hit.file && hit.line.includes(a.line));

  await t.step("every match is on the allow-list, with its reason", () => {
    const unexplained = hits.filter((hit) => !allowedFor(hit)).map((h) =>
      `${h.file}:${h.lineNumber}: ${h.pattern}: ${h.line}`
    );
    assert.deepEqual(
      unexplained,
      [],
      "await the event or use waitUntil (tests/_helpers/wait.ts); put speed " +
        "targets in the benchmark; or add a deliberate idle to ALLOWED with " +
        `its reason:\n${unexplained.join("\n")}`,
    );
  });

  await t.step("every allow-list entry still matches a line", () => {
    const stale = ALLOWED.filter((a) =>
      !hits.some((hit) => allowedFor(hit) === a)
    ).map((a) => `${a.file}: ${a.line}`);
    assert.deepEqual(stale, [], "remove these entries from ALLOWED");
  });
});
