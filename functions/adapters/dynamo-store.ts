import {
  type CancellationReason,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type marshallOptions as MarshallOptions, marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type EventRecord, type EventStore, type JobWrite, PermanentStoreError } from '#core/consume';
import { errorDescription } from '#core/errors';
import {
  advanceAttributes,
  conflictAttributes,
  eventAttributes,
  eventPk,
  fillAttributes,
  fillIfAbsent,
  type Item,
  jobPk,
  retiredJobAttributes,
  storedEvent,
  storedJob,
} from '#core/records';
import {
  type Decision,
  decideApply,
  decideRecord,
  type EventGuard,
  type JobGuard,
  nothingStored,
  type RecordOutcome,
  type View,
  type Write,
} from '#core/rules';
import { clientOptions } from './client-options.ts';

export { accountKey, conflictPk, eventPk, jobPk } from '#core/records';

/** A condition expression and the values (and attribute names) it names. */
interface Condition {
  expression: string;
  values?: Record<string, unknown>;
  names?: Record<string, string>;
}

/**
 * The rules' guards (functions/core/rules.ts), each as the condition DynamoDB checks on the item
 * its write goes to, atomically with the write. The predicate each encodes is named beside it.
 */
const eventConditions: { [G in EventGuard]: (event: EventRecord) => Condition } = {
  /** `seenBefore`, negated: the dedupe marker, so each (provider, event key) is written once. */
  notSeenBefore: () => ({ expression: 'attribute_not_exists(pk)' }),
  /** Not `seenBefore`, or `rewritesUnprocessable`: a redelivery of an unprocessable body. */
  notSeenOrUnprocessable: (event) =>
    event.fingerprint === undefined
      ? {
          expression:
            'attribute_not_exists(pk) OR (outcome = :unprocessable AND attribute_not_exists(fingerprint))',
          values: { ':unprocessable': 'unprocessable' },
        }
      : {
          expression:
            'attribute_not_exists(pk) OR (outcome = :unprocessable AND (attribute_not_exists(fingerprint) OR fingerprint = :fingerprint))',
          values: { ':unprocessable': 'unprocessable', ':fingerprint': event.fingerprint },
        },
  /** `notAppliedBefore`: a replay never turns an applied record into a stale one. */
  notAppliedBefore: () => ({
    expression: 'attribute_not_exists(pk) OR outcome <> :applied',
    values: { ':applied': 'applied' },
  }),
  /** `seenBefore`: the kept record is there to list a conflict on. */
  recorded: () => ({ expression: 'attribute_exists(pk)' }),
};

const jobConditions: { [G in JobGuard]: (job: JobWrite, write: Write) => Condition | undefined } = {
  /** `movesForward`: by (lastOrder, lastEventKey), or for a first-version job (lastEventAt, lastEventKey). */
  movesForward: (job) => ({
    expression: `attribute_not_exists(pk) OR (lastEventKey <> :eventKey AND (${[
      'lastOrder < :order',
      '(lastOrder = :order AND lastEventKey < :eventKey)',
      '(attribute_not_exists(lastOrder) AND (lastEventAt < :eventAt OR (lastEventAt = :eventAt AND lastEventKey < :eventKey)))',
    ].join(' OR ')}))`,
    values: { ':order': job.order, ':eventKey': job.eventKey, ':eventAt': job.eventAt },
  }),
  /** `sameAccount`: nothing to check for an event that names no account. */
  sameAccount: (job) =>
    job.accountId === undefined
      ? undefined
      : {
          expression: 'attribute_not_exists(accountId) OR accountId = :accountId',
          values: { ':accountId': job.accountId },
        },
  /** A job to fill. */
  jobExists: () => ({ expression: 'attribute_exists(pk)' }),
  /** `fillsSomething`: one of the attributes to fill is still absent (as placeholders: `status` is a reserved word). */
  fillsSomething: (job, write) => {
    const fields =
      write.to === 'job' && write.op === 'fill'
        ? fillIfAbsent(job.provider, write).map(([name]) => name)
        : [];
    if (fields.length === 0) throw new Error('a fill without fields');
    return {
      expression: fields.map((_, i) => `attribute_not_exists(#f${i})`).join(' OR '),
      names: Object.fromEntries(fields.map((field, i) => [`#f${i}`, field])),
    };
  },
};

