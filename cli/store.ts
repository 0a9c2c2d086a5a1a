import {
  BatchGetCommand,
  GetCommand,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { accountKey, conflictPk, eventPk, jobPk } from '#adapters/dynamo-store';
import { indexedOutcomes, readableEvent } from '#core/records';
import { eventsTable } from '#infra/definitions';
import { providers } from '#providers/index';
import { integer, oneOf, str, time, UsageError, type Values } from './args.ts';
import type { Target } from './target.ts';

/**
 * Reads of the two tables for `jobs`, `events` and `replay`, through the same key helpers and
 * indexes the consumer writes with (`infra/definitions.ts`).
 */

export type Item = Record<string, unknown>;

export const providerNames = [...providers.keys()];
/**
 * Every outcome the consumer records. `conflict`: a second, different body under an event key that
 * already has a record; stored as its own item beside the kept one (`isConflictRecord`).
 * `unprocessable`: the store refused the event for good; its `reason` says why.
 */
export const outcomes = ['applied', 'stale', 'recorded', 'quarantined', 'conflict', 'unprocessable'] as const;

export function providerFilter(values: Values): string[] {
  const one = oneOf(values, 'provider', providerNames);
  return one ? [one] : providerNames;
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

export interface JobQuery {
  providers: string[];
  account: string | undefined;
  status: string | undefined;
  limit: number;
}

export function jobQuery(values: Values): JobQuery {
  return {
    providers: providerFilter(values),
    account: str(values, 'account'),
    status: str(values, 'status'),
    limit: integer(values, 'limit', 20, { min: 1, max: 10_000 }),
  };
}

const byUpdatedDesc = (a: Item, b: Item) =>
  String(b.updatedAt ?? '').localeCompare(String(a.updatedAt ?? ''));

/** A page of a list: at most the limit asked for, and whether more matched. */
export interface Listing {
  items: Item[];
  /** True when more than `limit` matched: the list was cut (`--limit` shows more). */
  more: boolean;
}

/** The first `limit` of `sorted`, and whether there were more. */
function listing(sorted: Item[], limit: number): Listing {
  return { items: sorted.slice(0, limit), more: sorted.length > limit };
}

/**
 * Per account: the keys from the `byAccount` index (KEYS_ONLY, see `infra/definitions.ts`), then the
 * items themselves. Otherwise a scan. Either way newest change first.
 */
export async function listJobs(target: Target, query: JobQuery): Promise<Listing> {
  const filter: Filter = query.status === undefined ? {} : statusFilter(query.status);
  const found: Item[] = [];
  if (query.account !== undefined) {
    const keys: Array<{ pk: string }> = [];
    for (const provider of query.providers) {
      const pages = paginateQuery(
        { client: target.doc, pageSize: 100 },
        {
          TableName: target.jobsTable(),
          IndexName: 'byAccount',
          KeyConditionExpression: 'accountKey = :key',
          ExpressionAttributeValues: { ':key': accountKey(provider, query.account) },
          ScanIndexForward: false,
        },
      );
      for await (const page of pages)
        keys.push(...(page.Items ?? []).map((item) => ({ pk: String(item.pk) })));
    }
    const items = await batchGet(target, target.jobsTable(), keys);
    found.push(...items.filter((item) => query.status === undefined || item.status === query.status));
  } else {
    const providerClause = query.providers.length === 1 ? 'provider = :provider' : undefined;
    const expression = [providerClause, filter.expression].filter(Boolean).join(' AND ');
    const pages = paginateScan(
      { client: target.doc },
      {
        TableName: target.jobsTable(),
        ...(expression
          ? {
              FilterExpression: expression,
              ExpressionAttributeValues: {
                ...(providerClause ? { ':provider': query.providers[0] } : {}),
                ...filter.values,
              },
              ...(filter.names ? { ExpressionAttributeNames: filter.names } : {}),
            }
          : {}),
      },
    );
    for await (const page of pages) found.push(...(page.Items ?? []));
  }
  return listing(found.sort(byUpdatedDesc), query.limit);
}

interface Filter {
  expression?: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

/** Reads items by key, 100 per request, retrying what DynamoDB leaves unprocessed. */
async function batchGet(target: Target, table: string, keys: Array<{ pk: string }>): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Array<Record<string, unknown>> = keys.slice(i, i + 100);
    for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
      const out = await target.doc.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending } } }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      pending = out.UnprocessedKeys?.[table]?.Keys ?? [];
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
    if (pending.length > 0) throw new Error(`${pending.length} item(s) could not be read; try again`);
  }
  return items;
}

