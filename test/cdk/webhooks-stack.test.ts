import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { customMetrics, type MetricName } from '#core/ports';
import type { AnyProvider } from '#core/provider';
import { routePath } from '#core/routes';
import {
  consumerBatchingWindowSeconds,
  consumerBatchSize,
  consumerTimeoutSeconds,
  defaults,
} from '#infra/definitions';
import { providers, registry } from '#providers/index';
import { monthlyCost } from '../../bench/cost.ts';
import { throttleKeys } from '../../cdk/config.ts';
import {
  deadLetterAgeThresholdSeconds,
  sustainedPeriods,
  throttledMetricName,
} from '../../cdk/monitoring.ts';
import { webhookUrlOutputId } from '../../cdk/webhooks-stack.ts';
import { retiredVolumeMetrics } from '../support/factories.ts';
import {
  logicalId,
  resolveOffline,
  resourcesOf,
  roleStatements,
  type Synthesized,
  synthesize,
  testProvider,
} from './support.ts';

let deployed: Synthesized;
beforeAll(() => {
  deployed = synthesize();
});

const arnOf = (template: unknown) => resolveOffline(template);
const queueArn = 'arn:aws:sqs:us-east-1:123456789012:field-webhooks-prod-webhook-events';
const providerList = [...providers.values()];
const routeKey = (provider: AnyProvider) => `ANY ${routePath(provider)}`;
/** Each setting's variable with its default: what the ingest function gets without context. */
const settingDefaults = (provider: AnyProvider) =>
  Object.fromEntries(Object.values(provider.settings).map((setting) => [setting.variable, setting.default]));
/** The ingest function's environment variables. */
const ingestVariables = (synthesized: Synthesized): Record<string, unknown> => {
  const id = logicalId(synthesized.stack, synthesized.stack.ingest);
  return synthesized.template.toJSON().Resources[id].Properties.Environment.Variables;
};

describe('functions', () => {
  it('run on Node.js 24, arm64, from the bundled CommonJS file, without source maps at run time', () => {
    const functions = resourcesOf(deployed.template, 'AWS::Lambda::Function');
    // Ingest, consumer and the job events' publish function.
    expect(functions).toHaveLength(3);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
      expect(fn.Properties.Environment?.Variables?.NODE_OPTIONS).toBeUndefined();
    }
  });

  it('are not traced by default (X-Ray bills per trace)', () => {
    const { stack, template } = deployed;
    for (const [, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
      expect(fn.Properties.TracingConfig).toBeUndefined();
    }
    for (const fn of [stack.ingest, stack.consumer, stack.jobEvents.publish]) {
      const actions = roleStatements(template, stack, fn).flatMap((s) => s.actions);
      expect(actions.filter((action) => action.startsWith('xray:'))).toEqual([]);
    }
  });

  it('are all traced actively with -c tracing=true, allowed to send segments to X-Ray', () => {
    const traced = synthesize({ tracing: 'true' });
    const functions = resourcesOf(traced.template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(3);
    for (const [, fn] of functions) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    for (const fn of [traced.stack.ingest, traced.stack.consumer, traced.stack.jobEvents.publish]) {
      // The publish function's shares its statement with dynamodb:ListStreams, also on "*".
      expect(roleStatements(traced.template, traced.stack, fn)).toContainEqual({
        actions: expect.arrayContaining(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']),
        resource: '*',
      });
    }
    // The API stage has nothing to switch: HTTP APIs do not support X-Ray.
    for (const [, stage] of resourcesOf(traced.template, 'AWS::ApiGatewayV2::Stage')) {
      expect(JSON.stringify(stage.Properties)).not.toMatch(/[Tt]rac/);
    }
  });

  it('turn source maps on at run time with -c sourceMaps=true', () => {
    const functions = resourcesOf(synthesize({ sourceMaps: 'true' }).template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(3);
    for (const [, fn] of functions) {
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('log to their own log group, kept for the configured retention', () => {
    const { stack, template } = deployed;
    for (const fn of [stack.ingest, stack.consumer, stack.jobEvents.publish]) {
      const groupId = logicalId(stack, fn.logGroup);
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: Match.absent(),
        Role: { 'Fn::GetAtt': [logicalId(stack, fn.role as Role), 'Arn'] },
        LoggingConfig: { LogGroup: { Ref: groupId } },
      });
      expect(template.toJSON().Resources[groupId].Properties.RetentionInDays).toBe(30);
    }
    const longer = synthesize({ logRetentionDays: '90' });
    for (const [, group] of resourcesOf(longer.template, 'AWS::Logs::LogGroup')) {
      expect(group.Properties.RetentionInDays).toBe(90);
    }
  });

  it('give the consumer the shared timeout and the ingest function one inside the API 30 s limit', () => {
    const timeoutOf = (variable: string): number => {
      const found = resourcesOf(deployed.template, 'AWS::Lambda::Function').filter(
        ([, fn]) => fn.Properties.Environment?.Variables?.[variable] !== undefined,
      );
      expect(found, variable).toHaveLength(1);
      return found[0]?.[1].Properties.Timeout;
    };
    expect(timeoutOf('EVENTS_TABLE_NAME')).toBe(consumerTimeoutSeconds);
    // API Gateway stops waiting for the function after the integration's timeout: 30 s, the HTTP
    // API maximum, unless the integration sets less. The function must give up before it does.
    const integrations = resourcesOf(deployed.template, 'AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(1);
    const integrationMs: number = integrations[0]?.[1].Properties.TimeoutInMillis ?? 30_000;
    expect(integrationMs).toBeLessThanOrEqual(30_000);
    expect(timeoutOf('QUEUE_URL') * 1000).toBeLessThan(integrationMs);
  });

  it('configure the ingest function from context, naming the secret but never holding it', () => {
    const custom = synthesize({
      maxBodyBytes: 100_000,
      signatureScheme: 'plain',
      signatureToleranceSeconds: '60',
      standardWebhookToleranceSeconds: 60,
      secretRefreshSeconds: 120,
      eventTimeSkewSeconds: '900',
    });
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectEquals({
          POWERTOOLS_METRICS_NAMESPACE: 'FieldWebhooks/prod',
          QUEUE_URL: Match.anyValue(),
          MAX_BODY_BYTES: '100000',
          EVENT_TIME_SKEW_SECONDS: '900',
          WEBHOOK_SECRET_ID: 'field-webhooks/prod/credentials',
          SECRET_REFRESH_SECONDS: '120',
          ...Object.assign({}, ...providerList.map(settingDefaults)),
          COOLEDGE_SIGNATURE_SCHEME: 'plain',
          COOLEDGE_SIGNATURE_TOLERANCE_SECONDS: '60',
          STANDARD_WEBHOOK_TOLERANCE_SECONDS: '60',
        }),
      },
    });
  });

  it.each(providerList)('give the ingest function each of $name’s settings, at its default', (provider) => {
    const variables = ingestVariables(deployed);
    for (const setting of Object.values(provider.settings)) {
      expect(variables[setting.variable], setting.variable).toBe(setting.default);
    }
  });

  it.each(providerList.flatMap((provider) => Object.values(provider.settings)))(
    'fail the synth on a bad $context, naming the key',
    (setting) => {
      expect(() => synthesize({ [setting.context]: 'soon' })).toThrow(`${setting.context}: `);
    },
  );

  it('configure the consumer from context', () => {
    const custom = synthesize({ dedupeHorizonDays: 0, eventTimeSkewSeconds: 0 });
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectEquals({
          POWERTOOLS_METRICS_NAMESPACE: 'FieldWebhooks/prod',
          EVENTS_TABLE_NAME: 'field-webhooks-prod-events',
          JOBS_TABLE_NAME: 'field-webhooks-prod-jobs',
          DEDUPE_HORIZON_DAYS: '0',
          EVENT_TIME_SKEW_SECONDS: '0',
        }),
      },
    });
  });

  it('give both functions the default event time skew, so ingest and replays judge alike', () => {
    const { stack } = deployed;
    const ids = [stack.ingest, stack.consumer].map((fn) => logicalId(stack, fn));
    const functions = resourcesOf(deployed.template, 'AWS::Lambda::Function').filter(([id]) =>
      ids.includes(id),
    );
    expect(functions).toHaveLength(2);
    for (const [, fn] of functions) {
      expect(fn.Properties.Environment.Variables.EVENT_TIME_SKEW_SECONDS).toBe(
        String(defaults.eventTimeSkewSeconds),
      );
    }
  });

  it('hold no secret in any environment variable', () => {
    const functions = [
      ...resourcesOf(deployed.statefulTemplate, 'AWS::Lambda::Function'),
      ...resourcesOf(deployed.template, 'AWS::Lambda::Function'),
    ];
    for (const [, fn] of functions) {
      const variables: Record<string, unknown> = fn.Properties.Environment?.Variables ?? {};
      // The local runs' credentials variables (e.g. `COOLEDGE_WEBHOOK_SECRETS`) have no place here.
      for (const provider of providerList)
        expect(variables[provider.credentials.env.variable]).toBeUndefined();
      const namesAllowed = new Set(['WEBHOOK_SECRET_ID', 'SECRET_REFRESH_SECONDS']);
      for (const [name, value] of Object.entries(variables)) {
        if (!namesAllowed.has(name)) expect(name).not.toMatch(/SECRET|TOKEN|PASSWORD|KEY/);
        // A dynamic reference would put the secret's value into the function's configuration.
        expect(JSON.stringify(value)).not.toMatch(/resolve:(secretsmanager|ssm-secure)/);
      }
    }
  });
});

