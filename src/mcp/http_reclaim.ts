/**
 * Kernel slots shared by the users of the HTTP service: which limit
 * refused a start (the user's share or the server's), and freeing slots at
 * the limit by shutting down the kernels of clients that went away.
 *
 * @module
 */

import type { Logger } from "../kernel/mod.ts";
import type { KernelLimitFacts } from "./limit_refusal.ts";
import type { Session, SessionRegistry } from "./http_sessions.ts";
import type { StatelessSpace } from "./http_stateless.ts";
import { evictedMessage, type McpNamespace } from "./server.ts";

/** Default idle time after which a client counts as gone: 60 s. */
export const DEFAULT_RECLAIM_AFTER_MS = 60_000;

/** A count of kernel slots against a limit (a `KernelSlots`). */
export interface SlotCount {
  /** Most slots held at once. */
  readonly limit: number;
  /** Slots held now. */
  readonly used: number;
}

/** Inputs of {@linkcode limitFacts}. */
export interface LimitFactsInput {
  /** The user whose start was refused. */
  user: string;
  /** The registry that refused it. */
  registry: SessionRegistry;
  /** The user's share and the server's slots, when the owner counts them. */
  slots?: { user: SlotCount; server: SlotCount };
  /** Idle milliseconds after which a client's kernels may be reclaimed. */
  reclaimAfterMs: number;
  /** Whether the refusal names the user (several users are served). */
  nameUser: boolean;
}

/**
 * The limit that refused a start of a user's: their share when it is full
 * and smaller than the server's limit, else the server's.
 *
 * @param input The user, registry, slots and reclaim time.
 * @returns The facts the refusal is worded from.
 */
export function limitFacts(input: LimitFactsInput): KernelLimitFacts {
  const { slots, user } = input;
  const reclaimAfterSeconds = Math.round(input.reclaimAfterMs / 1000);
  if (
    slots && slots.user.limit < slots.server.limit &&
    slots.user.used >= slots.user.limit
  ) {
    return {
      scope: "user",
      limit: slots.user.limit,
      ...(input.nameUser ? { user } : {}),
      reclaimAfterSeconds,
    };
  }
  return {
    scope: "server",
    limit: slots?.server.limit ?? input.registry.maxKernels,
    reclaimAfterSeconds,
  };
}

/** Kernels that may be shut down to free their slots. */
interface Reclaimable {
  /** Their user. */
  user: string;
  /** When a call last used them (ms since the epoch). */
  lastUsed: number;
  /** Who holds them, for the log. */
  owner: string;
  registry: SessionRegistry;
  namespace: McpNamespace;
  ids: string[];
}

/** Where {@linkcode reclaimSlots} looks for kernels to free. */
export interface ReclaimScope {
  /** The open 2025-era sessions. */
  sessions: Iterable<Session>;
  /** Each user's stateless (2026) space. */
  stateless: Iterable<[string, StatelessSpace]>;
  /** Idle milliseconds after which a client counts as gone. */
  idleMs: number;
  /** Where the shutdown is reported. */
  logger: Logger;
}

/** The kernels of a session whose client went away, or none. */
function abandonedSession(
  session: Session,
  now: number,
  idleMs: number,
): Reclaimable | undefined {
  if (
    session.ended || session.inflight.size > 0 ||
    now - session.lastSeen < idleMs ||
    session.registry.list().length === 0 ||
    session.namespace.tasks.busy() ||
    session.namespace.context.jobs.list().some((job) =>
      job.status === "running"
    )
  ) {
    return undefined;
  }
  return {
    user: session.user,
    lastUsed: session.lastSeen,
    owner: `session ${session.id}`,
    registry: session.registry,
    namespace: session.namespace,
    ids: session.registry.list().map((kernel) => kernel.id),
  };
}

/** The kernels of a stateless space no call named for the idle time. */
function unusedStateless(
  owner: string,
  space: StatelessSpace,
  now: number,
  idleMs: number,
): Reclaimable[] {
  const { context } = space.namespace;
  const found: Reclaimable[] = [];
  for (const { id } of space.registry.list()) {
    const lastUsed = context.lastCall.get(id) ?? 0;
    if (now - lastUsed < idleMs || context.jobs.runningOn(id)) continue;
    let busy = true;
    try {
      busy = space.registry.get(id).busy;
    } catch {
      // Gone meanwhile: nothing to free.
    }
    if (busy) continue;
    found.push({
      user: owner,
      lastUsed,
      owner: `the stateless requests of ${owner}`,
      registry: space.registry,
      namespace: space.namespace,
      ids: [id],
    });
  }
  return found;
}

/**
 * Frees kernel slots at the limit, least recently used first, the asking
 * user's own first: the kernels of a session whose client went away
 * (idle for the reclaim time, nothing in flight, no running job or
 * task), or one kernel of a user's stateless (2026) namespace that no
 * call named for the reclaim time and that runs no code and no job. Its
 * owner is told on the next call to such a kernel.
 *
 * @param user The user whose kernel start hit the limit.
 * @param scope The sessions and stateless spaces, idle time, logger.
 * @returns True when kernels were shut down.
 */
export async function reclaimSlots(
  user: string,
  scope: ReclaimScope,
): Promise<boolean> {
  const { idleMs } = scope;
  const now = Date.now();
  const candidates: Reclaimable[] = [];
  for (const session of scope.sessions) {
    const found = abandonedSession(session, now, idleMs);
    if (found) candidates.push(found);
  }
  for (const [owner, space] of scope.stateless) {
    candidates.push(...unusedStateless(owner, space, now, idleMs));
  }
  candidates.sort((a, b) =>
    Number(b.user === user) - Number(a.user === user) ||
    a.lastUsed - b.lastUsed
  );
  const victim = candidates[0];
  if (!victim) return false;
  for (const id of victim.ids) {
    victim.namespace.evicted.set(id, evictedMessage(id));
    victim.namespace.context.lastCall.delete(id);
    await victim.registry.shutdown(id).catch(() => {});
  }
  scope.logger.info(
    `Shut down kernels ${victim.ids.join(", ")} of ${victim.owner} (idle ${
      Math.round((now - victim.lastUsed) / 1000)
    } s) to free slots for ${user}`,
  );
  return true;
}
