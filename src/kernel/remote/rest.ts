/**
 * The REST side of a Jupyter Server / Kernel Gateway / Enterprise Gateway /
 * JupyterHub user server: start, look up, interrupt, restart and delete
 * kernels under `/api/kernels`. The token travels only in the
 * `Authorization` header, never in a URL, a log line or an error.
 *
 * @module
 */

import {
  describeHint,
  type ErrorHint,
  type HintRenderer,
  KernelError,
  type KernelErrorOptions,
} from "../errors.ts";
import { delay } from "../../base/mod.ts";

/** How to reach a gateway. */
export interface GatewayConfig {
  /** Base URL (a path prefix such as `/user/alice/` is kept). */
  url: string;
  /** Token sent as `Authorization: <scheme> <token>`; never logged. */
  token?: string | undefined;
  /** Authorization scheme (default `token`). */
  authScheme?: string;
  /**
   * Words the hints of the errors the gateway's answers cause (default
   * `describeHint`: option names; the CLI names its variables).
   */
  renderHint?: HintRenderer;
}

/** The hint to pass a valid token. */
export const TOKEN_HINT: ErrorHint = { option: "token", advice: "set" };
/** The hint to check the authorization scheme. */
export const AUTH_SCHEME_HINT: ErrorHint = {
  option: "authScheme",
  advice: "check",
};
/** The hint to pass a kernel spec the gateway has. */
export const KERNEL_NAME_HINT: ErrorHint = {
  option: "kernelName",
  advice: "set",
};

/** A gateway refused or failed a request; the message says what to do. */
export class GatewayError extends KernelError {
  /** HTTP status, or null when the server could not be reached. */
  readonly status: number | null;
  /**
   * Creates the error.
   *
   * @param message What went wrong (never holds the token).
   * @param status HTTP status, or null for a network failure.
   * @param options Standard error options (`cause`) and hints.
   */
  constructor(
    message: string,
    status: number | null,
    options?: KernelErrorOptions,
  ) {
    super(message, options);
    this.name = "GatewayError";
    this.status = status;
  }
}

/** A kernel model as `/api/kernels` returns it. */
export interface KernelModel {
  /** Server-side kernel id. */
  id: string;
  /** Kernel spec name. */
  name: string;
  /** `idle`, `busy`, `starting`, `restarting`, `dead`... */
  execution_state?: string;
}

const RETRIES_5XX = 4;
/** Largest response body read from a gateway (SPEC §13: every body is capped). */
export const MAX_GATEWAY_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Reads a response body as text, at most `limit` bytes.
 *
 * @param response The response.
 * @param limit Most bytes read.
 * @returns The text, or null when the body is larger (the rest is not read).
 */
export async function readCapped(
  response: Response,
  limit: number,
): Promise<string | null> {
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length > limit) {
    await response.body?.cancel();
    return null;
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        await reader.cancel();
        return null;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Normalizes a base URL: keeps the path prefix, ends it with a slash, drops
 * query and fragment.
 *
 * @param url The configured URL.
 * @param renderHint Words the hint of a URL holding credentials (default `describeHint`).
 * @returns The normalized URL.
 * @throws {GatewayError} For a URL that is not http(s) or holds credentials.
 */
export function normalizeBaseUrl(
  url: string,
  renderHint: HintRenderer = describeHint,
): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GatewayError(
      `Invalid gateway URL "${url}": expected http(s)://host[:port][/prefix/]`,
      null,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new GatewayError(
      `Invalid gateway URL: the scheme must be http or https, got ${parsed.protocol}`,
      null,
    );
  }
  if (parsed.username || parsed.password || parsed.search) {
    throw new GatewayError(
      `Invalid gateway URL: do not put credentials or a query in it; ${
        renderHint(TOKEN_HINT)
      } instead`,
      null,
      { hints: [TOKEN_HINT] },
    );
  }
  parsed.hash = "";
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return parsed;
}

/** REST client of one gateway. */
export class GatewayClient {
  /** Base URL with a trailing slash, without credentials. */
  readonly base: URL;
  readonly #authorization: string | null;
  readonly #token: string | null;
  /** Words the hints of this gateway's errors. */
  readonly renderHint: HintRenderer;

  /**
   * Creates the client (the URL is checked; nothing is sent).
   *
   * @param config Base URL, token, scheme and hint wording.
   */
  constructor(config: GatewayConfig) {
    this.renderHint = config.renderHint ?? describeHint;
    this.base = normalizeBaseUrl(config.url, this.renderHint);
    this.#authorization = config.token
      ? `${config.authScheme ?? "token"} ${config.token}`
      : null;
    this.#token = config.token || null;
  }

