import { describe, expect, it } from 'vitest';
import { ConfigError, consumerConfig, ingestConfig as readIngestConfig, readSettings } from '#core/config';
import { providers } from '#providers/index';

const ingestConfig = (env: Record<string, string | undefined>) => readIngestConfig(env, providers);

const cooledgeSecret = 'whsec_config_secret_0123456789';
const zenbookerToken = 'zbk_config_token_0123456789abcdef';

const ingestEnv = (overrides: Record<string, string | undefined> = {}) => ({
  QUEUE_URL: 'https://sqs.ap-southeast-2.amazonaws.com/123456789012/events',
  COOLEDGE_WEBHOOK_SECRETS: cooledgeSecret,
  ZENBOOKER_WEBHOOK_TOKENS: zenbookerToken,
  ...overrides,
});

const consumerEnv = (overrides: Record<string, string | undefined> = {}) => ({
  EVENTS_TABLE_NAME: 'events',
  JOBS_TABLE_NAME: 'jobs',
  ...overrides,
});

/** The ConfigError a function throws; fails the test when it throws nothing or something else. */
function configError(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('ingest configuration', () => {
  it('reads a complete environment', () => {
    // Every provider of the registry has its settings, at their defaults unless overridden: the
    // expected map follows the registry, so a new provider needs no line here.
    const providerSettings = new Map<string, unknown>(
      [...providers.values()].map((p) => [p.name, readSettings(p, {})]),
    );
    providerSettings.set('cooledge', { scheme: 'plain', toleranceSeconds: 60 });
    const config = ingestConfig(
      ingestEnv({
        MAX_BODY_BYTES: '300000',
        COOLEDGE_SIGNATURE_SCHEME: 'plain',
        COOLEDGE_SIGNATURE_TOLERANCE_SECONDS: '60',
        EVENT_TIME_SKEW_SECONDS: '900',
      }),
    );
    // The overrides, named: Cooledge's settings as the variables give them.
    expect(config.providerSettings.get('cooledge')).toEqual({ scheme: 'plain', toleranceSeconds: 60 });
    expect([...config.providerSettings.keys()]).toEqual([...providers.keys()]);
    expect(config).toEqual({
      queueUrl: 'https://sqs.ap-southeast-2.amazonaws.com/123456789012/events',
      maxBodyBytes: 300_000,
      providerSettings,
      eventTimeSkewSeconds: 900,
      credentials: {
        kind: 'env',
        credentials: { cooledge: { secrets: [cooledgeSecret] }, zenbooker: { tokens: [zenbookerToken] } },
      },
    });
  });

  it('applies the defaults: 256 KiB, timestamped signatures, 300 s tolerance, 300 s event time skew', () => {
    const config = ingestConfig(ingestEnv());
    expect(config).toMatchObject({ maxBodyBytes: 262_144, eventTimeSkewSeconds: 300 });
    expect(config.providerSettings.get('cooledge')).toEqual({ scheme: 'timestamped', toleranceSeconds: 300 });
  });

  it('takes an event time skew from 0 (no event ahead of its receipt) to a day', () => {
    expect(ingestConfig(ingestEnv({ EVENT_TIME_SKEW_SECONDS: '0' })).eventTimeSkewSeconds).toBe(0);
    expect(ingestConfig(ingestEnv({ EVENT_TIME_SKEW_SECONDS: '86400' })).eventTimeSkewSeconds).toBe(86_400);
  });

  it('reads several secrets and tokens, trimming blanks and empty entries', () => {
    const second = 'whsec_config_secret_second_0001';
    const config = ingestConfig(
      ingestEnv({
        COOLEDGE_WEBHOOK_SECRETS: ` ${cooledgeSecret} ,${second},`,
        ZENBOOKER_WEBHOOK_TOKENS: `${zenbookerToken}, zbk_config_token_rotated_00000000`,
      }),
    );
    expect(config.credentials).toEqual({
      kind: 'env',
      credentials: {
        cooledge: { secrets: [cooledgeSecret, second] },
        zenbooker: { tokens: [zenbookerToken, 'zbk_config_token_rotated_00000000'] },
      },
    });
  });

  it('fails naming QUEUE_URL when it is missing', () => {
    expect(configError(() => ingestConfig(ingestEnv({ QUEUE_URL: undefined }))).message).toBe(
      'QUEUE_URL is not set',
    );
  });

  it.each([...providers.values()].map((p) => p.credentials.env.variable))(
    'leaves a provider unconfigured when %s is unset or empty (its deliveries get 401)',
    (variable) => {
      const provider = [...providers.values()].find((p) => p.credentials.env.variable === variable);
      for (const value of [undefined, '', '  ']) {
        const env: Record<string, string | undefined> = ingestEnv({
          [variable]: value,
          STANDARD_WEBHOOK_SECRETS: undefined,
        });
        // One provider stays configured, so the environment as a whole is valid.
        const other = [...providers.values()].find((p) => p !== provider) ?? provider;
        env[other?.credentials.env.variable as string] ??= other?.credentials.env.dev as string;
        const credentials = ingestConfig(env).credentials;
        expect(credentials.kind === 'env' && provider && credentials.credentials[provider.name]).toBeFalsy();
      }
    },
  );

  it('fails naming every variable when no provider has credentials', () => {
    const message = configError(() =>
      ingestConfig({ QUEUE_URL: 'https://sqs.example.com/q', COOLEDGE_WEBHOOK_SECRETS: '' }),
    ).message;
    for (const provider of providers.values()) expect(message).toContain(provider.credentials.env.variable);
    expect(message).toContain('WEBHOOK_SECRET_ID');
  });

  it('reads Standard Webhooks sources as <source>=<secret> pairs, a source named twice keeping both', () => {
    const first = `whsec_${Buffer.from('a'.repeat(24)).toString('base64')}`;
    const second = `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`;
    const other = `whsec_${Buffer.from('c'.repeat(64)).toString('base64')}`;
    const config = ingestConfig(
      ingestEnv({ STANDARD_WEBHOOK_SECRETS: `acme=${first}, acme=${second},billing-2=${other}` }),
    );
    expect(config.credentials.kind === 'env' && config.credentials.credentials.standard).toEqual({
      sources: { acme: { secrets: [first, second] }, 'billing-2': { secrets: [other] } },
    });
  });

  it.each([
    ['QUEUE_URL', ''],
    ['QUEUE_URL', 'not a url'],
    ['MAX_BODY_BYTES', ''],
    ['MAX_BODY_BYTES', 'lots'],
    ['MAX_BODY_BYTES', '0'],
    ['MAX_BODY_BYTES', '-1'],
    ['MAX_BODY_BYTES', '1.5'],
    ['MAX_BODY_BYTES', '1e6'],
    ['MAX_BODY_BYTES', String(300 * 1024 + 1)],
    ['COOLEDGE_SIGNATURE_SCHEME', 'hmac'],
    ['COOLEDGE_SIGNATURE_SCHEME', 'Plain'],
    ['COOLEDGE_SIGNATURE_SCHEME', ''],
    ['COOLEDGE_SIGNATURE_TOLERANCE_SECONDS', '0'],
    ['COOLEDGE_SIGNATURE_TOLERANCE_SECONDS', 'five minutes'],
    ['COOLEDGE_SIGNATURE_TOLERANCE_SECONDS', '86401'],
    ['EVENT_TIME_SKEW_SECONDS', '5m'],
    ['EVENT_TIME_SKEW_SECONDS', '-1'],
    ['EVENT_TIME_SKEW_SECONDS', '1.5'],
    ['EVENT_TIME_SKEW_SECONDS', '86401'],
    ['COOLEDGE_WEBHOOK_SECRETS', ' , '],
    ['COOLEDGE_WEBHOOK_SECRETS', 'too-short'],
    ['COOLEDGE_WEBHOOK_SECRETS', `${cooledgeSecret},short`],
    ['ZENBOOKER_WEBHOOK_TOKENS', 'short_token'],
    ['ZENBOOKER_WEBHOOK_TOKENS', 'zbk token with spaces 0123456789'],
    ['ZENBOOKER_WEBHOOK_TOKENS', 'zbk/token/with/slashes/0123456789'],
    ['STANDARD_WEBHOOK_SECRETS', 'whsec_c2hvcnQ='],
    ['STANDARD_WEBHOOK_SECRETS', `acme=whsec_${Buffer.from('x'.repeat(65)).toString('base64')}`],
    ['STANDARD_WEBHOOK_SECRETS', `Acme=whsec_${Buffer.from('x'.repeat(24)).toString('base64')}`],
    ['STANDARD_WEBHOOK_SECRETS', `acme=${Buffer.from('x'.repeat(24)).toString('base64')}`],
    ['STANDARD_WEBHOOK_TOLERANCE_SECONDS', '0'],
  ])('fails naming %s when it is %j', (name, value) => {
    const error = configError(() => ingestConfig(ingestEnv({ [name]: value })));
    expect(error.message).toMatch(new RegExp(`^${name} is invalid: .+`));
  });

  it('accepts the smallest and largest allowed values', () => {
    expect(
      ingestConfig(ingestEnv({ MAX_BODY_BYTES: '1', COOLEDGE_SIGNATURE_TOLERANCE_SECONDS: '1' })),
    ).toMatchObject({ maxBodyBytes: 1 });
    expect(
      ingestConfig(ingestEnv({ COOLEDGE_SIGNATURE_TOLERANCE_SECONDS: '1' })).providerSettings.get('cooledge'),
    ).toMatchObject({ toleranceSeconds: 1 });
    expect(
      ingestConfig(
        ingestEnv({
          MAX_BODY_BYTES: String(300 * 1024),
          COOLEDGE_SIGNATURE_TOLERANCE_SECONDS: '86400',
        }),
      ),
    ).toMatchObject({ maxBodyBytes: 300 * 1024 });
  });

  it('never quotes a rejected secret or token in its message', () => {
    const shortSecret = 'sekrit-value-1';
    const badToken = 'bad token value!';
    expect(
      configError(() => ingestConfig(ingestEnv({ COOLEDGE_WEBHOOK_SECRETS: shortSecret }))).message,
    ).not.toContain(shortSecret);
    expect(
      configError(() => ingestConfig(ingestEnv({ ZENBOOKER_WEBHOOK_TOKENS: badToken }))).message,
    ).not.toContain('bad token');
  });

  describe('with WEBHOOK_SECRET_ID (Secrets Manager)', () => {
    it('reads the secret id and a default refresh of 300 s, without needing the env credentials', () => {
      const config = ingestConfig({
        QUEUE_URL: 'https://sqs.ap-southeast-2.amazonaws.com/123456789012/events',
        WEBHOOK_SECRET_ID: 'field-webhooks/credentials',
      });
      expect(config.credentials).toEqual({
        kind: 'secrets-manager',
        secretId: 'field-webhooks/credentials',
        refreshSeconds: 300,
      });
    });

    it('prefers the secret over credentials in the environment', () => {
      const config = ingestConfig(
        ingestEnv({ WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:x', SECRET_REFRESH_SECONDS: '0' }),
      );
      expect(config.credentials).toEqual({
        kind: 'secrets-manager',
        secretId: 'arn:aws:secretsmanager:x',
        refreshSeconds: 0,
      });
    });

    it.each([
      ['WEBHOOK_SECRET_ID', '   '],
      ['SECRET_REFRESH_SECONDS', 'hourly'],
      ['SECRET_REFRESH_SECONDS', '-5'],
      ['SECRET_REFRESH_SECONDS', '86401'],
    ])('fails naming %s when it is %j', (name, value) => {
      const env = { QUEUE_URL: 'https://sqs.example.com/q', WEBHOOK_SECRET_ID: 'secret-id', [name]: value };
      expect(configError(() => ingestConfig(env)).message).toMatch(new RegExp(`^${name} is invalid: `));
    });
  });
});

describe('consumer configuration', () => {
  it('reads a complete environment', () => {
    expect(consumerConfig(consumerEnv({ DEDUPE_HORIZON_DAYS: '7', EVENT_TIME_SKEW_SECONDS: '120' }))).toEqual(
      {
        eventsTableName: 'events',
        jobsTableName: 'jobs',
        dedupeHorizonDays: 7,
        eventTimeSkewSeconds: 120,
      },
    );
  });

  it('defaults the event time skew to 300 s, as ingest does, and takes 0', () => {
    expect(consumerConfig(consumerEnv()).eventTimeSkewSeconds).toBe(300);
    expect(consumerConfig(consumerEnv({ EVENT_TIME_SKEW_SECONDS: '0' })).eventTimeSkewSeconds).toBe(0);
  });

  it('defaults the dedupe horizon to 30 days', () => {
    expect(consumerConfig(consumerEnv()).dedupeHorizonDays).toBe(30);
  });

  it('accepts a dedupe horizon of 0 (keep forever)', () => {
    expect(consumerConfig(consumerEnv({ DEDUPE_HORIZON_DAYS: '0' })).dedupeHorizonDays).toBe(0);
  });

  it.each(['EVENTS_TABLE_NAME', 'JOBS_TABLE_NAME'])('fails naming %s when it is missing', (name) => {
    expect(configError(() => consumerConfig(consumerEnv({ [name]: undefined }))).message).toBe(
      `${name} is not set`,
    );
  });

  it.each([
    ['EVENTS_TABLE_NAME', ''],
    ['JOBS_TABLE_NAME', '  '],
    ['DEDUPE_HORIZON_DAYS', 'a month'],
    ['DEDUPE_HORIZON_DAYS', '-1'],
    ['DEDUPE_HORIZON_DAYS', '3651'],
    ['EVENT_TIME_SKEW_SECONDS', 'soon'],
    ['EVENT_TIME_SKEW_SECONDS', '86401'],
  ])('fails naming %s when it is %j', (name, value) => {
    expect(configError(() => consumerConfig(consumerEnv({ [name]: value }))).message).toMatch(
      new RegExp(`^${name} is invalid: .+`),
    );
  });
});

describe('local credential variables say their form', () => {
  it('names the <source>=<whsec_…> form when STANDARD_WEBHOOK_SECRETS holds a bare secret, never quoting it', () => {
    const bare = `whsec_${Buffer.from('s'.repeat(24)).toString('base64')}`;
    const message = configError(() => ingestConfig(ingestEnv({ STANDARD_WEBHOOK_SECRETS: bare }))).message;
    expect(message).toMatch(/^STANDARD_WEBHOOK_SECRETS is invalid: .*<source>=<whsec_…> pairs/);
    expect(message).not.toContain(bare);
  });
});
