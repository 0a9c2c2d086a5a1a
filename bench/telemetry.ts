import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import { powertoolsLogger, powertoolsMetrics } from '#adapters/telemetry';
import type { EventRecord, EventStore, JobWrite } from '#core/consume';
import type { QueueMessage } from '#core/message';
import { routePath } from '#core/routes';
import { providers } from '#providers/index';
import { accessLogFields } from '../cdk/access-log.ts';
import { createHandler as createConsumer } from '../functions/consume/app.ts';
import { createHandler as createIngest } from '../functions/ingest/app.ts';
import { sqsRecord } from '../local/poller.ts';
import { cooledgeRequest, fixture, ingestDeps } from './lib/pipeline.ts';

/**
 * CloudWatch Logs bytes per event: the real Powertools logger and metrics (EMF) adapters the
 * functions use, writing to a counter instead of the terminal, for one accepted delivery (ingest)
 * and one applied event in a batch of ten (consumer). Lambda's own START/END/REPORT lines are added
 * per invocation as a fixed estimate, and the HTTP API's access log line per request is estimated
 * from the stack's own format ({@link accessLogBytesPerRequest}).
 *
 * Every figure is UTF-8 bytes of log event messages, each line with its newline, as the functions
 * write them: CloudWatch Logs bills ingestion by the GB of log data ingested, the same price for the
 * functions' log groups and the access log group ($0.50 per GB, standard class, us-east-1:
 * https://aws.amazon.com/cloudwatch/pricing/). No per-event overhead is added to any of them: the
 * 26 bytes per event that `PutLogEvents` adds is how that API sizes a batch against its 1 MiB limit
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html), not
 * documented as billed bytes, and the model counts the access log line the way it counts the
 * Powertools and platform lines. Were it billed, a delivery's six or so log events would add about
 * 160 bytes.
 */

export interface TelemetryFigure {
  /** Powertools bytes the ingest function writes per accepted delivery (measured). */
  ingestBytesPerEvent: number;
  /** Powertools bytes the consumer writes per applied event, in batches of ten (measured). */
  consumerBytesPerEvent: number;
  /** START + END + REPORT lines Lambda writes per invocation (estimate). */
  platformBytesPerInvocation: number;
  /**
   * The HTTP API's access log line per request, UTF-8 bytes with its newline (estimate: the stack's
   * format with representative values, the response length measured; {@link accessLogBytesPerRequest}).
   */
  accessLogBytesPerRequest: number;
}

export const platformBytesPerInvocation = 330;

/** What API Gateway writes for a `$context` variable that has no value. */
export const accessLogEmptyValue = '-';

/**
 * The route key API Gateway logs for the Cooledge delivery the benchmark sends: the stack declares
 * every webhook route with method ANY at `routePath` (`HttpRouteKey.with(path, HttpMethod.ANY)` in
 * cdk/webhooks-stack.ts), so `ANY /webhooks/cooledge`.
 */
export const benchRouteKey = (() => {
  const cooledge = providers.get('cooledge');
  if (!cooledge)
    throw new Error('the provider registry has no cooledge: the benchmark sends Cooledge deliveries');
  return `ANY ${routePath(cooledge)}`;
})();

/**
 * A representative value for each `$context` variable of the access log format, for one provider
 * POST the ingest function answered 202 (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html):
 * an HTTP API request id (16 characters), the CLF request time, the Cooledge route key, status 202,
 * the 202 body's length (`{"status":"accepted","provider":"cooledge","event_key":"<uuid>"}`, 94
 * bytes; {@link benchTelemetry} measures it), latencies in ms (two digits: the ingest's p50 inside
 * the handler is about 20 ms), the Lambda invoke's status 200, no error (`-`), an IPv4 source and a
 * provider's user agent of 35 characters. Keyed by the variable as written in the format.
 */
export const representativeAccessLogValues: Readonly<Record<string, string>> = {
  '$context.requestId': 'Ab1CdEfGhIjKlMn=',
  '$context.requestTime': '30/Nov/2026:13:33:07 +0000',
  '$context.routeKey': benchRouteKey,
  '$context.httpMethod': 'POST',
  '$context.status': '202',
  '$context.protocol': 'HTTP/1.1',
  '$context.responseLength': '94',
  '$context.responseLatency': '27',
  '$context.integrationStatus': '200',
  '$context.integrationLatency': '25',
  '$context.integrationErrorMessage': accessLogEmptyValue,
  '$context.error.message': accessLogEmptyValue,
  '$context.identity.sourceIp': '203.0.113.45',
  '$context.identity.userAgent': 'Cooledge-Webhooks/1.4 okhttp/4.12.0',
};

/**
 * The access log line API Gateway writes for a request, without its newline: the format
 * (`JSON.stringify(fields)`, what the stack gives `AccessLogFormat.custom`) with every `$context`
 * variable replaced by its value from `values`, escaped as JSON string content (the variables sit
 * inside JSON strings; none of the representative values needs escaping).
 *
 * @param fields The format's fields: JSON key → `$context` variable; the stack's `accessLogFields`.
 * @param values Value per `$context` variable, as {@link representativeAccessLogValues}.
 * @throws Error when the format names a `$context` variable `values` has no value for.
 */
