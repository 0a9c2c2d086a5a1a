import { describe, expect, it } from 'vitest';
import { errorDescription, errorLogLine } from '#core/errors';
import { awsError } from '../support/fakes.ts';

describe('errorDescription', () => {
  it('gives the name and the message', () => {
    expect(errorDescription(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
  });

  it('adds the code when it is not the name', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(errorDescription(reset)).toBe('Error (ECONNRESET): socket hang up');
    const aws = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      code: 'ThrottlingException',
    });
    expect(errorDescription(aws)).toBe('ThrottlingException: Rate exceeded');
  });

  it('leaves out quoted text, where messages echo values', () => {
    const error = new Error('ConditionalCheckFailed on item containing "Priya Nair" and "priya@example.com"');
    const description = errorDescription(error);
    expect(description).toBe('Error: ConditionalCheckFailed on item containing "…" and "…"');
    expect(description).not.toMatch(/Priya|priya/);
    let parseError: unknown;
    try {
      JSON.parse('{"name": Priya}');
    } catch (error) {
      parseError = error;
    }
    expect(errorDescription(parseError)).not.toContain('Priya');
  });

  it('gives the name alone for an error without a message', () => {
    expect(errorDescription(new RangeError())).toBe('RangeError');
  });

  it('says only the type of something thrown that is not an error', () => {
    expect(errorDescription('a secret string')).toBe('string');
    expect(errorDescription(undefined)).toBe('undefined');
  });

  it('escapes control characters, line separators and bidirectional overrides: one line, read as written', () => {
    expect(errorDescription(new Error('a\nb\rc\u0000d\u2028e\u202ef\u2066g\u009bh'))).toBe(
      'Error: a\\u000ab\\u000dc\\u0000d\\u2028e\\u202ef\\u2066g\\u009bh',
    );
  });

  it('keeps at most 500 characters, marking the cut', () => {
    const description = errorDescription(new Error('x'.repeat(1000)));
    expect(description).toHaveLength(500);
    expect(description.endsWith('x…')).toBe(true);
  });

  // A description is stored as an unprocessable record's `reason`: like every text the store
  // keeps (see `clipFields`), it must be well-formed, so the cut must not split a surrogate pair.
  it('never cuts a character in two', () => {
    for (let pad = 485; pad < 500; pad++) {
      const description = errorDescription(new Error(`${'x'.repeat(pad)}${'😀'.repeat(10)}`));
      expect(description.isWellFormed(), `padding ${pad}`).toBe(true);
      expect(description.length).toBeLessThanOrEqual(500);
    }
  });
});

describe('errorLogLine', () => {
  it('adds the HTTP status of an AWS SDK error to its name and message', () => {
    const denied = awsError(
      'AccessDeniedException',
      'User: arn:aws:sts::123456789012:assumed-role/ingest/fn is not authorized to perform: secretsmanager:GetSecretValue on resource: field-webhooks/prod/credentials',
    );
    expect(errorLogLine(denied)).toBe(
      'AccessDeniedException (HTTP 400): User: arn:aws:sts::123456789012:assumed-role/ingest/fn is not authorized to perform: secretsmanager:GetSecretValue on resource: field-webhooks/prod/credentials',
    );
    const outage = awsError('ServiceUnavailable', 'Service unavailable', {
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
    });
    expect(errorLogLine(outage)).toBe('ServiceUnavailable (HTTP 503): Service unavailable');
  });

  it('names the query-protocol code SQS adds when it is not the name', () => {
    const missing = awsError('QueueDoesNotExist', 'The specified queue does not exist.', {
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
    });
    expect(errorLogLine(missing)).toBe(
      'QueueDoesNotExist (AWS.SimpleQueueService.NonExistentQueue, HTTP 400): The specified queue does not exist.',
    );
    const same = awsError('ThrottlingException', 'Rate exceeded', { Code: 'ThrottlingException' });
    expect(errorLogLine(same)).toBe('ThrottlingException (HTTP 400): Rate exceeded');
  });

  it('is errorDescription for an error without HTTP metadata', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(errorLogLine(reset)).toBe('Error (ECONNRESET): socket hang up');
    expect(errorLogLine(awsError('TimeoutError', 'timed out', { $metadata: {} }))).toBe(
      'TimeoutError: timed out',
    );
    expect(errorLogLine('a secret string')).toBe('string');
  });

  it('keeps the HTTP status out of errorDescription, which is stored as a record’s reason', () => {
    expect(
      errorDescription(awsError('ValidationException', 'Item size has exceeded the maximum allowed size')),
    ).toBe('ValidationException: Item size has exceeded the maximum allowed size');
  });

  it('stays one line of at most 500 characters, quoted text left out', () => {
    const echo = awsError(
      'InvalidParameterValue',
      `Value "whsec_must_not_leak" is invalid.\n${'x'.repeat(600)}`,
    );
    const line = errorLogLine(echo);
    expect(line.startsWith('InvalidParameterValue (HTTP 400): Value "…" is invalid.\\u000a')).toBe(true);
    expect(line).not.toContain('whsec_must_not_leak');
    expect(line).not.toContain('\n');
    expect(line).toHaveLength(500);
  });
});
