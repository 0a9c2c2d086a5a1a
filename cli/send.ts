import { readFileSync } from 'node:fs';
import pLimit from 'p-limit';
import type { SignatureScheme } from '#core/config';
import { parseJsonObject } from '#core/json';
import { sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import {
  dataDirFrom,
  defaultPorts,
  devCooledgeSecret,
  devZenbookerToken,
  firstOf,
  portFrom,
  readStackFile,
} from '../local/config.ts';
import { percentile } from '../tools/stats.ts';
import { CommandError, flag, integer, list, oneOf, rate, str, UsageError } from './args.ts';
import { type CommandContext, shellQuote } from './commands.ts';
import { json, ms, say, visible } from './format.ts';
import { type Delivery, detectProvider, type Provider, plan, sampleTypes } from './samples.ts';

const requestTimeoutMs = 15_000;

export interface SendSettings {
  base: string;
  secret: string;
  token: string;
  scheme: SignatureScheme;
  concurrency: number;
  deliveries: Delivery[];
  /** Where `secret` and `token` came from, for the hint after a 401. */
  from: { secret: string; token: string };
}

interface Outcome {
  delivery: Delivery;
  status: number | 'error';
  /** `accepted`, `quarantined`, a problem title, or the network error. */
  label: string;
  eventKey: string | undefined;
  ms: number;
}

/** Reads and checks every flag before anything is sent. */
export function sendSettings(context: CommandContext): SendSettings {
  const { values, positionals, io } = context;
  if (positionals.length > 0) {
    throw new UsageError(
      `send takes no arguments (got ${JSON.stringify(positionals[0])}); use --file to send a file`,
    );
  }
  const env = io.env;
  const providerFlag = oneOf(values, 'provider', ['cooledge', 'zenbooker', 'all'] as const);
  const files = list(values, 'file');
  const count = integer(values, 'count', 1, { min: 1, max: 100_000 });
  const concurrency = integer(values, 'concurrency', 4, { min: 1, max: 256 });
  const duplicates = rate(values, 'duplicates');
  const outOfOrder = flag(values, 'out-of-order');
  const scheme = oneOf(
    values,
    'scheme',
    ['timestamped', 'plain'] as const,
    env.COOLEDGE_SIGNATURE_SCHEME === 'plain' ? 'plain' : 'timestamped',
  ) as SignatureScheme;
  const type = str(values, 'type');

  let deliveries: Delivery[];
  if (files.length > 0) {
    if (type !== undefined || duplicates > 0 || outOfOrder) {
      throw new UsageError(
        '--file sends files as they are: --type, --duplicates and --out-of-order do not apply',
      );
    }
    if (providerFlag === 'all') throw new UsageError('--provider all does not apply to --file');
    const loaded = files.map((path) => fileDelivery(path, providerFlag));
    deliveries = Array.from({ length: count }, () => loaded).flat();
  } else {
    const providers: Provider[] =
      providerFlag === 'all' ? ['cooledge', 'zenbooker'] : [providerFlag ?? 'cooledge'];
    if (type !== undefined) {
      for (const provider of providers) {
        if (!sampleTypes[provider].includes(type)) {
          throw new UsageError(
            `--type ${type} has no ${provider} sample; ${provider} samples: ${sampleTypes[provider].join(', ')}`,
          );
        }
      }
    }
    deliveries = plan({ providers, count, ...(type ? { type } : {}), duplicates, outOfOrder });
  }

  return {
    base: baseUrl(str(values, 'url'), env, str(values, 'data-dir')),
    secret: str(values, 'secret') ?? firstOf(env.COOLEDGE_WEBHOOK_SECRETS, devCooledgeSecret),
    token: str(values, 'token') ?? firstOf(env.ZENBOOKER_WEBHOOK_TOKENS, devZenbookerToken),
    scheme,
    concurrency,
    deliveries,
    from: {
      secret: source(
        str(values, 'secret'),
        '--secret',
        env.COOLEDGE_WEBHOOK_SECRETS,
        'COOLEDGE_WEBHOOK_SECRETS',
      ),
      token: source(
        str(values, 'token'),
        '--token',
        env.ZENBOOKER_WEBHOOK_TOKENS,
        'ZENBOOKER_WEBHOOK_TOKENS',
      ),
    },
  };
}

function source(
  flagValue: string | undefined,
  flagName: string,
  envValue: string | undefined,
  envName: string,
) {
  if (flagValue !== undefined) return flagName;
  return firstOf(envValue, '') === '' ? 'the local dev default' : `${envName} in this terminal`;
}

/**
 * After a 401: the receiver did not take this terminal's credentials. Never a secret in full: its
 * first four characters, as `npm start` shows one set in the environment, to compare.
 */
export function unauthorizedHint(settings: SendSettings, providers: ReadonlySet<Provider>): string {
  const lines: string[] = [];
  const start = (value: string) => `${value.slice(0, 4)}…`;
  const stacks =
    'the one the stack printed (`npm start`, under "Dev credentials"; a deployed stack: its ' +
    'CredentialsSecretName secret)';
  if (providers.has('cooledge')) {
    lines.push(
      say`401 from the Cooledge webhook: the signing secret in this terminal (${start(settings.secret)}, from ${settings.from.secret}) ` +
        `differs from ${stacks}. Pass --secret, or set COOLEDGE_WEBHOOK_SECRETS here as it is set there ` +
        say`(this terminal signed with --scheme ${settings.scheme}: it must match the stack's COOLEDGE_SIGNATURE_SCHEME too).\n`,
    );
  }
  if (providers.has('zenbooker')) {
    lines.push(
      say`401 from the Zenbooker webhook: the path token in this terminal (${start(settings.token)}, from ${settings.from.token}) ` +
        `differs from ${stacks}. Pass --token, or set ZENBOOKER_WEBHOOK_TOKENS here as it is set there.\n`,
    );
  }
  return lines.join('');
}

function fileDelivery(path: string, provider: 'cooledge' | 'zenbooker' | undefined): Delivery {
  let body: string;
  try {
    body = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'cannot read it'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const detected = provider ?? detectProvider(parsed);
  if (!detected) {
    throw new UsageError(
      `--file ${path}: cannot tell which provider sent it; add --provider cooledge|zenbooker`,
    );
  }
  const record = (parsed ?? {}) as Record<string, unknown>;
  const data = record.data as Record<string, unknown> | undefined;
  const type = detected === 'cooledge' ? record.event_type : record.event;
  const jobId = detected === 'cooledge' ? record.job_id : data?.id;
  return {
    provider: detected,
    body,
    eventType: typeof type === 'string' ? type : '(unknown)',
    jobId: typeof jobId === 'string' ? jobId : undefined,
    duplicate: false,
  };
}

/** `--url`, else the running local stack's URL, else the default local port. */
export function baseUrl(
  url: string | undefined,
  env: Record<string, string | undefined>,
  dataDir?: string,
): string {
  if (url === undefined) {
    const stack = readStackFile(dataDirFrom(env, dataDir));
    return stack?.url ?? `http://127.0.0.1:${portFrom(env, 'PORT', defaultPorts.http)}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be an http(s) URL (got ${JSON.stringify(url)})`);
  }
  if (!/^https?:$/.test(parsed.protocol))
    throw new UsageError(`--url must be an http(s) URL (got ${JSON.stringify(url)})`);
  // A pasted webhook URL works too: keep what comes before `/webhooks/`.
  const path = parsed.pathname.replace(/\/webhooks(\/.*)?$/, '').replace(/\/+$/, '');
  return `${parsed.origin}${path}`;
}

function request(
  settings: SendSettings,
  delivery: Delivery,
): { url: string; headers: Record<string, string> } {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `field-webhooks-cli (${delivery.provider} sample)`,
  };
  if (delivery.provider === 'cooledge') {
    headers['x-cooledge-signature'] = sign(delivery.body, settings.secret, settings.scheme);
    return { url: `${settings.base}/webhooks/cooledge`, headers };
  }
  return { url: `${settings.base}/webhooks/zenbooker/${encodeURIComponent(settings.token)}`, headers };
}

