/**
 * A bounded in-memory event store for Streamable HTTP resumability: a
 * client whose SSE stream dropped reconnects with `Last-Event-ID` and gets
 * the messages it missed. The SDK's example store keeps every event for
 * ever; this one keeps at most `maxEvents` events and `maxBytes` of JSON per
 * session, dropping the oldest first.
 *
 * @module
 */

import type {
  EventId,
  EventStore,
  JSONRPCMessage,
  StreamId,
} from "@modelcontextprotocol/server";

/** Limits of one {@linkcode BoundedEventStore}. */
export interface EventStoreLimits {
  /** Most events kept (default 500). */
  maxEvents?: number;
  /** Most bytes of serialized messages kept (default 4 MiB). */
  maxBytes?: number;
}

interface StoredEvent {
  seq: number;
  streamId: StreamId;
  message: JSONRPCMessage;
  bytes: number;
}

/** Streams whose dropped-events mark is remembered (oldest forgotten first). */
const MAX_TRUNCATED_STREAMS = 1_000;

/**
 * Keeps the most recent events of one session within a count and a byte
 * limit. Event ids are `<streamId>_<sequence>`. A resume from an event
 * whose successors on the same stream were already dropped fails (the SDK
 * answers 500) rather than silently skipping messages.
 *
 * @example One store per session
 * ```ts
 * import { BoundedEventStore } from "./http_events.ts";
 * const store = new BoundedEventStore({ maxEvents: 100, maxBytes: 1 << 20 });
 * const id = await store.storeEvent("s1", { jsonrpc: "2.0", method: "ping", id: 1 });
 * await store.replayEventsAfter(id, { send: async () => {} });
 * ```
 */
export class BoundedEventStore implements EventStore {
  /** Most events kept. */
  readonly maxEvents: number;
  /** Most bytes kept. */
  readonly maxBytes: number;
  #events: StoredEvent[] = [];
  #head = 0;
  #seq = 0;
  #bytes = 0;
  /** Per stream, the highest sequence number dropped by the limits. */
  #dropped = new Map<StreamId, number>();

  /** @param limits Event and byte limits. */
  constructor(limits: EventStoreLimits = {}) {
    this.maxEvents = limits.maxEvents ?? 500;
    this.maxBytes = limits.maxBytes ?? 4 * 1024 * 1024;
    const checked = { maxEvents: this.maxEvents, maxBytes: this.maxBytes };
    for (const [name, value] of Object.entries(checked)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot create an event store: ${name} must be a positive integer, got ${value}`,
        );
      }
    }
  }

  /** Events kept now. */
  get size(): number {
    return this.#events.length - this.#head;
  }

  /** Bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stores one outgoing message and drops the oldest events over the limits.
   *
   * @param streamId The SSE stream it was sent on.
   * @param message The message.
   * @returns Its event id.
   */
  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const seq = ++this.#seq;
    const bytes = JSON.stringify(message).length;
    this.#events.push({ seq, streamId, message, bytes });
    this.#bytes += bytes;
    while (this.size > this.maxEvents || this.#bytes > this.maxBytes) {
      this.#dropOldest();
    }
    return Promise.resolve(`${streamId}_${seq}`);
  }

  /**
   * The stream an event id belongs to.
   *
   * @param eventId An id from {@linkcode storeEvent}.
   * @returns The stream id, or undefined for an id this store never made.
   */
  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const parsed = parseEventId(eventId);
    return Promise.resolve(
      parsed && parsed.seq <= this.#seq ? parsed.streamId : undefined,
    );
  }

  /**
   * Sends the events of the same stream that came after `lastEventId`.
   *
   * @param lastEventId The last event the client received.
   * @param sink Where to send each event.
   * @returns The stream id.
   * @throws {Error} When the id is unknown or events after it were dropped.
   */
  async replayEventsAfter(
    lastEventId: EventId,
    { send }: {
      send: (eventId: EventId, message: JSONRPCMessage) => Promise<void>;
    },
  ): Promise<StreamId> {
    const parsed = parseEventId(lastEventId);
    if (!parsed || parsed.seq > this.#seq) {
      throw new Error(`Cannot resume: unknown event id "${lastEventId}"`);
    }
    const { streamId, seq } = parsed;
    if ((this.#dropped.get(streamId) ?? 0) > seq) {
      throw new Error(
        `Cannot resume after event "${lastEventId}": later events of the stream were dropped (event store limit)`,
      );
    }
    const later = this.#events.slice(this.#head).filter((event) =>
      event.streamId === streamId && event.seq > seq
    );
    for (const event of later) {
      // The SDK's priming events carry an empty message: nothing to replay.
      if (Object.keys(event.message).length === 0) continue;
      await send(`${streamId}_${event.seq}`, event.message);
    }
    return streamId;
  }

  #dropOldest(): void {
    const event = this.#events[this.#head];
    if (!event) return;
    this.#head++;
    this.#bytes -= event.bytes;
    this.#dropped.delete(event.streamId);
    this.#dropped.set(event.streamId, event.seq);
    if (this.#dropped.size > MAX_TRUNCATED_STREAMS) {
      const oldest = this.#dropped.keys().next().value;
      if (oldest !== undefined) this.#dropped.delete(oldest);
    }
    // Compact now and then so the array does not grow with the head.
    if (this.#head >= 1_024 && this.#head * 2 >= this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
  }
}

function parseEventId(
  eventId: EventId,
): { streamId: StreamId; seq: number } | undefined {
  const at = eventId.lastIndexOf("_");
  if (at <= 0) return undefined;
  const seq = Number(eventId.slice(at + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  return { streamId: eventId.slice(0, at), seq };
}
