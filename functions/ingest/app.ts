import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { credentialsFrom } from '#adapters/credentials';
import { SqsQueue } from '#adapters/sqs-queue';
import { powertoolsLogger, powertoolsMetrics } from '#adapters/telemetry';
import { ingestConfig } from '#core/config';
import { errorDetail, errorName } from '#core/errors';
import { type IngestDeps, ingest, internalError } from '#core/ingest';
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
      deps.logger.error('ingest failed', { error: errorName(error), detail: errorDetail(error) });
      return internalError();
    } finally {
      deps.metrics.flush();
    }
  };
}

/** Built once per cold start; a bad environment fails here with the variable's name. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): IngestDeps {
  const config = ingestConfig(env);
  return {
    providers,
    queue: new SqsQueue(config.queueUrl),
    credentials: credentialsFrom(config.credentials),
    clock: () => new Date(),
    logger: powertoolsLogger('ingest'),
    metrics: powertoolsMetrics('ingest'),
    maxBodyBytes: config.maxBodyBytes,
    signatureScheme: config.signatureScheme,
    signatureToleranceSeconds: config.signatureToleranceSeconds,
    eventTimeSkewSeconds: config.eventTimeSkewSeconds,
  };
}
