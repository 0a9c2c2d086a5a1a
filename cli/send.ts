import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import pLimit from 'p-limit';
import * as v from 'valibot';
import { ConfigError, readSettings } from '#core/config';
import { readCredentials } from '#core/credentials';
import { parseJsonObject } from '#core/json';
import type { AnyProvider, DeliveryRequest, ProviderSetting } from '#core/provider';
import { matchRoute } from '#core/routes';
import { providers } from '#providers/index';
import { dataDirFrom, defaultPorts, portFrom, readStackFile } from '../local/config.ts';
import { percentile } from '../tools/stats.ts';
import { CommandError, flag, integer, list, oneOf, rate, str, UsageError, type Values } from './args.ts';
import { type CommandContext, providerFlags, shellQuote } from './commands.ts';
import { json, ms, padEndWidth, quote, say, visible } from './format.ts';
import { type Delivery, jobIdOf, messageId, plan, type SampleProvider } from './samples.ts';

const requestTimeoutMs = 15_000;

/** A provider `send` delivers as: its sender, credentials and settings, and where they came from. */
export interface ProviderUse extends SampleProvider {
  /** The provider's entry, as `credentials.schema` returned it. */
  credentials: unknown;
  /** As `readSettings` returned them, with any setting's flag in force. */
  settings: unknown;
  /** The credentials as text (the variable's form), for the 401 hint's first characters. */
  text: string;
  /** Where `text` came from: `--secret`, `COOLEDGE_WEBHOOK_SECRETS in this terminal`, the dev default. */
  from: string;
  /** The settings given by flag or read from this terminal, for the 401 hint: each as text. */
  flagged: Array<{ flag: string; variable: string; text: string }>;
}

export interface SendSettings {
  base: string;
  /**
   * The path parameter of a pasted webhook URL (`--url …/webhooks/zenbooker/<token>`), as pasted:
   * every request goes to it (see `receiver`).
   */
  parameter?: string;
  concurrency: number;
  deliveries: Delivery[];
  /** Every provider a delivery is for, by name. */
  providers: ReadonlyMap<string, ProviderUse>;
}

interface Outcome {
  delivery: Delivery;
  /** What the provider's `envelope` reads of the request sent (its headers, its path parameter). */
  request: Omit<DeliveryRequest, 'rawBody'>;
  status: number | 'error';
  /** `accepted`, `quarantined`, a problem title, or the network error. */
  label: string;
  eventKey: string | undefined;
  ms: number;
}

type Env = Record<string, string | undefined>;

/** Every provider in the registry with its sender (loaded on demand: `provider.sender()`). */
async function loadSenders(list: readonly AnyProvider[]): Promise<SampleProvider[]> {
  return Promise.all(list.map(async (provider) => ({ provider, sender: await provider.sender() })));
}

