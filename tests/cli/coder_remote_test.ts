/**
 * `coder --gateway URL` as a process (flags from scripts/permissions.ts):
 * a scripted task runs in a kernel of a real Jupyter Server on 127.0.0.1,
 * the kernel's files land in the server's root, coder's own files locally.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CODER_PERMISSIONS } from "../../scripts/permissions.ts";
import { testEnv } from "../_helpers/agent_env.ts";
import {
  startFakeOpenAI,
  textReply,
  toolCallsReply,
  writeFakeModel,
} from "../_helpers/fake_openai.ts";
import { startJupyterServer } from "../_helpers/jupyter_server.ts";

const ENTRY = fileURLToPath(import.meta.resolve("../../src/cli/coder.ts"));

Deno.test("coder --gateway runs a scripted task in a remote kernel", {
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  // The kernel reports an interpreter path that does not exist here, as on
  // a real remote machine: coder must not use it locally.
  await using server = await startJupyterServer({
    prepare: async (dataDir) => {
      await Deno.mkdir(`${dataDir}/kernels/elsewhere`, { recursive: true });
      await Deno.writeTextFile(
        `${dataDir}/kernels/elsewhere/kernel.json`,
        JSON.stringify({
          argv: [
            "/usr/bin/python3",
            "-c",
            "import sys; sys.executable = '/nonexistent/remote/bin/python3'; from ipykernel import kernelapp; kernelapp.launch_new_instance()",
            "-f",
            "{connection_file}",
          ],
          display_name: "elsewhere",
          language: "python",
        }),
      );
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "coder_remote_" });
  try {
    await using llm = startFakeOpenAI({
      replies: [
        toolCallsReply([{
          name: "python_exec",
          args: {
            code:
              "import os\nopen('remote_out.txt', 'w').write(str(os.getppid()))\nprint('parent', os.getppid())",
          },
        }]),
        toolCallsReply([{
          name: "save_code",
          args: { code: "print('hello from the solution')\n" },
        }]),
        textReply("Done."),
      ],
    });
    const model = await writeFakeModel(dir, llm.baseURL);
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...CODER_PERMISSIONS,
        ENTRY,
        "--model",
        model,
        "--gateway",
        server.url,
        "--json",
        "write a file",
      ],
      cwd: dir,
      env: testEnv({
        XDG_CONFIG_HOME: join(dir, ".config"),
        FAKE_LLM_KEY: "sk-remote-test",
        CODER_GATEWAY_TOKEN: server.token,
        CODER_GATEWAY_KERNEL: "elsewhere",
      }),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.ok(!stdout.includes(server.token) && !stderr.includes(server.token));
    // The kernel ran under the Jupyter server and wrote into its root...
    assert.equal(
      await Deno.readTextFile(join(server.root, "remote_out.txt")),
      String(server.pid),
    );
    await assert.rejects(Deno.stat(join(dir, "remote_out.txt")));
    // ...while coder wrote its solution and log locally.
    assert.equal(
      await Deno.readTextFile(join(dir, "solution.py")),
      "print('hello from the solution')\n",
    );
    await Deno.stat(join(dir, "log.jsonl"));
    // coder deleted its kernel on the way out.
    const response = await fetch(`${server.url}api/kernels`, {
      headers: { Authorization: `token ${server.token}` },
    });
    assert.deepEqual(await response.json(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
