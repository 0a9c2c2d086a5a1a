import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import { powertoolsLogger, powertoolsMetrics } from '#adapters/telemetry';
import type { EventRecord, EventStore, JobWrite } from '#core/consume';
import type { QueueMessage } from '#core/message';
import { providers } from '#providers/index';
import { createHandler as createConsumer } from '../functions/consume/app.ts';
import { createHandler as createIngest } from '../functions/ingest/app.ts';
import { sqsRecord } from '../local/poller.ts';
import { cooledgeRequest, fixture, ingestDeps } from './lib/pipeline.ts';

/**
 * CloudWatch Logs bytes per event: the real Powertools logger and metrics (EMF) adapters the
 * functions use, writing to a counter instead of the terminal, for one accepted delivery (ingest)
 * and one applied event in a batch of ten (consumer). Lambda's own START/END/REPORT lines are added
 * per invocation as a fixed estimate.
 */

export interface TelemetryFigure {
  ingestBytesPerEvent: number;
  consumerBytesPerEvent: number;
  /** START + END + REPORT lines Lambda writes per invocation (estimate). */
  platformBytesPerInvocation: number;
}

export const platformBytesPerInvocation = 330;

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
  const ingestBytes = await countOutput(async () => {
    for (let i = 0; i < events; i++) {
      const raw = JSON.stringify({ ...fixture('cooledge', 'job.completed'), event_id: randomUUID() });
      await ingest(cooledgeRequest(raw, new Date()));
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
  };
}

if (import.meta.main) console.log(await benchTelemetry());