/** The conditions, all of them; `undefined` when there are none. */
function allOf(conditions: Array<Condition | undefined>): Condition | undefined {
  const present = conditions.filter((c): c is Condition => c !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return {
    expression: present.map((c) => `(${c.expression})`).join(' AND '),
    values: Object.assign({}, ...present.map((c) => c.values ?? {})),
    names: Object.assign({}, ...present.map((c) => c.names ?? {})),
  };
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type UpdateInput = NonNullable<TransactItem['Update']>;
type CheckInput = NonNullable<TransactItem['ConditionCheck']>;

/** A write whose guard failed, with the item it failed on as DynamoDB returned it (absent: none). */
interface Refusal {
  write: Write;
  item: Item | undefined;
}

export interface DynamoStoreOptions {
  eventsTableName: string;
  jobsTableName: string;
  /** Defaults to a client configured from the environment (`AWS_ENDPOINT_URL_DYNAMODB` included). */
  client?: DynamoDBClient;
}

/** Decisions taken for one event before it fails for SQS to redeliver (each follows a change). */
const maxDecisions = 5;

/**
 * The event log and jobs tables in DynamoDB. The rules (functions/core/rules.ts) decide; this store
 * writes each decision as one atomic write, its guards as conditions. It cannot read before it
 * writes without a second round trip, so it decides first on what a new event meets, nothing:
 *
 *   consumer A                          DynamoDB                          consumer B (same event)
 *   ──────────                          ────────                          ───────────────────────
 *   TransactWrite[ put event if notSeenBefore,
 *                  update job if movesForward
 *                             and sameAccount ]     ──► commits both
 *                                                       ◄── TransactWrite[ same ] ─ cancelled:
 *                                                           TransactionConflict → retried in place,
 *                                                           then ConditionalCheckFailed on the event,
 *                                                           which returns the record → decided again:
 *                                                           "duplicate", nothing written twice
 *
 *   crash/timeout before commit → nothing written → SQS redelivers → the same transaction applies once
 *   crash/timeout after commit  → both written    → SQS redelivers → notSeenBefore fails → duplicate
 *
 * A failed condition returns the item it failed on (`ALL_OLD`): the rules decide again on what the
 * store now knows, and that decision is written the same way. A job the event is behind: recorded
 * `stale`, filling the fields still empty; a second body under a known key: a conflict record; a
 * job of another account: recorded `unprocessable`. One round trip for a new event, two or three
 * for the rest.
 */
export class DynamoEventStore implements EventStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly events: string;
  private readonly jobs: string;

  constructor(options: DynamoStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient(clientOptions), {
      marshallOptions,
    });
    this.events = options.eventsTableName;
    this.jobs = options.jobsTableName;
  }

  async record(event: EventRecord, outcome: RecordOutcome) {
    return this.settle(event, undefined, (view) => decideRecord(view, event, outcome));
  }

  async apply(event: EventRecord, job: JobWrite) {
    return this.settle(event, job, (view) => decideApply(view, event, job));
  }

  /**
   * Decides on what is known (at first: nothing stored), writes the decision, and when a guard
   * failed, learns the item it failed on and decides again. Each round follows a change another
   * writer made; after `maxDecisions` the event fails, for SQS to redeliver.
   */
  private async settle<Result>(
    event: EventRecord,
    job: JobWrite | undefined,
    decide: (view: View) => Decision<Result>,
  ): Promise<Result> {
    let view = nothingStored;
    for (let round = 1; ; round++) {
      const decision = decide(view);
      if (decision.writes.length === 0) return decision.result;
      const refused = await this.write(decision.writes, event, job);
      if (refused.length === 0) return decision.result;
      if (round >= maxDecisions)
        throw new Error(`the records of the event changed under ${maxDecisions} decisions in a row`);
      view = learn(view, refused);
    }
  }

  /** Writes a decision, all or nothing: its guards' failures, or none when it was written. */
  private async write(writes: Write[], event: EventRecord, job: JobWrite | undefined): Promise<Refusal[]> {
    const items = writes.map((write) => this.encode(write, event, job));
    const [only] = items;
    if (items.length === 1 && only && !only.ConditionCheck) {
      try {
        if (only.Put) await this.send(new PutCommand(only.Put), [only.Put.Item]);
        else if (only.Update)
          await this.send(new UpdateCommand(only.Update), [only.Update.ExpressionAttributeValues]);
        return [];
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        return [{ write: writes[0] as Write, item: plainItem((error as { Item?: Item }).Item) }];
      }
    }
    try {
      await this.transact(items);
      return [];
    } catch (error) {
      const refused: Refusal[] = [];
      cancellationReasons(error).forEach((reason, i) => {
        const write = writes[i];
        if (reason.Code === 'ConditionalCheckFailed' && write)
          refused.push({ write, item: plainItem(reason.Item as Item | undefined) });
      });
      if (refused.length === 0) throw error;
      return refused;
    }
  }

  /** One write of a decision as a transaction item, its guards as its condition. */
  private encode(write: Write, event: EventRecord, job: JobWrite | undefined): TransactItem {
    if (write.to === 'conflict') {
      const item = conflictAttributes(event, event.fingerprint as string, write.conflictsWith);
      // No `ALL_OLD`: a failure says all there is to know, that this body is kept already.
      return {
        Put: { TableName: this.events, Item: item, ...conditionInput(eventConditions.notSeenBefore(event)) },
      };
    }
    if (write.to === 'event') {
      const condition = allOf(write.guards.map((guard) => eventConditions[guard](event)));
      const key = { pk: eventPk(event.provider, event.eventKey) };
      if (write.op === 'check') return { ConditionCheck: check(this.events, key, condition) };
      // The kept record lists its conflicts' fingerprints, so `events show` finds them by key.
      if (write.op === 'listConflict')
        return {
          Update: update(
            this.events,
            key,
            'ADD conflicts :conflict',
            {},
            { ':conflict': new Set([event.fingerprint]) },
            condition,
            false,
          ),
        };
      return this.eventWrite(
        { ...event, reason: write.reason ?? event.reason },
        write.outcome,
        write.guards,
        condition,
      );
    }
    if (!job) throw new Error('a job write without a job');
    const condition = allOf(write.guards.map((guard) => jobConditions[guard](job, write)));
    const key = { pk: jobPk(job.provider, job.jobId) };
    if (write.op === 'fill') {
      // `fillsOnly`: a field the job has (set since the decision, too) keeps its value.
      // The first `absent` assignments only where the job has no value; the bookkeeping always.
      const absent = fillIfAbsent(job.provider, write);
      const { names, values, sets } = assignments([...absent, ...fillAttributes(job)]);
      const expression = `SET ${sets
        .map(([name, value], i) =>
          i < absent.length ? `${name} = if_not_exists(${name}, ${value})` : `${name} = ${value}`,
        )
        .join(', ')} ADD fillCount :one`;
      return {
        Update: update(this.jobs, key, expression, names, { ...values, ':one': 1 }, condition),
      };
    }
    // `advanceAttributes`, `createdAt` once, one more event counted, the retired attributes removed.
    const { names, values, sets } = assignments(advanceAttributes(job));
    const expression = `SET ${sets.map(([name, value]) => `${name} = ${value}`).join(', ')}, createdAt = if_not_exists(createdAt, :now) REMOVE ${retiredJobAttributes.join(', ')} ADD eventCount :one`;
    return {
      Update: update(this.jobs, key, expression, names, { ...values, ':now': job.now, ':one': 1 }, condition),
    };
  }

  /**
   * The event's own record. A Put when its guards say no record is there; otherwise (a replay, an
   * unprocessable record rewritten) an Update that sets every attribute the record owns and removes
   * those it no longer has, so the kept record's list of `conflicts` survives it.
   */
  private eventWrite(
    event: EventRecord,
    outcome: string,
    guards: EventGuard[],
    condition: Condition | undefined,
  ): TransactItem {
    const item = eventAttributes(event, outcome);
    if (guards.includes('notSeenBefore'))
      return { Put: { TableName: this.events, Item: item, ...conditionInput(condition, true) } };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    Object.entries(item).forEach(([attribute, value], i) => {
      if (attribute === 'pk') return;
      names[`#e${i}`] = attribute;
      if (value === undefined) removes.push(`#e${i}`);
      else {
        values[`:e${i}`] = value;
        sets.push(`#e${i} = :e${i}`);
      }
    });
    const expression = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    return { Update: update(this.events, { pk: item.pk }, expression, names, values, condition) };
  }

  /**
   * Sends one command. A write DynamoDB will refuse on every attempt becomes a
   * {@link PermanentStoreError}: an item the document client's marshaller cannot convert (named by
   * marshalling again, with the same options, once a send failed before reaching DynamoDB), or a
   * request DynamoDB answers with a
   * `ValidationException` or `SerializationException` (a key over its byte limit, an item over
   * 400 KB, a number out of range). Everything else (throttling, timeouts, 5xx, the network) is
   * left as it is: transient, for SQS to redeliver.
   */
  private async send(
    command: PutCommand | UpdateCommand | TransactWriteCommand,
    items: ReadonlyArray<unknown>,
  ) {
    try {
      return await this.doc.send(command as PutCommand);
    } catch (error) {
      if (isRefusedForGood(error)) throw new PermanentStoreError(errorDescription(error), { cause: error });
      // Failed before the SDK sent anything (no `$metadata`): marshalling the items again, only
      // now, tells whether the document client refused one of them; on the hot path each item is
      // marshalled once, by the client.
      if (error instanceof Error && !('$metadata' in error)) {
        const refusal = marshallingRefusal(items);
        if (refusal) {
          throw new PermanentStoreError(`the item cannot be marshalled: ${errorDescription(refusal)}`, {
            cause: refusal,
          });
        }
      }
      throw error;
    }
  }

  /**
   * One transaction, retried a few times with jitter when DynamoDB cancels it for a conflict with
   * another transaction on the same item or for throttling: several events of one job arrive
   * together, and the SDK does not retry a cancelled transaction itself. All or nothing, so a retry
   * is safe; a failed condition is an answer, not a fault, and is never retried.
   */
  private async transact(items: TransactItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(new TransactWriteCommand({ TransactItems: items }), transactionValues(items));
        return;
      } catch (error) {
        const codes = cancellationReasons(error instanceof PermanentStoreError ? error.cause : error).map(
          (reason) => reason.Code,
        );
        const transient = codes.some((code) => code !== undefined && transientCancellations.has(code));
        if (!transient || codes.includes('ConditionalCheckFailed') || attempt >= maxTransactionAttempts)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
      }
    }
  }
}

