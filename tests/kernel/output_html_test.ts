/**
 * The output collector keeps `text/html` representations (for the notebook
 * view), in order, marked as result or display, within a bound.
 *
 * @module
 */

import assert from "node:assert/strict";
import { HTML_LIMIT_CHARS, OutputCollector } from "../../src/kernel/output.ts";

Deno.test("output: text/html of displays and the result is kept, bounded", () => {
  const collector = new OutputCollector(1024);
  collector.display({ "text/html": "<b>one</b>", "text/plain": "one" }, false);
  collector.display({ "text/plain": "no html" }, false);
  collector.display(
    { "text/html": "<table></table>", "text/plain": "df" },
    true,
  );
  collector.display({ "text/html": "x".repeat(HTML_LIMIT_CHARS) }, false);
  const result = collector.snapshot();
  assert.deepEqual(result.html, [
    { html: "<b>one</b>", isResult: false },
    { html: "<table></table>", isResult: true },
  ]);
  assert.equal(result.result, "df");
});

Deno.test("output: no html field when nothing had text/html", () => {
  const collector = new OutputCollector(1024);
  collector.display({ "text/plain": "2" }, true);
  assert.equal("html" in collector.snapshot(), false);
});
