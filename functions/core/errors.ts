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
