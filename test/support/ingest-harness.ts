import type { IngestDeps } from '#core/ingest';
import { providers } from '#providers/index';
import { createHandler } from '../../functions/ingest/app.ts';
import { TallyMetrics } from '../../local/log.ts';
import { FixedCredentials, fixedClock, RecordingLogger, RecordingQueue } from './fakes.ts';

export interface FakeIngestOptions {
  secret: string;
  token: string;
  now: Date;
  maxBodyBytes?: number;
}

/** The real ingest handler over recording fakes: one active secret and token, a fixed clock. */
export function fakeIngest(options: FakeIngestOptions, overrides: Partial<IngestDeps> = {}) {
  const queue = new RecordingQueue();
  const logger = new RecordingLogger();
  const metrics = new TallyMetrics();
  const handler = createHandler({
    providers,
    queue,
    credentials: new FixedCredentials({
      cooledgeSecrets: [options.secret],
      zenbookerTokens: [options.token],
    }),
    clock: fixedClock(options.now),
    logger,
    metrics,
    maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
    signatureScheme: 'timestamped',
    signatureToleranceSeconds: 300,
    eventTimeSkewSeconds: 300,
    ...overrides,
  });
  return { queue, logger, metrics, handler };
}
