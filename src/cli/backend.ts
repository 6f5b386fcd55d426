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
  createMemoryLimiter,
  createRemoteBackend,
  createSandboxBackend,
  DEFAULT_SANDBOX_MEMORY_LIMIT,
  GatewayError,
  type KernelBackend,
  type LocalBackendOptions,
  parseAllowHosts,
  parseMemorySize,
} from "../kernel/mod.ts";
import type { CoderSettings } from "./env.ts";
import { renderCliHint } from "./hints.ts";

/** The backend-related flags of a command line (null/false: not given). */
export interface BackendFlags {
  /** `--sandbox`. */
  sandbox?: boolean;
  /** `--memory-limit SIZE`. */
  memoryLimit?: string | null;
  /** `--gateway URL`. */
  gateway?: string | null;
  /** `--allow-host HOST[,HOST...]` values (repeatable). */
  allowHost?: readonly string[];
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
 * Creates the backend a program run asked for. Its errors word their hints
 * with our flags and variables ({@linkcode renderCliHint}).
 *
 * @param flags Backend flags from the command line (win over the environment).
 * @param settings Settings read from the environment.
 * @param given Launch options for local processes.
 * @returns The backend.
 * @throws {BackendChoiceError} For contradictory or unsupported choices.
 */
export function createBackend(
  flags: BackendFlags,
  settings: CoderSettings,
  given: LocalBackendOptions,
): KernelBackend {
  const launch = { ...given, renderHint: renderCliHint };
  const gateway = flags.gateway ?? settings.gatewayUrl;
  const sandbox = flags.sandbox || settings.sandbox;
  if (gateway && sandbox) {
    throw new BackendChoiceError(
      "Cannot combine --sandbox with --gateway: remote kernels run on the gateway's machines; choose one",
    );
  }
  if ((flags.allowHost?.length ?? 0) > 0 && !sandbox) {
    throw new BackendChoiceError(
      "--allow-host needs --sandbox: it lets sandboxed kernels reach the hosts named; " +
        "kernels outside the sandbox already have the machine's network",
    );
  }
  if (gateway) return remoteBackend(gateway, settings, launch);
  const memoryLimit = resolveMemoryLimit(
    flags.memoryLimit ?? settings.memoryLimit ?? null,
    sandbox ?? false,
  );
  if (sandbox) {
    const allowHosts = resolveAllowHosts(
      flags.allowHost ?? [],
      settings.sandboxAllowHosts,
    );
    return createSandboxBackend({
      ...launch,
      memoryLimit,
      ...(allowHosts.length > 0 ? { allowHosts } : {}),
    });
  }
  if (memoryLimit === null) return createLocalBackend(launch);
  return createLocalBackend({
    ...launch,
    wrapper: createMemoryLimiter(memoryLimit, renderCliHint),
  });
}

/**
 * The memory cap per kernel in bytes: the given size (`512M`, `4G`...),
 * none for `none`/`off`/`0`, else 4 GiB with the sandbox and none without.
 *
 * @param text `--memory-limit` or CODER_MEMORY_LIMIT, or null.
 * @param sandbox Whether kernels run sandboxed.
 * @returns Bytes, or null for no limit.
 * @throws {BackendChoiceError} A malformed size.
 */
export function resolveMemoryLimit(
  text: string | null,
  sandbox: boolean,
): number | null {
  if (text === null || text.trim() === "") {
    return sandbox ? DEFAULT_SANDBOX_MEMORY_LIMIT : null;
  }
  if (/^\s*(none|off|0)\s*$/i.test(text)) return null;
  try {
    return parseMemorySize(text);
  } catch (error) {
    throw new BackendChoiceError(
      `--memory-limit / CODER_MEMORY_LIMIT: ${(error as Error).message}`,
    );
  }
}

/**
 * The hosts sandboxed kernels may reach: `--allow-host` values when given,
 * else `CODER_SANDBOX_ALLOW_HOSTS`; each entry checked.
 *
 * @param flags `--allow-host` values (comma-separated lists).
 * @param setting CODER_SANDBOX_ALLOW_HOSTS, if set.
 * @returns The entries (`HOST` or `HOST:PORT`).
 * @throws {BackendChoiceError} A malformed entry, named.
 */
export function resolveAllowHosts(
  flags: readonly string[],
  setting: string | undefined,
): string[] {
  const [values, source] = flags.length > 0
    ? [flags, "--allow-host"]
    : [setting ? [setting] : [], "CODER_SANDBOX_ALLOW_HOSTS"];
  try {
    return parseAllowHosts(values).map((entry) =>
      entry.port === null
        ? entry.host
        : `${
          entry.host.includes(":") ? `[${entry.host}]` : entry.host
        }:${entry.port}`
    );
  } catch (error) {
    throw new BackendChoiceError(`${source}: ${(error as Error).message}`);
  }
}

/**
 * The remote backend for `--gateway URL`: token, scheme, kernel spec and
 * user from the settings, `KERNEL_*` variables from the kernels' env.
 */
function remoteBackend(
  gateway: string,
  settings: CoderSettings,
  launch: LocalBackendOptions,
): KernelBackend {
  let backend;
  try {
    backend = createRemoteBackend({
      url: gateway,
      token: settings.gatewayToken,
      authScheme: settings.gatewayAuthScheme,
      kernelName: settings.gatewayKernel,
      username: settings.gatewayUser,
      renderHint: renderCliHint,
      kernelEnv: Object.fromEntries(
        Object.entries(launch.env ?? {}).filter(([key]) =>
          key.startsWith("KERNEL_") && key !== "KERNEL_USERNAME"
        ),
      ),
      ...(launch.logger ? { logger: launch.logger } : {}),
    });
  } catch (error) {
    if (error instanceof GatewayError) {
      throw new BackendChoiceError(error.message, { cause: error });
    }
    throw error;
  }
  return backend;
}