function statusFilter(status: string): Filter {
  return { expression: '#status = :status', names: { '#status': 'status' }, values: { ':status': status } };
}

/** Every provider's job with this id (ids are per provider, so there may be more than one). */
export async function getJobs(target: Target, jobId: string, providerList: string[]): Promise<Item[]> {
  const found = await Promise.all(
    providerList.map(async (provider) => {
      const out = await target.doc.send(
        new GetCommand({
          TableName: target.jobsTable(),
          Key: { pk: jobPk(provider, jobId) },
          ConsistentRead: true,
        }),
      );
      return out.Item;
    }),
  );
  return found.filter((item): item is Item => item !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export interface EventFilter {
  providers: string[];
  type: string | undefined;
  outcome: (typeof outcomes)[number] | undefined;
  since: string | undefined;
  until: string | undefined;
  job: string | undefined;
  account: string | undefined;
  /**
   * Replayed at or after (`events --replayed-since`). A replay keeps the event's receive time, so
   * `since` does not find one; the consumer sets `replayedAt` when it processes the replay.
   */
  replayedSince?: string | undefined;
}

export interface EventQuery extends EventFilter {
  limit: number;
}

export function eventFilter(values: Values): EventFilter {
  const filter: EventFilter = {
    providers: providerFilter(values),
    type: str(values, 'type'),
    outcome: oneOf(values, 'outcome', outcomes),
    since: time(values, 'since'),
    until: time(values, 'until'),
    job: str(values, 'job'),
    account: str(values, 'account'),
    replayedSince: time(values, 'replayed-since'),
  };
  if (filter.since && filter.until && filter.since > filter.until) {
    throw new UsageError(`--since (${filter.since}) is after --until (${filter.until})`);
  }
  return filter;
}

export function eventQuery(values: Values, defaultLimit: number): EventQuery {
  return {
    ...eventFilter(values),
    limit: integer(values, 'limit', defaultLimit, { min: 1, max: 100_000 }),
  };
}

export function hasEventFilter(query: EventFilter, values: Values): boolean {
  return (
    values.provider !== undefined ||
    [query.type, query.outcome, query.since, query.until, query.job, query.account].some(
      (v) => v !== undefined,
    )
  );
}

/** The attributes a listing reads: the `byProvider` index's, so both paths give the same items. */
const listedAttributes = [
  'pk',
  'provider',
  'receivedAt',
  ...eventsTable.globalSecondaryIndexes[0].nonKeyAttributes,
];

/**
 * Whether the filter can be answered from the `byProvider` index: only records of an outcome in
 * `indexedOutcomes` (quarantined, unprocessable, conflict) are in it; anything else is a Scan.
 */
export function readsIndex(filter: EventFilter): boolean {
  return filter.outcome !== undefined && indexedOutcomes.has(filter.outcome);
}

/** The filter's conditions on the listed attributes, with the names and values they use. */
function eventConditions(query: EventFilter) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  const add = (attribute: string, path: string, value: string | undefined) => {
    if (value === undefined) return;
    const placeholder = `:${attribute}`;
    filters.push(`${path} = ${placeholder}`);
    values[placeholder] = value;
  };
  add('eventType', 'eventType', query.type);
  add('outcome', '#outcome', query.outcome);
  add('job', 'entityIds.job_id', query.job);
  add('account', 'accountId', query.account);
  if (query.outcome !== undefined) names['#outcome'] = 'outcome';
  if (query.replayedSince !== undefined) {
    filters.push('replayedAt >= :replayedSince');
    values[':replayedSince'] = query.replayedSince;
  }
  let range: string | undefined;
  if (query.since && query.until) range = '#receivedAt BETWEEN :since AND :until';
  else if (query.since) range = '#receivedAt >= :since';
  else if (query.until) range = '#receivedAt <= :until';
  if (query.since) values[':since'] = query.since;
  if (query.until) values[':until'] = query.until;
  if (range) names['#receivedAt'] = 'receivedAt';
  return { names, values, filters, range };
}

/** One query of the `byProvider` index (provider, receivedAt) per provider; the rest is filtered. */
function eventIndexQueries(target: Target, query: EventFilter): QueryCommandInput[] {
  const { names, values, filters, range } = eventConditions(query);
  return query.providers.map((provider) => ({
    TableName: target.eventsTable(),
    IndexName: 'byProvider',
    KeyConditionExpression: `#provider = :provider${range ? ` AND ${range}` : ''}`,
    ExpressionAttributeNames: { ...names, '#provider': 'provider' },
    ExpressionAttributeValues: { ...values, ':provider': provider },
    ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
  }));
}

/**
 * A Scan of the event log for a filter the index cannot answer, reading only the listed
 * attributes. It reads every record in full (read units count the whole item, bodies included):
 * about 1 read unit per 8 KB of the table, so a month of 20,000 events (≈ 40 MB) is ≈ 5,000 units,
 * a tenth of a cent on demand, and a few seconds; a table of millions of events takes minutes.
 */
function eventScan(target: Target, query: EventFilter): ScanCommandInput {
  const { names, values, filters, range } = eventConditions(query);
  const projected: Record<string, string> = {};
  listedAttributes.forEach((attribute, i) => {
    projected[`#l${i}`] = attribute;
  });
  const providerConditions = query.providers.map((provider, i) => {
    values[`:p${i}`] = eventPk(provider, '');
    return `begins_with(pk, :p${i})`;
  });
  const conditions = [`(${providerConditions.join(' OR ')})`, ...(range ? [range] : []), ...filters];
  return {
    TableName: target.eventsTable(),
    ProjectionExpression: Object.keys(projected).join(', '),
    FilterExpression: conditions.join(' AND '),
    ExpressionAttributeNames: { ...names, ...projected },
    ExpressionAttributeValues: values,
  };
}

const byReceivedAt = (a: Item, b: Item) =>
  String(a.receivedAt ?? '').localeCompare(String(b.receivedAt ?? ''));

/**
 * The records the scan for `filter` finds, as listed (`readableEvent`): all of them, or with
 * `newest`, only the newest that many (by receive time), so a listing holds at most `newest`
 * records in memory however large the table (the scan still reads all of it).
 */
async function scanEvents(target: Target, filter: EventFilter, newest?: number): Promise<Item[]> {
  const found: Item[] = [];
  for await (const page of paginateScan({ client: target.doc, pageSize: 1000 }, eventScan(target, filter))) {
    for (const item of page.Items ?? []) found.push(readableEvent(item));
    if (newest !== undefined && found.length > 2 * newest + 1000) {
      found.sort((a, b) => byReceivedAt(b, a));
      found.length = newest;
    }
  }
  return found;
}

/**
 * The newest `query.limit` matches, newest first, and whether more matched. From the index, each
 * provider's query reads one more than the limit (`limit + 1`), so "more" is said only when there
 * are; a Scan reads everything and keeps the newest `limit + 1`.
 */
export async function listEvents(target: Target, query: EventQuery): Promise<Listing> {
  if (!readsIndex(query))
    return listing(
      (await scanEvents(target, query, query.limit + 1)).sort((a, b) => byReceivedAt(b, a)),
      query.limit,
    );
  const found: Item[] = [];
  for (const input of eventIndexQueries(target, query)) {
    let taken = 0;
    const pages = paginateQuery({ client: target.doc, pageSize: 100 }, { ...input, ScanIndexForward: false });
    for await (const page of pages) {
      const items = page.Items ?? [];
      found.push(...items.map(readableEvent));
      taken += items.length;
      if (taken > query.limit) break;
    }
  }
  return listing(
    found.sort((a, b) => byReceivedAt(b, a)),
    query.limit,
  );
}

/**
 * Every match, oldest first, without bodies (`getEvents` reads those), so even a long list stays
 * small: from the index when the filter allows (`readsIndex`), else from a Scan.
 */
export async function allEvents(target: Target, filter: EventFilter): Promise<Item[]> {
  if (!readsIndex(filter)) return (await scanEvents(target, filter)).sort(byReceivedAt);
  const found: Item[] = [];
  for (const input of eventIndexQueries(target, filter)) {
    for await (const page of paginateQuery({ client: target.doc, pageSize: 1000 }, input))
      found.push(...(page.Items ?? []).map(readableEvent));
  }
  return found.sort(byReceivedAt);
}

export async function getEvents(target: Target, eventKey: string, providerList: string[]): Promise<Item[]> {
  const found = await Promise.all(
    providerList.map(async (provider) => {
      const out = await target.doc.send(
        new GetCommand({
          TableName: target.eventsTable(),
          Key: { pk: eventPk(provider, eventKey) },
          ConsistentRead: true,
        }),
      );
      return out.Item && readableEvent(out.Item);
    }),
  );
  return found.filter((item): item is Item => item !== undefined);
}

/** An event key found from its start (`events show <prefix>`). */
export interface KeyMatch {
  provider: string;
  eventKey: string;
  receivedAt: string | undefined;
  outcome: unknown;
}

/**
 * A provider's whole partition of the `byProvider` index, page by page, filtered by `filter`
 * (an expression over the projected attributes, with its `values`). The filter saves transfer,
 * not reads: every item of the partition is read.
 */
function providerIndexPages(
  target: Target,
  provider: string,
  filter: string,
  values: Record<string, unknown>,
  options: { newestFirst?: boolean } = {},
) {
  return paginateQuery(
    { client: target.doc, pageSize: 1000 },
    {
      TableName: target.eventsTable(),
      IndexName: 'byProvider',
      KeyConditionExpression: '#provider = :provider',
      FilterExpression: filter,
      ExpressionAttributeNames: { '#provider': 'provider' },
      ExpressionAttributeValues: { ':provider': provider, ...values },
      ...(options.newestFirst ? { ScanIndexForward: false } : {}),
    },
  );
}

/**
 * The distinct event keys starting with `prefix`, per provider, newest first; the search stops
 * once it has more than `max` (the prefix is then ambiguous whatever else matches).
 *
 * Called only when the text is not a whole key (that is one GetItem). A prefix cannot be a key
 * lookup: the table's hash key is `<provider>#<event key>`, and DynamoDB matches a hash key only
 * by equality (`begins_with` in a key condition applies to sort keys only), and the `byProvider`
 * index holds only the records that need attention (`indexedOutcomes`). So a Scan filtered on
 * `begins_with(pk, "<provider>#<prefix>")`, which reads the whole table (see `eventScan` for what
 * that costs) unless it has found more than `max` keys.
 */
export async function eventKeysStartingWith(
  target: Target,
  prefix: string,
  providerList: string[],
  max: number,
): Promise<KeyMatch[]> {
  const found = new Map<string, KeyMatch>();
  const values: Record<string, unknown> = {};
  const conditions = providerList.map((provider, i) => {
    values[`:p${i}`] = eventPk(provider, prefix);
    return `begins_with(pk, :p${i})`;
  });
  const pages = paginateScan(
    { client: target.doc, pageSize: 1000 },
    {
      TableName: target.eventsTable(),
      ProjectionExpression: 'pk, eventKey, receivedAt, outcome',
      FilterExpression: conditions.join(' OR '),
      ExpressionAttributeValues: values,
    },
  );
  for await (const page of pages) {
    for (const listed of page.Items ?? []) {
      const item = readableEvent(listed);
      if (typeof item.eventKey !== 'string' || typeof item.provider !== 'string') continue;
      // A key's conflict records carry its event key too: one candidate per key.
      const id = eventPk(item.provider, item.eventKey);
      const known = found.get(id);
      // The key's own record rather than a conflict, when both are listed.
      if (known && isConflictRecord(item)) continue;
      found.set(id, {
        provider: item.provider,
        eventKey: item.eventKey,
        receivedAt: typeof item.receivedAt === 'string' ? item.receivedAt : undefined,
        outcome: item.outcome,
      });
    }
    if (found.size > max) break;
  }
  return [...found.values()].sort((a, b) =>
    String(b.receivedAt ?? '').localeCompare(String(a.receivedAt ?? '')),
  );
}

/** The record stored under this item key (`pk`), e.g. one listed from the `byProvider` index. */
export async function getEventItem(target: Target, pk: string): Promise<Item | undefined> {
  const out = await target.doc.send(
    new GetCommand({ TableName: target.eventsTable(), Key: { pk }, ConsistentRead: true }),
  );
  return out.Item && readableEvent(out.Item);
}

/**
 * A conflict: a second, different body under an event key that already had a record, stored as
 * its own item, `<provider>#<event key>#conflict#<fingerprint>`, beside the record that was kept.
 * Told by its outcome, and by its item key when a listing has one (the index always carries it).
 */
export function isConflictRecord(item: Item): boolean {
  if (item.outcome === 'conflict') return true;
  const { pk, provider, eventKey } = item;
  return (
    typeof pk === 'string' &&
    typeof provider === 'string' &&
    typeof eventKey === 'string' &&
    pk.startsWith(`${eventPk(provider, eventKey)}#conflict#`)
  );
}

/** One provider's records of an event key: the kept record (if still stored), then its conflicts. */
export interface EventRecords {
  provider: string;
  eventKey: string;
  kept: Item | undefined;
  /** Every other item of the key (the conflicts), oldest first. */
  conflicts: Item[];
}

/**
 * Everything stored under an event key, per provider. The kept record is one consistent GetItem.
 * Its conflicts live under their own item keys, and `pk` is the table's hash key, so no key
 * condition can find them by prefix; what can:
 *  - a Scan filtered on the event key reads the whole table, raw bodies included (up to 300 KiB an
 *    item);
 *  - a Query of the `byProvider` index (partition = provider) filtered on the event key reads only
 *    that provider's index items, which carry no bodies (`infra/definitions.ts`); every conflict
 *    record is in it (`indexedOutcomes`), and the index holds only records that need attention, a
 *    small fraction of the Scan's read units.
 * So the index, then the few matches read in full by their `pk` (the index always carries the
 * table key). The filter still reads the provider's whole index partition: no receive-time bound is
 * safe, since a conflicting delivery may have been received before or long after the kept one
 * (SQS order, DLQ redrive). The index is eventually consistent: a conflict recorded a moment ago
 * may show a moment later.
 */
export async function getEventRecords(
  target: Target,
  eventKey: string,
  providerList: string[],
  /**
   * Whether to look in the index for the conflicts of a key whose kept record is gone. `false` when
   * the caller reads the index anyway (`events show` searching for keys that start with this one
   * finds them too): one index read rather than two.
   */
  orphans = true,
): Promise<EventRecords[]> {
  const found = await Promise.all(
    providerList.map(async (provider): Promise<EventRecords> => {
      const pk = eventPk(provider, eventKey);
      const kept = await getEventItem(target, pk);
      // The kept record lists its conflicts' fingerprints (`conflicts`, a string set): one read
      // each. Only when it is gone (expired) are they looked for in the provider's index.
      const conflictKeys =
        kept === undefined
          ? orphans
            ? await conflictKeysOf(target, provider, eventKey, pk)
            : []
          : [...((kept.conflicts as Set<string> | undefined) ?? [])].map((fingerprint) => ({
              pk: conflictPk(provider, eventKey, fingerprint),
            }));
      const conflicts = (await batchGet(target, target.eventsTable(), conflictKeys))
        .map(readableEvent)
        .sort(byReceivedAt);
      return { provider, eventKey, kept, conflicts };
    }),
  );
  return found.filter((records) => records.kept !== undefined || records.conflicts.length > 0);
}

async function conflictKeysOf(
  target: Target,
  provider: string,
  eventKey: string,
  pk: string,
): Promise<Array<{ pk: string }>> {
  const keys: Array<{ pk: string }> = [];
  // Every item of this key but its own record: whatever suffix the conflict keys carry.
  const pages = providerIndexPages(target, provider, 'eventKey = :eventKey AND pk <> :pk', {
    ':eventKey': eventKey,
    ':pk': pk,
  });
  for await (const page of pages) {
    for (const item of page.Items ?? []) if (typeof item.pk === 'string') keys.push({ pk: item.pk });
  }
  return keys;
}