export function accessLogLine(
  fields: Readonly<Record<string, string>> = accessLogFields,
  values: Readonly<Record<string, string>> = representativeAccessLogValues,
): string {
  return JSON.stringify(fields).replace(/\$context(?:\.[A-Za-z]+)+/g, (variable) => {
    const value = values[variable];
    if (value === undefined) {
      throw new Error(`no representative access log value for ${variable}: add one to the bench's values`);
    }
    return JSON.stringify(value).slice(1, -1);
  });
}

/**
 * CloudWatch Logs bytes of one access log line: UTF-8 bytes of {@link accessLogLine} plus its
 * newline, counted as the Powertools lines are (no per-event overhead, above). Changes with the
 * stack's format: a field added to `accessLogFields` adds its bytes.
 */
export function accessLogBytesPerRequest(
  fields: Readonly<Record<string, string>> = accessLogFields,
  values: Readonly<Record<string, string>> = representativeAccessLogValues,
): number {
  return Buffer.byteLength(`${accessLogLine(fields, values)}\n`, 'utf8');
}

/**
 * CloudWatch Logs bytes per delivery, all in (UTF-8 bytes): the ingest's and the consumer's
 * Powertools lines, Lambda's START/END/REPORT lines for one ingest invocation and a share of a
 * consumer invocation (`consumerEventsPerInvocation` events each), and one access log line.
 */
export function logBytesPerDelivery(telemetry: TelemetryFigure, consumerEventsPerInvocation: number): number {
  return (
    telemetry.ingestBytesPerEvent +
    telemetry.consumerBytesPerEvent +
    telemetry.platformBytesPerInvocation * (1 + 1 / Math.max(1, consumerEventsPerInvocation)) +
    telemetry.accessLogBytesPerRequest
  );
}

/** What {@link logBytesPerDelivery} counts, and how each part was found: the cost table's basis. */
export function logBytesSource(telemetry: TelemetryFigure): string {
  return `Powertools logs measured (EMF too, none for a healthy event), Lambda START/END/REPORT estimated, API Gateway access log line estimated (${telemetry.accessLogBytesPerRequest} bytes: the stack's format with representative values)`;
}

async function countOutput(run: () => Promise<void>): Promise<number> {
  let bytes = 0;
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const counter = (chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return true;
  };
  process.stdout.write = counter as typeof process.stdout.write;
  process.stderr.write = counter as typeof process.stderr.write;
  try {
    await run();
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
  return bytes;
}

class AcceptingStore implements EventStore {
  async record(_event: EventRecord, outcome: 'recorded' | 'quarantined') {
    return outcome;
  }
  async apply(_event: EventRecord, _job: JobWrite) {
    return 'applied' as const;
  }
}

export async function benchTelemetry(events = 200): Promise<TelemetryFigure> {
  const previousLevel = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  const messages: QueueMessage[] = [];
  const ingest = createIngest(
    ingestDeps(
      {
        async send(message) {
          messages.push(message);
        },
      },
      { logger: powertoolsLogger('ingest'), metrics: powertoolsMetrics('ingest') },
    ),
  );
  // The 202 bodies' bytes: `$context.responseLength` of the access log line.
  let acceptedBodyBytes = 0;
  let accepted = 0;
  const ingestBytes = await countOutput(async () => {
    for (let i = 0; i < events; i++) {
      const raw = JSON.stringify({ ...fixture('cooledge', 'job.completed'), event_id: randomUUID() });
      const response = await ingest(cooledgeRequest(raw, new Date()));
      if (response.statusCode === 202) {
        acceptedBodyBytes += Buffer.byteLength(response.body ?? '', 'utf8');
        accepted += 1;
      }
    }
  });
  const consumer = createConsumer({
    providers,
    store: new AcceptingStore(),
    clock: () => new Date(),
    dedupeHorizonDays: 30,
    eventTimeSkewSeconds: 300,
    logger: powertoolsLogger('consume'),
    metrics: powertoolsMetrics('consume'),
  });
  const consumerBytes = await countOutput(async () => {
    for (let i = 0; i < messages.length; i += 10) {
      const event: SQSEvent = {
        Records: messages.slice(i, i + 10).map((m) =>
          sqsRecord({
            messageId: randomUUID(),
            body: JSON.stringify(m),
            messageAttributes: {
              provider: { DataType: 'String', StringValue: m.provider },
              eventType: { DataType: 'String', StringValue: m.eventType },
            },
          }),
        ),
      };
      await consumer(event);
    }
  });
  if (previousLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
  else process.env.POWERTOOLS_LOG_LEVEL = previousLevel;
  return {
    ingestBytesPerEvent: Math.round(ingestBytes / events),
    consumerBytesPerEvent: Math.round(consumerBytes / messages.length),
    platformBytesPerInvocation,
    accessLogBytesPerRequest: accessLogBytesPerRequest(accessLogFields, {
      ...representativeAccessLogValues,
      ...(accepted ? { '$context.responseLength': String(Math.round(acceptedBodyBytes / accepted)) } : {}),
    }),
  };
}

if (import.meta.main) console.log(await benchTelemetry());
