import * as v from 'valibot';
import { defaults, maxBodyBytesCeiling } from '#infra/definitions';
import { readCredentials, type WebhookCredentials } from './credentials.ts';
import type { AnyProvider } from './provider.ts';

/** Thrown at cold start when the environment is incomplete or malformed; names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const nonEmpty = v.pipe(v.string(), v.trim(), v.nonEmpty());
/**
 * A whole number written as text (an environment variable's value) within `min`..`max`, as a
 * number. Messages say what is expected, never quote the value.
 */
export const wholeNumberText = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min),
    v.maxValue(max),
  );
function read<const S extends v.GenericSchema<string, unknown>>(
  env: Env,
  name: string,
  schema: S,
  fallback?: string,
): v.InferOutput<S> {
  const raw = env[name] ?? fallback;
  if (raw === undefined) throw new ConfigError(`${name} is not set`);
  const result = v.safeParse(schema, raw);
  if (!result.success) {
    throw new ConfigError(`${name} is invalid: ${result.issues.map((i) => i.message).join('; ')}`);
  }
  return result.output;
}

/** See `maxBodyBytesCeiling` in `infra/definitions.ts`: a larger body might not fit one item. */
export const maxBodyBytesLimit = maxBodyBytesCeiling;

export type SignatureScheme = 'timestamped' | 'plain';

/** Where the webhook credentials come from: env vars locally, Secrets Manager in AWS. */
export type CredentialSource =
  | { kind: 'env'; credentials: WebhookCredentials }
  | { kind: 'secrets-manager'; secretId: string; refreshSeconds: number };

export interface IngestConfig {
  queueUrl: string;
  maxBodyBytes: number;
  /** Each provider's settings (see `readSettings`), by provider name. */
  providerSettings: ReadonlyMap<string, unknown>;
  /** Seconds an event's own time may lie after its receipt; later is quarantined. */
  eventTimeSkewSeconds: number;
  credentials: CredentialSource;
}

export interface ConsumerConfig {
  eventsTableName: string;
  jobsTableName: string;
  /** 0 keeps event log records forever. */
  dedupeHorizonDays: number;
  /** As `IngestConfig.eventTimeSkewSeconds`: replays are checked again with the consumer's value. */
  eventTimeSkewSeconds: number;
}

/** Reads and validates the ingest function's environment once, at cold start. */
export function ingestConfig(env: Env, providers: ReadonlyMap<string, AnyProvider>): IngestConfig {
  return {
    queueUrl: read(env, 'QUEUE_URL', v.pipe(nonEmpty, v.regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'))),
    maxBodyBytes: read(
      env,
      'MAX_BODY_BYTES',
      wholeNumberText(1, maxBodyBytesLimit),
      String(defaults.maxBodyBytes),
    ),
    providerSettings: readAllSettings(providers, env),
    eventTimeSkewSeconds: eventTimeSkewSeconds(env),
    credentials: credentialSource(env, providers),
  };
}

/**
 * A provider's settings from the environment, by the names it declares them under: each from its
 * variable, else its default, checked by its schema.
 *
 * @throws ConfigError naming the variable when a value is malformed.
 */
export function readSettings(provider: AnyProvider, env: Env): unknown {
  return Object.fromEntries(
    Object.entries(provider.settings).map(([name, setting]) => [
      name,
      read(env, setting.variable, setting.schema, setting.default),
    ]),
  );
}

/** Every provider's settings (`readSettings`), by provider name. */
export function readAllSettings(providers: ReadonlyMap<string, AnyProvider>, env: Env): Map<string, unknown> {
  return new Map([...providers.values()].map((p) => [p.name, readSettings(p, env)]));
}

function eventTimeSkewSeconds(env: Env): number {
  return read(
    env,
    'EVENT_TIME_SKEW_SECONDS',
    wholeNumberText(0, 86_400),
    String(defaults.eventTimeSkewSeconds),
  );
}

/**
 * Secrets Manager when `WEBHOOK_SECRET_ID` is set; else each provider's local variable (e.g.
 * `COOLEDGE_WEBHOOK_SECRETS`). A provider whose variable is unset is not configured.
 *
 * @throws ConfigError naming the variable whose value is malformed, or when none is set.
 */
function credentialSource(env: Env, providers: ReadonlyMap<string, AnyProvider>): CredentialSource {
  if (env.WEBHOOK_SECRET_ID !== undefined) {
    return {
      kind: 'secrets-manager',
      secretId: read(env, 'WEBHOOK_SECRET_ID', nonEmpty),
      refreshSeconds: read(
        env,
        'SECRET_REFRESH_SECONDS',
        wholeNumberText(0, 86_400),
        String(defaults.secretRefreshSeconds),
      ),
    };
  }
  const document: Record<string, unknown> = {};
  for (const provider of providers.values()) {
    const text = env[provider.credentials.env.variable]?.trim();
    if (text) document[provider.name] = provider.credentials.env.parse(text);
  }
  const checked = readCredentials(document, providers);
  if (!checked.ok) {
    const provider = providers.get(checked.problem.path.split('.')[0] ?? '');
    const names = [...providers.values()].map((p) => p.credentials.env.variable).join(', ');
    throw new ConfigError(
      provider
        ? `${provider.credentials.env.variable} is invalid: ${checked.problem.message}${provider.credentials.env.format ? ` (it holds ${provider.credentials.env.format}, comma-separated)` : ''}`
        : `no webhook credentials: set WEBHOOK_SECRET_ID, or at least one of ${names}`,
    );
  }
  return { kind: 'env', credentials: checked.value };
}

/** Reads and validates the consumer function's environment once, at cold start. */
export function consumerConfig(env: Env = process.env): ConsumerConfig {
  return {
    eventsTableName: read(env, 'EVENTS_TABLE_NAME', nonEmpty),
    jobsTableName: read(env, 'JOBS_TABLE_NAME', nonEmpty),
    dedupeHorizonDays: read(
      env,
      'DEDUPE_HORIZON_DAYS',
      wholeNumberText(0, 3650),
      String(defaults.dedupeHorizonDays),
    ),
    eventTimeSkewSeconds: eventTimeSkewSeconds(env),
  };
}
