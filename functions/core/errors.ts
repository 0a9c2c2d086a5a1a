import { escapeTerminalActive } from './text.ts';

/**
 * How errors are described in logs and stored reasons: name, code and message on one line, quoted
 * text left out (see {@link errorDescription}); {@link errorLogLine} adds an AWS error's HTTP status.
 */

/** An error's class name, or what was thrown when it is not an error. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * An error whose message was written for the log: it names what is wrong and quotes no input,
 * header or secret, where the message it replaces might (a JSON parser's echoes the text).
 */
export class LoggableError extends Error {
  override name = 'LoggableError';
}

/**
 * One line for a log or a stored `reason`: the error's name, its code when it has one (Node's
 * `ECONNRESET`, an AWS error code) and its message, control characters escaped, at most 500
 * characters, double-quoted text replaced by `"…"`. For failures that are logged and recorded, so an
 * operator can tell a key too long for DynamoDB from a number it refuses (`Error` alone says
 * neither). AWS and marshalling messages name the constraint, not the item; they may quote a number.
 */
export function errorDescription(error: unknown): string {
  return describe(error, false);
}

/**
 * {@link errorDescription} for a log line, with the HTTP status an AWS SDK error carries
 * (`$metadata.httpStatusCode`) next to its code: `AccessDeniedException (HTTP 400): User: … is not
 * authorized to perform: secretsmanager:GetSecretValue …`, `ServiceUnavailable (HTTP 503): …`. So
 * an operator tells our fault (4xx: a permission, a missing queue or secret) from AWS's (5xx,
 * throttling: the provider's retry will do) from the log alone. Messages from AWS name the request's
 * resource, never a request body or a secret value; quoted text is left out all the same.
 */
export function errorLogLine(error: unknown): string {
  return describe(error, true);
}

function describe(error: unknown, withHttpStatus: boolean): string {
  if (!(error instanceof Error)) return typeof error;
  const fields = error as { code?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  // `code`: Node's (`ECONNRESET`); `Code`: the query-protocol code SQS adds (`AWS.SimpleQueueService.…`).
  const code = [fields.code, fields.Code].find((c) => typeof c === 'string' && c !== '' && c !== error.name);
  const status = withHttpStatus ? fields.$metadata?.httpStatusCode : undefined;
  const notes = [
    ...(typeof code === 'string' ? [code] : []),
    ...(typeof status === 'number' ? [`HTTP ${status}`] : []),
  ];
  const name = notes.length > 0 ? `${error.name} (${notes.join(', ')})` : error.name;
  // Double-quoted text is where messages echo input (V8's `"abc" is not valid JSON`, a provider
  // name from a message): it is left out. V8 single-quotes names from the code (`reading 'id'`).
  const message = error.message.replace(/"[^"]*"/g, '"…"');
  const text = message ? `${name}: ${message}` : name;
  const escaped = escapeTerminalActive(text);
  // Well-formed after the cut: it may be stored as a record's reason.
  return escaped.length > 500 ? `${escaped.slice(0, 499).toWellFormed()}…` : escaped;
}
