import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { eventsTable } from '#infra/definitions';

/**
 * The dedupe markers a benchmark wrote, checked once the runs are over: every event-log record
 * must still be there, and none may be past its `expiresAt` (DynamoDB Local deletes expired items
 * as DynamoDB does, which would turn a benchmark's "new" events into lost markers and its
 * duplicates into re-applied events).
 */

export interface MarkerCheck {
  tables: number;
  written: number;
  present: number;
  missing: number;
  /** Present, but with `expiresAt` already past: DynamoDB's time-to-live may delete them any time. */
  expired: number;
  /** The soonest `expiresAt` among the markers, in days from the check. */
  soonestExpiryDays: number;
  /** A few missing keys, `table pk`, to look into. */
  missingSample: string[];
}

export class MarkerLog {
  private readonly written = new Map<string, Set<string>>();

  /** Notes that `keys` (event-log `pk`s) were written to `table`. */
  add(table: string, keys: Iterable<string>): void {
    const set = this.written.get(table) ?? new Set<string>();
    for (const key of keys) set.add(key);
    this.written.set(table, set);
  }

  /** Reads every noted key back (consistent reads) and counts what is missing or expired. */
  async verify(client: DynamoDBClient): Promise<MarkerCheck> {
    const pk = eventsTable.partitionKey.name;
    const ttl = eventsTable.timeToLiveAttribute;
    const now = Date.now() / 1000;
    const check: MarkerCheck = {
      tables: this.written.size,
      written: 0,
      present: 0,
      missing: 0,
      expired: 0,
      soonestExpiryDays: Number.POSITIVE_INFINITY,
      missingSample: [],
    };
    for (const [table, keys] of this.written) {
      check.written += keys.size;
      const found = new Set<string>();
      const all = [...keys];
      for (let i = 0; i < all.length; i += 100) {
        let request: Record<string, { Keys: Array<Record<string, { S: string }>> }> | undefined = {
          [table]: { Keys: all.slice(i, i + 100).map((key) => ({ [pk]: { S: key } })) },
        };
        while (request && Object.keys(request).length > 0) {
          const response = await client.send(
            new BatchGetItemCommand({
              RequestItems: Object.fromEntries(
                Object.entries(request).map(([name, r]) => [
                  name,
                  {
                    ...r,
                    ConsistentRead: true,
                    ProjectionExpression: '#pk, #ttl',
                    ExpressionAttributeNames: { '#pk': pk, '#ttl': ttl },
                  },
                ]),
              ),
            }),
          );
          for (const item of response.Responses?.[table] ?? []) {
            const key = item[pk]?.S;
            if (key === undefined) continue;
            found.add(key);
            const expiresAt = Number(item[ttl]?.N ?? Number.POSITIVE_INFINITY);
            if (expiresAt <= now) check.expired += 1;
            check.soonestExpiryDays = Math.min(check.soonestExpiryDays, (expiresAt - now) / 86_400);
          }
          request = response.UnprocessedKeys as typeof request;
        }
      }
      for (const key of keys) {
        if (found.has(key)) continue;
        check.missing += 1;
        if (check.missingSample.length < 5) check.missingSample.push(`${table} ${key}`);
      }
      check.present += found.size;
    }
    check.soonestExpiryDays = Math.round(check.soonestExpiryDays * 100) / 100;
    return check;
  }
}
