/**
 * The answer to a kernel start refused at a kernel limit (SPEC §11): the
 * limit that applied, named as the caller's renderer names settings, and
 * advice the caller can follow.
 *
 * @module
 */

import { describeMcpHint, type McpHintRenderer } from "./hints.ts";

/** Which kernel limit refused a kernel start, for the refusal's wording. */
export interface KernelLimitFacts {
  /**
   * `server`: the server's limit (`maxKernels`; the CLI's
   * `CODER_MAX_KERNELS`); `user`: the user's share of it
   * (`maxKernelsPerUser`; `CODER_MAX_KERNELS_PER_USER`, HTTP).
   */
  scope: "server" | "user";
  /** That limit. */
  limit: number;
  /** The user whose share it is (HTTP). */
  user?: string;
  /**
   * Seconds without a call after which an idle client's kernels are shut
   * down when a start needs their slots (HTTP); unset on stdio, where the
   * caller owns every kernel.
   */
  reclaimAfterSeconds?: number;
}

/** Options of {@linkcode kernelLimitMessage}. */
export interface KernelLimitMessageOptions {
  /**
   * Names the limit and words the advice to raise it; default
   * {@linkcode describeMcpHint} (option names). The CLI passes its
   * variables (`CODER_MAX_KERNELS`, `CODER_MAX_KERNELS_PER_USER`).
   */
  renderHint?: McpHintRenderer;
  /**
   * The running background job of each of the caller's kernels that has
   * one (kernel id → job id): those kernels cannot be reused until their
   * job ends, so the advice names the jobs instead.
   */
  jobs?: ReadonlyMap<string, string>;
}

/** `"a", "b", "c", "d", "e" and 2 more`: at most {@linkcode KERNELS_NAMED} items, quoted. */
function namedList(items: readonly string[]): string {
  return items.slice(0, KERNELS_NAMED).map((item) => `"${item}"`).join(", ") +
    (items.length > KERNELS_NAMED
      ? ` and ${items.length - KERNELS_NAMED} more`
      : "");
}

/** Most kernel ids a limit refusal names. */
const KERNELS_NAMED = 5;

/**
 * python_exec / python_reset error when a kernel limit is reached: names
 * the limit that applied and gives advice the caller can follow (SPEC
 * §11): reuse one of its own kernels (named), or when each of them runs a
 * background job, wait for one or stop it; else wait for an idle client's
 * kernels to be reclaimed or have the limit raised.
 *
 * @param facts The limit that refused the start.
 * @param own Ids of the live kernels the caller can use (its namespace).
 * @param options How the limit is named.
 * @returns The message.
 * @example A stdio server with maxKernels 2
 * ```ts
 * import { kernelLimitMessage } from "./limit_refusal.ts";
 * kernelLimitMessage({ scope: "server", limit: 2 }, ["_default", "1a2b3c4d"]);
 * // "Cannot start another kernel: the server's limit of 2 live kernels is reached (maxKernels). ..."
 * ```
 */
export function kernelLimitMessage(
  facts: KernelLimitFacts,
  own: readonly string[] = [],
  options: KernelLimitMessageOptions = {},
): string {
  const render = options.renderHint ?? describeMcpHint;
  const option = facts.scope === "user" ? "maxKernelsPerUser" : "maxKernels";
  const name = render({ option, advice: "name" });
  const raise = render({ option, advice: "raise" });
  const head = facts.scope === "user"
    ? `Cannot start another kernel: ${
      facts.user === undefined ? "your" : `user ${facts.user}'s`
    } limit of ${facts.limit} live kernels per user is reached (${name})`
    : `Cannot start another kernel: the server's limit of ${facts.limit} live kernels is reached (${name})`;
  const shared = facts.reclaimAfterSeconds !== undefined;
  const held = shared
    ? facts.scope === "user"
      ? `; every one of them is running code or belongs to a client that made a call in the last ${facts.reclaimAfterSeconds} s`
      : `; every kernel is running code or belongs to a client that made a call in the last ${facts.reclaimAfterSeconds} s`
    : "";
  const jobs = options.jobs ?? new Map<string, string>();
  const free = own.filter((id) => !jobs.has(id));
  const reuse = free.length > 0
    ? ` Reuse one of your kernels instead: pass kernel_id ${
      namedList(free)
    } to python_exec (python_reset(kernel_id=...) clears one; python_status lists them).`
    : own.length > 0
    ? ` Each of your kernels is running a background job (${
      namedList(own.map((id) => jobs.get(id)!))
    }): wait for one with python_job(job_id=...), or stop it with python_interrupt(kernel_id=...) (variables are kept) and reuse its kernel.`
    : "";
  const wait = shared
    ? ` ${
      own.length > 0 ? "Or try" : "Try"
    } again later: kernels of clients idle for ${facts.reclaimAfterSeconds} s are shut down when a start needs their slots${
      facts.scope === "user"
        ? " (end your other sessions to free theirs now)"
        : ""
    }; or ask the server's operator to ${raise}.`
    : own.length > 0
    ? ""
    : ` Ask the server's operator to ${raise}.`;
  return `${head}${held}.${reuse}${wait}`;
}
