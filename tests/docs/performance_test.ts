/**
 * docs/performance.md is the output of `deno task bench`, not a hand-written
 * page: it opens with the generator's marker, keeps every heading of the
 * template in bench/, and lists every benchmark section.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  GENERATED_MARKER,
  PLACEHOLDERS,
} from "../../bench/performance_page.ts";
import { SECTIONS } from "../../bench/sections.ts";

const PAGE = fileURLToPath(
  new URL("../../docs/performance.md", import.meta.url),
);
const TEMPLATE = fileURLToPath(
  new URL("../../bench/performance_template.md", import.meta.url),
);

Deno.test("docs/performance.md is written by deno task bench", async (t) => {
  const page = await Deno.readTextFile(PAGE);
  const template = await Deno.readTextFile(TEMPLATE);
  await t.step("opens with the generator's marker", () => {
    assert.equal(page.split("\n")[0], GENERATED_MARKER);
  });
  await t.step("has every placeholder filled", () => {
    for (const placeholder of PLACEHOLDERS) {
      assert.ok(!page.includes(placeholder), placeholder);
    }
    assert.match(page, /^- Machine: \d+ cores/m);
    assert.match(page, /^- Deno \d+\.\d+\.\d+/m);
  });
  await t.step("keeps every heading of the template, in order", () => {
    const headings = (text: string) =>
      [...text.matchAll(/^#{1,2} .+$/gm)].map((m) => m[0]);
    assert.deepEqual(headings(page), headings(template));
  });
  await t.step("lists every section of the benchmark", () => {
    const listed = [...page.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(listed, [...SECTIONS]);
  });
});
