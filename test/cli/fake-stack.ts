import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { eventsTable } from '#infra/definitions';
import type { Item } from '../../cli/store.ts';
import type { Target } from '../../cli/target.ts';

/**
 * An events table (and a jobs table) in memory behind a real `DynamoDBDocumentClient` (the SDK's paginators insist on
 * one), answering GetItem, BatchGetItem, Scan and Query of `byProvider` as DynamoDB would: the
 * index holds only items with a `provider` and a receive time, projected to the keys and
 * `infra/definitions.ts`'s attributes. Expressions are evaluated for the forms the CLI writes
 * (`a = :v`, `<>`, `>=`, `<=`, `BETWEEN`, `begins_with`, joined by AND and OR, in parentheses);
 * anything else throws, so a new form cannot pass untested.
 */
export class FakeEventsTable {
  readonly items = new Map<string, Item>();
  /** The jobs table (GetItem and Scan, for `jobs`), by `pk`. */
  readonly jobs = new Map<string, Item>();
  /** Every command sent, by name, in order. */
  readonly calls: string[] = [];

  constructor(items: readonly Item[] = [], jobs: readonly Item[] = []) {
    for (const item of items) this.items.set(item.pk as string, structuredClone(item));
    for (const job of jobs) this.jobs.set(job.pk as string, structuredClone(job));
  }

  client(): DynamoDBDocumentClient {
    const doc = Object.create(DynamoDBDocumentClient.prototype) as DynamoDBDocumentClient;
    Object.assign(doc, {
      send: async (command: unknown) => this.answer(command),
      destroy: () => {},
    });
    return doc;
  }

  private answer(command: unknown): unknown {
    this.calls.push((command as object).constructor.name);
    if ((command as { input?: { TableName?: string } }).input?.TableName === 'jobs')
      return this.answerJobs(command);
    if (command instanceof GetCommand) {
      const item = this.items.get(command.input.Key?.pk as string);
      return { Item: item && structuredClone(item) };
    }
    if (command instanceof BatchGetCommand) {
      const [[table, request]] = Object.entries(command.input.RequestItems ?? {}) as [
        [string, { Keys: Item[] }],
      ];
      const found = request.Keys.map((key) => this.items.get(key.pk as string)).filter(Boolean);
      return { Responses: { [table]: structuredClone(found) }, UnprocessedKeys: {} };
    }
    if (command instanceof QueryCommand) {
      const input = command.input;
      if (input.IndexName !== 'byProvider') throw new Error(`fake: no index ${input.IndexName}`);
      const projected = [
        'pk',
        eventsTable.globalSecondaryIndexes[0].partitionKey.name,
        eventsTable.globalSecondaryIndexes[0].sortKey.name,
        ...eventsTable.globalSecondaryIndexes[0].nonKeyAttributes,
      ];
      const names = input.ExpressionAttributeNames ?? {};
      const values = input.ExpressionAttributeValues ?? {};
      const found = [...this.items.values()]
        .filter((item) => typeof item.provider === 'string' && typeof item.receivedAt === 'string')
        .map((item) =>
          Object.fromEntries(Object.entries(item).filter(([attribute]) => projected.includes(attribute))),
        )
        .filter((item) => matches(input.KeyConditionExpression ?? '', item, names, values))
        .filter(
          (item) =>
            input.FilterExpression === undefined || matches(input.FilterExpression, item, names, values),
        )
        .sort((a, b) => String(a.receivedAt).localeCompare(String(b.receivedAt)));
      if (input.ScanIndexForward === false) found.reverse();
      return { Items: structuredClone(found), Count: found.length };
    }
    if (command instanceof ScanCommand) {
      const input = command.input;
      const names = input.ExpressionAttributeNames ?? {};
      const values = input.ExpressionAttributeValues ?? {};
      const projection = input.ProjectionExpression?.split(', ').map((name) => names[name] ?? name);
      const found = [...this.items.values()]
        .filter(
          (item) =>
            input.FilterExpression === undefined || matches(input.FilterExpression, item, names, values),
        )
        .map((item) =>
          projection === undefined
            ? item
            : Object.fromEntries(
                Object.entries(item).filter(([attribute]) => projection.includes(attribute)),
              ),
        );
      return { Items: structuredClone(found), Count: found.length };
    }
    throw new Error(`fake: unexpected ${(command as object).constructor.name}`);
  }

  private answerJobs(command: unknown): unknown {
    if (command instanceof GetCommand) {
      const item = this.jobs.get(command.input.Key?.pk as string);
      return { Item: item && structuredClone(item) };
    }
    if (command instanceof ScanCommand) {
      const {
        FilterExpression,
        ExpressionAttributeNames = {},
        ExpressionAttributeValues = {},
      } = command.input;
      const found = [...this.jobs.values()].filter(
        (item) =>
          FilterExpression === undefined ||
          matches(FilterExpression, item, ExpressionAttributeNames, ExpressionAttributeValues),
      );
      return { Items: structuredClone(found), Count: found.length };
    }
    throw new Error(`fake: unexpected ${(command as object).constructor.name} on the jobs table`);
  }
}

