import { describe, expect, it } from 'vitest';
import {
  accessLogBytesPerRequest,
  accessLogLine,
  logBytesPerDelivery,
  logBytesSource,
  platformBytesPerInvocation,
  representativeAccessLogValues,
  type TelemetryFigure,
} from '../../bench/telemetry.ts';
import { accessLogFields, accessLogFormat } from '../../cdk/access-log.ts';

/** The cost model's CloudWatch Logs bytes: the API's access log line is counted, from the stack's format. */

/** The line built field by field, as a JSON object API Gateway would have written. */
function expectedLine(fields: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(fields).map(([key, variable]) => [key, representativeAccessLogValues[variable]]),
    ),
  );
}

describe('access log bytes per request', () => {
  it('is the UTF-8 length of the stack format with each $context variable replaced, plus a newline', () => {
    const line = accessLogLine();
    expect(accessLogFormat).toBe(JSON.stringify(accessLogFields));
    expect(line).toBe(expectedLine(accessLogFields));
    expect(line).not.toContain('$context');
    // Every value is a quoted string, numbers too, as the format's `"$context.x"` makes them.
    expect(JSON.parse(line)).toMatchObject({
      status: '202',
      method: 'POST',
      routeKey: 'ANY /webhooks/cooledge',
      integrationError: '-',
      error: '-',
    });
    expect(accessLogBytesPerRequest()).toBe(Buffer.byteLength(`${expectedLine(accessLogFields)}\n`, 'utf8'));
    expect(accessLogBytesPerRequest()).toBeGreaterThan(300);
  });

  it('follows the format: a field added to the stack adds its bytes', () => {
    const wider = { ...accessLogFields, path: '$context.path' };
    const values = { ...representativeAccessLogValues, '$context.path': '/webhooks/cooledge' };
    expect(accessLogBytesPerRequest(wider, values) - accessLogBytesPerRequest()).toBe(
      Buffer.byteLength(',"path":"/webhooks/cooledge"'),
    );
  });

  it('refuses a $context variable it has no value for, rather than counting its name', () => {
    expect(() => accessLogLine({ ...accessLogFields, domain: '$context.domainName' })).toThrow(
      /\$context\.domainName/,
    );
  });

  it('counts values as UTF-8 bytes, escaped as JSON string content', () => {
    const values = { ...representativeAccessLogValues, '$context.identity.userAgent': 'Gerät "x"' };
    const line = accessLogLine(accessLogFields, values);
    expect(JSON.parse(line).userAgent).toBe('Gerät "x"');
    expect(accessLogBytesPerRequest(accessLogFields, values)).toBe(Buffer.byteLength(`${line}\n`, 'utf8'));
  });
});

describe('log bytes per delivery', () => {
  const telemetry: TelemetryFigure = {
    ingestBytesPerEvent: 300,
    consumerBytesPerEvent: 200,
    platformBytesPerInvocation,
    accessLogBytesPerRequest: accessLogBytesPerRequest(),
  };

  it('adds one access log line to the functions’ lines and Lambda’s own', () => {
    expect(logBytesPerDelivery(telemetry, 10)).toBeCloseTo(
      300 + 200 + platformBytesPerInvocation * 1.1 + accessLogBytesPerRequest(),
    );
    expect(
      logBytesPerDelivery(telemetry, 10) -
        logBytesPerDelivery({ ...telemetry, accessLogBytesPerRequest: 0 }, 10),
    ).toBe(accessLogBytesPerRequest());
  });

  it('says in the cost basis that the access log line is counted, and that it is an estimate', () => {
    expect(logBytesSource(telemetry)).toContain(
      `API Gateway access log line estimated (${accessLogBytesPerRequest()} bytes`,
    );
  });
});