async function deliver(settings: SendSettings, delivery: Delivery): Promise<Outcome> {
  const { url, headers } = request(settings, delivery);
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: delivery.body,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const text = await response.text();
    const elapsed = performance.now() - started;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {}
    const label =
      typeof body.status === 'string'
        ? body.status
        : typeof body.title === 'string'
          ? body.title
          : typeof body.message === 'string'
            ? body.message
            : response.statusText;
    return {
      delivery,
      status: response.status,
      label,
      eventKey: typeof body.event_key === 'string' ? body.event_key : undefined,
      ms: elapsed,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = (error as Error).name === 'TimeoutError' ? 'timeout' : (cause ?? (error as Error).name);
    return { delivery, status: 'error', label: name, eventKey: undefined, ms: performance.now() - started };
  }
}

/** Runs the deliveries with at most `concurrency` in flight; `onDone` sees each as it finishes. */
export async function sendAll(
  settings: SendSettings,
  onDone: (outcome: Outcome) => void,
): Promise<Outcome[]> {
  // In the order they finish, as `onDone` sees them; started in the order planned.
  const outcomes: Outcome[] = [];
  await pLimit(settings.concurrency).map(settings.deliveries, async (delivery) => {
    const outcome = await deliver(settings, delivery);
    outcomes.push(outcome);
    onDone(outcome);
  });
  return outcomes;
}

