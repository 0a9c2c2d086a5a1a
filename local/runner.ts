import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ConfigError, consumerConfig, ingestConfig } from '#core/config';
import { errorLogLine, errorName } from '#core/errors';
import type { AnyProvider } from '#core/provider';
import { queueVisibilityTimeoutSeconds } from '#infra/definitions';
import { providers as registry } from '#providers/index';
import { defaultDeps as consumerDeps, createHandler as createConsumer } from '../functions/consume/app.ts';
import { createHandler as createIngest, defaultDeps as ingestDeps } from '../functions/ingest/app.ts';
import { httpUrlProblem } from './args.ts';
import {
  dataDirFrom,
  defaultPorts,
  localPrefix,
  portFrom,
  processAlive,
  readStackFile,
  removeStackFile,
  resetCommand,
  type StackFile,
  writeStackFile,
} from './config.ts';
import { JobEventFile, type JobPublisher, jobEventsFileName, startJobPublisher } from './job-publisher.ts';
import { jobStreamArn } from './job-stream.ts';
import { lockDataDir } from './lock.ts';
import { type LineWriter, lineLogger, OutcomeTally, TallyMetrics } from './log.ts';
import { SqsPoller } from './poller.ts';
import { type LocalServer, startLocalServer } from './server.ts';
import {
  checkJava,
  createQueues,
  createTables,
  dynamoClient,
  freePort,
  LocalStackError,
  localCredentials,
  localRegion,
  portInUse,
  type QueueUrls,
  type RunningService,
  resourceNames,
  sqsClient,
  startDynamoDbLocal,
  startSqsEmulator,
} from './stack.ts';

/**
 * `npm start`: the whole pipeline on this machine. DynamoDB Local and the SQS emulator keep their
 * data under the data directory, the real ingest handler serves HTTP through a stand-in for API
 * Gateway, and pollers drive the real consumer the way the SQS event source mapping does.
 */

type Env = Record<string, string | undefined>;

export interface LocalStackOptions {
  env: Env;
  /** Defaults to `LOCAL_DATA_DIR` or `.local`. */
  dataDir?: string;
  /** Wipes the data directory first. */
  reset?: boolean;
  out: LineWriter;
  colour?: boolean;
  /** The providers served: the registry unless a test brings its own (`registry([...])`). */
  providers?: ReadonlyMap<string, AnyProvider>;
  /** `--forward-job-events`: POST each job change event here; else `JOB_EVENTS_FORWARD_URL`. */
  forwardJobEvents?: string;
}

export interface RunningLocalStack {
  url: string;
  settings: LocalSettings;
  /** What the CLI reads to find this stack. */
  stack: StackFile;
  /** Stops accepting requests, drains what is in flight, stops the emulators. */
  stop(): Promise<void>;
  /** One line of counts for the exit message. */
  summary(): string;
  /** Child processes to kill if the runner has to exit without `stop`. */
  childPids(): number[];
}

/** Concurrent pollers, like the several pollers Lambda runs for one event source mapping. */
const pollerCount = 2;

/** What the runner needs from the environment, validated before anything starts. */
export interface LocalSettings {
  dataDir: string;
  host: string;
  ports: { http: number; dynamodb: number; sqs: number };
  /** The providers served, by name (the registry unless a test brings its own). */
  providers: ReadonlyMap<string, AnyProvider>;
  /**
   * Each provider's credentials as text, by provider name: its variable's value
   * (`credentials.env.variable`), or its public dev value when the variable is unset or blank.
   */
  credentials: Readonly<Record<string, string>>;
  /** By provider name: true when the provider runs on its dev value (its variable unset). */
  devCredentials: Readonly<Record<string, boolean>>;
  visibilityTimeoutSeconds: number;
  /**
   * Where the publisher POSTs each job change event too (`--forward-job-events`, else
   * `JOB_EVENTS_FORWARD_URL`), or `undefined`.
   */
  jobEventsForwardUrl: string | undefined;
  /** The environment the handlers' config reads (`ingestConfig`), minus the queue URL known later. */
  handlerEnv: Env;
}

