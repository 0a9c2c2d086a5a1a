/**
 * The HTTP API's access log format, on its own so that code outside the stack (the benchmark's
 * cost model, `bench/telemetry.ts`) can read it without loading aws-cdk-lib.
 *
 * One JSON line per request. `$context.path` and the raw path are left out on purpose: a route's
 * parameter may be a secret (a URL token, `ProviderRoute`). `routeKey` is the route template
 * (`ANY /webhooks/<provider>/{token}`), which names the provider without the secret. Every value is
 * a `$context` variable inside a JSON string, so API Gateway writes each one quoted, numbers too
 * (`"status":"202"`), and `-` for a variable with no value
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
 */
export const accessLogFields = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  method: '$context.httpMethod',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
} as const;

/** The stage's access log format: {@link accessLogFields} as one JSON template line. */
export const accessLogFormat = JSON.stringify(accessLogFields);