/** The view, corrected by what the failed guards returned: each item as it is now, or its absence. */
function learn(view: View, refused: Refusal[]): View {
  let next = view;
  for (const { write, item } of refused) {
    if (write.to === 'conflict') next = { ...next, conflictRecorded: true };
    else if (write.to === 'event') next = { ...next, event: item && storedEvent(item) };
    else next = { ...next, job: item && storedJob(item) };
  }
  return next;
}

/**
 * A condition as the input of a write; with `returnItem`, a failure returns the item (`ALL_OLD`),
 * which the next decision reads.
 */
function conditionInput(
  condition: Condition | undefined,
  returnItem = false,
): {
  ConditionExpression?: string;
  ExpressionAttributeValues?: Record<string, unknown>;
  ExpressionAttributeNames?: Record<string, string>;
  ReturnValuesOnConditionCheckFailure?: 'ALL_OLD';
} {
  if (!condition) return {};
  return {
    ConditionExpression: condition.expression,
    ...(condition.values && Object.keys(condition.values).length > 0
      ? { ExpressionAttributeValues: condition.values }
      : {}),
    ...(condition.names && Object.keys(condition.names).length > 0
      ? { ExpressionAttributeNames: condition.names }
      : {}),
    ...(returnItem ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
  };
}

/** Placeholders `#aN` and `:vN` for each attribute with a value (the `undefined` ones are left out). */
function assignments(entries: Array<[string, unknown]>) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: Array<[string, string]> = [];
  for (const [attribute, value] of entries) {
    if (value === undefined) continue;
    const i = sets.length;
    names[`#a${i}`] = attribute;
    values[`:v${i}`] = value;
    sets.push([`#a${i}`, `:v${i}`]);
  }
  return { names, values, sets };
}

