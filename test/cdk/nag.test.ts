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
        existingJobsTableStreamArn:
          'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-prod-jobs/stream/2025-01-01T00:00:00.000',
        existingSecretName: 'field-webhooks/prod/credentials',
      },
    ],
    ['a traced deployment', { tracing: 'true' }],
    [
      'a deployment forwarding job events to a URL',
      {
        jobEventsForwardUrl: 'https://example.com/hooks/jobs',
        jobEventsForwardStatuses: 'completed,canceled',
      },
    ],
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
        // The job events DLQ is a DLQ; the publish function's role reads the stream, and
        // dynamodb:ListStreams takes no resource.
        'AwsSolutions-SQS3 field-webhooks-prod/JobEvents/DeadLetterQueue',
        'AwsSolutions-IAM5[Resource::*] field-webhooks-prod/JobEvents/PublishRole',
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
      // One acknowledgement for both of its wildcards: dynamodb:ListStreams and X-Ray's.
      'AwsSolutions-IAM5[Resource::*] field-webhooks-prod/JobEvents/PublishRole',
    ]);
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(80);
    const publish = found.find(({ path }) => path === 'field-webhooks-prod/JobEvents/PublishRole')?.reason;
    expect(publish).toContain('dynamodb:ListStreams');
    expect(publish).toContain('xray:PutTraceSegments');
    const untraced = acknowledgments(synthesize().app).find(
      ({ path }) => path === 'field-webhooks-prod/JobEvents/PublishRole',
    )?.reason;
    expect(untraced).not.toContain('xray');
  });

  it('acknowledge the example subscriber’s findings only when it is on: its DLQ, and its key that no Lambda can rotate', () => {
    const found = acknowledgments(
      synthesize({ jobEventsForwardUrl: 'https://example.com/hooks/jobs' }).app,
    ).map(({ path, rule }) => `${rule} ${path}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'AwsSolutions-SQS3 field-webhooks-prod/JobEvents/ForwardDeadLetterQueue',
        'AwsSolutions-SMG4 field-webhooks-prod/JobEvents/ForwardApiKey',
      ]),
    );
    expect(acknowledgments(synthesize().app).map(({ path }) => path)).not.toContainEqual(
      expect.stringContaining('Forward'),
    );
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
