import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  type Shard,
  type ShardIteratorType,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { JobStreamRecord } from '#adapters/job-stream-records';
import { sleep } from './sleep.ts';

/**
 * Reading the jobs table's DynamoDB stream without Lambda: the local stack's publisher
 * (`npm start`) and `cli watch` turn what it yields into job events with `jobChangesOf`
 * (functions/adapters/job-stream-records.ts), as the deployed publish function does. It works on
 * DynamoDB Local and on AWS alike (the DynamoDB Streams API).
 */

/**
 * The ARN of a table's current stream (DescribeTable's `LatestStreamArn`). Throws, naming the
 * table, when the table has no enabled stream (a jobs table created before it had one: `npm start`
 * turns it on locally, `cdk deploy` on AWS).
 */
export async function jobStreamArn(dynamo: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = Table?.LatestStreamArn;
  if (!Table?.StreamSpecification?.StreamEnabled || !arn) {
    throw new Error(
      `table ${tableName} has no DynamoDB stream, so its job changes cannot be read: the jobs table gets one from infra/definitions.ts (npm start turns it on locally, cdk deploy on AWS)`,
    );
  }
  return arn;
}

export interface ReadJobStreamOptions {
  client: DynamoDBStreamsClient;
  /** From {@link jobStreamArn}. */
  streamArn: string;
  /**
   * Where to start in the shards open when reading starts: their oldest record still kept (24
   * hours) or what is written from now on. Shards that open later are always read from their start.
   */
  from: 'TRIM_HORIZON' | 'LATEST';
  /** Stops the reading (and a request in flight): the generator then returns. */
  signal?: AbortSignal;
  /** Milliseconds to wait after a round that read nothing, before asking again; 1000 unless given. */
  pollMs?: number;
  /**
   * Called once, when the first round has taken its position in every shard it can read: from
   * then on nothing written is missed (with `LATEST`, what was written before is not read). A
   * reader that must not miss a change (the local publisher, before the consumer starts) waits
   * for it.
   */
  onReady?: () => void;
}

interface ShardState {
  parent: string | undefined;
  iterator: string | undefined;
  /** The last record read, to continue after an expired iterator. */
  lastSequence: string | undefined;
  /** How a shard with no record read yet is started. */
  start: ShardIteratorType;
  /** Closed and read to its end. */
  done: boolean;
}

/**
 * Reads a DynamoDB stream until `signal` aborts, yielding the records of each `GetRecords` that
 * returned some: one batch from one shard at a time, in the shard's order. Every shard is read,
 * and a shard only once its parent has been read to its end, as the DynamoDB Streams developer
 * guide requires so that an item's changes are seen in order ("Reading and processing a stream":
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html); a parent that is
 * no longer listed (trimmed after 24 hours) counts as read. Open shards are polled; the shard
 * list is read again after every round that read nothing and whenever a shard closes, so its
 * children are found. An expired iterator (15 minutes unused) is renewed after the last record
 * read. Each round reads every ready shard once, so a busy shard does not hold the others back.
 */
