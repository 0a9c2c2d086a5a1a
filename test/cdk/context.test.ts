import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { AnyProvider } from '#core/provider';
import { defaults } from '#infra/definitions';
import { providers, registry } from '#providers/index';
import {
  ContextError,
  cdkPlainKeys,
  contextKeys,
  isCdkKey,
  maxBodyBytesCeiling,
  readDeploymentConfig,
  throttleKeys,
} from '../../cdk/config.ts';
import { projectRoot } from '../../cdk/node-function.ts';
import { addWebhookStacks } from '../../cdk/webhooks.ts';
import { runApp, testProvider } from './support.ts';

const providerList = [...providers.values()];
/** Every setting of every provider of the registry, with its provider. */
const settings = providerList.flatMap((provider) =>
  Object.values(provider.settings).map((setting) => ({ provider: provider.name, ...setting })),
);

/** Each setting's variable with its default: what the ingest function gets without context. */
function defaultEnvironment(provider: AnyProvider): Record<string, string> {
  return Object.fromEntries(Object.values(provider.settings).map((s) => [s.variable, s.default]));
}

describe('deployment context', () => {
  it('defaults to the prod stage and the shared defaults', () => {
    const config = readDeploymentConfig({});
    expect(config).toMatchObject({
      stage: 'prod',
      dedupeHorizonDays: defaults.dedupeHorizonDays,
      maxBodyBytes: defaults.maxBodyBytes,
      eventTimeSkewSeconds: defaults.eventTimeSkewSeconds,
      secretRefreshSeconds: defaults.secretRefreshSeconds,
    });
    expect(config.alarmEmail).toBeUndefined();
    expect(config.existingSecretName).toBeUndefined();
    expect(config.existingEventsTable).toBeUndefined();
    expect(config.existingJobsTable).toBeUndefined();
    expect(config.sourceMaps).toBe(false);
  });

  it.each([
    [true, true],
    ['true', true],
    [false, false],
    ['false', false],
  ])('reads sourceMaps %j as %j', (value, expected) => {
    expect(readDeploymentConfig({ sourceMaps: value }).sourceMaps).toBe(expected);
  });

  it('gives every provider of the registry the stage throttle and its settings’ defaults', () => {
    const config = readDeploymentConfig({});
    expect([...config.perProvider.keys()]).toEqual([...providers.keys()]);
    for (const provider of providerList) {
      expect(config.perProvider.get(provider.name), provider.name).toEqual({
        rateLimit: 50,
        burstLimit: 100,
        environment: defaultEnvironment(provider),
      });
    }
  });

  it('leaves tracing off, and the API alarm defaults', () => {
    const config = readDeploymentConfig({});
    expect(config).toMatchObject({
      throttleRateLimit: 50,
      throttleBurstLimit: 100,
      tracing: false,
      throttledAlarmThreshold: 10,
      clientErrorAlarmThreshold: 50,
    });
  });

  it('names each provider’s throttle keys after it in camelCase, as the first deployments’ keys were', () => {
    for (const provider of providerList) {
      // The name's `-` dropped, the letter after it upper-cased (docs: README, Deploy configuration).
      const camel = provider.name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      expect(throttleKeys(provider)).toEqual({ rate: `${camel}RateLimit`, burst: `${camel}BurstLimit` });
    }
    // Kept working for deployments that set them before the registry existed.
    expect(contextKeys()).toEqual(
      expect.arrayContaining([
        'cooledgeRateLimit',
        'cooledgeBurstLimit',
        'zenbookerRateLimit',
        'zenbookerBurstLimit',
        'signatureScheme',
        'signatureToleranceSeconds',
      ]),
    );
    expect(throttleKeys(testProvider)).toEqual({ rate: 'acmeCrmRateLimit', burst: 'acmeCrmBurstLimit' });
  });

  it.each(providerList.map((provider, index) => [provider.name, provider, index] as const))(
    'reads %s’s own rate and burst, as text or numbers, leaving the other providers at the stage’s',
    (_name, provider, index) => {
      const keys = throttleKeys(provider);
      const config = readDeploymentConfig({ [keys.rate]: String(5 + index), [keys.burst]: 10 + index });
      for (const other of providerList) {
        expect(config.perProvider.get(other.name), other.name).toMatchObject(
          other === provider
            ? { rateLimit: 5 + index, burstLimit: 10 + index }
            : { rateLimit: 50, burstLimit: 100 },
        );
      }
      // Only the burst: the rate stays the stage's.
      expect(readDeploymentConfig({ [keys.burst]: '7' }).perProvider.get(provider.name)).toMatchObject({
        rateLimit: 50,
        burstLimit: 7,
      });
      expect(() => readDeploymentConfig({ [keys.rate]: 'fast' })).toThrow(
        `${keys.rate}: must be a whole number (got "fast")`,
      );
      expect(() => readDeploymentConfig({ [keys.burst]: 5_001 })).toThrow(
        `${keys.burst}: must be at most 5000`,
      );
    },
  );

  it('falls back to a changed stage throttle for the providers without their own', () => {
    const config = readDeploymentConfig({
      throttleRateLimit: '7',
      throttleBurstLimit: 15,
      cooledgeRateLimit: 3,
    });
    expect(config.perProvider.get('cooledge')).toMatchObject({ rateLimit: 3, burstLimit: 15 });
    for (const provider of providerList.filter((p) => p.name !== 'cooledge')) {
      expect(config.perProvider.get(provider.name)).toMatchObject({ rateLimit: 7, burstLimit: 15 });
    }
  });

  it.each(settings)(
    'reads $provider’s setting $context into $variable, its default when unset',
    (setting) => {
      const config = readDeploymentConfig({});
      expect(config.perProvider.get(setting.provider)?.environment[setting.variable]).toBe(setting.default);
      expect(v.is(setting.schema, setting.default)).toBe(true);
    },
  );

  it.each([
    ['signatureScheme', 'plain', 'cooledge', 'COOLEDGE_SIGNATURE_SCHEME', 'plain'],
    ['signatureToleranceSeconds', '60', 'cooledge', 'COOLEDGE_SIGNATURE_TOLERANCE_SECONDS', '60'],
    // `cdk.json` gives numbers as numbers; the variable holds their text.
    ['signatureToleranceSeconds', 90, 'cooledge', 'COOLEDGE_SIGNATURE_TOLERANCE_SECONDS', '90'],
    ['standardWebhookToleranceSeconds', 60, 'standard', 'STANDARD_WEBHOOK_TOLERANCE_SECONDS', '60'],
  ])('takes -c %s=%j into %s’s %s', (key, value, provider, variable, expected) => {
    const config = readDeploymentConfig({ [key]: value });
    expect(config.perProvider.get(provider)?.environment[variable]).toBe(expected);
  });

  it.each(settings.filter((setting) => !v.is(setting.schema, 'soon')))(
    'refuses a bad $context with its own schema’s message, naming the key',
    (setting) => {
      const [issue] = v.safeParse(setting.schema, 'soon', { abortPipeEarly: true }).issues ?? [];
      expect(() => readDeploymentConfig({ [setting.context]: 'soon' })).toThrow(ContextError);
      expect(() => readDeploymentConfig({ [setting.context]: 'soon' })).toThrow(
        `${setting.context}: ${issue?.message} (got "soon")`,
      );
    },
  );

  it('reads the keys of the providers it is given, and refuses those of providers it is not', () => {
    const withTest = registry([...providerList, testProvider]);
    const config = readDeploymentConfig({ acmeCrmRateLimit: 9, acmeCrmMode: 'lenient' }, withTest);
    expect(config.perProvider.get('acme-crm')).toEqual({
      rateLimit: 9,
      burstLimit: 100,
      environment: { ACME_CRM_MODE: 'lenient' },
    });
    expect(() => readDeploymentConfig({ acmeCrmMode: 'loose' }, withTest)).toThrow(
      'acmeCrmMode: must be "strict" or "lenient" (got "loose")',
    );
    expect(() => readDeploymentConfig({ acmeCrmRateLimit: 9 })).toThrow(
      'acmeCrmRateLimit: unknown context key',
    );
  });

  it.each([
    [
      'a provider whose throttle key is a fixed key',
      { ...testProvider, name: 'throttle' },
      'throttleRateLimit',
    ],
    [
      'a setting whose key is a fixed key',
      { ...testProvider, settings: { mode: { ...testProvider.settings.mode, context: 'stage' } } },
      'stage',
    ],
    [
      'a setting whose key is another provider’s',
      { ...testProvider, settings: { mode: { ...testProvider.settings.mode, context: 'signatureScheme' } } },
      'signatureScheme',
    ],
  ] as Array<[string, AnyProvider, string]>)('refuses a registry with %s', (_name, provider, key) => {
    const clashing = registry([...providerList, provider]);
    expect(() => readDeploymentConfig({}, clashing)).toThrow(`context key ${key} is already taken`);
  });

  it('reads the tracing switch and the API alarm thresholds', () => {
    expect(
      readDeploymentConfig({
        tracing: 'true',
        throttledAlarmThreshold: '1',
        clientErrorAlarmThreshold: 1_000,
      }),
    ).toMatchObject({
      tracing: true,
      throttledAlarmThreshold: 1,
      clientErrorAlarmThreshold: 1_000,
    });
    expect(readDeploymentConfig({ tracing: false }).tracing).toBe(false);
  });

  it('takes numbers as `-c key=value` strings as well as JSON numbers', () => {
    expect(readDeploymentConfig({ throttleRateLimit: '25', throttleBurstLimit: 40 })).toMatchObject({
      throttleRateLimit: 25,
      throttleBurstLimit: 40,
    });
  });

  it('takes an event time skew from 0 (no event ahead of its receipt) to a day', () => {
    expect(readDeploymentConfig({ eventTimeSkewSeconds: '0' }).eventTimeSkewSeconds).toBe(0);
    expect(readDeploymentConfig({ eventTimeSkewSeconds: 86_400 }).eventTimeSkewSeconds).toBe(86_400);
  });

  it('treats an empty `-c alarmEmail=` as not set', () => {
    expect(readDeploymentConfig({ alarmEmail: '' }).alarmEmail).toBeUndefined();
  });

  it('leaves the keys CDK itself uses alone', () => {
    expect(() =>
      readDeploymentConfig({
        '@aws-cdk/core:explicitStackTags': true,
        '@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver': true,
        'aws:cdk:bundling-stacks': [],
        'aws:cdk:enable-path-metadata': true,
        'aws-cdk:enableDiffNoFail': true,
        'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
        'acknowledged-issue-numbers': [1],
        'cli-telemetry': false,
      }),
    ).not.toThrow();
  });

  it('knows every plain key (no `:`) the installed CDK CLI writes to context', () => {
    // `cdk acknowledge` and `cdk cli-telemetry` write theirs to cdk.json; a CLI upgrade that adds
    // another must add it to `cdkPlainKeys`, or every synth would refuse it.
    const cli = readFileSync(join(projectRoot, 'node_modules/aws-cdk/lib/index.js'), 'utf8');
    const written = [...cli.matchAll(/\.context\.set\(\s*"([^"]+)"/g)].map((match) => match[1] as string);
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((key) => !key.includes(':')).sort()).toEqual([...new Set(cdkPlainKeys)].sort());
    for (const key of written) expect(isCdkKey(key), key).toBe(true);
  });

  it.each<[string, string]>([
    // Case: every key of ours is camelCase and read exactly as spelt.
    ['StandardRateLimit', 'standardRateLimit'],
    ['ThrottleRateLimit', 'throttleRateLimit'],
    ['stage ', 'stage'],
    // A provider name's `-` kept, or in another place: the key is the name in camelCase.
    ['acme-crmRateLimit', 'acmeCrmRateLimit'],
    ['acme-crm-rate-limit', 'acmeCrmRateLimit'],
    ['acmeCrm-RateLimit', 'acmeCrmRateLimit'],
    ['acme_crmBurstLimit', 'acmeCrmBurstLimit'],
    ['acme-crmRateLimt', 'acmeCrmRateLimit'],
    // Typos.
    ['throttleRate', 'throttleRateLimit'],
    ['standardRatLimit', 'standardRateLimit'],
    ['signatureSchem', 'signatureScheme'],
    ['max-body-bytes', 'maxBodyBytes'],
  ])('refuses the unknown key %j, suggesting %s', (key, meant) => {
    const withTest = registry([...providerList, testProvider]);
    expect(() => readDeploymentConfig({ [key]: '5' }, withTest)).toThrow(ContextError);
    expect(() => readDeploymentConfig({ [key]: '5' }, withTest)).toThrow(
      `${key}: unknown context key (did you mean ${meant}? known: stage, `,
    );
  });

  it('refuses an unknown key it cannot place, listing the known keys', () => {
    expect(() => readDeploymentConfig({ 'x-y': 1, Z: 2 })).toThrow(
      /x-y: unknown context key \(known: stage, .*\n {2}- Z: unknown context key \(known: stage, /,
    );
  });

  it('refuses a registry whose provider declares a setting key that is not camelCase', () => {
    const hyphenated = {
      ...testProvider,
      settings: { mode: { ...testProvider.settings.mode, context: 'acme-crmMode' } },
    } as AnyProvider;
    expect(() => readDeploymentConfig({}, registry([...providerList, hyphenated]))).toThrow(
      'provider acme-crm: context key acme-crmMode is not camelCase',
    );
  });

  it.each([
    ['stage', 'Prod', 'stage: must be 1-20 characters'],
    ['sourceMaps', 'yes', 'sourceMaps: must be true or false'],
    ['throttleRateLimit', 'fast', 'throttleRateLimit: must be a whole number (got "fast")'],
    ['throttleRateLimit', 0, 'throttleRateLimit: must be at least 1'],
    ['throttleBurstLimit', 2.5, 'throttleBurstLimit: must be a whole number'],
    ['cooledgeRateLimit', 'fast', 'cooledgeRateLimit: must be a whole number (got "fast")'],
    ['cooledgeRateLimit', 0, 'cooledgeRateLimit: must be at least 1'],
    ['cooledgeBurstLimit', 5_001, 'cooledgeBurstLimit: must be at most 5000'],
    ['zenbookerRateLimit', 10_001, 'zenbookerRateLimit: must be at most 10000'],
    ['zenbookerBurstLimit', '1.5', 'zenbookerBurstLimit: must be a whole number'],
    ['standardRateLimit', 0, 'standardRateLimit: must be at least 1'],
    ['tracing', 'on', 'tracing: must be true or false'],
    ['throttledAlarmThreshold', 0, 'throttledAlarmThreshold: must be at least 1'],
    ['throttledAlarmThreshold', 'ten', 'throttledAlarmThreshold: must be a whole number (got "ten")'],
    ['clientErrorAlarmThreshold', -5, 'clientErrorAlarmThreshold: must be at least 1'],
    ['clientErrorAlarmThreshold', 2.5, 'clientErrorAlarmThreshold: must be a whole number'],
    ['dedupeHorizonDays', '-1', 'dedupeHorizonDays: must be a whole number'],
    ['dedupeHorizonDays', 3651, 'dedupeHorizonDays: must be at most 3650'],
    ['maxBodyBytes', maxBodyBytesCeiling + 1, `maxBodyBytes: must be at most ${maxBodyBytesCeiling}`],
    ['signatureScheme', 'hmac', 'signatureScheme: must be "timestamped" or "plain" (got "hmac")'],
    ['signatureToleranceSeconds', 'soon', 'signatureToleranceSeconds: must be a whole number (got "soon")'],
    [
      'standardWebhookToleranceSeconds',
      '5m',
      'standardWebhookToleranceSeconds: must be a whole number (got "5m")',
    ],
    ['eventTimeSkewSeconds', '5m', 'eventTimeSkewSeconds: must be a whole number (got "5m")'],
    ['eventTimeSkewSeconds', -1, 'eventTimeSkewSeconds: must be at least 0'],
    ['eventTimeSkewSeconds', 86_401, 'eventTimeSkewSeconds: must be at most 86400'],
    ['consumerMaxConcurrency', 1, 'consumerMaxConcurrency: must be at least 2'],
    ['logRetentionDays', 31, 'logRetentionDays: must be one of 1, 3, 5'],
    ['alarmEmail', 'ops-at-example', 'alarmEmail: must be an email address'],
    ['existingSecretName', 'arn:aws:secretsmanager:eu-west-1:1:secret:x', 'existingSecretName: must be a'],
    [
      'existingEventsTable',
      'arn:aws:dynamodb:eu-west-1:123456789012:table/field-webhooks-prod-events',
      'existingEventsTable: must be a DynamoDB table name',
    ],
    ['existingJobsTable', 'jo', 'existingJobsTable: must be a DynamoDB table name'],
    ['existingJobsTable', 'jobs table', 'existingJobsTable: must be a DynamoDB table name'],
    ['existingJobsTable', 7, 'existingJobsTable: must be text'],
    ['throttleRate', 10, 'throttleRate: unknown context key'],
  ])('rejects %s = %j, naming the key', (key, value, message) => {
    expect(() => readDeploymentConfig({ [key]: value })).toThrow(ContextError);
    expect(() => readDeploymentConfig({ [key]: value })).toThrow(message);
  });

  it('adopts kept tables by name, both together', () => {
    const stream =
      'arn:aws:dynamodb:eu-west-1:123456789012:table/field-webhooks-prod-jobs/stream/2025-01-01T00:00:00.000';
    const config = readDeploymentConfig({
      existingEventsTable: ' field-webhooks-prod-events ',
      existingJobsTable: 'field-webhooks-prod-jobs',
      // The publish function's event source mapping reads its stream (test/cdk/job-events.test.ts).
      existingJobsTableStreamArn: stream,
    });
    expect(config.existingEventsTable).toBe('field-webhooks-prod-events');
    expect(config.existingJobsTable).toBe('field-webhooks-prod-jobs');
    expect(config.existingJobsTableStreamArn).toBe(stream);
    const none = readDeploymentConfig({ existingEventsTable: '', existingJobsTable: '' });
    expect(none.existingEventsTable).toBeUndefined();
    expect(none.existingJobsTable).toBeUndefined();
  });

  it.each([
    [{ existingEventsTable: 'kept-events' }, 'existingJobsTable: must be set with existingEventsTable'],
    [{ existingJobsTable: 'kept-jobs' }, 'existingEventsTable: must be set with existingJobsTable'],
    [{ existingJobsTable: 'kept-jobs', existingEventsTable: '' }, 'existingEventsTable: must be set with'],
    [
      { existingEventsTable: 'kept', existingJobsTable: 'kept' },
      'existingJobsTable: must name another table than existingEventsTable',
    ],
  ])('refuses to adopt %j, naming the key', (context, message) => {
    expect(() => readDeploymentConfig(context)).toThrow(ContextError);
    expect(() => readDeploymentConfig(context)).toThrow(message);
  });

  it('reports every bad key at once', () => {
    expect(() => readDeploymentConfig({ stage: '', logRetentionDays: 2 })).toThrow(
      /stage: .*\n {2}- logRetentionDays: /,
    );
  });

  it('stops the app before any stack exists', () => {
    const app = new App({ context: { consumerMaxConcurrency: 'many' } });
    expect(() => addWebhookStacks(app)).toThrow('consumerMaxConcurrency: must be a whole number');
    expect(app.node.children).toHaveLength(0);
  });
});

describe('the CDK app (cdk.json `app`)', () => {
  it.each([
    ['a fixed key', { throttleBurstLimit: 'lots' }, 'throttleBurstLimit: must be a whole number'],
    [
      'a provider setting',
      { standardWebhookToleranceSeconds: 'soon' },
      'standardWebhookToleranceSeconds: must be a whole number',
    ],
    // Beside every key cdk.json and the CLI put in context, which pass.
    [
      'a key in the wrong case',
      { StandardRateLimit: '5' },
      'StandardRateLimit: unknown context key (did you mean standardRateLimit?',
    ],
  ])('fails a synth with a bad value of %s, saying which and why', (_name, context, message) => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-context-'));
    try {
      const result = runApp(context, outdir);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`invalid CDK context:\n  - ${message}`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('synthesizes one termination-protected stack offline, without an AWS account, its data nested', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-offline-'));
    try {
      const result = runApp({}, outdir);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
      type Artifact = { type: string; environment: string; properties: Record<string, unknown> };
      const stacks = Object.entries(manifest.artifacts as Record<string, Artifact>)
        .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
        .map(([id, artifact]) => [id, artifact.environment, artifact.properties.terminationProtection]);
      // One stack, so `npx cdk deploy` needs neither its name nor `--all`.
      expect(stacks).toEqual([['field-webhooks-prod', 'aws://unknown-account/unknown-region', true]]);
      // The nested stack travels as a template asset of its parent.
      expect(readdirSync(outdir).filter((file) => file.endsWith('.nested.template.json'))).toHaveLength(1);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
