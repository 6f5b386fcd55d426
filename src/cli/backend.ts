/**
 * Picks the kernel backend of a program run from its flags and settings:
 * local (default), sandbox (`--sandbox` / `CODER_SANDBOX`) or remote
 * (`--gateway URL` / `CODER_GATEWAY_URL`). Shared by `coder`, `ipython_mcp`
 * and `coder mcp`, so the three select backends the same way.
 *
 * @module
 */

import {
  createLocalBackend,
  type KernelBackend,
  type LocalBackendOptions,
} from "../kernel/mod.ts";
import type { CoderSettings } from "./env.ts";

/** The backend-related flags of a command line (null/false: not given). */
export interface BackendFlags {
  /** `--sandbox`. */
  sandbox?: boolean;
  /** `--memory-limit SIZE`. */
  memoryLimit?: string | null;
  /** `--gateway URL`. */
  gateway?: string | null;
}

/** A backend choice that cannot work: the CLI reports it as a usage error. */
export class BackendChoiceError extends Error {
  /**
   * @param message What is wrong with the choice.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendChoiceError";
  }
}

/**
 * Creates the backend a program run asked for.
 *
 * @param flags Backend flags from the command line (win over the environment).
 * @param settings Settings read from the environment.
 * @param launch Launch options for local processes.
 * @returns The backend.
 * @throws {BackendChoiceError} For contradictory or unsupported choices.
 */
export function createBackend(
  flags: BackendFlags,
  settings: CoderSettings,
  launch: LocalBackendOptions,
): KernelBackend {
  const gateway = flags.gateway ?? settings.gatewayUrl;
  const sandbox = flags.sandbox || settings.sandbox;
  if (gateway && sandbox) {
    throw new BackendChoiceError(
      "Cannot combine --sandbox with --gateway: remote kernels run on the gateway's machines; choose one",
    );
  }
  if (gateway) {
    throw new BackendChoiceError("Remote kernels are not available yet");
  }
  if (sandbox) {
    throw new BackendChoiceError("The sandbox is not available yet");
  }
  return createLocalBackend(launch);
}