function progressBar(done: number, total: number, failed: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${failed ? `  not 2xx: ${failed}` : ''}`;
}

export function summarise(outcomes: readonly Outcome[], seconds: number) {
  const byStatus = new Map<string, number>();
  for (const o of outcomes) {
    const key = `${o.status} ${o.label}`.trim();
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
  }
  const latencies = outcomes
    .filter((o) => o.status !== 'error')
    .map((o) => o.ms)
    .sort((a, b) => a - b);
  // With no answer at all (every delivery failed to connect or timed out) the figures are 0.
  const at = (p: number) => (latencies.length === 0 ? 0 : round(percentile(latencies, p)));
  return {
    deliveries: outcomes.length,
    duplicates: outcomes.filter((o) => o.delivery.duplicate).length,
    ok: outcomes.filter((o) => typeof o.status === 'number' && o.status >= 200 && o.status < 300).length,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: seconds > 0 ? Math.round((outcomes.length / seconds) * 10) / 10 : outcomes.length,
    statuses: Object.fromEntries([...byStatus].sort(([a], [b]) => a.localeCompare(b))),
    latencyMs: {
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: round(latencies.at(-1) ?? 0),
    },
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** A body's event key and job id as the receiver derives them; `null`, with the reason, when it has none. */
export interface DeliveryIds {
  eventKey: string | null;
  jobId: string | null;
  /** Why `eventKey` or `jobId` is `null`; only the ones that are. */
  missing?: { eventKey?: string; jobId?: string };
}

/**
 * The event key and job id of a delivery's body, derived by its provider module as the receiver
 * does: the event key by `envelope` (ingest), the job by `validate` then `describe` (consume): the
 * job the event changes, else the job it names (`entityIds.job_id` of its record). A body that
 * fails validation is quarantined and reaches no job: its job id is `null`. Works for `--file`
 * bodies and generated samples alike, whatever the receiver answered.
 */
export function deliveryIds(delivery: Pick<Delivery, 'provider' | 'body' | 'eventType'>): DeliveryIds {
  const none = (eventKey: string, jobId = eventKey): DeliveryIds => ({
    eventKey: null,
    jobId: null,
    missing: { eventKey, jobId },
  });
  const provider = providers.get(delivery.provider);
  if (!provider) return none(`no provider module ${delivery.provider}`);
  const rawBody = Buffer.from(delivery.body, 'utf8');
  const parsed = parseJsonObject(rawBody);
  if (!parsed.ok) return none(`${parsed.detail}: the receiver refuses it (400)`);
  const envelope = provider.envelope(parsed.value, { headers: {}, pathToken: undefined, rawBody });
  if (!envelope.ok) return none(`${envelope.detail}: the receiver refuses it (400)`);
  const found = (jobId: string | null, why: string): DeliveryIds => ({
    eventKey: envelope.eventKey,
    jobId,
    ...(jobId === null ? { missing: { jobId: why } } : {}),
  });
  const validation = provider.validate(parsed.value);
  if (!validation.ok)
    return found(null, 'the body fails validation: the event is quarantined, applied to no job');
  try {
    const facts = provider.describe(validation.event);
    const jobId = facts.job?.jobId ?? facts.entityIds.job_id;
    return found(jobId ?? null, `a ${envelope.eventType} event with this body names no job`);
  } catch (error) {
    return found(null, `the provider module cannot read the body: ${(error as Error).message}`);
  }
}

/**
 * `send --json`'s `delivery` for a single delivery: what the one-line text says (status, label,
 * provider, event type) and its job id and event key (`deliveryIds`). The event key is the one
 * the receiver answered with (`event_key` of its 202), else the one derived from the body (after a
 * 401, say); `null` only when neither has one.
 */
function deliveryResult(o: Outcome) {
  const ids = deliveryIds(o.delivery);
  const eventKey = o.eventKey ?? ids.eventKey;
  const { eventKey: _eventKeyMissing, ...otherMissing } = ids.missing ?? {};
  const missing = eventKey === null ? ids.missing : otherMissing;
  return {
    provider: o.delivery.provider,
    eventType: o.delivery.eventType,
    status: o.status,
    label: o.label,
    jobId: ids.jobId,
    eventKey,
    ...(missing && Object.keys(missing).length > 0 ? { missing } : {}),
  };
}

export async function send(context: CommandContext): Promise<number> {
  const { io, values } = context;
  const settings = sendSettings(context);
  const total = settings.deliveries.length;
  const asJson = flag(values, 'json');
  const showProgress = io.interactive && total > 1 && !asJson;
  let done = 0;
  let failed = 0;
  let lastDraw = 0;
  const started = performance.now();

  const outcomes = await sendAll(settings, (outcome) => {
    done += 1;
    if (!(typeof outcome.status === 'number' && outcome.status < 300)) failed += 1;
    if (showProgress && (performance.now() - lastDraw > 100 || done === total)) {
      lastDraw = performance.now();
      io.err(progressBar(done, total, failed));
    }
  });
  if (showProgress) io.err('\n');
  const seconds = (performance.now() - started) / 1000;
  const summary = summarise(outcomes, seconds);

  if (asJson) {
    // One delivery: which event and job it was, to look up with `events show` / `jobs show`.
    const one = total === 1 ? { delivery: deliveryResult(outcomes[0] as Outcome) } : {};
    io.out(json({ url: settings.base, ...summary, ...one }));
  } else if (total === 1) {
    const o = outcomes[0] as Outcome;
    // The label and event key come from the response: whatever server --url named.
    io.out(
      say`${o.status} ${o.label}  ${o.delivery.provider} ${o.delivery.eventType}` +
        `${o.delivery.jobId ? say`  job ${o.delivery.jobId}` : ''}${o.eventKey ? say`  event_key ${o.eventKey}` : ''}` +
        `  (${ms(o.ms)})\n`,
    );
  } else {
    const lines = Object.entries(summary.statuses).map(
      ([status, n]) => `  ${visible(status).padEnd(28)} ${n}`,
    );
    io.out(
      `sent ${summary.deliveries} deliveries (${summary.deliveries - summary.duplicates} events, ${summary.duplicates} duplicates) ` +
        say`to ${settings.base} in ${seconds.toFixed(2)} s (${summary.perSecond}/s)\n` +
        `${lines.join('\n')}\n` +
        `latency  p50 ${ms(summary.latencyMs.p50)}  p90 ${ms(summary.latencyMs.p90)}  p99 ${ms(summary.latencyMs.p99)}  max ${ms(summary.latencyMs.max)}\n`,
    );
  }

  const unreachable = outcomes.filter((o) => o.label === 'ECONNREFUSED').length;
  if (unreachable === outcomes.length) {
    throw new CommandError(
      `nothing is listening at ${settings.base}: start the local stack with \`npm start\`, or pass --url`,
    );
  }
  const unauthorized = new Set(outcomes.filter((o) => o.status === 401).map((o) => o.delivery.provider));
  if (unauthorized.size > 0) io.err(unauthorizedHint(settings, unauthorized));
  if (summary.ok < outcomes.length) return 1;
  if (!asJson && total === 1 && settings.base.startsWith('http://127.0.0.1')) {
    const dataDir = str(values, 'data-dir');
    const where = dataDir ? ` --data-dir ${shellQuote(dataDir)}` : '';
    const o = outcomes[0] as Outcome;
    // A quarantined event is stored in the event log but never reaches a job: `jobs` would not show it.
    io.out(
      o.label === 'quarantined'
        ? 'quarantined: stored in the event log, not applied to a job; see why (its issues) with:\n' +
            `  npm run cli -- events --outcome quarantined${visible(where)}\n` +
            (o.eventKey ? `  npm run cli -- events show ${visible(shellQuote(o.eventKey) + where)}\n` : '')
        : `see it stored: npm run cli -- jobs${visible(where)}\n`,
    );
  }
  return 0;
}
