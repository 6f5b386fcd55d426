/**
 * Signals to a kernel's whole process group (the kernel runs as a group
 * leader, so its children end with it).
 *
 * @module
 */

const IS_WINDOWS = Deno.build.os === "windows";

/**
 * Kills a process group, ignoring groups that are already gone.
 *
 * @param pid The group leader.
 * @param signal The signal.
 */
export function killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(IS_WINDOWS ? pid : -pid, signal);
  } catch {
    // already gone
  }
}
