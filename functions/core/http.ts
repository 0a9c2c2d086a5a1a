/** The HTTP shapes the ingest function speaks, independent of API Gateway's event types. */

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const problemTypes = {
  400: 'bad-request',
  401: 'unauthorized',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  503: 'service-unavailable',
} as const;

export type ProblemStatus = keyof typeof problemTypes;

const titles: Record<ProblemStatus, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  503: 'Service Unavailable',
};

/** An RFC 7807 problem response. `detail` must never quote the body, a header value or a secret. */
export function problem(
  status: ProblemStatus,
  detail: string,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify({
      type: `urn:field-webhooks:problem:${problemTypes[status]}`,
      title: titles[status],
      status,
      detail,
    }),
  };
}

export function json(statusCode: number, body: unknown): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
