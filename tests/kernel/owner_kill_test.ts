/**
 * SPEC §13: after SIGKILL of the program that owns kernels, neither a
 * kernel (ready or still starting), nor a child process one started, nor a
 * connection directory remains, in 20 out of 20 trials.
 */

import assert from "node:assert/strict";
import { testEnv } from "../_helpers/kernel_env.ts";
import { killAll, waitGone } from "../_helpers/processes.ts";

const TRIALS = 20;
const OWNER = new URL("../fixtures/kernel_owner.ts", import.meta.url).pathname;
const TMP = testEnv().TMPDIR || "/tmp";

/** Connection dirs (`coder-kernel-<owner pid>-*`) an owner made in /tmp. */
async function runtimeDirsOf(owner: number): Promise<string[]> {
  const dirs: string[] = [];
  for await (const entry of Deno.readDir(TMP)) {
    if (entry.name.startsWith(`coder-kernel-${owner}-`)) dirs.push(entry.name);
  }
  return dirs;
}

/**
 * One trial: an owner with a ready kernel that started a child process and
 * a second kernel still starting up is SIGKILLed; then nothing of it may
 * remain.
 */
async function trial(cwd: string): Promise<string | null> {
  const owner = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", OWNER, "--child"],
    cwd,
    env: testEnv(),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = owner.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    line += value;
  }
  const { pid, child, starting } = JSON.parse(line) as {
    pid: number;
    child: number;
    starting: number;
  };
  owner.kill("SIGKILL");
  await owner.status;
  reader.releaseLock();
  await owner.stdout.cancel().catch(() => {});
  const left = await waitGone([pid, child, starting]);
  const dirs = await runtimeDirsOf(owner.pid);
  for (const dir of dirs) {
    await Deno.remove(`${TMP}/${dir}`, { recursive: true }).catch(() => {});
  }
  killAll(left);
  if (left.length > 0) return `processes left: ${left.join(", ")}`;
  if (dirs.length > 0) return `connection dirs left: ${dirs.join(", ")}`;
  return null;
}

Deno.test(`after SIGKILL of its owner no kernel child or connection dir is left (${TRIALS} trials)`, async () => {
  const cwd = await Deno.makeTempDir({ prefix: "coder_owner_kill_" });
  try {
    const failures: string[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const failure = await trial(cwd);
      if (failure) failures.push(`trial ${i + 1}: ${failure}`);
    }
    assert.deepEqual(
      failures,
      [],
      `${failures.length} of ${TRIALS} trials left something`,
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