describe('permissions', () => {
  it('let the ingest function send to the queue and read its secret, nothing else', () => {
    const { stack, template } = deployed;
    const statements = roleStatements(template, stack, stack.ingest);
    expect(statements.map((s) => ({ ...s, resource: arnOrLogGroup(s.resource) }))).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resource: logicalId(stack, stack.ingest.logGroup),
      },
      { actions: ['sqs:SendMessage'], resource: queueArn },
      {
        actions: ['secretsmanager:GetSecretValue'],
        resource:
          'arn:aws:secretsmanager:us-east-1:123456789012:secret:field-webhooks/prod/credentials-??????',
      },
    ]);
  });

  it('scope the secret permission to an existing secret when one is named', () => {
    const imported = synthesize({ existingSecretName: 'kept/creds' });
    const statements = roleStatements(imported.template, imported.stack, imported.stack.ingest);
    expect(statements.map((s) => arnOrLogGroup(s.resource))).toContain(
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:kept/creds-??????',
    );
  });

  it('let the consumer write the two tables and consume the queue, and read nothing', () => {
    const { stack, template } = deployed;
    const statements = roleStatements(template, stack, stack.consumer);
    expect(statements.map((s) => ({ ...s, resource: arnOrLogGroup(s.resource) }))).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resource: logicalId(stack, stack.consumer.logGroup),
      },
      {
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resource: [
          'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-prod-events',
          'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-prod-jobs',
        ],
      },
      { actions: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], resource: queueArn },
    ]);
  });

  it('attach no managed policy to any role, and let Lambda alone assume the functions’ roles', () => {
    const { stack } = deployed;
    const roles = resourcesOf(deployed.template, 'AWS::IAM::Role');
    // The functions' three: nothing else needs one (no EventBridge pipe, test/cdk/job-events.test.ts).
    expect(roles).toHaveLength(3);
    for (const [, role] of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    for (const fn of [stack.ingest, stack.consumer, stack.jobEvents.publish]) {
      const role = deployed.template.toJSON().Resources[logicalId(stack, fn.role as Role)];
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    }
  });
});

