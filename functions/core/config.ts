import * as v from 'valibot';
import { defaults, maxBodyBytesCeiling } from '#infra/definitions';
import { WebhookCredentials } from './credentials.ts';

/** Thrown at cold start when the environment is incomplete or malformed; names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const nonEmpty = v.pipe(v.string(), v.trim(), v.nonEmpty());
const integer = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min),
    v.maxValue(max),
  );
const list = v.pipe(
  v.string(),
  v.transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  ),
  v.minLength(1, 'must list at least one value'),
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
  | ({ kind: 'env' } & WebhookCredentials)
  | { kind: 'secrets-manager'; secretId: string; refreshSeconds: number };

export interface IngestConfig {
  queueUrl: string;
  maxBodyBytes: number;
  signatureScheme: SignatureScheme;
  signatureToleranceSeconds: number;
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
export function ingestConfig(env: Env = process.env): IngestConfig {
  return {
    queueUrl: read(env, 'QUEUE_URL', v.pipe(nonEmpty, v.regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'))),
    maxBodyBytes: read(env, 'MAX_BODY_BYTES', integer(1, maxBodyBytesLimit), String(defaults.maxBodyBytes)),
    signatureScheme: read(
      env,
      'COOLEDGE_SIGNATURE_SCHEME',
      v.picklist(['timestamped', 'plain'], 'must be "timestamped" or "plain"'),
      defaults.signatureScheme,
    ),
    signatureToleranceSeconds: read(
      env,
      'COOLEDGE_SIGNATURE_TOLERANCE_SECONDS',
      integer(1, 86_400),
      String(defaults.signatureToleranceSeconds),
    ),
    eventTimeSkewSeconds: eventTimeSkewSeconds(env),
    credentials: credentialSource(env),
  };
}

function eventTimeSkewSeconds(env: Env): number {
  return read(env, 'EVENT_TIME_SKEW_SECONDS', integer(0, 86_400), String(defaults.eventTimeSkewSeconds));
}

function credentialSource(env: Env): CredentialSource {
  if (env.WEBHOOK_SECRET_ID !== undefined) {
    return {
      kind: 'secrets-manager',
      secretId: read(env, 'WEBHOOK_SECRET_ID', nonEmpty),
      refreshSeconds: read(
        env,
        'SECRET_REFRESH_SECONDS',
        integer(0, 86_400),
        String(defaults.secretRefreshSeconds),
      ),
    };
  }
  const cooledgeSecrets = read(env, 'COOLEDGE_WEBHOOK_SECRETS', list);
  const zenbookerTokens = read(env, 'ZENBOOKER_WEBHOOK_TOKENS', list);
  const checked = v.safeParse(WebhookCredentials, { cooledgeSecrets, zenbookerTokens });
  if (!checked.success) {
    const name =
      checked.issues[0]?.path?.[0]?.key === 'zenbookerTokens'
        ? 'ZENBOOKER_WEBHOOK_TOKENS'
        : 'COOLEDGE_WEBHOOK_SECRETS';
    throw new ConfigError(`${name} is invalid: ${checked.issues[0]?.message}`);
  }
  return { kind: 'env', ...checked.output };
}

/** Reads and validates the consumer function's environment once, at cold start. */
export function consumerConfig(env: Env = process.env): ConsumerConfig {
  return {
    eventsTableName: read(env, 'EVENTS_TABLE_NAME', nonEmpty),
    jobsTableName: read(env, 'JOBS_TABLE_NAME', nonEmpty),
    dedupeHorizonDays: read(env, 'DEDUPE_HORIZON_DAYS', integer(0, 3650), String(defaults.dedupeHorizonDays)),
    eventTimeSkewSeconds: eventTimeSkewSeconds(env),
  };
}
