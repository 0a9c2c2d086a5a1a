import type { StoreResult } from '#core/consume';
import type { Logger, MetricName, Metrics } from '#core/ports';
import { escapeTerminalActive, hasTerminalActive } from '#core/text';

/**
 * Terminal telemetry for the local runner: one short line per log call instead of Powertools'
 * JSON, and metrics and outcomes counted in memory for the summary printed on exit. The handlers
 * only ever pass names, ids and counts here, never a body, a header value or a secret.
 */

type Level = 'info' | 'warn' | 'error';

export interface LineWriter {
  write(line: string): void;
}

const colours: Record<Level, string> = { info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };
const dim = '\x1b[2m';
const reset = '\x1b[0m';

function clock(date: Date): string {
  return date.toISOString().slice(11, 23);
}

/**
 * One field value. Event keys, event types and error messages come from the sender: a value that
 * is empty or holds whitespace, `=`, a quote, a backslash or any character above is written as a
 * JSON string (which `JSON.parse` gives back exactly), with every such character escaped, so it can
 * neither end the line, fake another field nor send the terminal an escape sequence.
 */
export function formatValue(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') {
    return value === '' || /[\s="\\]/.test(value) || hasTerminalActive(value)
      ? escapeTerminalActive(JSON.stringify(value))
      : value;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return escapeTerminalActive(JSON.stringify(value) ?? String(value));
}

/** `12:00:01.234 ingest  info  event accepted provider=cooledge eventType=job.completed` */
export function formatLine(
  service: string,
  level: Level,
  message: string,
  data: Record<string, unknown> | undefined,
  colour: boolean,
  now: Date = new Date(),
): string {
  const fields = Object.entries(data ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${escapeTerminalActive(key)}=${formatValue(value)}`)
    .join(' ');
  const lvl = level.padEnd(5);
  const head = colour
    ? `${dim}${clock(now)}${reset} ${service.padEnd(7)} ${colours[level]}${lvl}${reset}`
    : `${clock(now)} ${service.padEnd(7)} ${lvl}`;
  return `${head} ${escapeTerminalActive(message)}${fields ? (colour ? ` ${dim}${fields}${reset}` : ` ${fields}`) : ''}`;
}

export function lineLogger(service: string, out: LineWriter, colour: boolean): Logger {
  const log = (level: Level) => (message: string, data?: Record<string, unknown>) =>
    out.write(`${formatLine(service, level, message, data, colour)}\n`);
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * Counts metrics in memory: for the local runner's summary, the benchmarks' tallies and the tests'
 * assertions. `flush` publishes nothing (there is nowhere to publish to) and is only counted.
 */
export class TallyMetrics implements Metrics {
  readonly counts = new Map<MetricName, number>();
  /** How many times `flush` was called (once per invocation, by the handlers). */
  flushes = 0;
  count(name: MetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }
  flush(): void {
    this.flushes += 1;
  }
  /** The total counted under `name`; 0 when nothing was. */
  get(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }
  /** `name=total` for each metric counted, in the order first counted. */
  summary(): string {
    return [...this.counts].map(([name, n]) => `${name}=${n}`).join(' ');
  }
}

/** What an event ended as: a consumer outcome, or the ingest's `accepted`, or `failed` (to be retried). */
export type TalliedOutcome = StoreResult | 'accepted' | 'failed';

/** The outcome a handler's log line reports, when it is the line an event ends with. */
function outcomeOf(message: string, data: Record<string, unknown> | undefined): TalliedOutcome | undefined {
  switch (message) {
    case 'event accepted':
      return 'accepted';
    case 'event quarantined':
      return 'quarantined';
    case 'event processed':
      return data?.outcome as StoreResult | undefined;
    case 'event failed':
      return 'failed';
    default:
      return undefined;
  }
}

/**
 * Counts each event's outcome from the line the handlers log for it (the ingest's `event accepted`
 * and `event quarantined`, the consumer's `event processed` and `event failed`) and passes every
 * line on. Per-event counts are not metrics, since a custom metric published every hour costs
 * $0.30 a month (`customMetrics` in `functions/core/ports.ts`): on AWS the dashboard counts these
 * lines with Logs Insights, and locally this does, for the runner's summary and the tests.
 */
export class OutcomeTally implements Logger {
  readonly counts = new Map<TalliedOutcome, number>();
  constructor(private readonly inner: Logger) {}
  info(message: string, data?: Record<string, unknown>): void {
    this.tally(message, data);
    this.inner.info(message, data);
  }
  warn(message: string, data?: Record<string, unknown>): void {
    this.tally(message, data);
    this.inner.warn(message, data);
  }
  error(message: string, data?: Record<string, unknown>): void {
    this.tally(message, data);
    this.inner.error(message, data);
  }
  /** How many events ended as `outcome`; 0 when none did. */
  get(outcome: TalliedOutcome): number {
    return this.counts.get(outcome) ?? 0;
  }
  /** `outcome=total` for each outcome seen, in the order first seen. */
  summary(): string {
    return [...this.counts].map(([outcome, n]) => `${outcome}=${n}`).join(' ');
  }
  private tally(message: string, data: Record<string, unknown> | undefined): void {
    const outcome = outcomeOf(message, data);
    if (outcome) this.counts.set(outcome, this.get(outcome) + 1);
  }
}
