/**
 * The remote backend: kernels started on a Jupyter Server, Kernel Gateway,
 * Enterprise Gateway or JupyterHub user server through `POST /api/kernels`
 * and driven by {@linkcode RemoteKernel}.
 *
 * @module
 */

import type {
  KernelBackend,
  KernelCapabilities,
  KernelHandle,
  KernelStartRequest,
} from "../backend.ts";
import { KernelError, KernelStartError } from "../errors.ts";
import { PACKAGE_INSTALL_TIMEOUT_MS } from "../launcher.ts";
import { type Logger, SILENT_LOGGER } from "../messages.ts";
import { validatePackageSpecs } from "../package_spec.ts";
import { RemoteKernel } from "./kernel.ts";
import { REMOTE_CAPABILITIES } from "./provisioner.ts";
import {
  AUTH_SCHEME_HINT,
  GatewayClient,
  type GatewayConfig,
  GatewayError,
  KERNEL_NAME_HINT,
  MAX_GATEWAY_BODY_BYTES,
  readCapped,
  TOKEN_HINT,
} from "./rest.ts";

/** Default limit for `POST /api/kernels` (gateways answer once a pod is up). */
export const REMOTE_START_TIMEOUT_MS = 300_000;
const DEFAULT_OUTPUT_LIMIT = 64 * 1024 * 1024;
const ENV_VALUE = /^[^$`\n\r]{0,4096}$/;

/** Options of {@linkcode createRemoteBackend}. */
export interface RemoteBackendOptions extends GatewayConfig {
  /** Kernel spec name (default `python3`). */
  kernelName?: string;
  /** `KERNEL_USERNAME` sent with start requests. */
  username?: string;
  /** Extra `KERNEL_*` variables for the start request (others are ignored). */
  kernelEnv?: Record<string, string>;
  /** Limit for one kernel start, in ms (default 5 minutes). */
  startTimeoutMs?: number;
  /** Limit for a package install, in ms. */
  installTimeoutMs?: number;
  /** Per-stream output cap per execution (default 64 MB). */
  outputLimit?: number;
  /** Logger (never sees the token). */
  logger?: Logger;
  /**
   * Offer the `v1.kernel.websocket.jupyter.org` subprotocol (default true);
   * false uses the JSON protocol, for servers that mishandle the offer.
   */
  offerV1?: boolean;
}

/** Starts kernels on a Jupyter server; see {@linkcode createRemoteBackend}. */
export class RemoteBackend implements KernelBackend {
  /** Always `remote`. */
  readonly kind = "remote" as const;
  /** Kernels on a server: no local process, Python or files; not pooled by default. */
  readonly capabilities: KernelCapabilities = REMOTE_CAPABILITIES;
  /** The REST client (base URL, auth header). */
  readonly client: GatewayClient;
  /** Kernel spec name. */
  readonly kernelName: string;
  readonly #env: Record<string, string>;
  readonly #options: RemoteBackendOptions;
  readonly #logger: Logger;

  /**
   * Creates the backend (no request is sent yet).
   *
   * @param options URL, token, kernel spec, user and limits.
   */
  constructor(options: RemoteBackendOptions) {
    this.client = new GatewayClient(options);
    this.kernelName = options.kernelName ?? "python3";
    this.#options = options;
    this.#logger = options.logger ?? SILENT_LOGGER;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.kernelEnv ?? {})) {
      if (!key.startsWith("KERNEL_")) continue;
      if (ENV_VALUE.test(value)) env[key] = value;
      else {
        this.#logger.warn(
          `Not sending ${key} to the gateway: values must be at most 4096 characters without $, backquote or newline`,
        );
      }
    }
    if (options.username) env.KERNEL_USERNAME = options.username;
    this.#env = env;
  }

  /** The gateway's base URL (never the token). */
  get location(): string {
    return this.client.location;
  }

  /** Checks that the gateway answers, accepts the token and has the kernel spec. */
  async preflight(signal?: AbortSignal): Promise<void> {
    const response = await fetch(new URL("api/kernelspecs", this.client.base), {
      headers: this.client.headers(),
      signal: signal ?? AbortSignal.timeout(30_000),
    }).catch((error) => {
      throw new GatewayError(
        `Cannot reach the gateway at ${this.location}: ${
          error instanceof Error ? error.message : error
        }`,
        null,
      );
    });
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      const render = this.client.renderHint;
      throw new GatewayError(
        `The gateway at ${this.location} rejected the token (${response.status}); ${
          render(TOKEN_HINT)
        } and ${render(AUTH_SCHEME_HINT)}`,
        response.status,
        { hints: [TOKEN_HINT, AUTH_SCHEME_HINT] },
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      return; // the start request reports it precisely
    }
    // Capped, and garbage ignored: the start request reports it precisely.
    const text = await readCapped(response, MAX_GATEWAY_BODY_BYTES).catch(
      () => null,
    );
    let specs: { kernelspecs?: Record<string, unknown> } | null = null;
    try {
      specs = text === null ? null : JSON.parse(text);
    } catch { /* not JSON */ }
    if (
      typeof specs?.kernelspecs === "object" && specs.kernelspecs !== null &&
      !(this.kernelName in specs.kernelspecs)
    ) {
      throw new GatewayError(
        `The gateway at ${this.location} has no kernel spec named "${this.kernelName}" (it has: ${
          Object.keys(specs.kernelspecs).join(", ")
        }); ${this.client.renderHint(KERNEL_NAME_HINT)}`,
        null,
        { hints: [KERNEL_NAME_HINT] },
      );
    }
  }

  /**
   * Starts one remote kernel: POST /api/kernels, then the channels socket,
   * the start-up code and the package install. Whatever was created is
   * deleted again on failure.
   *
   * @param request Packages and abort signal (the cwd is the server's).
   * @returns The ready kernel.
   */
  async start(request: KernelStartRequest): Promise<KernelHandle> {
    const packages = validatePackageSpecs(request.packages);
    const startTimeout = this.#options.startTimeoutMs ??
      REMOTE_START_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(startTimeout);
    const signal = request.signal
      ? AbortSignal.any([deadline, request.signal])
      : deadline;
    let model;
    try {
      model = await this.client.start(
        { name: this.kernelName, path: "", env: { ...this.#env } },
        signal,
      );
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (deadline.aborted) {
        throw new KernelStartError(
          `The gateway at ${this.location} did not start a kernel within ${
            startTimeout / 1000
          }s`,
          { tried: [this.#describe()] },
        );
      }
      throw startError(error, this.#describe());
    }
    this.#logger.info(
      `Remote kernel ${model.id} started on ${this.location}`,
    );
    try {
      return await RemoteKernel.connect({
        client: this.client,
        kernelId: model.id,
        kernelName: this.kernelName,
        packages,
        outputLimit: this.#options.outputLimit ?? DEFAULT_OUTPUT_LIMIT,
        installTimeoutMs: this.#options.installTimeoutMs ??
          PACKAGE_INSTALL_TIMEOUT_MS,
        logger: this.#logger,
        offerV1: this.#options.offerV1 ?? true,
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (error) {
      await this.client.delete(model.id, AbortSignal.timeout(10_000)).catch(
        () => {},
      );
      if (request.signal?.aborted) throw request.signal.reason;
      throw startError(error, this.#describe());
    }
  }

  #describe(): string {
    return `kernel spec "${this.kernelName}" on ${this.location}`;
  }
}

function startError(error: unknown, tried: string): KernelStartError {
  if (error instanceof KernelStartError) return error;
  const message = error instanceof KernelError || error instanceof Error
    ? error.message
    : String(error);
  return new KernelStartError(message, { tried: [tried] }, { cause: error });
}

/**
 * Creates the remote backend.
 *
 * @param options Gateway URL, token (from the environment only), scheme,
 *   kernel spec, user name and limits.
 * @returns The backend.
 * @example Running code on a Jupyter Server
 * ```ts
 * import { createRemoteBackend } from "./backend.ts";
 * const backend = createRemoteBackend({ url: "http://127.0.0.1:8888/", token: "..." });
 * await using kernel = await backend.start({ cwd: ".", packages: [] });
 * await kernel.execute("1 + 1");
 * ```
 */
export function createRemoteBackend(
  options: RemoteBackendOptions,
): RemoteBackend {
  return new RemoteBackend(options);
}
