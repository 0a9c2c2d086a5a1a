import { CommandError, flag, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { details, json, shortTime, table, visible } from './format.ts';
import {
  type EventRecords,
  eventQuery,
  getEventRecords,
  type Item,
  listEvents,
  providerFilter,
} from './store.ts';
import { resolveTarget } from './target.ts';

function withoutBody(event: Item, keep: boolean): Item {
  if (keep) return event;
  const { rawBody: _rawBody, ...rest } = event;
  return rest;
}

/** Fields a record may carry that are text from outside (a store error's message, a digest). */
const untrustedFields = ['reason', 'fingerprint', 'conflictsWith'] as const;

/** A record for `details`, its `reason`, `fingerprint` and `conflictsWith` escaped with `visible`. */
export function printable(event: Item): Item {
  const out = { ...event };
  for (const field of untrustedFields) if (out[field] !== undefined) out[field] = visible(out[field]);
  return out;
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
    if (kept) parts.push(details(printable(withoutBody(kept, body))));
    else parts.push(`no kept record of ${key} (expired or removed), only what conflicted with it:\n`);
    if (conflicts.length > 0) {
      parts.push(
        `${conflicts.length} conflicting record(s) of ${key}: the same event key with a different body, ` +
          'stored beside the kept record and not applied\n',
        ...conflicts.map((c) => details(printable(withoutBody(c, body)))),
      );
    }
  }
  return parts.join('\n');
}

export function eventRows(found: readonly Item[]): string {
  return table(found, [
    { title: 'RECEIVED', value: (e) => shortTime(e.receivedAt) },
    { title: 'PROVIDER', value: (e) => e.provider as string },
    { title: 'TYPE', value: (e) => e.eventType as string, max: 28 },
    { title: 'OUTCOME', value: (e) => `${e.outcome as string}${e.replayedAt ? ' (replayed)' : ''}` },
    { title: 'EVENT KEY', value: (e) => e.eventKey as string, max: 36 },
    { title: 'JOB', value: (e) => (e.entityIds as Record<string, string> | undefined)?.job_id, max: 36 },
    { title: 'ISSUES', value: (e) => (e.issues as unknown[] | undefined)?.length, align: 'right' },
  ]);
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
      throw new UsageError('events show needs an event key (see the EVENT KEY column of `events`)');
    if (extra !== undefined)
      throw new UsageError(`events show takes one event key (got also ${JSON.stringify(extra)})`);
    const providers = providerFilter(values);
    const target = resolveTarget(values, io.env);
    try {
      const found = await getEventRecords(target, key, providers);
      if (found.length === 0)
        throw new CommandError(`no event ${JSON.stringify(key)} in ${target.description}`);
      if (asJson) {
        const records = showRecords(found).map((e) => withoutBody(e, body));
        io.out(json(records.length === 1 ? records[0] : records));
      } else io.out(showText(found, body));
      return 0;
    } finally {
      target.close();
    }
  }
  if (sub !== 'list')
    throw new UsageError(`unknown events subcommand ${JSON.stringify(sub)}: use list or show <key>`);
  if (rest.length > 0)
    throw new UsageError(`events list takes no arguments (got ${JSON.stringify(rest[0])})`);

  const query = eventQuery(values, 50);
  const target = resolveTarget(values, io.env);
  try {
    const found = await listEvents(target, query);
    if (asJson) {
      io.out(json(found.map((e) => withoutBody(e, body))));
      return 0;
    }
    if (found.length === 0) {
      io.out(`no events match in ${target.description}\n`);
      return 0;
    }
    io.out(eventRows(found));
    if (found.length === query.limit) io.out(`(first ${query.limit}; --limit shows more)\n`);
    return 0;
  } finally {
    target.close();
  }
}
