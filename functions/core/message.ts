import * as v from 'valibot';

/** One validation problem, safe to return to a provider and to store: a path and what was expected. */
export const Issue = v.object({ path: v.string(), message: v.string() });
export type Issue = v.InferOutput<typeof Issue>;

/**
 * What the ingest function puts on the queue and the consumer takes off it. The raw body travels
 * base64-encoded so the bytes that were authenticated are the bytes that are stored.
 */
export const QueueMessage = v.object({
  v: v.literal(1),
  provider: v.pipe(v.string(), v.nonEmpty()),
  eventKey: v.pipe(v.string(), v.nonEmpty()),
  eventType: v.string(),
  /** ISO 8601 UTC, when the ingest function accepted the delivery. */
  receivedAt: v.pipe(v.string(), v.isoTimestamp()),
  bodyBase64: v.string(),
  /** Non-secret request headers, lower-cased. */
  headers: v.record(v.string(), v.string()),
  /** Present when the body failed the provider schema: the event is recorded as quarantined. */
  issues: v.optional(v.array(Issue)),
  /** Set by `replay`: skips the dedupe marker but still respects job ordering. */
  replay: v.optional(v.boolean()),
});
export type QueueMessage = v.InferOutput<typeof QueueMessage>;

/** Port: durable hand-off from ingest to consumer. Resolves only once the message is stored. */
export interface Queue {
  send(message: QueueMessage): Promise<void>;
}
