/**
 * Every AWS client the functions build gets explicit timeouts. The SDK's default is to wait as
 * long as the socket lives, so one hung call would run into the Lambda timeout: the provider would
 * get API Gateway's bare 500 instead of our 503 with `Retry-After`, and a consumer batch would
 * stall until its visibility timeout. With these, a dead endpoint fails in a few seconds, inside
 * the ingest function's 20 s and the consumer's 30 s, and the SDK's retries still get their turn.
 */
export const clientOptions = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_500 },
} as const;

/**
 * The ingest function's calls (Secrets Manager on a cold start or refresh, then SQS) share its
 * 20 s: two attempts each stays within it, so a provider gets our 503 with `Retry-After` rather
 * than a Lambda timeout.
 */
export const ingestClientOptions = { ...clientOptions, maxAttempts: 2 } as const;