/** Reads and checks every flag before anything is sent. */
export async function sendSettings(context: CommandContext): Promise<SendSettings> {
  const { values, positionals, io } = context;
  if (positionals.length > 0) {
    throw new UsageError(`send takes no arguments (got ${quote(positionals[0])}); use --file to send a file`);
  }
  const env = io.env;
  const names = [...providers.keys()];
  const asked = oneOf(values, 'provider', [...names, 'all']);
  const files = list(values, 'file');
  // `--provider all` without --count: one event per provider.
  const count = integer(values, 'count', asked === 'all' ? providers.size : 1, { min: 1, max: 100_000 });
  const concurrency = integer(values, 'concurrency', 4, { min: 1, max: 256 });
  const duplicates = rate(values, 'duplicates');
  const outOfOrder = flag(values, 'out-of-order');
  const flags = checkedFlags(values);
  const type = str(values, 'type');
  const to = receiver(str(values, 'url'), env, str(values, 'data-dir'));

  // A pasted webhook URL names its provider: --provider may only say the same.
  if (to.provider !== undefined && asked !== undefined && asked !== to.provider.name) {
    throw new UsageError(
      asked === 'all'
        ? `--url is the ${to.provider.name} webhook URL, and --provider all sends to every provider: give the receiver's base URL instead`
        : `--url is the ${to.provider.name} webhook URL, but --provider is ${asked}: drop --provider, or give the receiver's base URL`,
    );
  }
  const providerFlag = to.provider?.name ?? asked;
  const chosen =
    providerFlag === 'all'
      ? [...providers.values()]
      : [providers.get(providerFlag ?? (names[0] as string)) as AnyProvider];
  let deliveries: Delivery[];
  let senders: SampleProvider[];
  if (files.length > 0) {
    if (providerFlag === 'all') throw new UsageError('--provider all does not apply to --file');
    const notForFiles = [
      ...(type !== undefined ? ['--type'] : []),
      ...(count > 1 ? ['--count'] : []),
      ...(duplicates > 0 ? ['--duplicates'] : []),
      ...(outOfOrder ? ['--out-of-order'] : []),
    ];
    if (notForFiles.length > 0) {
      throw new UsageError(
        `--file sends each file once, as it is: ${notForFiles.join(', ')} ${notForFiles.length > 1 ? 'do' : 'does'} not apply (repeat --file to send a file again)`,
      );
    }
    // Without --provider, each file's provider is the first whose sender recognises it.
    senders = await loadSenders(providerFlag === undefined ? [...providers.values()] : chosen);
    // A relative path is the user's: from the folder npm was run in (INIT_CWD), not the repository.
    const cwd = env.INIT_CWD || process.cwd();
    deliveries = files.map((path) => fileDelivery(path, cwd, senders, providerFlag !== undefined));
  } else {
    senders = await loadSenders(chosen);
    if (type !== undefined) {
      for (const { provider, sender } of senders) {
        if (!sender.sampleTypes.includes(type)) {
          throw new UsageError(
            `--type ${type} has no ${provider.name} sample; ${provider.name} samples: ${sender.sampleTypes.join(', ')}`,
          );
        }
      }
    }
    deliveries = plan({ providers: senders, count, ...(type ? { type } : {}), duplicates, outOfOrder });
  }

  const used = new Set(deliveries.map((d) => d.provider));
  const uses = new Map<string, ProviderUse>();
  for (const entry of senders) {
    if (used.has(entry.provider.name))
      uses.set(entry.provider.name, providerUse(entry, env, flags, to.parameter));
  }
  return {
    base: to.base,
    ...(to.parameter !== undefined ? { parameter: to.parameter } : {}),
    concurrency,
    deliveries,
    providers: uses,
  };
}

/**
 * The providers' flags that were given (`--secret`, `--scheme`, …), each checked whichever
 * provider is sent as: a malformed value is a usage error even when it would not be used.
 */
function checkedFlags(values: Values): ReadonlyMap<string, string> {
  const given = new Map<string, string>();
  for (const f of providerFlags()) {
    const text = str(values, f.flag);
    if (text === undefined) continue;
    if (f.kind === 'credentials') credentialsOf(f.provider, text, `--${f.flag}`);
    else settingText(f.setting, text, `--${f.flag}`);
    given.set(f.flag, text);
  }
  return given;
}

/**
 * A provider's credentials from their text (as its env variable holds them), checked as the
 * receiver checks them.
 *
 * @throws UsageError naming `where` (the flag or the variable), never quoting the value.
 */
function credentialsOf(provider: AnyProvider, text: string, where: string): unknown {
  const checked = readCredentials(
    { [provider.name]: provider.credentials.env.parse(text) },
    new Map([[provider.name, provider]]),
  );
  if (!checked.ok) {
    // The path inside the provider's entry (`secrets.0`); an empty key leaves a trailing dot.
    const path = checked.problem.path.split('.').slice(1).join('.').replace(/\.$/, '');
    throw new UsageError(`${where} is invalid${path ? ` at ${path}` : ''}: ${checked.problem.message}`);
  }
  return checked.value[provider.name];
}

/** @throws UsageError naming the flag when its value is not one the setting takes. */
function settingText(setting: ProviderSetting, text: string, where: string): void {
  const result = v.safeParse(setting.schema, text);
  if (result.success) return;
  const schema = setting.schema as { type?: string; options?: readonly string[] };
  throw new UsageError(
    schema.type === 'picklist' && schema.options
      ? `${where} must be one of ${schema.options.join(', ')} (got ${quote(text)})`
      : `${where} ${result.issues.map((i) => i.message).join('; ')} (got ${quote(text)})`,
  );
}