describe('event source mapping', () => {
  it('feeds the consumer batches from the queue and takes partial batch failures', () => {
    // The consumer's, and the publish function's on the jobs table's stream (test/cdk/job-events.test.ts).
    deployed.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    deployed.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(deployed.stack, deployed.stack.consumer) },
      EventSourceArn: Match.anyValue(),
      BatchSize: consumerBatchSize,
      MaximumBatchingWindowInSeconds: consumerBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
      // A batch split on error would replay the records that succeeded.
      BisectBatchOnFunctionError: Match.absent(),
    });
    const consumerId = logicalId(deployed.stack, deployed.stack.consumer);
    const mappings = resourcesOf(deployed.template, 'AWS::Lambda::EventSourceMapping').filter(
      ([, mapping]) => (mapping.Properties.FunctionName as { Ref?: string }).Ref === consumerId,
    );
    expect(mappings).toHaveLength(1);
    expect(arnOf(mappings[0]?.[1].Properties.EventSourceArn)).toBe(queueArn);
  });

  it('caps concurrency at the value given in context', () => {
    synthesize({ consumerMaxConcurrency: '12' }).template.hasResourceProperties(
      'AWS::Lambda::EventSourceMapping',
      { ScalingConfig: { MaximumConcurrency: 12 } },
    );
  });
});

describe('HTTP API', () => {
  it('has exactly one route per provider, at its path, each sent to the ingest function with payload 2.0', () => {
    const routes = resourcesOf(deployed.template, 'AWS::ApiGatewayV2::Route').map(
      ([, route]) => route.Properties.RouteKey,
    );
    expect(routes.sort()).toEqual(providerList.map(routeKey).sort());
    expect(routes).toContain('ANY /webhooks/cooledge');
    expect(routes).toContain('ANY /webhooks/zenbooker/{token}');
    expect(routes).toContain('ANY /webhooks/standard/{source}');
    deployed.template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    deployed.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(deployed.stack, deployed.stack.ingest), 'Arn'] },
    });
  });

  it('lets API Gateway invoke the ingest function only through those routes', () => {
    const permissions = resourcesOf(deployed.template, 'AWS::Lambda::Permission');
    expect(permissions.map(([, p]) => resolveSourceArn(p.Properties.SourceArn)).sort()).toEqual(
      providerList
        .map((provider) => `arn:aws:execute-api:us-east-1:123456789012:<api>/*/*${routePath(provider)}`)
        .sort(),
    );
  });

  it('describes the API without naming the providers', () => {
    const [[, api]] = resourcesOf(deployed.template, 'AWS::ApiGatewayV2::Api') as [
      [string, { Properties: { Description: string } }],
    ];
    for (const provider of providerList) {
      expect(api.Properties.Description).not.toMatch(new RegExp(provider.name, 'i'));
    }
  });

  it('throttles each route on its own, by default at the stage rate and burst', () => {
    const everyRoute = (rate: number, burst: number) =>
      Object.fromEntries(
        providerList.map((p) => [routeKey(p), { ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst }]),
      );
    deployed.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: everyRoute(50, 100),
    });
    synthesize({ throttleRateLimit: 7, throttleBurstLimit: '15' }).template.hasResourceProperties(
      'AWS::ApiGatewayV2::Stage',
      {
        DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 15 },
        RouteSettings: everyRoute(7, 15),
      },
    );
  });

  it('gives each route the rate and burst given in context for its provider, by its keys', () => {
    // A different rate and burst for every provider, as `-c` text and JSON numbers alike.
    const context = Object.fromEntries(
      providerList.flatMap((provider, index) => {
        const keys = throttleKeys(provider);
        return [
          [keys.rate, String(5 + index)],
          [keys.burst, 10 + index],
        ];
      }),
    );
    const [[, stage]] = resourcesOf(synthesize(context).template, 'AWS::ApiGatewayV2::Stage') as [
      [string, { Properties: { DefaultRouteSettings: unknown; RouteSettings: unknown } }],
    ];
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
    });
    expect(stage.Properties.RouteSettings).toEqual(
      Object.fromEntries(
        providerList.map((provider, index) => [
          routeKey(provider),
          { ThrottlingRateLimit: 5 + index, ThrottlingBurstLimit: 10 + index },
        ]),
      ),
    );
  });

  it('keeps the first deployments’ throttle keys, leaving the routes not named at the stage’s', () => {
    const custom = synthesize({ cooledgeRateLimit: '5', cooledgeBurstLimit: 10, zenbookerRateLimit: 200 });
    const [[, stage]] = resourcesOf(custom.template, 'AWS::ApiGatewayV2::Stage') as [
      [string, { Properties: { RouteSettings: Record<string, unknown> } }],
    ];
    expect(stage.Properties.RouteSettings).toMatchObject({
      'ANY /webhooks/cooledge': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'ANY /webhooks/zenbooker/{token}': { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 100 },
      'ANY /webhooks/standard/{source}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('names in RouteSettings exactly the routes it declares, and creates the stage after them', () => {
    const routes = resourcesOf(deployed.template, 'AWS::ApiGatewayV2::Route');
    const [[, stage]] = resourcesOf(deployed.template, 'AWS::ApiGatewayV2::Stage') as [
      [string, { Properties: { RouteSettings: Record<string, unknown> }; DependsOn: string[] }],
    ];
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual(
      routes.map(([, route]) => route.Properties.RouteKey).sort(),
    );
    for (const [routeId] of routes) expect(stage.DependsOn).toContain(routeId);
  });

  it('writes JSON access logs that never contain the request path (a route parameter may be a token)', () => {
    const [[, stage]] = resourcesOf(deployed.template, 'AWS::ApiGatewayV2::Stage') as [
      [string, { Properties: { AccessLogSettings: { Format: string; DestinationArn: unknown } } }],
    ];
    const format = stage.Properties.AccessLogSettings.Format;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLatency: '$context.responseLatency',
    });
    expect(format).not.toMatch(/\$context\.(path|resourcePath|requestOverride)|rawPath|pathParameters/);
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^ApiAccessLogs/), 'Arn'],
    });
  });
});