/** An Update with its condition (returning the item when it fails, unless `returnItem` is false). */
function update(
  table: string,
  key: Item,
  expression: string,
  names: Record<string, string>,
  values: Record<string, unknown>,
  condition: Condition | undefined,
  returnItem = true,
): UpdateInput {
  const guarded = conditionInput(condition, returnItem);
  const allNames = { ...names, ...guarded.ExpressionAttributeNames };
  return {
    TableName: table,
    Key: key,
    UpdateExpression: expression,
    ...guarded,
    ...(Object.keys(allNames).length > 0 ? { ExpressionAttributeNames: allNames } : {}),
    ExpressionAttributeValues: { ...values, ...guarded.ExpressionAttributeValues },
  };
}

/** A write that writes nothing: its condition only, returning the item when it fails. */
function check(table: string, key: Item, condition: Condition | undefined): CheckInput {
  if (!condition) throw new Error('a check without a condition');
  return {
    TableName: table,
    Key: key,
    ...conditionInput(condition, true),
    ConditionExpression: condition.expression,
  };
}

/** An item as DynamoDB returns it on a failed condition (attribute values), as the document client reads it. */
function plainItem(item: Item | undefined): Item | undefined {
  if (item === undefined) return undefined;
  return typeof item.pk === 'object' && item.pk !== null
    ? unmarshall(item as Parameters<typeof unmarshall>[0])
    : item;
}

