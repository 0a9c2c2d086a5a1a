import { eventsTable } from '#infra/definitions';
import { CommandError, flag, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { type DetailsLayout, details, json, quote, say, table, timeColumn, visible } from './format.ts';
import {
  type EventRecords,
  eventKeysStartingWith,
  eventQuery,
  getEventRecords,
  type Item,
  type KeyMatch,
  listEvents,
  providerFilter,
} from './store.ts';
import { resolveTarget } from './target.ts';

/**
 * `events show`'s order of an event-log record's attributes (written by `eventItem` and, for a
 * conflict, `seenBefore` in functions/adapters/dynamo-store.ts); any other attribute (`headers`,
 * `rawBody` with --body, one a later version adds) follows alphabetically. `expiresAt`, the table's
 * TTL, prints as the UTC time the record expires.
 */
export const eventLayout: DetailsLayout = {
  order: [
    // Identity
    'provider',
    'eventKey',
    'eventType',
    'accountId',
    'entityIds',
    // Status: the outcome and why
    'outcome',
    'reason',
    'issues',
    // Times
    'occurredAt',
    'receivedAt',
    'processedAt',
    'replayedAt',
    // Bookkeeping: the body's identity, conflicts, expiry, table key
    'fingerprint',
    'bodySha256',
    'conflictsWith',
    'conflicts',
    'expiresAt',
    'pk',
  ],
  ttl: eventsTable.timeToLiveAttribute,
};

function withoutBody(event: Item, keep: boolean): Item {
  if (keep) return event;
  const { rawBody: _rawBody, ...rest } = event;
  return rest;
}

/** The records of `events show`, in order: per provider the kept record, then its conflicts. */
export function showRecords(found: readonly EventRecords[]): Item[] {
  return found.flatMap(({ kept, conflicts }) => [...(kept ? [kept] : []), ...conflicts]);
}

/** `events show` for a person: each kept record, then the conflicting records of its key. */
export function showText(found: readonly EventRecords[], body = false): string {
  const parts: string[] = [];
  for (const { provider, eventKey, kept, conflicts } of found) {
    const key = `${provider} ${visible(eventKey)}`;
    if (kept) parts.push(details(withoutBody(kept, body), eventLayout));
    else parts.push(`no kept record of ${key} (expired or removed), only what conflicted with it:\n`);
    if (conflicts.length > 0) {
      parts.push(
        `${conflicts.length} conflicting record(s) of ${key}: the same event key with a different body, ` +
          'stored beside the kept record and not applied\n',
        ...conflicts.map((c) => details(withoutBody(c, body), eventLayout)),
      );
    }
  }
  return parts.join('\n');
}

export function eventRows(found: readonly Item[]): string {
  return table(found, [
    timeColumn('RECEIVED', (e) => e.receivedAt),
    { title: 'PROVIDER', value: (e) => e.provider as string },
    { title: 'TYPE', value: (e) => e.eventType as string, max: 28 },
    { title: 'OUTCOME', value: (e) => `${e.outcome as string}${e.replayedAt ? ' (replayed)' : ''}` },
    { title: 'EVENT KEY', value: (e) => e.eventKey as string, max: 36 },
    { title: 'JOB', value: (e) => (e.entityIds as Record<string, string> | undefined)?.job_id, max: 36 },
    { title: 'ISSUES', value: (e) => (e.issues as unknown[] | undefined)?.length },
  ]);
}

/** The shortest start of an event key `events show` looks up: shorter ones match too many keys. */
export const minPrefix = 8;
/** Candidates listed for an ambiguous prefix; the lookup stops once it has found more. */
const maxCandidates = 20;

/** Why a prefix is not enough, and the keys it starts (whole, so one can be copied). */
export function ambiguous(prefix: string, matches: readonly KeyMatch[]): string {
  const more = matches.length > maxCandidates;
  return (
    say`error: ${more ? `more than ${maxCandidates}` : matches.length} event keys start with ${quote(prefix)}: ` +
    'give more of the key, or --provider\n' +
    table(matches.slice(0, maxCandidates), [
      { title: 'PROVIDER', value: (m) => m.provider },
      { title: 'EVENT KEY', value: (m) => m.eventKey, max: 300 },
      timeColumn('RECEIVED', (m) => m.receivedAt),
      { title: 'OUTCOME', value: (m) => m.outcome as string },
    ]) +
    (more
      ? `(${maxCandidates} of them, newest first: the search stops once more than ${maxCandidates} match)\n`
      : '')
  );
}

/** `events [list]` and `events show <event key>`. */
export async function events(context: CommandContext): Promise<number> {
  const { values, positionals, io } = context;
  const [sub = 'list', ...rest] = positionals;
  const asJson = flag(values, 'json');
  const body = flag(values, 'body');

  if (sub === 'show') {
    const [key, extra] = rest;
    if (key === undefined)
      throw new UsageError(
        `events show needs an event key (see the EVENT KEY column of \`events\`; its first ${minPrefix} or more characters will do)`,
      );
    if (extra !== undefined)
      throw new UsageError(`events show takes one event key (got also ${quote(extra)})`);
    const providers = providerFilter(values);
    const target = resolveTarget(values, io.env);
    try {
      // Not a whole key: perhaps the start of one (`events` cuts long keys, e.g. Zenbooker's).
      const prefix = key.endsWith('…') ? key.slice(0, -1) : key;
      const searchable = [...prefix].length >= minPrefix;
      // A whole key is one GetItem per provider. When it misses, the index search for keys starting
      // with it also finds the conflicts of this very key (kept record expired): not read twice.
      let found = await getEventRecords(target, key, providers, !searchable);
      if (found.length === 0) {
        if (!searchable) {
          throw new CommandError(
            `no event ${quote(key)} in ${target.description} (to find an event by the start ` +
              `of its key, give at least ${minPrefix} characters)`,
          );
        }
        const matches = await eventKeysStartingWith(target, prefix, providers, maxCandidates);
        // The key itself, if only its conflicts are left, before the longer keys it starts.
        const exact = matches.filter((m) => m.eventKey === key);
        if (exact.length === 0 && matches.length > 1) {
          io.err(ambiguous(prefix, matches));
          return 1;
        }
        const chosen = exact.length > 0 ? exact : matches;
        found = (
          await Promise.all(chosen.map((m) => getEventRecords(target, m.eventKey, [m.provider])))
        ).flat();
        if (found.length === 0) {
          throw new CommandError(
            `no event ${quote(key)} in ${target.description}, and no event key starts with it`,
          );
        }
      }
      if (asJson) {
        const records = showRecords(found).map((e) => withoutBody(e, body));
        io.out(json(records.length === 1 ? records[0] : records));
      } else io.out(showText(found, body));
      return 0;
    } finally {
      target.close();
    }
  }
  if (sub !== 'list') throw new UsageError(`unknown events subcommand ${quote(sub)}: use list or show <key>`);
  if (rest.length > 0) throw new UsageError(`events list takes no arguments (got ${quote(rest[0])})`);
  // A list reads no bodies (the index holds none, a scan projects none): `--body` would be ignored.
  if (body) throw new UsageError('--body applies to `events show <event key>` (the list holds no bodies)');

  const query = eventQuery(values, 50);
  const target = resolveTarget(values, io.env);
  try {
    const { items: found, more } = await listEvents(target, query);
    if (asJson) {
      io.out(json(found.map((e) => withoutBody(e, body))));
      return 0;
    }
    if (found.length === 0) {
      io.out(say`no events match in ${target.description}\n`);
      return 0;
    }
    io.out(eventRows(found));
    if (more) io.out(`(first ${query.limit}; --limit shows more)\n`);
    return 0;
  } finally {
    target.close();
  }
}
