import pLimit from 'p-limit';
import { SqsQueue } from '#adapters/sqs-queue';
import type { QueueMessage } from '#core/message';
import { CommandError, flag, list, UsageError, type Values } from './args.ts';
import { type CommandContext, shellQuote, targetArgs } from './commands.ts';
import { eventRows } from './events.ts';
import { json, quote, say, visible } from './format.ts';
import {
  allEvents,
  eventFilter,
  getEventItem,
  getEvents,
  hasEventFilter,
  type Item,
  isConflictRecord,
  providerFilter,
} from './store.ts';
import { resolveTarget, type Target } from './target.ts';

/**
 * Why a stored record cannot be replayed, or `undefined` when it can. A conflict is never replayed:
 * a replay skips the dedupe marker and overwrites its key's own record, so the conflicting body
 * would replace the record that was kept (`events show <key>` lists both for a person to judge).
 */
export function notReplayable(event: Item): string | undefined {
  if (isConflictRecord(event))
    return 'a conflict (a second body under a known event key) is never replayed over the kept record';
  const { provider, eventKey, receivedAt, rawBody } = event;
  if (typeof rawBody !== 'string') {
    return typeof event.bodySha256 === 'string'
      ? 'its body could not be stored (only its SHA-256 was), so it cannot be replayed'
      : 'no stored body, so it cannot be replayed';
  }
  if (typeof provider !== 'string' || typeof eventKey !== 'string')
    return 'no provider or event key, so it cannot be replayed';
  if (typeof receivedAt !== 'string') return 'no receive time, so it cannot be replayed';
  return undefined;
}

/**
 * A queue message rebuilt from a stored event: the exact raw body, the kept headers and the
 * original receive time (so ordering by receive time is unchanged), marked as a replay. No
 * `issues`: the consumer validates the body again with the schema it has now.
 */
