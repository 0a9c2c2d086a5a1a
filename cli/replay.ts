import { SqsQueue } from '#adapters/sqs-queue';
import type { QueueMessage } from '#core/message';
import { flag, list, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { eventRows } from './events.ts';
import { json } from './format.ts';
import { allEvents, eventFilter, getEvents, hasEventFilter, type Item, providerFilter } from './store.ts';
import { resolveTarget } from './target.ts';

/**
 * A queue message rebuilt from a stored event: the exact raw body, the kept headers and the
 * original receive time (so ordering by receive time is unchanged), marked as a replay. No
 * `issues`: the consumer validates the body again with the schema it has now.
 */
export function replayMessage(event: Item): QueueMessage | undefined {
  const { provider, eventKey, eventType, receivedAt, rawBody, headers } = event;
  if (typeof provider !== 'string' || typeof eventKey !== 'string' || typeof rawBody !== 'string')
    return undefined;
  if (typeof receivedAt !== 'string') return undefined;
  return {
    v: 1,
    provider,
    eventKey,
    eventType: typeof eventType === 'string' ? eventType : '',
    receivedAt,
    bodyBase64: Buffer.from(rawBody, 'utf8').toString('base64'),
    headers: (headers as Record<string, string> | undefined) ?? {},
    replay: true,
  };
}

const sendConcurrency = 8;

/** The `byProvider` index carries no bodies (see `infra/definitions.ts`): read it from the table. */
async function withBody(target: Parameters<typeof getEvents>[0], listed: Item): Promise<Item> {
  return typeof listed.eventKey === 'string' && typeof listed.provider === 'string'
    ? ((await getEvents(target, listed.eventKey, [listed.provider]))[0] ?? listed)
    : listed;
}

export async function replay(context: CommandContext): Promise<number> {
  const { values, positionals, io } = context;
  if (positionals.length > 0) {
    throw new UsageError(
      `replay takes filters, not arguments (got ${JSON.stringify(positionals[0])}); e.g. --key <event key>`,
    );
  }
  const keys = list(values, 'key');
  const all = flag(values, 'all');
  const dryRun = flag(values, 'dry-run');
  const asJson = flag(values, 'json');
  const filter = eventFilter(values);
  const filtered = hasEventFilter(filter, values);
  if (
    keys.length > 0 &&
    (all ||
      [filter.type, filter.outcome, filter.since, filter.until, filter.job, filter.account].some(Boolean))
  ) {
    throw new UsageError('--key selects events directly: combine it only with --provider');
  }
  if (keys.length === 0 && !filtered && !all) {
    throw new UsageError(
      'replay needs a filter (e.g. --outcome quarantined, --since 1h, --key <event key>) or --all',
    );
  }

  const target = resolveTarget(values, io.env);
  try {
    // By key, whole records; by filter, every match from the index, each body read just before its
    // send, so only the bodies in flight are held however many events match.
    const found =
      keys.length > 0
        ? (await Promise.all(keys.map((key) => getEvents(target, key, providerFilter(values))))).flat()
        : await allEvents(target, filter);
    // Oldest first, as they were first received.
    found.sort((a, b) => String(a.receivedAt ?? '').localeCompare(String(b.receivedAt ?? '')));
    const queueUrl = await target.queueUrl();
    const queue = new SqsQueue(queueUrl, target.sqs);
    const listed: Item[] = [];
    let next = 0;
    let sent = 0;
    let unusable = 0;
    await Promise.all(
      Array.from({ length: Math.min(sendConcurrency, found.length) }, async () => {
        while (next < found.length) {
          const at = next;
          next += 1;
          const event = keys.length > 0 ? (found[at] as Item) : await withBody(target, found[at] as Item);
          const message = replayMessage(event);
          if (message === undefined) unusable += 1;
          if (dryRun) {
            const { rawBody: _b, ...rest } = event;
            listed[at] = rest;
          } else if (message !== undefined) {
            await queue.send(message);
            sent += 1;
          }
        }
      }),
    );

    if (dryRun) {
      if (asJson) {
        io.out(json({ dryRun: true, queueUrl, events: listed }));
      } else {
        if (listed.length > 0) io.out(eventRows(listed));
        io.out(
          `dry run: ${listed.length - unusable} event(s) would be replayed to ${queueUrl}${unusable ? ` (${unusable} without a stored body, skipped)` : ''}; nothing was sent\n`,
        );
      }
      return 0;
    }

    if (asJson) io.out(json({ replayed: sent, skipped: unusable, queueUrl }));
    else {
      io.out(
        `replayed ${sent} event(s) to ${queueUrl}${unusable ? ` (${unusable} without a stored body, skipped)` : ''}\n` +
          (sent > 0
            ? 'the consumer picks them up in a moment: `npm run cli -- events --since 5m` shows the outcomes\n'
            : ''),
      );
    }
    return 0;
  } finally {
    target.close();
  }
}
