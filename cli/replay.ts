import { SqsQueue } from '#adapters/sqs-queue';
import type { QueueMessage } from '#core/message';
import { flag, list, UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';
import { eventRows } from './events.ts';
import { json } from './format.ts';
import { eventQuery, getEvents, hasEventFilter, type Item, listEvents, providerFilter } from './store.ts';
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

/** The `byProvider` index carries no bodies (see `infra/definitions.ts`): read them from the table. */
async function withBodies(target: Parameters<typeof getEvents>[0], listed: Item[]): Promise<Item[]> {
  const full: Item[] = [];
  for (let i = 0; i < listed.length; i += sendConcurrency) {
    const chunk = listed.slice(i, i + sendConcurrency);
    const items = await Promise.all(
      chunk.map(async (event) =>
        typeof event.eventKey === 'string' && typeof event.provider === 'string'
          ? ((await getEvents(target, event.eventKey, [event.provider]))[0] ?? event)
          : event,
      ),
    );
    full.push(...items);
  }
  return full;
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
  const query = eventQuery(values, 1000);
  const filtered = hasEventFilter(query, values);
  if (
    keys.length > 0 &&
    (all || [query.type, query.outcome, query.since, query.until, query.job, query.account].some(Boolean))
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
    const found =
      keys.length > 0
        ? (await Promise.all(keys.map((key) => getEvents(target, key, providerFilter(values))))).flat()
        : await withBodies(target, await listEvents(target, query));
    // Oldest first, as they were first received.
    found.sort((a, b) => String(a.receivedAt ?? '').localeCompare(String(b.receivedAt ?? '')));
    const messages = found.map((event) => ({ event, message: replayMessage(event) }));
    const unusable = messages.filter((m) => m.message === undefined).length;
    const queueUrl = await target.queueUrl();

    if (dryRun) {
      if (asJson) {
        io.out(json({ dryRun: true, queueUrl, events: found.map(({ rawBody: _b, ...rest }) => rest) }));
      } else {
        if (found.length > 0) io.out(eventRows(found));
        io.out(
          `dry run: ${found.length - unusable} event(s) would be replayed to ${queueUrl}${unusable ? ` (${unusable} without a stored body, skipped)` : ''}; nothing was sent\n`,
        );
      }
      return 0;
    }

    const queue = new SqsQueue(queueUrl, target.sqs);
    const pending = messages.flatMap((m) => (m.message ? [m.message] : []));
    let next = 0;
    let sent = 0;
    await Promise.all(
      Array.from({ length: Math.min(sendConcurrency, pending.length) }, async () => {
        while (next < pending.length) {
          const message = pending[next] as QueueMessage;
          next += 1;
          await queue.send(message);
          sent += 1;
        }
      }),
    );
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