const maxTransactionAttempts = 4;
const transientCancellations = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
]);

function cancellationReasons(error: unknown): CancellationReason[] {
  if (
    error instanceof TransactionCanceledException ||
    (error as { name?: string })?.name === 'TransactionCanceledException'
  ) {
    return (error as TransactionCanceledException).CancellationReasons ?? [];
  }
  return [];
}

function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** The document client's options; `send` marshals with them too, to name an item the client refused. */
const marshallOptions: MarshallOptions = { removeUndefinedValues: true, convertClassInstanceToMap: false };

/** Error names DynamoDB uses for a request it will refuse however often it is sent. */
const refusedForGood = new Set(['ValidationException', 'SerializationException']);

/** The error the document client's marshaller raises for one of these items, if any. */
function marshallingRefusal(items: ReadonlyArray<unknown>): unknown {
  for (const item of items) {
    try {
      marshall(item as Record<string, unknown>, marshallOptions);
    } catch (error) {
      return error;
    }
  }
  return undefined;
}

function isRefusedForGood(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (refusedForGood.has(error.name)) return true;
  // In a transaction, an item DynamoDB refuses is a `ValidationError` cancellation reason.
  return cancellationReasons(error).some((reason) => reason.Code === 'ValidationError');
}

/** The items and expression values of a transaction: what the marshaller will convert. */
function transactionValues(items: TransactItem[]): unknown[] {
  return items.flatMap((item) => [item.Put?.Item, item.Update?.ExpressionAttributeValues]).filter(Boolean);
}
