import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PurgeQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { inject } from 'vitest';
import { StaticCredentials } from '#adapters/credentials';
import { DynamoEventStore, eventPk, jobPk } from '#adapters/dynamo-store';
import { SqsQueue } from '#adapters/sqs-queue';
import { readAllSettings, type SignatureScheme } from '#core/config';
import type { EventStore } from '#core/consume';
import type { IngestDeps } from '#core/ingest';
import type { Queue } from '#core/message';
import { type Clock, type Logger, silentLogger } from '#core/ports';
import { readableEvent } from '#core/records';
import { sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { queueDepth } from '../../cli/redrive.ts';
import { createHandler as createConsumer } from '../../functions/consume/app.ts';
import { createHandler as createIngest } from '../../functions/ingest/app.ts';
import { OutcomeTally, TallyMetrics } from '../../local/log.ts';
import { SqsPoller } from '../../local/poller.ts';
import {
  createQueues,
  createTables,
  dynamoClient,
  type QueueUrls,
  type ResourceNames,
  resourceNames,
  sqsClient,
} from '../../local/stack.ts';
import { apiEvent } from './api-event.ts';

export { OutcomeTally, TallyMetrics } from '../../local/log.ts';
export { apiEvent } from './api-event.ts';

export const cooledgeSecret = 'whsec_test_0123456789abcdef';
export const zenbookerToken = 'zbk_test_token_0123456789abcdefghij';
/** The Standard Webhooks source the tests send as, and its signing secret (24 bytes). */
export const standardSource = 'acme';
export const standardSecret = `whsec_${Buffer.from('standard-webhooks-test-key').toString('base64')}`;
/** A second sender, with ids of its own that may collide with the first's. */
export const otherStandardSource = 'beta';
export const otherStandardSecret = `whsec_${Buffer.from('standard-webhooks-beta-key-0').toString('base64')}`;

/** The credentials every test pipeline runs with, one entry per provider of the registry. */
export const testCredentials = {
  cooledge: { secrets: [cooledgeSecret] },
  zenbooker: { tokens: [zenbookerToken] },
  standard: {
    sources: {
      [standardSource]: { secrets: [standardSecret] },
      [otherStandardSource]: { secrets: [otherStandardSecret] },
    },
  },
};

export interface WorldOptions {
  /** Visibility timeout of the test queue: short, so redelivery and the DLQ are quick to reach. */
  visibilityTimeoutSeconds?: number;
  signatureScheme?: SignatureScheme;
  clock?: Clock;
  /** Wraps the real store/queue to inject faults. */
  wrapStore?: (store: EventStore) => EventStore;
  wrapQueue?: (queue: Queue) => Queue;
  dynamo?: DynamoDBClient;
  dedupeHorizonDays?: number;
  logger?: Logger;
}

/**
 * One isolated copy of the pipeline on the shared DynamoDB Local and SQS emulator: fresh tables and
 * queues, the real handlers and adapters, and a poller that plays the event source mapping.
 */
export class World {
  readonly names: ResourceNames;
  readonly dynamo: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly ingestMetrics = new TallyMetrics();
  readonly consumerMetrics = new TallyMetrics();
  /** What each event the consumer processed ended as, from its `event processed` log line. */
  consumerOutcomes!: OutcomeTally;
  urls!: QueueUrls;
  ingest!: ReturnType<typeof createIngest>;
  consumer!: ReturnType<typeof createConsumer>;
  poller!: SqsPoller;
  store!: EventStore;

  private constructor(private readonly options: WorldOptions) {
    this.names = resourceNames(`t${randomBytes(4).toString('hex')}`);
    this.dynamo = options.dynamo ?? dynamoClient(inject('dynamoEndpoint'));
    this.doc = DynamoDBDocumentClient.from(this.dynamo);
    this.sqs = sqsClient(inject('sqsEndpoint'));
  }

  static async create(options: WorldOptions = {}): Promise<World> {
    const world = new World(options);
    await world.init();
    return world;
  }

  private async init() {
    await createTables(dynamoClient(inject('dynamoEndpoint')), this.names);
    this.urls = await createQueues(this.sqs, this.names, this.options.visibilityTimeoutSeconds ?? 1);
    const clock = this.options.clock ?? (() => new Date());
    const logger = this.options.logger ?? silentLogger;
    const queue = new SqsQueue(this.urls.queueUrl, this.sqs);
    this.ingest = this.ingestWith({
      queue: this.options.wrapQueue ? this.options.wrapQueue(queue) : queue,
      metrics: this.ingestMetrics,
    });
    const store = new DynamoEventStore({
      eventsTableName: this.names.eventsTable,
      jobsTableName: this.names.jobsTable,
      client: this.dynamo,
    });
    this.store = this.options.wrapStore ? this.options.wrapStore(store) : store;
    this.consumerOutcomes = new OutcomeTally(logger);
    this.consumer = createConsumer({
      providers,
      store: this.store,
      clock,
      dedupeHorizonDays: this.options.dedupeHorizonDays ?? 30,
      eventTimeSkewSeconds: 300,
      logger: this.consumerOutcomes,
      metrics: this.consumerMetrics,
    });
    this.poller = new SqsPoller({
      client: this.sqs,
      queueUrl: this.urls.queueUrl,
      handler: this.consumer,
      batchingWindowSeconds: 0,
      waitTimeSeconds: 0,
    });
  }

  /**
   * The real ingest handler as this world wires it (its queue, the test credentials, its clock and
   * logger), with some dependencies replaced: another SQS client, other credentials, own metrics.
   */
  ingestWith(overrides: Partial<IngestDeps>) {
    return createIngest({
      providers,
      queue: new SqsQueue(this.urls.queueUrl, this.sqs),
      credentials: new StaticCredentials(testCredentials),
      clock: this.options.clock ?? (() => new Date()),
      logger: this.options.logger ?? silentLogger,
      metrics: new TallyMetrics(),
      maxBodyBytes: 256 * 1024,
      providerSettings: readAllSettings(providers, {
        COOLEDGE_SIGNATURE_SCHEME: this.options.signatureScheme ?? 'timestamped',
      }),
      eventTimeSkewSeconds: 300,
      ...overrides,
    });
  }

  /** POSTs a Cooledge body through the real ingest handler, signed unless a signature is given. */
  async postCooledge(
    body: object | string,
    opts: { signature?: string; headers?: Record<string, string> } = {},
  ) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const signature =
      opts.signature ??
      sign(
        raw,
        cooledgeSecret,
        this.options.signatureScheme ?? 'timestamped',
        (this.options.clock ?? (() => new Date()))(),
      );
    return this.post('/webhooks/cooledge', raw, {
      'content-type': 'application/json',
      'x-cooledge-signature': signature,
      ...opts.headers,
    });
  }

  async postZenbooker(
    body: object | string,
    opts: { token?: string; headers?: Record<string, string> } = {},
  ) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    return this.post(`/webhooks/zenbooker/${opts.token ?? zenbookerToken}`, raw, {
      'content-type': 'application/json',
      ...opts.headers,
    });
  }

  /**
   * POSTs a Standard Webhooks body as source `standardSource` would: `webhook-id` (the event's
   * idempotency key, `msg_…` unless given), `webhook-timestamp` from the world's clock, signed.
   */
  async postStandard(
    body: object | string,
    opts: { id?: string; source?: string; secret?: string; headers?: Record<string, string> } = {},
  ) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const id = opts.id ?? `msg_${randomBytes(12).toString('hex')}`;
    const now = (this.options.clock ?? (() => new Date()))();
    return this.post(`/webhooks/standard/${opts.source ?? standardSource}`, raw, {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(opts.secret ?? standardSecret).sign(id, now, raw),
      ...opts.headers,
    });
  }

  async post(
    path: string,
    raw: string,
    headers: Record<string, string>,
  ): Promise<APIGatewayProxyStructuredResultV2 & { json: Record<string, unknown> }> {
    const response = await this.ingest(apiEvent('POST', path, raw, headers));
    return { ...response, json: JSON.parse(response.body ?? '{}') };
  }

  /** Polls until the queue has no visible or in-flight messages (or the timeout passes). */
  async drain(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { received } = await this.poller.pollOnce();
      if (received === 0 && (await this.queueDepth(this.urls.queueUrl)) === 0) return;
      if (received === 0) await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('queue did not drain in time');
  }

  async queueDepth(url: string): Promise<number> {
    return queueDepth(this.sqs, url);
  }

  async deadLetters(): Promise<string[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.urls.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    return (out.Messages ?? []).map((m) => m.Body ?? '');
  }

  async purge() {
    await this.sqs.send(new PurgeQueueCommand({ QueueUrl: this.urls.queueUrl }));
  }

  async job(provider: string, jobId: string) {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.names.jobsTable,
        Key: { pk: jobPk(provider, jobId) },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  }

  /** An event-log record as a reader sees it (`readableEvent`: the body as `rawBody` text). */
  async event(provider: string, eventKey: string) {
    const item = await this.storedEvent(provider, eventKey);
    return item && (readableEvent(item) as typeof item);
  }

  /** An event-log record exactly as DynamoDB holds it. */
  async storedEvent(provider: string, eventKey: string) {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.names.eventsTable,
        Key: { pk: eventPk(provider, eventKey) },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  }

  /** Every event-log record, as a reader sees it (`readableEvent`). */
  async allEvents() {
    return (
      (await this.doc.send(new ScanCommand({ TableName: this.names.eventsTable, ConsistentRead: true })))
        .Items ?? []
    ).map((item) => readableEvent(item) as typeof item);
  }

  async allJobs() {
    return (
      (await this.doc.send(new ScanCommand({ TableName: this.names.jobsTable, ConsistentRead: true })))
        .Items ?? []
    );
  }
}