/**
 * A provider's credentials (its flag, else its variable in this terminal, else its dev value) and
 * settings (`readSettings` of this terminal, a setting's flag overriding its variable). With the
 * path parameter of a pasted webhook URL, the credentials that address it (`addressing`).
 */
function providerUse(
  entry: SampleProvider,
  env: Env,
  flags: ReadonlyMap<string, string>,
  parameter?: string,
): ProviderUse {
  const { provider } = entry;
  const { variable, flag: credentialsFlag, dev } = provider.credentials.env;
  const given = credentialsFlag === undefined ? undefined : flags.get(credentialsFlag);
  const fromEnv = env[variable]?.trim() || undefined;
  const text = given ?? fromEnv ?? dev;
  const from =
    given !== undefined
      ? `--${credentialsFlag}`
      : fromEnv !== undefined
        ? `${variable} in this terminal`
        : 'the local dev default';
  const credentials = credentialsOf(provider, text, given !== undefined ? `--${credentialsFlag}` : variable);

  const settingsEnv: Env = { ...env };
  const flagged: ProviderUse['flagged'] = [];
  for (const setting of Object.values(provider.settings)) {
    if (setting.flag === undefined) continue;
    const value = flags.get(setting.flag);
    if (value !== undefined) settingsEnv[setting.variable] = value;
    flagged.push({
      flag: setting.flag,
      variable: setting.variable,
      text: settingsEnv[setting.variable] ?? setting.default,
    });
  }
  let settings: unknown;
  try {
    settings = readSettings(provider, settingsEnv);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const use = { ...entry, credentials, settings, text, from, flagged };
  return parameter === undefined ? use : { ...use, ...addressing(use, parameter) };
}

/**
 * The credentials that address a pasted webhook URL's path parameter, and where they came from.
 * Every provider's credentials text is a comma-separated list (README, "Configuration"): each item
 * alone is tried, in order, and the first with which the provider's sender addresses this very
 * parameter is taken (a Standard Webhooks `source=whsec_…` pair for the URL's source). A secret
 * parameter is itself a credential (`ProviderRoute`: Zenbooker's token), so the parameter is tried
 * as the credentials text too: the URL's token is sent, whatever token this terminal holds.
 *
 * @throws UsageError when the parameter is not secret and no credentials in this terminal address
 * it (a source this terminal has no secret for): naming the flag and variable that would.
 */
function addressing(use: ProviderUse, parameter: string): Pick<ProviderUse, 'credentials' | 'text' | 'from'> {
  const { provider, sender } = use;
  const wanted = decoded(parameter);
  const secret = provider.route.parameter?.secret === true;
  const candidates = [
    ...use.text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((text) => ({ text, from: use.from })),
    ...(secret ? [{ text: wanted, from: fromUrl }] : []),
  ];
  for (const candidate of candidates) {
    try {
      const credentials = credentialsOf(provider, candidate.text, '--url');
      const { path } = sender.request(Buffer.from('{}'), {
        credentials,
        settings: use.settings,
        now: new Date(),
        messageId: 'msg_addressing',
      });
      const route = matchRoute(path, new Map([[provider.name, provider]]));
      if (route?.pathParameter !== undefined && decoded(route.pathParameter) === wanted)
        return { credentials, ...candidate };
    } catch {}
  }
  // A secret the credentials schema refuses (too short, say): sent as pasted all the same, as the
  // URL says; the receiver answers 401.
  if (secret) return { credentials: use.credentials, text: wanted, from: fromUrl };
  const { variable, flag: own } = provider.credentials.env;
  const name = provider.route.parameter?.name ?? 'parameter';
  throw new UsageError(
    `--url names the ${provider.title} ${name} ${quote(wanted)}, but the credentials in this terminal ` +
      `(from ${use.from}) have none for it: ${own === undefined ? 'set' : `pass --${own}, or set`} ${variable}, with them`,
  );
}

/** `ProviderUse.from` for credentials that are a pasted URL's secret path parameter (a token). */
const fromUrl = 'the --url path';

/** A path segment percent-decoded, or as it is when it does not decode. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * After a 401: the receiver did not take this terminal's credentials. Never a credential in full:
 * its first four characters, as `npm start` shows one set in the environment, to compare.
 */
export function unauthorizedHint(settings: SendSettings, names: ReadonlySet<string>): string {
  const lines: string[] = [];
  const stacks =
    'those the stack printed (`npm start`, under "Dev credentials"; a deployed stack: its ' +
    'CredentialsSecretName secret)';
  for (const use of settings.providers.values()) {
    if (!names.has(use.provider.name)) continue;
    const { title } = use.provider;
    const { variable, flag: own } = use.provider.credentials.env;
    if (use.from === fromUrl) {
      // The URL's own token was sent: no setting of this terminal's could have made it pass.
      const name = use.provider.route.parameter?.name ?? 'parameter';
      lines.push(
        say`401 from the ${title} webhook: the ${name} in --url (${use.text.slice(0, 4)}…) is not one the receiver ` +
          `holds: use one it holds (\`npm start\` prints its URLs; a deployed stack: its CredentialsSecretName ` +
          "secret), or give the receiver's base URL to send with this terminal's credentials.\n",
      );
      continue;
    }
    const how = own === undefined ? 'Set' : `Pass --${own}, or set`;
    const also = use.flagged
      .map(
        (f) =>
          say`this terminal sent with --${f.flag} ${f.text}: it must match the stack's ${f.variable} too`,
      )
      .join('; ');
    lines.push(
      say`401 from the ${title} webhook: the credentials in this terminal (${use.text.slice(0, 4)}…, from ${use.from}) ` +
        `differ from ${stacks}. ${how} ${variable} here as it is set there` +
        `${also ? ` (${also})` : ''}.\n`,
    );
  }
  return lines.join('');
}

function fileDelivery(
  path: string,
  cwd: string,
  senders: readonly SampleProvider[],
  given: boolean,
): Delivery {
  let body: string;
  const where = resolve(cwd, path);
  try {
    body = readFileSync(where, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'cannot read it';
    throw new UsageError(`--file ${path}: ${code}${isAbsolute(path) ? '' : ` (${where})`}`);
  }
  const parsed = parseJsonObject(Buffer.from(body, 'utf8'));
  const detected = given
    ? senders[0]
    : parsed.ok
      ? senders.find(({ sender }) => sender.recognises(parsed.value))
      : undefined;
  if (!detected) {
    throw new UsageError(
      `--file ${path}: cannot tell which provider sent it; add --provider ${senders.map((s) => s.provider.name).join('|')}`,
    );
  }
  const { provider } = detected;
  const envelope = parsed.ok
    ? provider.envelope(parsed.value, { headers: {}, pathParameter: undefined, rawBody: Buffer.from(body) })
    : undefined;
  return {
    provider: provider.name,
    body,
    eventType: envelope?.ok ? envelope.eventType : '(unknown)',
    jobId: jobIdOf(provider, body),
    duplicate: false,
    messageId: messageId(),
  };
}

/**
 * Where `--url` sends: the receiver's base URL and, for one of its webhook URLs as pasted
 * (`…/webhooks/<provider>[/<parameter>]`, e.g. a stack output), the provider its path names and
 * the path parameter it holds (as pasted, percent-encoded). A route template's placeholder
 * (`…/webhooks/zenbooker/{token}`, as `ZenbookerWebhookUrl` prints it) or a missing parameter
 * leaves the parameter to the credentials. Without `--url`, the running local stack's URL, else
 * the default local port.
 *
 * @throws UsageError for a URL that is not http(s), or a `/webhooks/…` path that is none of the
 * receiver's routes (never quoting a path parameter: it may be a token).
 */
export function receiver(
  url: string | undefined,
  env: Record<string, string | undefined>,
  dataDir?: string,
): { base: string; provider?: AnyProvider; parameter?: string } {
  if (url === undefined) {
    const stack = readStackFile(dataDirFrom(env, dataDir));
    return { base: stack?.url ?? `http://127.0.0.1:${portFrom(env, 'PORT', defaultPorts.http)}` };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be an http(s) URL (got ${quote(url)})`);
  }
  if (!/^https?:$/.test(parsed.protocol))
    throw new UsageError(`--url must be an http(s) URL (got ${quote(url)})`);
  const webhook = /^(.*?)\/webhooks(?:\/(.*))?$/.exec(parsed.pathname);
  const base = `${parsed.origin}${(webhook?.[1] ?? parsed.pathname).replace(/\/+$/, '')}`;
  const segments = (webhook?.[2] ?? '').split('/').filter((segment) => segment !== '');
  if (segments.length === 0) return { base };
  const [name = '', parameter, ...more] = segments;
  const provider = providers.get(name);
  const routes = [...providers.values()].map((p) =>
    p.route.parameter ? `/webhooks/${p.name}/{${p.route.parameter.name}}` : `/webhooks/${p.name}`,
  );
  const notARoute = (why: string) =>
    new UsageError(
      `--url: ${why}; give the receiver's base URL or one of its webhook URLs (${routes.join(', ')})`,
    );
  if (!provider) throw notARoute(`${quote(`/webhooks/${name}`)} names no provider`);
  if (more.length > 0) throw notARoute(`the path goes on after /webhooks/${name}/…`);
  if (parameter === undefined || /^\{.*\}$/.test(decoded(parameter))) return { base, provider };
  if (!provider.route.parameter) throw notARoute(`/webhooks/${name} takes nothing after it`);
  return { base, provider, parameter };
}

/** `--url`'s base URL (`receiver`), else the running local stack's URL, else the default local port. */
export function baseUrl(
  url: string | undefined,
  env: Record<string, string | undefined>,
  dataDir?: string,
): string {
  return receiver(url, env, dataDir).base;
}

/**
 * The request for a delivery, as its provider's sender makes it (path and authenticating headers,
 * signed now), and what the receiver's `envelope` reads of it.
 */
function request(
  settings: SendSettings,
  delivery: Delivery,
): { url: string; headers: Record<string, string>; read: Outcome['request'] } {
  const use = settings.providers.get(delivery.provider) as ProviderUse;
  const made = use.sender.request(Buffer.from(delivery.body, 'utf8'), {
    credentials: use.credentials,
    settings: use.settings,
    now: new Date(),
    messageId: delivery.messageId,
  });
  const headers: Record<string, string> = {
    'user-agent': `field-webhooks-cli (${delivery.provider} sample)`,
    ...made.headers,
  };
  const prefix = `/webhooks/${delivery.provider}/`;
  // A pasted webhook URL's parameter, as pasted (`addressing` chose credentials that address it).
  const path =
    settings.parameter !== undefined && made.path.startsWith(prefix)
      ? `${prefix}${settings.parameter}`
      : made.path;
  const parameter = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
  return {
    url: `${settings.base}${path}`,
    headers,
    read: {
      headers: Object.fromEntries(Object.entries(headers).map(([k, value]) => [k.toLowerCase(), value])),
      pathParameter: parameter === undefined ? undefined : decoded(parameter),
    },
  };
}

async function deliver(settings: SendSettings, delivery: Delivery): Promise<Outcome> {
  const { url, headers, read } = request(settings, delivery);
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
      request: read,
      status: response.status,
      label,
      eventKey: typeof body.event_key === 'string' ? body.event_key : undefined,
      ms: elapsed,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = (error as Error).name === 'TimeoutError' ? 'timeout' : (cause ?? (error as Error).name);
    return {
      delivery,
      request: read,
      status: 'error',
      label: name,
      eventKey: undefined,
      ms: performance.now() - started,
    };
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
 * bodies and generated samples alike, whatever the receiver answered. `request` is what was sent
 * besides the body (a Standard Webhooks event key is its source and `webhook-id` header).
 */
export function deliveryIds(
  delivery: Pick<Delivery, 'provider' | 'body' | 'eventType'>,
  request: Omit<DeliveryRequest, 'rawBody'> = { headers: {}, pathParameter: undefined },
): DeliveryIds {
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
  const envelope = provider.envelope(parsed.value, { ...request, rawBody });
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
    const facts = provider.describe(validation.event, { eventKey: envelope.eventKey });
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
  const ids = deliveryIds(o.delivery, o.request);
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
  const settings = await sendSettings(context);
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
      ([status, n]) => `  ${padEndWidth(visible(status), 28)} ${n}`,
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
        : `see it stored in a second or so (the consumer batches for up to 1 s): npm run cli -- jobs${visible(where)}\n`,
    );
  }
  return 0;
}
