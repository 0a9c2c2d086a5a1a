import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { credentialsFrom } from '#adapters/credentials';
import { SqsQueue } from '#adapters/sqs-queue';
import { powertoolsLogger, powertoolsMetrics } from '#adapters/telemetry';
import { ingestConfig } from '#core/config';
import { errorLogLine } from '#core/errors';
import { type IngestDeps, ingest, internalError } from '#core/ingest';
import type { AnyProvider } from '#core/provider';
import { providers } from '#providers/index';

/**
 * API Gateway HTTP API (payload v2) → ingest. Wiring only: the behaviour is `ingest`. An error that
 * escapes it (a bug, the secret store down) is a 503, so the provider retries and nothing is lost.
 */
export function createHandler(deps: IngestDeps) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      return await ingest(
        {
          method: event.requestContext.http.method,
          path: event.rawPath,
          headers: event.headers ?? {},
          body: event.body,
          isBase64Encoded: event.isBase64Encoded,
        },
        deps,
      );
    } catch (error) {
      // The credentials could not be read (Secrets Manager's error with its HTTP status, or what is
      // wrong with the secret's shape, never its value), or a bug: one line that says which.
      deps.logger.error('ingest failed', { error: errorLogLine(error) });
      return internalError();
    } finally {
      deps.metrics.flush();
    }
  };
}

/**
 * Built once per cold start; a bad environment fails here with the variable's name. `served` is
 * the registry unless a caller (the local stack) serves another.
 */
export function defaultDeps(
  env: NodeJS.ProcessEnv = process.env,
  served: ReadonlyMap<string, AnyProvider> = providers,
): IngestDeps {
  const config = ingestConfig(env, served);
  const logger = powertoolsLogger('ingest');
  return {
    providers: served,
    queue: new SqsQueue(config.queueUrl),
    credentials: credentialsFrom(config.credentials, served, logger),
    clock: () => new Date(),
    logger,
    metrics: powertoolsMetrics('ingest'),
    maxBodyBytes: config.maxBodyBytes,
    providerSettings: config.providerSettings,
    eventTimeSkewSeconds: config.eventTimeSkewSeconds,
  };
}
