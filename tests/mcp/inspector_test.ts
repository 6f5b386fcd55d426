import assert from "node:assert/strict";
import {
  parseFindings,
  runInspectorStrict,
  serverVariables,
} from "../../scripts/mcp_inspector.ts";
import { EXPECTED_TOOL_NAMES } from "../_helpers/mcp_client.ts";
import { inspectorPackageDir } from "../_helpers/mcp_http.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

// Optional: runs only where the npm package is installed and
// MCP_INSPECTOR_DIR names its directory (see scripts/mcp_inspector.ts).
const packageDir = inspectorPackageDir();

Deno.test({
  name:
    "MCP Inspector --strict: every tool schema passes the portability check without a finding",
  ignore: packageDir === undefined,
  async fn() {
    const report = await runInspectorStrict({
      packageDir: packageDir!,
      env: serverVariables(testEnv()),
    });
    assert.equal(report.code, 0, report.stderr);
    assert.deepEqual(report.tools, [...EXPECTED_TOOL_NAMES]);
    assert.deepEqual(report.findings, [], report.stderr);
  },
});

Deno.test("the Inspector's strict report is split into findings", () => {
  // As Inspector 2.12 printed it for the schemas before they were made
  // portable (nullable strings as a `type` array).
  const stderr = [
    'Warning: tool "python_status"',
    "  Path: outputSchema.properties.python_version",
    '  Issue: `type` is an array (["string","null"]).',
    'Warning: tool "python_status"',
    "  Path: outputSchema.properties.location",
    '  Issue: `type` is an array (["string","null"]).',
    "",
    "0 errors, 2 warnings across 1 tool.",
  ].join("\n");
  const findings = parseFindings(stderr);
  assert.deepEqual(findings.map((f) => [f.level, f.tool, f.path]), [
    ["Warning", "python_status", "outputSchema.properties.python_version"],
    ["Warning", "python_status", "outputSchema.properties.location"],
  ]);
  assert.deepEqual(parseFindings(""), []);
});