export function replayMessage(event: Item): QueueMessage | undefined {
  if (notReplayable(event) !== undefined) return undefined;
  // Checked by `notReplayable`.
  const { provider, eventKey, eventType, receivedAt, rawBody, headers } = event as Item & {
    provider: string;
    eventKey: string;
    receivedAt: string;
    rawBody: string;
  };
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

/** A record left out of a replay, and why. */
export interface Skipped {
  provider: unknown;
  eventKey: unknown;
  outcome: unknown;
  why: string;
}

/** Lines naming each skipped record, at most `max` of them (the rest counted). */
export function skippedLines(skipped: readonly Skipped[], max = 20): string {
  const lines = skipped
    .slice(0, max)
    .map((s) => `skipped ${visible(s.provider)} ${visible(s.eventKey)} (${visible(s.outcome)}): ${s.why}\n`);
  if (skipped.length > max) lines.push(`… and ${skipped.length - max} more skipped\n`);
  return lines.join('');
}

const sendConcurrency = 8;

/**
 * A listing carries no bodies (the `byProvider` index holds none, and a scan projects the index's
 * attributes): read the record from the table, by the item key the listing carries (not rebuilt
 * from the event key, which would read the key's own record for any other item of that key).
 */
async function withBody(target: Target, listed: Item): Promise<Item> {
  if (typeof listed.pk === 'string') return (await getEventItem(target, listed.pk)) ?? listed;
  return typeof listed.eventKey === 'string' && typeof listed.provider === 'string'
    ? ((await getEvents(target, listed.eventKey, [listed.provider]))[0] ?? listed)
    : listed;
}

export async function replay(context: CommandContext): Promise<number> {
  const { values, positionals, io } = context;
  if (positionals.length > 0) {
    throw new UsageError(
      `replay takes filters, not arguments (got ${quote(positionals[0])}); e.g. --key <event key>`,
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
  if (filter.outcome === 'conflict') {
    throw new UsageError(
      'conflict records are never replayed: a replay overwrites the record of its event key, so the ' +
        'conflicting body would replace the one that was kept. See both with `events show <event key>`',
    );
  }

  const target = resolveTarget(values, io.env);
  try {
    // By key, whole records (each key's own record: never a conflict); by filter, every match from
    // the index, each body read just before its send, so only the bodies in flight are held
    // however many events match.
    const byKey =
      keys.length > 0
        ? await Promise.all(keys.map((key) => getEvents(target, key, providerFilter(values))))
        : undefined;
    // A key asked for by name that is not there is a mistake (a typo, a cut key, another stack),
    // not "0 events": said, and nothing is sent for the other keys either.
    const missing = keys.filter((_, i) => byKey?.[i]?.length === 0);
    if (missing.length > 0) {
      throw new CommandError(
        `no event ${missing.map((k) => quote(k)).join(', ')} in ${target.description}` +
          `${values.provider !== undefined ? ` for ${providerFilter(values).join(', ')}` : ''}; ` +
          'nothing was replayed (--key takes a whole event key: `events show <its first 8 characters>` finds it)',
      );
    }
    const matched = byKey ? byKey.flat() : await allEvents(target, filter);
    // Conflicts match broad filters (--all, --since): left out before any body is read.
    const conflicts = matched.filter(isConflictRecord);
    const found = matched.filter((event) => !isConflictRecord(event));
    // Oldest first, as they were first received.
    found.sort((a, b) => String(a.receivedAt ?? '').localeCompare(String(b.receivedAt ?? '')));
    const queueUrl = await target.queueUrl();
    // Before anything is sent: the consumer's `replayedAt` of each of these comes after it.
    const started = new Date();
    const queue = new SqsQueue(queueUrl, target.sqs);
    const listed: Array<Item | undefined> = [];
    const unusable: Array<Skipped | undefined> = [];
    let sent = 0;
    await pLimit(sendConcurrency).map(found, async (item, at) => {
      const event = keys.length > 0 ? item : await withBody(target, item);
      const message = replayMessage(event);
      if (message === undefined) {
        const why = notReplayable(event) ?? 'cannot be replayed';
        unusable[at] = {
          provider: event.provider,
          eventKey: event.eventKey,
          outcome: event.outcome,
          why,
        };
      } else if (dryRun) {
        const { rawBody: _b, ...rest } = event;
        listed[at] = rest;
      } else {
        await queue.send(message);
        sent += 1;
      }
    });

    // Skipped records in the order they were received; the conflicts last, as one line.
    const skipped = unusable.filter((s): s is Skipped => s !== undefined);
    const notes = skippedLines(skipped) + conflictLine(conflicts.length);
    const skippedEvents = [
      ...skipped,
      ...conflicts.map((c) => ({
        provider: c.provider,
        eventKey: c.eventKey,
        outcome: c.outcome,
        why: notReplayable(c) as string,
      })),
    ];
    const skippedNote = skippedEvents.length > 0 ? ` (${skippedEvents.length} skipped, see above)` : '';

    if (dryRun) {
      const events = listed.filter((e): e is Item => e !== undefined);
      if (asJson) {
        io.out(json({ dryRun: true, queueUrl, events, skipped: skippedEvents.length, skippedEvents }));
      } else {
        if (events.length > 0) io.out(eventRows(events));
        io.out(
          notes +
            say`dry run: ${events.length} event(s) would be replayed to ${queueUrl}` +
            `${skippedNote}; nothing was sent\n`,
        );
      }
      return 0;
    }

    if (asJson) io.out(json({ replayed: sent, skipped: skippedEvents.length, queueUrl, skippedEvents }));
    else {
      io.out(
        `${notes}${say`replayed ${sent} event(s) to ${queueUrl}`}${skippedNote}\n` +
          (sent > 0 ? outcomesHint(values, keys, started) : ''),
      );
    }
    return 0;
  } finally {
    target.close();
  }
}

/** Keys replayed by name up to this many get one `events show` each; more, one listing. */
const showKeys = 3;

/**
 * Where to see what the consumer made of the replays. Not `events --since`: a replay keeps the
 * event's original receive time, which is what `--since` and the list's order go by. By key,
 * `events show <key>` (the key's record, overwritten by the replay); otherwise the events replayed
 * since just before this run (`replayedAt`, set by the consumer), on the same stack.
 */
export function outcomesHint(values: Values, keys: readonly string[], started: Date): string {
  const where = `${values.provider !== undefined ? ` --provider ${shellQuote(String(values.provider))}` : ''}${targetArgs(values)}`;
  const unique = [...new Set(keys)];
  const since = started.toISOString().replace(/\.\d+Z$/, 'Z');
  const commands =
    unique.length > 0 && unique.length <= showKeys
      ? unique.map((key) => `events show ${shellQuote(key)}${where}`)
      : [`events --replayed-since ${since}${where}`];
  return (
    'the consumer picks them up in a moment; a replay keeps its original receive time (so ' +
    '`events --since` misses it), see the outcomes with:\n' +
    commands.map((command) => `  npm run cli -- ${visible(command)}\n`).join('')
  );
}

function conflictLine(count: number): string {
  return count === 0
    ? ''
    : `skipped ${count} conflict record(s): a second body under a known event key is never replayed over ` +
        'the kept record (`events show <event key>` shows both)\n';
}