export function localSettings(
  env: Env,
  dataDir?: string,
  providers: ReadonlyMap<string, AnyProvider> = registry,
  forwardJobEvents?: string,
): LocalSettings {
  const names = resourceNames(localPrefix);
  const credentials: Record<string, string> = {};
  const devCredentials: Record<string, boolean> = {};
  const credentialEnv: Env = {};
  for (const provider of providers.values()) {
    const { variable, dev } = provider.credentials.env;
    const text = env[variable]?.trim() || dev;
    credentials[provider.name] = text;
    devCredentials[provider.name] = text === dev;
    credentialEnv[variable] = text;
  }
  const visibility = env.QUEUE_VISIBILITY_TIMEOUT_SECONDS?.trim();
  // Below the batching window plus a batch's work, SQS would hand a batch out again mid-flight.
  if (visibility && (!/^\d+$/.test(visibility) || Number(visibility) < 3 || Number(visibility) > 43_200)) {
    throw new LocalStackError(
      'QUEUE_VISIBILITY_TIMEOUT_SECONDS must be a whole number of seconds from 3 to 43200',
    );
  }
  const forward = forwardJobEvents?.trim() || env.JOB_EVENTS_FORWARD_URL?.trim() || undefined;
  const forwardProblem = forward === undefined ? undefined : httpUrlProblem(forward);
  if (forwardProblem) {
    const name = forwardJobEvents?.trim() ? '--forward-job-events' : 'JOB_EVENTS_FORWARD_URL';
    throw new LocalStackError(`${name} ${forwardProblem}`);
  }
  const handlerEnv: Env = {
    ...env,
    // Local credentials come from the environment, never from Secrets Manager.
    WEBHOOK_SECRET_ID: undefined,
    ...credentialEnv,
    EVENTS_TABLE_NAME: names.eventsTable,
    JOBS_TABLE_NAME: names.jobsTable,
  };
  // Fails now, naming the variable, rather than after the emulators have started.
  ingestConfig({ ...handlerEnv, QUEUE_URL: 'http://127.0.0.1/000000000000/check' }, providers);
  consumerConfig(handlerEnv);
  return {
    dataDir: dataDirFrom(env, dataDir),
    host: env.HOST?.trim() || '127.0.0.1',
    ports: {
      http: portFrom(env, 'PORT', defaultPorts.http),
      dynamodb: portFrom(env, 'DYNAMODB_PORT', defaultPorts.dynamodb),
      sqs: portFrom(env, 'SQS_PORT', defaultPorts.sqs),
    },
    providers,
    credentials,
    devCredentials,
    visibilityTimeoutSeconds: visibility ? Number(visibility) : queueVisibilityTimeoutSeconds,
    jobEventsForwardUrl: forward,
    handlerEnv,
  };
}

const portVariables = { http: 'PORT', dynamodb: 'DYNAMODB_PORT', sqs: 'SQS_PORT' } as const;

async function checkPorts(settings: LocalSettings, dynamoPidFile: string): Promise<void> {
  for (const key of ['http', 'dynamodb', 'sqs'] as const) {
    const port = settings.ports[key];
    if (port === 0 || !(await portInUse(port))) continue;
    const running = readStackFile(settings.dataDir);
    let hint = `stop whatever uses it, or set ${portVariables[key]} to a free port`;
    if (running && processAlive(running.pid)) {
      hint = `a local stack from this folder is already running (pid ${running.pid}): stop it first, or set ${portVariables[key]}`;
    } else if (key === 'dynamodb' && existsSync(dynamoPidFile)) {
      const pid = Number(readFileSync(dynamoPidFile, 'utf8'));
      if (pid > 0 && processAlive(pid)) {
        hint = `DynamoDB Local from an earlier run that did not stop cleanly is still running: \`kill ${pid}\``;
      }
    }
    throw new LocalStackError(`port ${port} is already in use: ${hint}.`);
  }
}

function wipe(dataDir: string): void {
  const running = readStackFile(dataDir);
  if (running && processAlive(running.pid)) {
    throw new LocalStackError(`the local stack is running (pid ${running.pid}): stop it before --reset.`);
  }
  for (const entry of [
    'dynamodb',
    'sqs',
    'dynamodb.pid',
    'stack.json',
    jobEventsFileName,
    `${jobEventsFileName}.1`,
  ]) {
    rmSync(join(dataDir, entry), { recursive: true, force: true });
  }
}

function corruptHint(error: unknown, what: string, dir: string): Error {
  if (error instanceof LocalStackError) return error;
  return new LocalStackError(
    `${what} could not open its data under ${dir} (${errorName(error)}: ${(error as Error).message}). ` +
      `It may be corrupt: \`${resetCommand(dir)}\` wipes the local data.`,
  );
}

/** DynamoDB Local's failure without the JVM's stack trace: the first line that names the cause. */
function conciseDynamoError(error: unknown, dir: string): unknown {
  const message = error instanceof Error ? error.message : '';
  if (!/may be corrupt/.test(message)) return error;
  const cause = /SQLiteException: .*?\[([^\]]+)\]\s*$/m.exec(message)?.[1];
  return new LocalStackError(
    `DynamoDB Local could not read its data under ${dir}${cause ? ` (${cause})` : ''}. ` +
      `It may be corrupt: \`${resetCommand(dir)}\` wipes the local data.`,
  );
}

