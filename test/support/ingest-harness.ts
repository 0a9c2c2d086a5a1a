import { readAllSettings } from '#core/config';
import type { IngestDeps } from '#core/ingest';
import { providers } from '#providers/index';
import { createHandler } from '../../functions/ingest/app.ts';
import { TallyMetrics } from '../../local/log.ts';
import { FixedCredentials, fixedClock, RecordingLogger, RecordingQueue } from './fakes.ts';
import { standardSecret, standardSource } from './world.ts';

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
      cooledge: { secrets: [options.secret] },
      zenbooker: { tokens: [options.token] },
      standard: { sources: { [standardSource]: { secrets: [standardSecret] } } },
    }),
    clock: fixedClock(options.now),
    logger,
    metrics,
    maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
    providerSettings: readAllSettings(providers, {}),
    eventTimeSkewSeconds: 300,
    ...overrides,
  });
  return { queue, logger, metrics, handler };
}
