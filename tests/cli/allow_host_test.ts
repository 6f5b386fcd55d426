/**
 * `--allow-host` / `CODER_SANDBOX_ALLOW_HOSTS` at the command line (SPEC
 * §12): parsing, precedence, clear usage errors, and the real `ipython_mcp
 * --sandbox --allow-host` server letting a kernel reach exactly that host.
 */
import assert from "node:assert/strict";
import { parseCoderArgs } from "../../src/cli/args.ts";
import {
  BackendChoiceError,
  createBackend,
  resolveAllowHosts,
} from "../../src/cli/backend.ts";
import { readSettings } from "../../src/cli/env.ts";
import { MCP_HELP_TEXT } from "../../src/cli/mcp_command.ts";
import { startMcpServer } from "../_helpers/mcp_client.ts";
import { serveTarget } from "../_helpers/http_targets.ts";
import { testEnv } from "../_helpers/kernel_env.ts";

const PYTHON = Deno.env.get("CODER_PYTHON") || "/usr/bin/python3";

Deno.test("--allow-host is repeatable, wins over CODER_SANDBOX_ALLOW_HOSTS, and bad entries are usage errors", () => {
  const args = parseCoderArgs([
    "--sandbox",
    "--allow-host",
    "pypi.org,files.pythonhosted.org",
    "--allow-host",
    "127.0.0.1:8080",
    "task",
  ]);
  assert.deepEqual(args.allowHost, [
    "pypi.org,files.pythonhosted.org",
    "127.0.0.1:8080",
  ]);
  assert.deepEqual(resolveAllowHosts(args.allowHost, "other.org"), [
    "pypi.org",
    "files.pythonhosted.org",
    "127.0.0.1:8080",
  ]);
  assert.deepEqual(resolveAllowHosts([], "a.org, [::1]:9"), [
    "a.org",
    "[::1]:9",
  ]);
  assert.deepEqual(resolveAllowHosts([], undefined), []);
  assert.throws(
    () => resolveAllowHosts(["https://pypi.org/"], undefined),
    /^BackendChoiceError: --allow-host: Not a host or host:port: "https:\/\/pypi\.org\/"/,
  );
  assert.throws(
    () => resolveAllowHosts([], "x.org:http"),
    /CODER_SANDBOX_ALLOW_HOSTS: Not a host or host:port/,
  );
  const settings = readSettings({ HOME: "/home/u" });
  assert.throws(
    () =>
      createBackend({ allowHost: ["pypi.org"] }, settings, {
        env: testEnv(),
      }),
    (error) =>
      error instanceof BackendChoiceError &&
      /--allow-host needs --sandbox/.test(error.message),
  );
  assert.match(MCP_HELP_TEXT, /--allow-host HOST\[,HOST\.\.\.\]/);
  assert.match(MCP_HELP_TEXT, /CODER_SANDBOX_ALLOW_HOSTS/);
});

Deno.test("ipython_mcp --sandbox --allow-host: the kernel reaches that host and is refused others by name", async () => {
  await using allowed = serveTarget();
  await using other = serveTarget();
  await using server = await startMcpServer({
    args: ["--sandbox", "--allow-host", `127.0.0.1:${allowed.port}`],
    env: { CODER_PYTHON: PYTHON },
  });
  const fetch = (port: number) =>
    server.call("python_exec", {
      code: "import urllib.request, urllib.error\n" +
        "try:\n" +
        `    print(urllib.request.urlopen('http://127.0.0.1:${port}/p').read().decode())\n` +
        "except urllib.error.HTTPError as e:\n    print(e.code, e.read().decode())",
      timeout: 60,
    });
  const ok = await fetch(allowed.port);
  assert.equal(ok.json.success, true, JSON.stringify(ok.json));
  assert.equal(String(ok.json.stdout).trim(), `hello from ${allowed.port}`);
  const refused = await fetch(other.port);
  assert.match(
    String(refused.json.stdout),
    new RegExp(
      `^403 .*refused 127\\.0\\.0\\.1:${other.port}.*--allow-host 127\\.0\\.0\\.1:${other.port}`,
    ),
  );
  assert.deepEqual(other.requests, []);
});