function pathStyle(endpoint: string, queueUrl: string): string {
  return `${endpoint}${queueUrl.replace(/^[a-z]+:\/\/[^/]+/i, '')}`;
}

/** Starts everything; on any failure, stops what did start and rejects with an actionable error. */
export async function startLocalStack(options: LocalStackOptions): Promise<RunningLocalStack> {
  const settings = localSettings(options.env, options.dataDir, options.providers, options.forwardJobEvents);
  const { dataDir } = settings;
  const dynamoDir = join(dataDir, 'dynamodb');
  const sqsDir = join(dataDir, 'sqs');
  const dynamoPidFile = join(dataDir, 'dynamodb.pid');
  const colour = options.colour ?? false;
  const log = lineLogger('local', options.out, colour);

  checkJava();
  // Before anything touches the folder (--reset, the emulators' files, stack.json): one runner per folder.
  const lock = lockDataDir(dataDir);
  try {
    if (options.reset) wipe(dataDir);
    await checkPorts(settings, dynamoPidFile);
  } catch (error) {
    lock.release();
    throw error;
  }

  const services: RunningService[] = [];
  const stopServices = () => Promise.allSettled(services.map((s) => s.stop()));
  let server: LocalServer | undefined;
  let publisher: JobPublisher | undefined;
  let streams: DynamoDBStreamsClient | undefined;
  try {
    const dynamoPort = settings.ports.dynamodb || (await freePort());
    const [dynamo, sqs] = await Promise.allSettled([
      startDynamoDbLocal({ port: dynamoPort, dbPath: dynamoDir, detached: true }).catch((error: unknown) => {
        throw conciseDynamoError(error, dynamoDir);
      }),
      startSqsEmulator({ port: settings.ports.sqs, dataDir: sqsDir }).catch((error: unknown) => {
        throw corruptHint(error, 'The SQS emulator', sqsDir);
      }),
    ]);
    if (dynamo.status === 'fulfilled') {
      services.push(dynamo.value);
      if (dynamo.value.pid) writeFileSync(dynamoPidFile, String(dynamo.value.pid));
    }
    if (sqs.status === 'fulfilled') services.push(sqs.value);
    if (dynamo.status === 'rejected') throw dynamo.reason;
    if (sqs.status === 'rejected') throw sqs.reason;
    const dynamoEndpoint = dynamo.value.endpoint;
    const sqsEndpoint = sqs.value.endpoint;

    // The handlers build their own SDK clients from the standard variables, as in Lambda.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: sqsEndpoint,
      AWS_REGION: localRegion,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    const names = resourceNames(localPrefix);
    const dynamoAdmin = dynamoClient(dynamoEndpoint);
    const queueClient = sqsClient(sqsEndpoint);
    let streamArn: string;
    try {
      await createTables(dynamoAdmin, names);
      streamArn = await jobStreamArn(dynamoAdmin, names.jobsTable);
    } catch (error) {
      throw corruptHint(error, 'DynamoDB Local', dynamoDir);
    } finally {
      dynamoAdmin.destroy();
    }
    const created = await createQueues(queueClient, names, settings.visibilityTimeoutSeconds);
    // fauxqs answers with `http://sqs.<region>.127.0.0.1:<port>/…` URLs: WHATWG URL parsing (and so
    // the ingest config's URL check) rejects a host whose last label is numeric, and a persisted
    // queue keeps the port of the run that created it. The emulator accepts path-style URLs on its
    // endpoint just as well.
    const queues: QueueUrls = {
      queueUrl: pathStyle(sqsEndpoint, created.queueUrl),
      deadLetterQueueUrl: pathStyle(sqsEndpoint, created.deadLetterQueueUrl),
    };
    const { Attributes } = await queueClient.send(
      new GetQueueAttributesCommand({ QueueUrl: queues.queueUrl, AttributeNames: ['QueueArn'] }),
    );

    const ingestMetrics = new TallyMetrics();
    const consumerMetrics = new TallyMetrics();
    const ingestOutcomes = new OutcomeTally(lineLogger('ingest', options.out, colour));
    const consumerLogger = lineLogger('consume', options.out, colour);
    const consumerOutcomes = new OutcomeTally(consumerLogger);
    const handlerEnv = { ...settings.handlerEnv, QUEUE_URL: queues.queueUrl };
    const ingest = createIngest({
      ...ingestDeps(handlerEnv, settings.providers),
      logger: ingestOutcomes,
      metrics: ingestMetrics,
    });
    const consumer = createConsumer({
      ...consumerDeps(handlerEnv, settings.providers),
      logger: consumerOutcomes,
      metrics: consumerMetrics,
    });
    // Job change events: a reader of the jobs table's stream on a loop of its own, which neither
    // ingest nor the consumer waits for. It takes its place in the stream before the consumer
    // starts, so a message left in the queue by the last run is published when it is applied.
    streams = new DynamoDBStreamsClient({
      endpoint: dynamoEndpoint,
      region: localRegion,
      credentials: localCredentials,
    });
    const jobEventsLog = lineLogger('publish', options.out, colour);
    publisher = startJobPublisher({
      client: streams,
      streamArn,
      file: new JobEventFile(join(dataDir, jobEventsFileName)),
      ...(settings.jobEventsForwardUrl ? { forwardUrl: settings.jobEventsForwardUrl } : {}),
      logger: jobEventsLog,
    });
    const positioned = await Promise.race([
      publisher.ready,
      new Promise<'late'>((resolve) => setTimeout(resolve, 10_000, 'late').unref()),
    ]);
    if (positioned !== true) {
      jobEventsLog.warn('job events: the jobs stream is not read yet; changes until it is are not published');
    }
    const publishing = publisher;
    const pollers = Array.from(
      { length: pollerCount },
      () =>
        new SqsPoller({
          client: queueClient,
          queueUrl: queues.queueUrl,
          ...(Attributes?.QueueArn ? { queueArn: Attributes.QueueArn } : {}),
          handler: consumer,
          onInvokeError: (error) => consumerLogger.error('poll failed', { error: errorLogLine(error) }),
        }),
    );
    for (const poller of pollers) poller.start();

    const httpLog = lineLogger('http', options.out, colour);
    try {
      server = await startLocalServer({
        handler: ingest,
        providers: settings.providers,
        port: settings.ports.http,
        host: settings.host,
        onRequest: (entry) =>
          httpLog.info(`${entry.method} ${entry.route}`, { status: entry.status, ms: Math.round(entry.ms) }),
        onError: (error) => httpLog.error('request failed', { error: errorLogLine(error) }),
      });
    } catch (error) {
      await Promise.all(pollers.map((p) => p.stop()));
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new LocalStackError(`port ${settings.ports.http} is already in use: set PORT to a free port.`);
      }
      throw error;
    }
    const running = server;

    let stopped = false;
    const stack: StackFile = {
      pid: process.pid,
      url: running.url,
      dynamoEndpoint,
      sqsEndpoint,
      region: localRegion,
      names,
      queues,
      startedAt: new Date().toISOString(),
    };
    writeStackFile(dataDir, stack);

    return {
      url: running.url,
      settings,
      stack,
      // Empty once stopped: a pid the OS may have handed to another process is never signalled.
      childPids: () => (stopped ? [] : services.flatMap((s) => (s.pid ? [s.pid] : []))),
      // Outcomes from the log lines, then the rejections, which no outcome line counts (the other
      // metrics, Quarantined, Conflict, Unprocessable and RecordFailed, repeat an outcome).
      summary: () => {
        const counted = (outcomes: OutcomeTally, metrics: TallyMetrics) =>
          [
            outcomes.summary(),
            ...[...metrics.counts]
              .filter(([name]) => name.startsWith('Rejected') || name === 'EnqueueFailed')
              .map(([name, n]) => `${name}=${n}`),
          ]
            .filter(Boolean)
            .join(' ');
        return `ingest: ${counted(ingestOutcomes, ingestMetrics) || 'nothing received'}; consumer: ${counted(consumerOutcomes, consumerMetrics) || 'nothing processed'}; job events: ${publishing.summary()}`;
      },
      stop: async () => {
        log.info('stopping: no new requests, draining what is in flight');
        await running.close();
        await Promise.all(pollers.map((p) => p.stop()));
        // After the consumer, so the changes of its last batch are published; before DynamoDB Local.
        await publishing.stop();
        streams?.destroy();
        queueClient.destroy();
        await stopServices();
        stopped = true;
        removeStackFile(dataDir);
        rmSync(dynamoPidFile, { force: true });
        lock.release();
      },
    };
  } catch (error) {
    await server?.close(0);
    await publisher?.stop();
    streams?.destroy();
    await stopServices();
    rmSync(dynamoPidFile, { force: true });
    lock.release();
    if (error instanceof ConfigError) throw new LocalStackError(error.message);
    throw error;
  }
}
