import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { AnyProvider } from '#core/provider';
import { routePath } from '#core/routes';
import { providers, registry } from '#providers/index';
import { throttleKeys } from '../../cdk/config.ts';
import { buildApp, synthesize, testProvider } from './support.ts';

const providerList = [...providers.values()];
/** The construct path CDK gives a provider's route (`ANY /a/b` becomes `ANY--a--b`). */
const routeConstruct = (provider: AnyProvider) =>
  `field-webhooks-prod/Api/ANY${routePath(provider).replaceAll('/', '--')}`;

/** Every acknowledged finding in the app: construct path → rule id → reason. */
function acknowledgments(app: ReturnType<typeof synthesize>['app']) {
  const found: Array<{ path: string; rule: string; reason: string }> = [];
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, rule: rule.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

describe('cdk-nag AWS Solutions checks', () => {
  it.each([
    ['the default deployment', {}],
    ['a deployment with an alarm email', { alarmEmail: 'oncall@example.com' }],
    ['a deployment reusing an existing secret', { existingSecretName: 'kept/creds' }],
    [
      'a redeploy adopting the kept tables and secret',
      {
        existingEventsTable: 'field-webhooks-prod-events',
        existingJobsTable: 'field-webhooks-prod-jobs',
        existingSecretName: 'field-webhooks/prod/credentials',
      },
    ],
    ['a traced deployment', { tracing: 'true' }],
    [
      'a deployment with per-route throttles',
      {
        ...Object.fromEntries(
          providerList.map((provider, index) => [throttleKeys(provider).rate, 5 + index]),
        ),
        throttledAlarmThreshold: 1,
        clientErrorAlarmThreshold: 1,
      },
    ],
  ])('leave no unacknowledged finding in %s', (_name, context) => {
    const { app } = synthesize(context);
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });

  it('acknowledge exactly the expected findings, each with its reason', () => {
    const found = acknowledgments(synthesize().app);
    expect(found.map(({ path, rule }) => `${rule} ${path}`).sort()).toEqual(
      [
        ...providerList.map((provider) => `AwsSolutions-APIG4 ${routeConstruct(provider)}`),
        'AwsSolutions-SMG4 field-webhooks-prod/Data/CredentialsSecret',
      ].sort(),
    );
    expect(found.map(({ path }) => path)).toContain(
      'field-webhooks-prod/Api/ANY--webhooks--zenbooker--{token}',
    );
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(80);
  });

  it('acknowledge each route’s missing authorizer for its own provider, and no more', () => {
    const withTest = registry([...providerList, testProvider]);
    const { app } = synthesize({}, { providers: withTest });
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
    const routes = acknowledgments(app).filter(({ rule }) => rule === 'AwsSolutions-APIG4');
    expect(routes.map(({ path }) => path).sort()).toEqual([...withTest.values()].map(routeConstruct).sort());
    for (const provider of withTest.values()) {
      const reason = routes.find(({ path }) => path === routeConstruct(provider))?.reason;
      expect(reason).toContain(`inside the ingest function, by ${provider.title}'s own scheme`);
    }
  });

  it('acknowledge X-Ray’s wildcard resource on each function role only when tracing is on', () => {
    const found = acknowledgments(synthesize({ tracing: 'true' }).app);
    expect(
      found
        .filter(({ rule }) => rule.startsWith('AwsSolutions-IAM5'))
        .map(({ path, rule }) => `${rule} ${path}`),
    ).toEqual([
      'AwsSolutions-IAM5[Resource::*] field-webhooks-prod/IngestRole',
      'AwsSolutions-IAM5[Resource::*] field-webhooks-prod/ConsumerRole',
    ]);
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(80);
  });

  it.each([
    ['the top-level stack', (built: ReturnType<typeof buildApp>) => built.stack],
    ['the nested stack', (built: ReturnType<typeof buildApp>) => built.stateful],
  ])('run on every synth and fail it on a new finding in %s', (_name, stackOf) => {
    const stack = stackOf(buildApp());
    // A queue without `enforceSSL` (AwsSolutions-SQS4) and without a DLQ (AwsSolutions-SQS3).
    new Queue(stack, 'CarelessQueue');
    expect(() => Template.fromStack(stack)).toThrow(/AwsSolutions-SQS4/);
  });
});