  /** A text with the token (bare or in its header form) replaced by `***`. */
  #hideToken(text: string): string {
    if (!this.#authorization || !this.#token) return text;
    return text.replaceAll(this.#authorization, "***").replaceAll(
      this.#token,
      "***",
    );
  }

  /** The base URL for status output. */
  get location(): string {
    return this.base.href;
  }

  /** Headers for REST and websocket requests. */
  headers(): Record<string, string> {
    return this.#authorization ? { Authorization: this.#authorization } : {};
  }

  /**
   * The websocket URL of a kernel's channels.
   *
   * @param kernelId Server-side id.
   * @param session Our session id.
   * @returns ws(s) URL.
   */
  channelsUrl(kernelId: string, session: string): string {
    const url = new URL(
      `api/kernels/${encodeURIComponent(kernelId)}/channels`,
      this.base,
    );
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("session_id", session);
    return url.href;
  }

  async #request(
    method: string,
    path: string,
    options: { body?: unknown; signal?: AbortSignal; what: string },
  ): Promise<Response> {
    const url = new URL(path, this.base);
    try {
      return await fetch(url, {
        method,
        headers: {
          ...this.headers(),
          ...(options.body !== undefined
            ? { "Content-Type": "application/json" }
            : {}),
        },
        ...(options.body !== undefined
          ? { body: JSON.stringify(options.body) }
          : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const reason = error instanceof Error ? error.message : String(error);
      throw new GatewayError(
        `Cannot reach the gateway at ${this.location} to ${options.what}: ${
          this.#hideToken(reason)
        }`,
        null,
      );
    }
  }

  /**
   * Reads a JSON answer: capped in size, and a clear error for anything
   * that is not JSON (an HTML login page, a proxy's error page, garbage).
   */
  async #json(response: Response, what: string): Promise<unknown> {
    const at = `the gateway at ${this.location}`;
    const text = await readCapped(response, MAX_GATEWAY_BODY_BYTES).catch(
      (error) => {
        throw new GatewayError(
          `Cannot ${what}: the answer of ${at} broke off: ${
            error instanceof Error ? error.message : String(error)
          }`,
          response.status,
        );
      },
    );
    if (text === null) {
      throw new GatewayError(
        `Cannot ${what}: ${at} answered with more than ${
          MAX_GATEWAY_BODY_BYTES / 1048576
        } MiB, which no Jupyter server sends here; is the URL a Jupyter server's base URL?`,
        response.status,
      );
    }
    try {
      return JSON.parse(text);
    } catch {
      const type = response.headers.get("content-type")?.split(";")[0] ??
        "no content type";
      const start = text.slice(0, 60).replace(/\s+/g, " ").trim();
      throw new GatewayError(
        `Cannot ${what}: ${at} answered with something that is not JSON (${type}${
          start ? `, starting "${start}"` : ", empty"
        }); is the URL a Jupyter server's base URL?`,
        response.status,
      );
    }
  }

  /**
   * 424 or 503 when the base URL is a JupyterHub user server the hub
   * reports stopped, else null.
   */
  async #hubServerDown(): Promise<number | null> {
    try {
      const response = await fetch(new URL("api/status", this.base), {
        headers: { ...this.headers(), Accept: "application/json" },
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      return response.status === 424 || response.status === 503
        ? response.status
        : null;
    } catch {
      return null;
    }
  }

  async #fail(response: Response, what: string): Promise<never> {
    const body = (
      (await readCapped(response, MAX_GATEWAY_BODY_BYTES).catch(() => "")) ??
        ""
    ).slice(0, 200_000);
    let detail = body;
    try {
      const parsed = JSON.parse(body);
      detail = String(parsed.message ?? parsed.reason ?? body);
    } catch { /* plain text */ }
    // Hidden before the cut, so a token across the cut leaves no prefix.
    detail = this.#hideToken(detail).replace(/\s+/g, " ").trim().slice(0, 300);
    let status = response.status;
    // JupyterHub answers a POST to a stopped user server's URL itself, with
    // 405 and an HTML page; a GET there says what is wrong (424 or 503).
    if (status === 405) status = await this.#hubServerDown() ?? status;
    const at = `the gateway at ${this.location}`;
    const render = this.renderHint;
    let message: string;
    let hints: ErrorHint[] = [];
    if (/no such kernel/i.test(body)) {
      const name = /No such kernel named ([^\s"'.,\\]+)/i.exec(body)?.[1];
      hints = [KERNEL_NAME_HINT];
      message = `Cannot ${what}: the gateway has no kernel spec${
        name ? ` named "${name}"` : ""
      }; ${
        render(KERNEL_NAME_HINT)
      }: one of its kernel specs (GET /api/kernelspecs lists them)`;
    } else if (
      (status === 401 || status === 403) && /resource limit/i.test(detail)
    ) {
      message = `Cannot ${what}: ${at} refused it (${status}: ${detail})`;
    } else if (status === 401 || status === 403) {
      hints = [TOKEN_HINT, AUTH_SCHEME_HINT];
      message = `Cannot ${what}: ${at} rejected the token (${status}); ${
        render(TOKEN_HINT)
      }${this.#authorization ? "" : " (none is set)"} and ${
        render(AUTH_SCHEME_HINT)
      }`;
    } else if (status === 404) {
      message =
        `Cannot ${what}: not found (404) at ${at}; the kernel is gone, or the URL is not a Jupyter server's base URL`;
    } else if (status === 424 || status === 503) {
      message =
        `Cannot ${what}: ${at} answered ${status}; the JupyterHub user server is not running. Start it from the hub, then try again`;
    } else {
      message = `Cannot ${what}: ${at} answered ${status}${
        detail ? `: ${detail}` : ""
      }`;
    }
    throw new GatewayError(message, status, { hints });
  }

  /**
   * Starts a kernel. Gateways answer when the kernel is up, which can take
   * minutes on Kubernetes: the caller's signal sets the limit.
   *
   * @param request Spec name, optional path and env.
   * @param signal Deadline / abort.
   * @returns The kernel model.
   */
  async start(
    request: { name: string; path?: string; env?: Record<string, string> },
    signal?: AbortSignal,
  ): Promise<KernelModel> {
    const what = `start a "${request.name}" kernel`;
    const response = await this.#request("POST", "api/kernels", {
      body: request,
      what,
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) return await this.#fail(response, what);
    const model = await this.#json(response, what) as KernelModel | null;
    if (typeof model?.id !== "string") {
      throw new GatewayError(
        `Cannot ${what}: ${this.location} did not answer with a kernel model; is it a Jupyter server?`,
        response.status,
      );
    }
    return model;
  }

  /**
   * Looks up one kernel (never lists them: gateways refuse listing).
   *
   * @param id Server-side id.
   * @param signal Abort.
   * @returns The model, or null when the server answers 404.
   */
  async get(id: string, signal?: AbortSignal): Promise<KernelModel | null> {
    const what = "look up the kernel";
    const response = await this.#request(
      "GET",
      `api/kernels/${encodeURIComponent(id)}`,
      { what, ...(signal ? { signal } : {}) },
    );
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) return await this.#fail(response, what);
    const model = await this.#json(response, what) as KernelModel | null;
    if (typeof model?.id !== "string") {
      throw new GatewayError(
        `Cannot ${what}: ${this.location} did not answer with a kernel model; is it a Jupyter server?`,
        response.status,
      );
    }
    return model;
  }

  /**
   * Interrupts a kernel.
   *
   * @param id Server-side id.
   */
  async interrupt(id: string): Promise<void> {
    await this.#simple(
      "POST",
      `api/kernels/${encodeURIComponent(id)}/interrupt`,
      "interrupt the kernel",
      false,
    );
  }

  /**
   * Restarts a kernel in place (5xx answers are retried).
   *
   * @param id Server-side id.
   */
  async restart(id: string): Promise<void> {
    await this.#simple(
      "POST",
      `api/kernels/${encodeURIComponent(id)}/restart`,
      "restart the kernel",
      true,
    );
  }

  /**
   * Deletes a kernel (5xx answers are retried; 404 counts as done).
   *
   * @param id Server-side id.
   * @param signal Abort.
   */
  async delete(id: string, signal?: AbortSignal): Promise<void> {
    await this.#simple(
      "DELETE",
      `api/kernels/${encodeURIComponent(id)}`,
      "delete the kernel",
      true,
      signal,
      true,
    );
  }

  async #simple(
    method: string,
    path: string,
    what: string,
    retry: boolean,
    signal?: AbortSignal,
    goneIsOk = false,
  ): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const response = await this.#request(method, path, {
        what,
        ...(signal ? { signal } : {}),
      });
      if (response.ok || (goneIsOk && response.status === 404)) {
        await response.body?.cancel();
        return;
      }
      if (retry && response.status >= 500 && attempt < RETRIES_5XX) {
        await response.body?.cancel();
        await delay(300 * (attempt + 1));
        continue;
      }
      await this.#fail(response, what);
    }
  }
}
