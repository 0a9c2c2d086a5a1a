import type { Logger, MetricName, Metrics } from '#core/ports';
import { escapeTerminalActive, hasTerminalActive } from '#core/text';

/**
 * Terminal telemetry for the local runner: one short line per log call instead of Powertools'
 * JSON, and metrics counted in memory for the summary printed on exit. The handlers only ever pass
 * names, ids and counts here, never a body, a header value or a secret.
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
