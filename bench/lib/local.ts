import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  createTables,
  dynamoClient,
  freePort,
  type ResourceNames,
  type RunningService,
  resourceNames,
  startDynamoDbLocal,
  startSqsEmulator,
} from '../../local/stack.ts';

/**
 * A private local stack for one benchmark or chaos run: DynamoDB Local in memory on a free port and
 * the SQS emulator in process, stopped by `stop()` whatever happened.
 */
export interface BenchStack {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  stop(): Promise<void>;
}

export async function startBenchStack(options: { sqs: boolean }): Promise<BenchStack> {
  const services: RunningService[] = [];
  const stop = async () => {
    await Promise.allSettled(services.map((s) => s.stop()));
  };
  try {
    const dynamo = await startDynamoDbLocal({ port: await freePort() });
    services.push(dynamo);
    let sqsEndpoint = '';
    if (options.sqs) {
      const sqs = await startSqsEmulator({ port: 0 });
      services.push(sqs);
      sqsEndpoint = sqs.endpoint;
    }
    return { dynamoEndpoint: dynamo.endpoint, sqsEndpoint, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Fresh tables under a random prefix, from the shared definitions; `streams: false` leaves out the
 * jobs table's stream, which DynamoDB Local keeps on the write path (see `createTables`).
 */
export async function freshTables(
  client: DynamoDBClient,
  options: { streams?: boolean } = {},
): Promise<ResourceNames> {
  const names = resourceNames(`b${randomBytes(4).toString('hex')}`);
  await createTables(client, names, options);
  return names;
}

/** Item size by DynamoDB's rules (names + values; 3 bytes per list or map plus 1 per element). */
export function itemBytes(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueBytes(value);
  return size;
}

type AttributeValue = {
  S?: string;
  N?: string;
  B?: Uint8Array;
  BOOL?: boolean;
  NULL?: boolean;
  M?: Record<string, AttributeValue>;
  L?: AttributeValue[];
  SS?: string[];
};

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M)
    return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + valueBytes(v), 0);
  if (value.L) return 3 + value.L.reduce((n, v) => n + 1 + valueBytes(v), 0);
  if (value.SS) return value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  return 0;
}

export { dynamoClient };
