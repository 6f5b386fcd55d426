import assert from "node:assert/strict";
import { join } from "node:path";
import { testEnv } from "../_helpers/agent_env.ts";
import { spawnCoder } from "../_helpers/coder_process.ts";
import {
  type RecordedRequest,
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";
import { kernelPidsOf, killAll, waitGone } from "../_helpers/processes.ts";

/** Every secret has its own value, so a test failure names the leaking source. */
const SECRETS = {
  flag: "sk-flag-7c1e9a0b3d5f4e21",
  env: "sk-env-2b8d6f4a1c3e5a79",
  dotenvOpenrouter: "sk-dotenv-or-5e3a1c9b7d2f",
  dotenvModel: "sk-dotenv-model-8a6c4e2b0d1f",
  gateway: "gw-token-4d2b0f8e6c1a3957",
  mcp: "mcp-token-9f7d5b3a1e2c4860",
};

/**
 * Python the fake model sends: reads every secret its parent (coder) holds
 * from /proc/<ppid>/environ, /proc/<ppid>/cmdline (`--api-key`) and
 * ~/.config/coder/.env, prints them, and writes them to probe.txt (the
 * kernel's raw output, which no masking touches). It also lists the secret
 * variables present in the kernel's own environment.
 */
const PROBE = `
import os
ppid = os.getppid()
found = []
for item in open(f"/proc/{ppid}/environ", "rb").read().split(b"\\0"):
    name, _, value = item.decode().partition("=")
    if name in ("FAKE_LLM_KEY", "OPENROUTER_API_KEY", "CODER_GATEWAY_TOKEN", "CODER_MCP_TOKEN"):
        found.append(value)
argv = open(f"/proc/{ppid}/cmdline", "rb").read().decode().split("\\0")
if "--api-key" in argv:
    found.append(argv[argv.index("--api-key") + 1])
dotenv = os.path.join(os.environ["XDG_CONFIG_HOME"], "coder", ".env")
for line in open(dotenv).read().splitlines():
    if "=" in line:
        found.append(line.split("=", 1)[1].strip().strip('"'))
in_kernel_env = sorted(n for n in ("FAKE_LLM_KEY", "OPENROUTER_API_KEY", "CODER_GATEWAY_TOKEN", "CODER_MCP_TOKEN") if n in os.environ)
open("probe.txt", "w").write("\\n".join(found))
print("\\n".join(found))
print("kernel env:", in_kernel_env)
`;

function toolContents(request: RecordedRequest): string[] {
  return (request.body.messages as { role: string; content: string }[])
    .filter((m) => m.role === "tool")
    .map((m) => m.content);
}

Deno.test("coder masks every known secret in tool results sent to the model", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coder_secrets_" });
  await using server = startFakeOpenAI({
    replies: [
      toolCallsReply([{ name: "python_exec", args: { code: PROBE } }]),
      textReply("done"),
    ],
  });
  const configDir = join(dir, ".config");
  await Deno.mkdir(join(configDir, "coder"), { recursive: true });
  await Deno.writeTextFile(
    join(configDir, "coder", ".env"),
    `OPENROUTER_API_KEY="${SECRETS.dotenvOpenrouter}"\nFAKE_LLM_KEY="${SECRETS.dotenvModel}"\n`,
  );
  const model = await writeFakeModel(dir, server.baseURL);
  await using coder = spawnCoder(
    ["--model", model, "--api-key", SECRETS.flag, "--json", "probe"],
    {
      cwd: dir,
      env: testEnv({
        XDG_CONFIG_HOME: configDir,
        FAKE_LLM_KEY: SECRETS.env,
        CODER_GATEWAY_TOKEN: SECRETS.gateway,
        CODER_MCP_TOKEN: SECRETS.mcp,
      }),
    },
  );
  try {
    const { status, stdout, stderr } = await coder.done;
    assert.equal(status.code, 0, stderr);

    // The probe works: the kernel's raw output holds every secret.
    const raw = await Deno.readTextFile(join(dir, "probe.txt"));
    for (const [source, secret] of Object.entries(SECRETS)) {
      assert.ok(
        raw.includes(secret),
        `the probe did not find the ${source} secret`,
      );
    }

    // ...but no request the model endpoint received carries any of them.
    assert.equal(server.requests.length, 2);
    for (const request of server.requests) {
      const body = JSON.stringify(request.body);
      for (const [source, secret] of Object.entries(SECRETS)) {
        assert.ok(
          !body.includes(secret),
          `the ${source} secret reached the model`,
        );
      }
    }
    const [result] = toolContents(server.requests[1]!);
    const parsed = JSON.parse(result!);
    assert.equal(parsed.success, true);
    assert.equal(
      parsed.stdout.split("\n").filter((l: string) => l === "[REDACTED]")
        .length,
      6, // 3 from environ, 1 from cmdline, 2 from .env
    );
    // The kernel's own environment holds none of the secret variables.
    assert.match(parsed.stdout, /kernel env: \[\]\n$/);

    // Output and log are masked by the same masker.
    for (const secret of Object.values(SECRETS)) {
      assert.ok(!stdout.includes(secret) && !stderr.includes(secret));
      assert.ok(
        !(await Deno.readTextFile(join(dir, "log.jsonl"))).includes(secret),
      );
    }
  } finally {
    const left = await waitGone(kernelPidsOf(coder.pid));
    killAll(left);
    await Deno.remove(dir, { recursive: true });
    assert.deepEqual(left, [], "kernel processes left behind");
  }
});
