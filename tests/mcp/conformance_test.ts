import assert from "node:assert/strict";
import {
  GENERIC_SCENARIOS,
  runConformance,
} from "../../scripts/mcp_conformance.ts";
import { conformancePackageDir } from "../_helpers/mcp_http.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

// Optional: runs only where the npm package is installed and
// MCP_CONFORMANCE_DIR names its directory (see scripts/mcp_conformance.ts).
const packageDir = conformancePackageDir();

Deno.test({
  name:
    "MCP conformance suite: every scenario that applies to any server passes over --http",
  ignore: packageDir === undefined,
  async fn() {
    const results = await runConformance({
      packageDir: packageDir!,
      env: testEnv(),
    });
    assert.deepEqual(results.map((r) => r.scenario), [...GENERIC_SCENARIOS]);
    for (const r of results) assert.ok(r.passed, `${r.scenario}:\n${r.output}`);
  },
});