function matches(
  expression: string,
  item: Item,
  names: Record<string, string>,
  values: Record<string, unknown>,
): boolean {
  const read = (path: string) =>
    path
      .split('.')
      .map((part) => names[part] ?? part)
      .reduce<unknown>((value, part) => (value as Item | undefined)?.[part], item);
  const value = (placeholder: string) => {
    if (!(placeholder in values)) throw new Error(`fake: no value for ${placeholder}`);
    return values[placeholder];
  };
  // Functions and BETWEEN first, then parenthesised groups, each replaced by `@<n>`, its result.
  const results: boolean[] = [];
  const token = (result: boolean) => `@${results.push(result) - 1}`;
  const compare = (term: string): boolean => {
    const known = /^@(\d+)$/.exec(term);
    if (known) return results[Number(known[1])] as boolean;
    const parsed = /^([\w#.]+) (=|<>|>=|<=) (:\w+)$/.exec(term);
    if (!parsed) throw new Error(`fake: cannot evaluate ${JSON.stringify(term)}`);
    const [, path, op, placeholder] = parsed as unknown as [string, string, string, string];
    const [stored, expected] = [read(path), value(placeholder)];
    if (op === '=') return stored !== undefined && stored === expected;
    if (op === '<>') return stored !== expected;
    if (stored === undefined) return false;
    return op === '>=' ? String(stored) >= String(expected) : String(stored) <= String(expected);
  };
  const evaluate = (text: string) =>
    text
      .split(' OR ')
      .some((alternative) => alternative.split(' AND ').every((term) => compare(term.trim())));
  let text = expression
    .replace(/(\S+) BETWEEN (:\w+) AND (:\w+)/g, (_, path, low, high) => {
      const stored = read(path) as string;
      return token(stored >= (value(low) as string) && stored <= (value(high) as string));
    })
    .replace(/begins_with\(([\w#.]+), (:\w+)\)/g, (_, path: string, placeholder: string) => {
      const stored = read(path);
      return token(typeof stored === 'string' && stored.startsWith(value(placeholder) as string));
    });
  while (/\(([^()]*)\)/.test(text))
    text = text.replace(/\(([^()]*)\)/g, (_, group: string) => token(evaluate(group)));
  return evaluate(text);
}

/** Messages "sent" to the queue, as SendMessage inputs. */
export interface FakeQueue {
  sent: Array<{ QueueUrl: string; MessageBody: string }>;
  client: SQSClient;
}

export function fakeQueue(): FakeQueue {
  const sent: FakeQueue['sent'] = [];
  const client = {
    send: async (command: { input: { QueueUrl: string; MessageBody: string } }) => {
      sent.push(command.input);
      return { MessageId: String(sent.length) };
    },
    destroy: () => {},
  } as unknown as SQSClient;
  return { sent, client };
}

/**
 * A dead-letter queue for `redrive --dry-run`: ReceiveMessage hands out visible messages, counting
 * each receive in `ApproximateReceiveCount` as SQS does, and holds them invisible until
 * ChangeMessageVisibilityBatch hands them back; GetQueueAttributes counts them. Nothing else.
 */
export interface FakeDeadLetterQueue {
  messages: Array<Message & { visible: boolean; receives: number }>;
  client: SQSClient;
}

export function fakeDeadLetterQueue(messages: readonly Message[]): FakeDeadLetterQueue {
  const held = messages.map((m, i) => ({
    ...structuredClone(m),
    MessageId: m.MessageId ?? `m${i}`,
    visible: true,
    receives: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
  }));
  const client = {
    send: async (command: unknown) => {
      if (command instanceof GetQueueAttributesCommand) {
        return {
          Attributes: {
            ApproximateNumberOfMessages: String(held.filter((m) => m.visible).length),
            ApproximateNumberOfMessagesNotVisible: String(held.filter((m) => !m.visible).length),
          },
        };
      }
      if (command instanceof ReceiveMessageCommand) {
        const out = held.filter((m) => m.visible).slice(0, command.input.MaxNumberOfMessages ?? 1);
        for (const m of out) {
          m.visible = false;
          m.receives += 1;
        }
        return {
          Messages: out.map(({ visible: _v, receives, ...m }) => ({
            ...structuredClone(m),
            ReceiptHandle: m.MessageId,
            Attributes: { ...m.Attributes, ApproximateReceiveCount: String(receives) },
          })),
        };
      }
      if (command instanceof ChangeMessageVisibilityBatchCommand) {
        for (const entry of command.input.Entries ?? []) {
          const m = held.find((h) => h.MessageId === entry.ReceiptHandle);
          if (m) m.visible = true;
        }
        return { Successful: command.input.Entries?.map((e) => ({ Id: e.Id })) ?? [], Failed: [] };
      }
      // `redrive` itself: the copies to the queue are taken, then deleted from the DLQ.
      if (command instanceof SendMessageBatchCommand) {
        return { Successful: command.input.Entries?.map((e) => ({ Id: e.Id })) ?? [], Failed: [] };
      }
      if (command instanceof DeleteMessageBatchCommand) {
        for (const entry of command.input.Entries ?? []) {
          const at = held.findIndex((h) => h.MessageId === entry.ReceiptHandle);
          if (at >= 0) held.splice(at, 1);
        }
        return { Successful: command.input.Entries?.map((e) => ({ Id: e.Id })) ?? [], Failed: [] };
      }
      throw new Error(`fake: unexpected ${(command as object).constructor.name} on the DLQ`);
    },
    destroy: () => {},
  } as unknown as SQSClient;
  return { messages: held, client };
}

export const fakeQueueUrl = 'http://127.0.0.1:1/000000000000/fake-events';

export function fakeTarget(table: FakeEventsTable, queue: Pick<FakeQueue, 'client'> = fakeQueue()): Target {
  return {
    kind: 'local',
    description: 'the fake stack',
    doc: table.client(),
    sqs: queue.client,
    eventsTable: () => 'events',
    jobsTable: () => 'jobs',
    queueUrl: async () => fakeQueueUrl,
    deadLetterQueueUrl: async () => `${fakeQueueUrl}-dlq`,
    close: () => {},
  };
}

/** The CLI in process; the target is whatever the test mocked in. */
export { cli } from './run-cli.ts';
