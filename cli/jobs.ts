import { CommandError, flag, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { type DetailsLayout, details, json, quote, say, table, timeColumn } from './format.ts';
import { getJobs, type Item, jobQuery, listJobs, providerFilter } from './store.ts';
import { resolveTarget } from './target.ts';

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

function withoutPayload(job: Item, keep: boolean): Item {
  if (keep) return job;
  const { payload: _payload, ...rest } = job;
  return rest;
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
      const found = (await getJobs(target, id, providers)).map((job) => withoutPayload(job, payload));
      if (found.length === 0) throw new CommandError(`no job ${quote(id)} in ${target.description}`);
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
      io.out(json(found.map((job) => withoutPayload(job, payload))));
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
