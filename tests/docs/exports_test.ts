/**
 * Each entry of deno.json's export map, imported the way a user imports it:
 * by the package's name (Deno resolves a package's own name to its export
 * map). Each role's names are there, and plumbing is not.
 */

import assert from "node:assert/strict";
import * as agent from "@agentic/agentic-python-coder";
import * as kernel from "@agentic/agentic-python-coder/kernel";
import * as llm from "@agentic/agentic-python-coder/llm";
import * as mcp from "@agentic/agentic-python-coder/mcp";
import * as zmtp from "@agentic/agentic-python-coder/zmtp";
import * as coder from "@agentic/agentic-python-coder/coder";
import * as ipythonMcp from "@agentic/agentic-python-coder/ipython-mcp";
import denoJson from "../../deno.json" with { type: "json" };

function names(module: object): string[] {
  return Object.keys(module).sort();
}

Deno.test("the export map has one entry per role, plus the two programs", () => {
  assert.deepEqual(Object.keys(denoJson.exports).sort(), [
    ".",
    "./coder",
    "./ipython-mcp",
    "./kernel",
    "./llm",
    "./mcp",
    "./zmtp",
  ]);
});

Deno.test("'.' is the agent", () => {
  for (
    const name of [
      "solveTask",
      "createCodingAgent",
      "runAgent",
      "getFinalResponse",
      "evaluateTasks",
      "replayLog",
    ]
  ) {
    assert.equal(typeof (agent as Record<string, unknown>)[name], "function");
  }
  // Other layers have entries of their own.
  for (
    const name of [
      "startKernel",
      "KernelRegistry",
      "connect",
      "getOpenrouterLlm",
      "CodingAgent",
      "AgentLog",
    ]
  ) {
    assert.ok(!names(agent).includes(name), `'.' exports ${name}`);
  }
});

Deno.test("'./kernel' has the registry, one factory per backend and the errors", () => {
  for (
    const name of [
      "startKernel",
      "KernelRegistry",
      "createLocalBackend",
      "createSandboxBackend",
      "createRemoteBackend",
      "checkSyntax",
      "KernelError",
      "KernelStartError",
      "GatewayError",
    ]
  ) {
    assert.ok(names(kernel).includes(name), `./kernel lacks ${name}`);
  }
  // One way to construct each backend; plumbing stays private.
  for (
    const name of [
      "LocalBackend",
      "SandboxBackend",
      "RemoteBackend",
      "Kernel",
      "KernelSlots",
      "connect",
    ]
  ) {
    assert.ok(!names(kernel).includes(name), `./kernel exports ${name}`);
  }
  assert.equal(kernel.createLocalBackend({ env: {} }).kind, "local");
});

Deno.test("'./llm', './mcp' and './zmtp' hold their roles", () => {
  for (
    const name of [
      "getOpenrouterLlm",
      "listAvailableModels",
      "loadModelConfig",
      "createChatClient",
    ]
  ) {
    assert.ok(names(llm).includes(name), `./llm lacks ${name}`);
  }
  assert.ok(llm.listAvailableModels().includes("sonnet45"));
  for (
    const name of [
      "serveStdioConnection",
      "WebStreamServerTransport",
      "McpHttpService",
      "serveGuarded",
      "parseListenAddress",
    ]
  ) {
    assert.ok(names(mcp).includes(name), `./mcp lacks ${name}`);
  }
  assert.equal(mcp.parseListenAddress("8000").port, 8000);
  assert.deepEqual(names(zmtp), ["ZmtpClosedError", "ZmtpError", "connect"]);
});

Deno.test("the program entries export their main functions", () => {
  assert.equal(typeof (coder as Record<string, unknown>).main, "function");
  assert.equal(typeof (ipythonMcp as Record<string, unknown>).main, "function");
});