export async function* readJobStream(options: ReadJobStreamOptions): AsyncGenerator<JobStreamRecord[]> {
  const { client, streamArn, signal } = options;
  const pollMs = options.pollMs ?? 1000;
  const shards = new Map<string, ShardState>();
  const send = { abortSignal: signal };
  let first = true;
  let refresh = true;
  let ready = false;
  try {
    while (!signal?.aborted) {
      if (refresh) {
        for (const shard of await listShards(client, streamArn, signal)) {
          const id = shard.ShardId;
          if (!id || shards.has(id)) continue;
          const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
          shards.set(id, {
            parent: shard.ParentShardId,
            iterator: undefined,
            lastSequence: undefined,
            start: first ? options.from : 'TRIM_HORIZON',
            // From LATEST, a shard that was closed when reading began has nothing to give.
            done: first && closed && options.from === 'LATEST',
          });
        }
        first = false;
        refresh = false;
      }
      let read = false;
      for (const [shardId, state] of shards) {
        if (state.done || !parentRead(shards, state)) continue;
        if (signal?.aborted) return;
        let out: GetRecordsCommandOutput;
        try {
          state.iterator ??= await iterator(client, streamArn, shardId, state, signal);
          out = await client.send(new GetRecordsCommand({ ShardIterator: state.iterator }), send);
        } catch (error) {
          if (error instanceof ExpiredIteratorException) {
            state.iterator = undefined;
            continue;
          }
          // The iterator's place is older than the shard's oldest record: on AWS, records trimmed
          // (past the 24 hours) since; on DynamoDB Local, also a shard that was empty when read
          // from LATEST and whose first record is a transaction's (its sequence number skips one).
          // Either way every record the shard keeps is newer than that place: read from its oldest.
          if (error instanceof TrimmedDataAccessException) {
            state.iterator = undefined;
            state.lastSequence = undefined;
            state.start = 'TRIM_HORIZON';
            continue;
          }
          // The shard is gone (past the 24 hours): nothing more to read from it.
          if (error instanceof ResourceNotFoundException) {
            state.done = true;
            refresh = true;
            continue;
          }
          throw error;
        }
        const records = (out.Records ?? []) as JobStreamRecord[];
        if (records.length > 0) {
          read = true;
          state.lastSequence = records.at(-1)?.dynamodb?.SequenceNumber ?? state.lastSequence;
          yield records;
        }
        state.iterator = out.NextShardIterator;
        if (state.iterator === undefined) {
          state.done = true;
          refresh = true;
        }
      }
      if (!ready) {
        ready = true;
        options.onReady?.();
      }
      if (!read && !refresh) {
        await sleep(pollMs, signal);
        refresh = true;
      }
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}

/** Every shard of the stream (DescribeStream pages through them by `ExclusiveStartShardId`). */
async function listShards(client: DynamoDBStreamsClient, streamArn: string, signal?: AbortSignal) {
  const shards: Shard[] = [];
  let start: string | undefined;
  do {
    const out = await client.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
      { abortSignal: signal },
    );
    shards.push(...(out.StreamDescription?.Shards ?? []));
    start = out.StreamDescription?.LastEvaluatedShardId;
  } while (start);
  return shards;
}

function parentRead(shards: ReadonlyMap<string, ShardState>, state: ShardState): boolean {
  if (state.parent === undefined) return true;
  const parent = shards.get(state.parent);
  return parent === undefined || parent.done;
}

async function iterator(
  client: DynamoDBStreamsClient,
  streamArn: string,
  shardId: string,
  state: ShardState,
  signal?: AbortSignal,
): Promise<string> {
  const out = await client.send(
    new GetShardIteratorCommand({
      StreamArn: streamArn,
      ShardId: shardId,
      ...(state.lastSequence === undefined
        ? { ShardIteratorType: state.start }
        : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: state.lastSequence }),
    }),
    { abortSignal: signal },
  );
  if (!out.ShardIterator) throw new Error(`DynamoDB Streams gave no iterator for shard ${shardId}`);
  return out.ShardIterator;
}

/**
 * Every record of a table's stream written so far, from its start, in stream order, but the
 * sentinels' own: a sentinel item (`pk` = `sentinel#<uuid>`, removed afterwards) is written last, and its record says the
 * reader has caught up (each shard keeps its records in order; DynamoDB Local has one shard per
 * stream). For tests and the benchmark, which need "everything the run wrote", not a live feed.
 *
 * @throws Error when the sentinel has not come out of the stream within `timeoutMs` (default 15 s).
 */
export async function jobStreamSoFar(options: {
  dynamo: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  timeoutMs?: number;
}): Promise<JobStreamRecord[]> {
  const { dynamo, streams, tableName } = options;
  const sentinel = `sentinel#${randomUUID()}`;
  await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: sentinel } } }));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 15_000);
  const records: JobStreamRecord[] = [];
  try {
    const streamArn = await jobStreamArn(dynamo, tableName);
    for await (const batch of readJobStream({
      client: streams,
      streamArn,
      from: 'TRIM_HORIZON',
      signal: controller.signal,
      pollMs: 20,
    })) {
      for (const record of batch) {
        const pk = record.dynamodb.Keys.pk?.S;
        if (pk === sentinel) return records;
        // An earlier call's sentinel, written and removed: no job.
        if (!pk?.startsWith('sentinel#')) records.push(record);
      }
    }
    throw new Error(`the sentinel never came out of the stream of ${tableName}`);
  } finally {
    clearTimeout(timer);
    await dynamo.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: sentinel } } }));
  }
}
