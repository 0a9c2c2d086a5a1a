import { CommandError, flag, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { details, json, shortTime, table } from './format.ts';
import { eventQuery, getEvents, type Item, listEvents, providerFilter } from './store.ts';
import { resolveTarget } from './target.ts';

function withoutBody(event: Item, keep: boolean): Item {
  if (keep) return event;
  const { rawBody: _rawBody, ...rest } = event;
  return rest;
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
      const found = (await getEvents(target, key, providers)).map((e) => withoutBody(e, body));
      if (found.length === 0)
        throw new CommandError(`no event ${JSON.stringify(key)} in ${target.description}`);
      if (asJson) io.out(json(found.length === 1 ? found[0] : found));
      else io.out(found.map((e) => details(e)).join('\n'));
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
