/** How errors are described in logs: by class name, and by message only when written to be logged. */

/** Error class names only: an SDK message can carry request details. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * An error whose message was written to be logged: it names what is wrong and quotes no input,
 * header or secret. Other errors are logged by name only.
 */
export class LoggableError extends Error {
  override name = 'LoggableError';
}

/** The message of a {@link LoggableError}, so an operator can tell "secret not set" from a bug. */
export function errorDetail(error: unknown): string | undefined {
  return error instanceof LoggableError ? error.message : undefined;
}

/**
 * One line for a log or a stored `reason`: the error's name, its code when it has one (Node's
 * `ECONNRESET`, an AWS error code) and its message, control characters escaped, at most 500
 * characters, double-quoted text replaced by `"…"`. For failures that are logged and recorded, so an
 * operator can tell a key too long for DynamoDB from a number it refuses (`Error` alone says
 * neither). AWS and marshalling messages name the constraint, not the item; they may quote a number.
 */
export function errorDescription(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  const name = typeof code === 'string' && code !== error.name ? `${error.name} (${code})` : error.name;
  // Double-quoted text is where messages echo input (V8's `"abc" is not valid JSON`, a provider
  // name from a message): it is left out. V8 single-quotes names from the code (`reading 'id'`).
  const message = error.message.replace(/"[^"]*"/g, '"…"');
  const text = message ? `${name}: ${message}` : name;
  // C0 and C1 controls (\p{Cc}), line separators and bidirectional overrides and isolates.
  const escaped = text.replace(
    /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  // Well-formed after the cut: it may be stored as a record's reason.
  return escaped.length > 500 ? `${escaped.slice(0, 499).toWellFormed()}…` : escaped;
}
