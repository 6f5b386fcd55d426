/**
 * The provisioner of a kernel on a Jupyter server (Jupyter Server, Kernel
 * Gateway, Enterprise Gateway, a JupyterHub user server): interrupts and
 * ends it through the REST API; no local process is ever signalled.
 *
 * @module
 */

import type { KernelCapabilities } from "../backend.ts";
import type { InterruptMode, KernelProvisioner } from "../provisioner.ts";
import type { GatewayClient } from "./rest.ts";

/** Capabilities of a kernel on a Jupyter server. */
export const REMOTE_CAPABILITIES: KernelCapabilities = Object.freeze({
  localProcess: false,
  localPython: false,
  sharedFiles: false,
  poolable: false,
});

/** Deadline of the DELETE a kill sends. */
const KILL_TIMEOUT_MS = 10_000;

/** One server-side kernel, driven through `/api/kernels/<id>`. */
export class RestProvisioner implements KernelProvisioner {
  /** The server interrupts (by its own kernel spec's mode). */
  readonly interruptMode: InterruptMode = "signal";
  /** A kernel on a server. */
  readonly capabilities: KernelCapabilities = REMOTE_CAPABILITIES;
  readonly #client: GatewayClient;
  readonly #id: string;

  /**
   * @param client The REST client.
   * @param kernelId The server-side kernel id.
   */
  constructor(client: GatewayClient, kernelId: string) {
    this.#client = client;
    this.#id = kernelId;
  }

  /** `POST /api/kernels/<id>/interrupt`. */
  async interrupt(): Promise<void> {
    await this.#client.interrupt(this.#id);
  }

  /**
   * Deletes the kernel (5xx retried, 404 counts as done).
   *
   * @param signal Abort.
   */
  async delete(signal?: AbortSignal): Promise<void> {
    await this.#client.delete(this.#id, signal);
  }

  /** Sends the DELETE without waiting for it; failures are ignored. */
  kill(): void {
    this.delete(AbortSignal.timeout(KILL_TIMEOUT_MS)).catch(() => {});
  }
}