describe('alarms', () => {
  const topicArn = 'arn:aws:sns:us-east-1:123456789012:field-webhooks-prod-alarms';
  const alarms = () =>
    Object.fromEntries(
      resourcesOf(deployed.template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => [
        alarm.Properties.AlarmName as string,
        alarm.Properties,
      ]),
    );

  it('raises each operational alarm, notifying the topic when it fires and when it clears', () => {
    const found = alarms();
    expect(Object.keys(found).sort()).toEqual(
      [
        'Api4xx',
        'ApiThrottled',
        'AuthenticationFailures',
        'Conflicts',
        'DeadLetterQueueNearRetention',
        'DeadLetterQueueNotEmpty',
        'Ingest5xx',
        'JobEventsDeadLetterQueueNotEmpty',
        'OldestMessageAge',
        'QuarantinedEvents',
        'Unprocessable',
      ].map((name) => `field-webhooks-prod/${name}`),
    );
    for (const alarm of Object.values(found)) {
      expect(alarm.AlarmActions.map(arnOf)).toEqual([topicArn]);
      expect(alarm.OKActions.map(arnOf)).toEqual([topicArn]);
    }
  });

  it('keeps the DLQ alarms in their last state when SQS stops reporting an untouched DLQ', () => {
    const found = alarms();
    for (const [name, alarm] of Object.entries(found)) {
      // The webhook events' DLQ and the job events DLQ.
      const deadLetter = /DeadLetterQueue(NotEmpty|NearRetention)$/.test(name);
      // A DLQ that holds messages must not clear just because nothing touches it.
      expect(alarm.TreatMissingData, name).toBe(deadLetter ? 'ignore' : 'notBreaching');
    }
  });

  it('watches the DLQ, the queue age and the API with AWS metrics', () => {
    const found = alarms();
    expect(found['field-webhooks-prod/DeadLetterQueueNotEmpty']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'field-webhooks-prod-webhook-events-dlq' }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'ignore',
    });
    expect(found['field-webhooks-prod/OldestMessageAge']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: 'field-webhooks-prod-webhook-events' }],
    });
    // Every 5xx is a delivery not accepted, an enqueue failure's 503 included.
    expect(found['field-webhooks-prod/Ingest5xx']).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(deployed.stack, deployed.stack.api) } }],
      Statistic: 'Sum',
      Threshold: 1,
    });
  });

  it('keeps to 11 alarms of one metric each: the 10 alarm metrics AWS gives free and the DLQ expiry notice', () => {
    const found = Object.values(alarms());
    expect(found.length).toBeLessThanOrEqual(11);
    expect(found.map((alarm) => alarm.AlarmName)).toContain(
      'field-webhooks-prod/DeadLetterQueueNearRetention',
    );
    // The job events DLQ's alarm counts among them; the example subscriber, when on, adds none.
    expect(found.map((alarm) => alarm.AlarmName)).toContain(
      'field-webhooks-prod/JobEventsDeadLetterQueueNotEmpty',
    );
    const forwarding = synthesize({ jobEventsForwardUrl: 'https://example.com/hooks' });
    expect(resourcesOf(forwarding.template, 'AWS::CloudWatch::Alarm')).toHaveLength(found.length);
    for (const alarm of found) {
      // A metric-math alarm (`Metrics`) bills every metric it reads.
      expect(alarm.MetricName, alarm.AlarmName).toEqual(expect.any(String));
      expect(alarm.Metrics, alarm.AlarmName).toBeUndefined();
    }
    // The monthly cost model counts them from the same template.
    const templates = [deployed.template.toJSON(), deployed.statefulTemplate.toJSON()];
    const { lines } = monthlyCost({ events: 0, perMillion: { totalPerMillion: 0 }, templates });
    expect(lines.find((line) => line.item === 'CloudWatch alarms')?.monthly).toBeCloseTo(found.length * 0.1);
  });

  it('says in the alarm that fires for it what a signal without an alarm of its own means', () => {
    const found = alarms();
    const description = (name: string) => found[`field-webhooks-prod/${name}`]?.AlarmDescription as string;
    // Enqueue failures answer 503; consumer throttles age the queue; a consumer failing as a whole
    // sends its batches to the DLQ, whose alarm also carries the deadline SQS keeps them to.
    expect(description('Ingest5xx')).toContain('"enqueue failed"');
    expect(description('Ingest5xx')).toContain('EnqueueFailed');
    expect(description('OldestMessageAge')).toContain('throttled');
    expect(description('OldestMessageAge')).toContain('consumerMaxConcurrency');
    expect(description('DeadLetterQueueNotEmpty')).toContain('the consumer failing as a whole');
    for (const name of ['IngestEnqueueFailed', 'ConsumerErrors', 'ConsumerThrottles']) {
      expect(found[`field-webhooks-prod/${name}`], name).toBeUndefined();
    }
  });

  it('describes every alarm within CloudFormation’s 1024 characters', () => {
    for (const alarm of Object.values(alarms())) {
      expect((alarm.AlarmDescription as string).length, alarm.AlarmName).toBeLessThanOrEqual(1024);
    }
  });

  it('says in the DLQ alarms how long SQS keeps dead-lettered events, and raises the second four days before', () => {
    // The DLQ's retention as deployed, in the nested stack.
    const [[, dlq]] = resourcesOf(deployed.statefulTemplate, 'AWS::SQS::Queue').filter(
      ([, queue]) => queue.Properties.QueueName === 'field-webhooks-prod-webhook-events-dlq',
    ) as [[string, { Properties: { MessageRetentionPeriod: number } }]];
    const retentionSeconds = dlq.Properties.MessageRetentionPeriod;
    expect(deadLetterAgeThresholdSeconds).toBe(retentionSeconds - 4 * 86_400);
    const notEmpty = alarms()['field-webhooks-prod/DeadLetterQueueNotEmpty'];
    expect(notEmpty.AlarmDescription).toContain('npm run cli -- redrive --stage prod');
    expect(notEmpty.AlarmDescription).toContain(`${retentionSeconds / 86_400} days`);
    expect(notEmpty.AlarmDescription).toContain(`fires on day ${deadLetterAgeThresholdSeconds / 86_400}`);
    const nearRetention = alarms()['field-webhooks-prod/DeadLetterQueueNearRetention'];
    expect(nearRetention).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Threshold: deadLetterAgeThresholdSeconds,
    });
    expect(nearRetention.AlarmDescription).toContain('the only copy');
  });

  it('counts 429s from the access log and raises an alarm when they are sustained', () => {
    const { template } = deployed;
    template.resourceCountIs('AWS::Logs::MetricFilter', 1);
    const accessLogs = resourcesOf(template, 'AWS::Logs::LogGroup').find(([id]) =>
      id.startsWith('ApiAccessLogs'),
    );
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: accessLogs?.[0] },
      // `$context.status` is a JSON string in the access log format, so the value is quoted.
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        { MetricNamespace: 'FieldWebhooks/prod', MetricName: 'ApiThrottled', MetricValue: '1' },
      ],
    });
    expect(throttledMetricName).toBe('ApiThrottled');
    expect(alarms()['field-webhooks-prod/ApiThrottled']).toMatchObject({
      Namespace: 'FieldWebhooks/prod',
      MetricName: 'ApiThrottled',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: sustainedPeriods,
      DatapointsToAlarm: sustainedPeriods,
      TreatMissingData: 'notBreaching',
      AlarmDescription: expect.stringContaining('stats count() by routeKey, sourceIp'),
    });
    expect(sustainedPeriods).toBe(3);
  });

  it('raises an alarm on a sustained rate of 4xx answers', () => {
    expect(alarms()['field-webhooks-prod/Api4xx']).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '4xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(deployed.stack, deployed.stack.api) } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 50,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      AlarmDescription: expect.stringContaining('stats count() by status, routeKey'),
    });
  });

  it('takes the 429 and 4xx alarm thresholds from context', () => {
    const custom = synthesize({ throttledAlarmThreshold: '2', clientErrorAlarmThreshold: 500 });
    custom.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'field-webhooks-prod/ApiThrottled',
      Threshold: 2,
      AlarmDescription: Match.stringLikeRegexp('at least 2 times in every 5 minutes for 15 minutes'),
    });
    custom.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'field-webhooks-prod/Api4xx',
      Threshold: 500,
      AlarmDescription: Match.stringLikeRegexp('at least 500 times'),
    });
  });

  it('watches authentication failures and quarantines through the ingest metrics', () => {
    const found = alarms();
    const ingestMetric = (name: MetricName) => ({
      Namespace: 'FieldWebhooks/prod',
      MetricName: name,
      Dimensions: [{ Name: 'service', Value: 'ingest' }],
      Statistic: 'Sum',
    });
    expect(found['field-webhooks-prod/QuarantinedEvents']).toMatchObject({
      ...ingestMetric('Quarantined'),
      Threshold: 1,
    });
    expect(found['field-webhooks-prod/QuarantinedEvents']?.AlarmDescription).toContain(
      'npm run cli -- replay --outcome quarantined --stage prod',
    );
    expect(found['field-webhooks-prod/AuthenticationFailures']).toMatchObject({
      ...ingestMetric('RejectedUnauthorized'),
      Threshold: 20,
    });
    // Every 401 counts, those for an account a bound credential may not write too, and it says so.
    expect(found['field-webhooks-prod/AuthenticationFailures']?.AlarmDescription).toContain(
      'account not bound',
    );
    synthesize({ authFailureAlarmThreshold: 3 }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RejectedUnauthorized',
      Threshold: 3,
    });
  });

  it('watches conflicts and unprocessable events through the consumer metrics, saying what to run', () => {
    const found = alarms();
    const consumerMetric = (name: MetricName) => ({
      Namespace: 'FieldWebhooks/prod',
      MetricName: name,
      Dimensions: [{ Name: 'service', Value: 'consume' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    const conflicts = found['field-webhooks-prod/Conflicts'];
    expect(conflicts).toMatchObject(consumerMetric('Conflict'));
    expect(conflicts.AlarmDescription).toContain('npm run cli -- events --outcome conflict --stage prod');
    const unprocessable = found['field-webhooks-prod/Unprocessable'];
    expect(unprocessable).toMatchObject(consumerMetric('Unprocessable'));
    expect(unprocessable.AlarmDescription).toContain(
      'npm run cli -- events --outcome unprocessable --stage prod',
    );
    expect(unprocessable.AlarmDescription).toContain(
      'npm run cli -- replay --outcome unprocessable --stage prod',
    );
    // Another stage: its own namespace, and commands that name it.
    synthesize({ stage: 'dev' }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'field-webhooks-dev/Unprocessable',
      Namespace: 'FieldWebhooks/dev',
      AlarmDescription: Match.stringLikeRegexp('--outcome unprocessable --stage dev`'),
    });
  });
});

describe('dashboard', () => {
  type Widget = {
    type: string;
    properties: {
      title?: string;
      metrics?: unknown[][];
      annotations?: unknown;
      query?: string;
      view?: string;
    };
  };
  /** The dashboard's widgets; a `Ref` in the body (the API, a function, a log group) reads as its logical id. */
  const widgets = (): Widget[] => {
    const [[, dashboard]] = resourcesOf(deployed.template, 'AWS::CloudWatch::Dashboard') as [
      [string, { Properties: { DashboardName: string; DashboardBody: unknown } }],
    ];
    expect(dashboard.Properties.DashboardName).toBe('field-webhooks-prod');
    const join = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    const text = join[1]
      .map((part) => (typeof part === 'string' ? part : ((part as { Ref?: string }).Ref ?? '<token>')))
      .join(join[0]);
    return JSON.parse(text).widgets;
  };
  const titled = (title: string) => widgets().find((w) => w.properties.title === title);
  /** Each metric line of a graph as [namespace, name]; a line that repeats them is `...`. */
  const chartedMetrics = () => {
    const charted: Array<[string, string]> = [];
    for (const widget of widgets()) {
      for (const line of widget.properties.metrics ?? []) {
        const [namespace, name] = line.filter((x) => typeof x === 'string') as string[];
        if (namespace && name) charted.push([namespace, name]);
      }
    }
    return charted;
  };

  it('charts every failure metric, and no custom metric but those and the 429s', () => {
    const custom = chartedMetrics()
      .filter(([namespace]) => namespace === 'FieldWebhooks/prod')
      .map(([, name]) => name);
    // API Gateway answers unknown paths itself (only the providers' routes exist): never emitted in AWS.
    const failures = Object.keys(customMetrics).filter((name) => name !== 'RejectedNotFound');
    expect(new Set(custom)).toEqual(new Set([...failures, throttledMetricName]));
    for (const name of retiredVolumeMetrics) {
      expect(custom, name).not.toContain(name);
    }
  });

  it('charts the volumes with the API’s and the queue’s own metrics', () => {
    expect(titled('Ingest: requests → queued | quarantined')?.properties.metrics).toEqual([
      [
        'AWS/ApiGateway',
        'Count',
        'ApiId',
        logicalId(deployed.stack, deployed.stack.api),
        { label: 'requests', stat: 'Sum' },
      ],
      [
        'AWS/SQS',
        'NumberOfMessagesSent',
        'QueueName',
        'field-webhooks-prod-webhook-events',
        { label: 'queued', stat: 'Sum' },
      ],
      ['FieldWebhooks/prod', 'Quarantined', 'service', 'ingest', { stat: 'Sum' }],
    ]);
  });

  it('counts the API’s answers and the consumer’s outcomes from the logs, with Logs Insights', () => {
    const logWidgets = widgets().filter((w) => w.type === 'log');
    expect(logWidgets).toHaveLength(2);
    const accessLogs = resourcesOf(deployed.template, 'AWS::Logs::LogGroup').find(([id]) =>
      id.startsWith('ApiAccessLogs'),
    )?.[0];
    const consumerLogs = logicalId(deployed.stack, deployed.stack.consumer.logGroup);
    const answers = titled('API answers by status, hourly (access log)');
    expect(answers).toMatchObject({ type: 'log', properties: { view: 'timeSeries' } });
    expect(answers?.properties.query).toBe(
      `SOURCE '${accessLogs}' | stats count(*) as answers by status, bin(1h)`,
    );
    const outcomes = titled('Consumer outcomes, hourly ("event processed" log lines)');
    expect(outcomes?.properties.query).toBe(
      `SOURCE '${consumerLogs}' | filter message = "event processed"\n| stats count(*) as events by outcome, bin(1h)`,
    );
  });

  it('charts the DLQ’s depth and the age of its oldest message, and the 429s', () => {
    const dlq = titled('Dead-letter queue: depth and oldest (s)');
    expect(dlq?.properties.metrics).toEqual([
      [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        'field-webhooks-prod-webhook-events-dlq',
        { stat: 'Maximum' },
      ],
      [
        'AWS/SQS',
        'ApproximateAgeOfOldestMessage',
        'QueueName',
        'field-webhooks-prod-webhook-events-dlq',
        { label: 'oldest DLQ message (s)', stat: 'Maximum', yAxis: 'right' },
      ],
    ]);
    expect(dlq?.properties.annotations).toEqual({
      // Four days before SQS deletes a dead-lettered event (the DLQ alarm's test ties it to the retention).
      horizontal: [
        { value: deadLetterAgeThresholdSeconds, label: '4 days before SQS deletes it', yAxis: 'right' },
      ],
    });
    expect(titled('API: requests and errors')?.properties.metrics).toContainEqual([
      'FieldWebhooks/prod',
      'ApiThrottled',
      { label: '429 (throttled)', stat: 'Sum' },
    ]);
  });
});

describe('the stack', () => {
  it('is the one top-level stack of the app, named after the stage, so a bare `cdk deploy` deploys it', () => {
    const topLevel = deployed.app.node.children.filter((child) => Stack.isStack(child));
    expect(topLevel).toEqual([deployed.stack]);
    expect(deployed.stack.stackName).toBe('field-webhooks-prod');
  });

  it('is protected against termination, which covers its nested stack', () => {
    expect(deployed.stack.terminationProtection).toBe(true);
  });

  it('finds the nested stack’s resources by name: no imports, and one reference across the nesting, the jobs table’s stream', () => {
    const text = JSON.stringify(deployed.template.toJSON());
    expect(text).not.toMatch(/Fn::ImportValue/);
    // A stream's ARN ends in a label DynamoDB picks, so no name derives it: the data stack's one
    // output, read by the publish function's event source mapping and role, and by nothing else.
    const nested = deployed.statefulTemplate.toJSON();
    expect(nested.Parameters).toBeUndefined();
    const jobsTableId = deployed.stateful.getLogicalId(
      deployed.stateful.tables.Jobs?.node.defaultChild as CfnResource,
    );
    expect(Object.values(nested.Outputs)).toEqual([{ Value: { 'Fn::GetAtt': [jobsTableId, 'StreamArn'] } }]);
    const [outputName] = Object.keys(nested.Outputs) as [string];
    const references = [...text.matchAll(/"Outputs\.([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(references)).toEqual(new Set([outputName]));
    // Adopted tables: no reference at all, the stream comes from context.
    const adopted = synthesize({
      existingEventsTable: 'kept-events',
      existingJobsTable: 'kept-jobs',
      existingJobsTableStreamArn:
        'arn:aws:dynamodb:us-east-1:123456789012:table/kept-jobs/stream/2024-01-01T00:00:00.000',
    });
    expect(JSON.stringify(adopted.template.toJSON())).not.toMatch(/Fn::ImportValue|"Outputs\./);
    expect(adopted.statefulTemplate.toJSON().Outputs).toBeUndefined();
  });

  it('creates the event source mappings, the functions and the alarms only after the nested stack', () => {
    const [[dataId, data]] = resourcesOf(deployed.template, 'AWS::CloudFormation::Stack') as [
      [string, { DependsOn?: string[] }],
    ];
    const nestedStackResource = deployed.stateful.nestedStackResource as CfnResource;
    expect(dataId).toBe(deployed.stack.getLogicalId(nestedStackResource));
    expect(data.DependsOn).toBeUndefined();
    for (const [type, count] of [
      // The consumer's on the queue and the publish function's on the jobs table's stream.
      ['AWS::Lambda::EventSourceMapping', 2],
      ['AWS::Lambda::Function', 3],
      ['AWS::CloudWatch::Alarm', 11],
    ] as const) {
      const found = resourcesOf(deployed.template, type);
      expect(found, type).toHaveLength(count);
      for (const [id, resource] of found) expect(resource.DependsOn ?? [], id).toContain(dataId);
    }
  });

  it.each(providerList)(
    'outputs $name’s URL, its parameter left a placeholder, described by its setup',
    (provider) => {
      const output = deployed.template.findOutputs('*')[webhookUrlOutputId(provider)];
      expect(resolveApi(output?.Value)).toBe(`<endpoint>${routePath(provider)}`);
      expect(output?.Description).toBe(provider.setup);
      const parameter = provider.route.parameter;
      if (parameter) expect(resolveApi(output?.Value)).toMatch(new RegExp(`/\\{${parameter.name}\\}$`));
    },
  );

  it('keeps the first deployments’ URL output ids, and gives every provider of the registry its own', () => {
    const ids = providerList.map(webhookUrlOutputId);
    // A subset: a provider added later adds its id and moves none of these.
    expect(ids).toEqual(
      expect.arrayContaining(['CooledgeWebhookUrl', 'ZenbookerWebhookUrl', 'StandardWebhookUrl']),
    );
    expect(new Set(ids).size).toBe(providerList.length);
    const outputs = deployed.template.findOutputs('*');
    for (const id of ids) expect(outputs[id], id).toBeDefined();
    expect(resolveApi(outputs.CooledgeWebhookUrl?.Value)).toBe('<endpoint>/webhooks/cooledge');
    expect(resolveApi(outputs.ZenbookerWebhookUrl?.Value)).toBe('<endpoint>/webhooks/zenbooker/{token}');
    expect(resolveApi(outputs.StandardWebhookUrl?.Value)).toBe('<endpoint>/webhooks/standard/{source}');
  });

  it('outputs how to read the credentials, without listing the providers, and where to look', () => {
    const outputs = deployed.template.findOutputs('*');
    expect(outputs.CredentialsCommand?.Value).toBe(
      'aws secretsmanager get-secret-value --secret-id field-webhooks/prod/credentials --query SecretString --output text',
    );
    for (const id of ['CredentialsCommand', 'CredentialsSecretName']) {
      expect(outputs[id]?.Description, id).toContain('{"<provider>": ');
      for (const provider of providerList) {
        expect(outputs[id]?.Description, id).not.toMatch(new RegExp(provider.name, 'i'));
      }
    }
    expect(resolveOffline(outputs.DashboardUrl?.Value)).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/field-webhooks-prod',
    );
    expect(outputs.IngestLogGroupName).toBeDefined();
    expect(outputs.ConsumerLogGroupName).toBeDefined();
  });

  it('outputs the nested stack’s resources for the CLI and the README, since its own would not be printed', () => {
    const outputs = deployed.template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlarmTopicArn',
        'ConsumerLogGroupName',
        'CredentialsCommand',
        'CredentialsSecretName',
        'DashboardUrl',
        'DeadLetterQueueUrl',
        'EventsTableName',
        'IngestLogGroupName',
        'JobEventsBusArn',
        'JobEventsBusName',
        'JobsTableName',
        'QueueUrl',
        ...providerList.map(webhookUrlOutputId),
      ].sort(),
    );
    expect(outputs.EventsTableName?.Value).toBe('field-webhooks-prod-events');
    expect(outputs.JobsTableName?.Value).toBe('field-webhooks-prod-jobs');
    expect(resolveOffline(outputs.QueueUrl?.Value)).toBe(
      'https://sqs.us-east-1.amazonaws.com/123456789012/field-webhooks-prod-webhook-events',
    );
    expect(resolveOffline(outputs.DeadLetterQueueUrl?.Value)).toBe(
      'https://sqs.us-east-1.amazonaws.com/123456789012/field-webhooks-prod-webhook-events-dlq',
    );
    expect(outputs.CredentialsSecretName?.Value).toBe('field-webhooks/prod/credentials');
    expect(resolveOffline(outputs.AlarmTopicArn?.Value)).toBe(
      'arn:aws:sns:us-east-1:123456789012:field-webhooks-prod-alarms',
    );
  });

  it('exports nothing, so no other stack can pin its resources', () => {
    for (const output of Object.values(deployed.template.findOutputs('*'))) {
      expect(output.Export).toBeUndefined();
    }
  });
});

describe('a registry with one more provider', () => {
  let extended: Synthesized;
  beforeAll(() => {
    extended = synthesize(
      { acmeCrmRateLimit: 9, acmeCrmBurstLimit: '18', acmeCrmMode: 'lenient' },
      { providers: registry([...providerList, testProvider]) },
    );
  });

  it('gets its route, with the throttle its own keys give, beside every other', () => {
    const routes = resourcesOf(extended.template, 'AWS::ApiGatewayV2::Route').map(
      ([, route]) => route.Properties.RouteKey,
    );
    expect(routes.sort()).toEqual([...providerList.map(routeKey), 'ANY /webhooks/acme-crm/{account}'].sort());
    const [[, stage]] = resourcesOf(extended.template, 'AWS::ApiGatewayV2::Stage') as [
      [string, { Properties: { RouteSettings: Record<string, unknown> } }],
    ];
    expect(stage.Properties.RouteSettings['ANY /webhooks/acme-crm/{account}']).toEqual({
      ThrottlingRateLimit: 9,
      ThrottlingBurstLimit: 18,
    });
    const permissions = resourcesOf(extended.template, 'AWS::Lambda::Permission');
    expect(permissions.map(([, p]) => resolveSourceArn(p.Properties.SourceArn))).toContain(
      'arn:aws:execute-api:us-east-1:123456789012:<api>/*/*/webhooks/acme-crm/{account}',
    );
  });

  it('gets its URL output, the secret parameter a placeholder, described by its setup', () => {
    const output = extended.template.findOutputs('*').AcmeCrmWebhookUrl;
    expect(resolveApi(output?.Value)).toBe('<endpoint>/webhooks/acme-crm/{account}');
    expect(output?.Description).toBe(testProvider.setup);
  });

  it('gives the ingest function its settings from its context keys, next to everyone else’s', () => {
    expect(ingestVariables(extended)).toMatchObject({
      ...Object.assign({}, ...providerList.map(settingDefaults)),
      ACME_CRM_MODE: 'lenient',
    });
    expect(
      ingestVariables(synthesize({}, { providers: registry([...providerList, testProvider]) })).ACME_CRM_MODE,
    ).toBe('strict');
  });
});

describe('a redeploy that adopts the kept tables and secret', () => {
  const kept = {
    existingEventsTable: 'field-webhooks-prod-events-kept',
    existingJobsTable: 'field-webhooks-prod-jobs-kept',
    existingJobsTableStreamArn:
      'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-prod-jobs-kept/stream/2025-01-01T00:00:00.000',
    existingSecretName: 'field-webhooks/prod/credentials-kept',
  };
  let adopted: Synthesized;
  beforeAll(() => {
    adopted = synthesize(kept);
  });

  it('creates no table and no secret anywhere', () => {
    for (const template of [adopted.template, adopted.statefulTemplate]) {
      template.resourceCountIs('AWS::DynamoDB::Table', 0);
      template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    }
  });

  it('gives the consumer the adopted tables’ names', () => {
    adopted.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          EVENTS_TABLE_NAME: kept.existingEventsTable,
          JOBS_TABLE_NAME: kept.existingJobsTable,
        }),
      },
    });
    adopted.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ WEBHOOK_SECRET_ID: kept.existingSecretName }) },
    });
  });

  it('lets the consumer write the adopted tables and nothing else, the ingest function read the adopted secret', () => {
    const { stack, template } = adopted;
    const statements = (fn: typeof stack.ingest) =>
      roleStatements(template, stack, fn).map((s) => ({ ...s, resource: arnOrLogGroup(s.resource) }));
    const dynamo = statements(stack.consumer).filter((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
    // The same one statement as for tables of its own: writes, on the tables alone (no index is
    // written to, and the consumer reads nothing).
    expect(dynamo).toEqual([
      {
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resource: [
          `arn:aws:dynamodb:us-east-1:123456789012:table/${kept.existingEventsTable}`,
          `arn:aws:dynamodb:us-east-1:123456789012:table/${kept.existingJobsTable}`,
        ],
      },
    ]);
    expect(statements(stack.ingest)).toContainEqual({
      actions: ['secretsmanager:GetSecretValue'],
      resource: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${kept.existingSecretName}-??????`,
    });
  });

  it('no longer names the stage’s own tables or secret anywhere', () => {
    const text = JSON.stringify([adopted.template.toJSON(), adopted.statefulTemplate.toJSON()]);
    expect(text).not.toMatch(/field-webhooks-prod-(events|jobs)(?!-kept)/);
    expect(text).not.toMatch(/field-webhooks\/prod\/credentials(?!-kept)/);
  });

  it('outputs the adopted names, for the CLI and the credentials command', () => {
    const outputs = adopted.template.findOutputs('*');
    expect(outputs.EventsTableName?.Value).toBe(kept.existingEventsTable);
    expect(outputs.JobsTableName?.Value).toBe(kept.existingJobsTable);
    expect(outputs.CredentialsSecretName?.Value).toBe(kept.existingSecretName);
    expect(outputs.CredentialsCommand?.Value).toContain(`--secret-id ${kept.existingSecretName} `);
  });

  it('stays termination-protected', () => {
    expect(adopted.stack.terminationProtection).toBe(true);
  });
});

/** A log group's logical id, or an ARN resolved offline. */
function arnOrLogGroup(resource: unknown): unknown {
  if (Array.isArray(resource)) return resource.map(arnOrLogGroup);
  const getAtt = (resource as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  return getAtt ? getAtt[0] : resolveOffline(resource);
}

/** Resolves an execute-api source ARN, writing the API's id as `<api>`. */
function resolveSourceArn(value: unknown): string {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((part) => ((part as { Ref?: string }).Ref?.startsWith('Api') ? '<api>' : resolveOffline(part)))
    .join('');
}

/** Resolves a URL built on the API endpoint attribute, writing it as `<endpoint>`. */
function resolveApi(value: unknown): string {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((part) => ((part as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'] ? '<endpoint>' : part))
    .join('');
}
