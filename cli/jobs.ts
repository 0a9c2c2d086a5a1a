import pLimit from 'p-limit';
import { CommandError, flag, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { type DetailsLayout, details, json, quote, say, table, timeColumn } from './format.ts';
import { getEvents, getJobs, type Item, jobQuery, listJobs, providerFilter } from './store.ts';
import { resolveTarget, type Target } from './target.ts';

/**
 * `jobs show`'s order of a job record's attributes (written by `jobUpdate` in
 * functions/adapters/dynamo-store.ts, its fields `JobFields` in functions/core/job.ts): identity,
 * status, times, customer, bookkeeping, then the rest: the work and its invoice, in that order,
 * and after them any other attribute (`payload` with --payload, one a later version adds),
 * alphabetically.
 */
export const jobLayout: DetailsLayout = {
  order: [
    // Identity
    'provider',
    'jobId',
    'accountId',
    'jobNumber',
    // Status
    'status',
    'canceled',
    // Times: the job's own, then the record's
    'scheduledStart',
    'scheduledEnd',
    'startedAt',
    'completedAt',
    'timezone',
    'createdAt',
    'updatedAt',
    // Customer
    'customerName',
    'customerEmail',
    'customerPhone',
    'address',
    'customerId',
    // Bookkeeping: the events applied, ordering, table keys
    'eventCount',
    'lastEventKey',
    'lastEventType',
    'lastEventAt',
    'lastOrder',
    'lastStage',
    'lastFingerprint',
    'pk',
    'accountKey',
    // The rest: the work, then its invoice (what was charged, paid, still due)
    'serviceName',
    'description',
    'workDetails',
    'total',
    'amountPaid',
    'amountDue',
  ],
};

/**
 * The job with its latest payload (`--payload`): the body of the event that last moved it forward,
 * read from that event's log record (`lastEventKey`), since the job keeps no copy. Once that record
 * has expired (past the dedupe horizon) there is none, and `payload` is absent; a job written by the
 * first version still holds its own `payload`. Without `keep`, the job without any payload.
 */
async function withPayload(target: Target, job: Item, keep: boolean): Promise<Item> {
  const { payload, ...rest } = job;
  if (!keep) return rest;
  const { provider, lastEventKey } = job;
  if (typeof provider === 'string' && typeof lastEventKey === 'string') {
    const [event] = await getEvents(target, lastEventKey, [provider]);
    if (typeof event?.rawBody === 'string') return { ...rest, payload: event.rawBody };
  }
  return payload === undefined ? rest : { ...rest, payload };
}

/** The note for jobs whose payload `--payload` asked for and could not find. */
function missingPayloads(found: readonly Item[], asked: boolean): string {
  if (!asked) return '';
  const missing = found.filter((job) => job.payload === undefined).length;
  return missing === 0
    ? ''
    : `${missing} job(s) without a payload: the event log record of the latest event (lastEventKey) has expired (past the dedupe horizon)\n`;
}

/** `jobs [list]` and `jobs show <id>`. */
export async function jobs(context: CommandContext): Promise<number> {
  const { values, positionals, io } = context;
  const [sub = 'list', ...rest] = positionals;
  const asJson = flag(values, 'json');
  const payload = flag(values, 'payload');

  if (sub === 'show') {
    const [id, extra] = rest;
    if (id === undefined) throw new UsageError('jobs show needs a job id, e.g. `jobs show 5c1a0e74-…`');
    if (extra !== undefined) throw new UsageError(`jobs show takes one job id (got also ${quote(extra)})`);
    const providers = providerFilter(values);
    const target = resolveTarget(values, io.env);
    try {
      const found = await Promise.all(
        (await getJobs(target, id, providers)).map((job) => withPayload(target, job, payload)),
      );
      if (found.length === 0) throw new CommandError(`no job ${quote(id)} in ${target.description}`);
      io.err(missingPayloads(found, payload));
      if (asJson) io.out(json(found.length === 1 ? found[0] : found));
      else io.out(found.map((job) => details(job, jobLayout)).join('\n'));
      return 0;
    } finally {
      target.close();
    }
  }
  if (sub !== 'list') throw new UsageError(`unknown jobs subcommand ${quote(sub)}: use list or show <id>`);
  if (rest.length > 0) throw new UsageError(`jobs list takes no arguments (got ${quote(rest[0])})`);

  const query = jobQuery(values);
  const target = resolveTarget(values, io.env);
  try {
    const { items: found, more } = await listJobs(target, query);
    if (asJson) {
      const shown = await pLimit(8).map(found, (job) => withPayload(target, job, payload));
      io.err(missingPayloads(shown, payload));
      io.out(json(shown));
      return 0;
    }
    if (found.length === 0) {
      io.out(say`no jobs${query.account ? ` for account ${query.account}` : ''} in ${target.description}\n`);
      return 0;
    }
    io.out(
      table(found, [
        { title: 'PROVIDER', value: (j) => j.provider as string },
        { title: 'JOB', value: (j) => j.jobId as string, max: 36 },
        { title: 'ACCOUNT', value: (j) => j.accountId as string, max: 36 },
        { title: 'STATUS', value: (j) => j.status as string, max: 14 },
        { title: 'NUMBER', value: (j) => j.jobNumber as string, max: 12 },
        { title: 'CUSTOMER', value: (j) => j.customerName as string, max: 20 },
        timeColumn('SCHEDULED', (j) => j.scheduledStart),
        timeColumn('COMPLETED', (j) => j.completedAt),
        { title: 'EVENTS', value: (j) => j.eventCount as number },
        { title: 'LAST EVENT', value: (j) => j.lastEventType as string, max: 24 },
        timeColumn('UPDATED', (j) => j.updatedAt),
      ]),
    );
    if (more) io.out(`(first ${query.limit}; --limit shows more)\n`);
    return 0;
  } finally {
    target.close();
  }
}
