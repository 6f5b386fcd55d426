/**
 * Provisioners, on the model of jupyter_client's: the part of a kernel that
 * knows what runs it (a local process group, a process group under
 * bubblewrap, a kernel on a Jupyter server) and how to interrupt and kill
 * it. The kernel handle speaks the Jupyter protocol and asks its
 * provisioner for everything else; a backend's `start` launches and a
 * restart is a shutdown plus a new start, as in jupyter_client.
 *
 * The REST provisioner is in `remote/provisioner.ts`.
 *
 * @module
 */

import type { KernelCapabilities } from "./backend.ts";
import { killGroup } from "./process_group.ts";

/**
 * How an interrupt reaches the kernel: `signal` through the provisioner
 * ({@linkcode KernelProvisioner.interrupt}), `message` as an
 * `interrupt_request` on the control channel (sent by the kernel handle).
 */
export type InterruptMode = "signal" | "message";

/** What runs one kernel, and how it is interrupted and ended. */
export interface KernelProvisioner {
  /** What callers may rely on about the kernel. */
  readonly capabilities: KernelCapabilities;
  /** How interrupts reach it. */
  readonly interruptMode: InterruptMode;
  /** Interrupts the running code (mode `signal`); the state is kept. */
  interrupt(): Promise<void>;
  /** Ends the kernel now, without grace. Idempotent; never throws. */
  kill(): void;
}

/** Capabilities of a kernel process on this machine (local or sandboxed). */
export const LOCAL_PROCESS_CAPABILITIES: KernelCapabilities = Object.freeze({
  localProcess: true,
  localPython: true,
  sharedFiles: true,
  poolable: true,
});

/**
 * A kernel process group on this machine: SIGINT to interrupt, SIGKILL to
 * the whole group to kill.
 */
export class ProcessGroupProvisioner implements KernelProvisioner {
  /** Local process-group leader. */
  readonly pid: number;
  /** Interrupts by signal. */
  readonly interruptMode: InterruptMode = "signal";
  /** A local process. */
  readonly capabilities: KernelCapabilities = LOCAL_PROCESS_CAPABILITIES;

  /** @param pid The process-group leader. */
  constructor(pid: number) {
    this.pid = pid;
  }

  /** Sends SIGINT to the group. */
  interrupt(): Promise<void> {
    killGroup(this.pid, "SIGINT");
    return Promise.resolve();
  }

  /** Sends SIGKILL to the group (gone groups are ignored). */
  kill(): void {
    killGroup(this.pid, "SIGKILL");
  }
}

/**
 * A kernel under bubblewrap: a process group like a local kernel, but bwrap
 * is the group's leader and a SIGINT would end the sandbox, so interrupts
 * go as `interrupt_request` messages.
 */
export class BwrapProvisioner extends ProcessGroupProvisioner {
  /** bwrap does not forward SIGINT: interrupts go by message. */
  override readonly interruptMode: InterruptMode = "message";

  /** Never called for this mode; a no-op (a signal would end bwrap). */
  override interrupt(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The provisioner of a spawned local kernel.
 *
 * @param pid Process-group leader.
 * @param interrupt The wrapper's interrupt mode (bwrap: `message`).
 * @returns Its provisioner.
 */
export function localProvisioner(
  pid: number,
  interrupt: InterruptMode = "signal",
): ProcessGroupProvisioner {
  return interrupt === "message"
    ? new BwrapProvisioner(pid)
    : new ProcessGroupProvisioner(pid);
}
