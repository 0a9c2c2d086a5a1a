import { type CfnResource, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MetricName } from '#core/ports';
import {
  consumerBatchingWindowSeconds,
  consumerBatchSize,
  consumerTimeoutSeconds,
  defaults,
} from '#infra/definitions';
import {
  logicalId,
  resolveOffline,
  resourcesOf,
  roleStatements,
  type Synthesized,
  synthesize,
} from './support.ts';

let deployed: Synthesized;
beforeAll(() => {
  deployed = synthesize();
});

const arnOf = (template: unknown) => resolveOffline(template);
const queueArn = 'arn:aws:sqs:us-east-1:123456789012:field-webhooks-prod-webhook-events';

describe('functions', () => {
  it('run on Node.js 24, arm64, from the bundled ES module, without source maps at run time', () => {
    const functions = resourcesOf(deployed.template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(2);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    }
  });

  it('turn source maps on at run time with -c sourceMaps=true', () => {
    for (const [, fn] of resourcesOf(synthesize({ sourceMaps: 'true' }).template, 'AWS::Lambda::Function')) {
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('log to their own log group, kept for the configured retention', () => {
    const { stack, template } = deployed;
    for (const fn of [stack.ingest, stack.consumer]) {
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
    deployed.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Timeout: consumerTimeoutSeconds,
      MemorySize: 256,
      Environment: { Variables: Match.objectLike({ EVENTS_TABLE_NAME: Match.anyValue() }) },
    });
    deployed.template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 20,
      MemorySize: 512,
      Environment: { Variables: Match.objectLike({ QUEUE_URL: Match.anyValue() }) },
    });
  });

  it('configure the ingest function from context, naming the secret but never holding it', () => {
    const custom = synthesize({
      maxBodyBytes: 100_000,
      signatureScheme: 'plain',
      signatureToleranceSeconds: '60',
      secretRefreshSeconds: 120,
      eventTimeSkewSeconds: '900',
    });
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectEquals({
          POWERTOOLS_METRICS_NAMESPACE: 'FieldWebhooks/prod',
          QUEUE_URL: Match.anyValue(),
          MAX_BODY_BYTES: '100000',
          COOLEDGE_SIGNATURE_SCHEME: 'plain',
          COOLEDGE_SIGNATURE_TOLERANCE_SECONDS: '60',
          EVENT_TIME_SKEW_SECONDS: '900',
          WEBHOOK_SECRET_ID: 'field-webhooks/prod/credentials',
          SECRET_REFRESH_SECONDS: '120',
        }),
      },
    });
  });

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
    const functions = resourcesOf(deployed.template, 'AWS::Lambda::Function');
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
      expect(variables.COOLEDGE_WEBHOOK_SECRETS).toBeUndefined();
      expect(variables.ZENBOOKER_WEBHOOK_TOKENS).toBeUndefined();
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

  it('attach no managed policy to either role', () => {
    for (const [, role] of resourcesOf(deployed.template, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    }
  });
});

describe('event source mapping', () => {
  it('feeds the consumer batches from the queue and takes partial batch failures', () => {
    deployed.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
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
    const [[, mapping]] = resourcesOf(deployed.template, 'AWS::Lambda::EventSourceMapping') as [
      [string, { Properties: { EventSourceArn: unknown } }],
    ];
    expect(arnOf(mapping.Properties.EventSourceArn)).toBe(queueArn);
  });

  it('caps concurrency at the value given in context', () => {
    synthesize({ consumerMaxConcurrency: '12' }).template.hasResourceProperties(
      'AWS::Lambda::EventSourceMapping',
      { ScalingConfig: { MaximumConcurrency: 12 } },
    );
  });
});

describe('HTTP API', () => {
  it('has exactly the two webhook routes, each sent to the ingest function with payload 2.0', () => {
    const routes = resourcesOf(deployed.template, 'AWS::ApiGatewayV2::Route').map(
      ([, route]) => route.Properties.RouteKey,
    );
    expect(routes.sort()).toEqual(['ANY /webhooks/cooledge', 'ANY /webhooks/zenbooker/{token}']);
    deployed.template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    deployed.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(deployed.stack, deployed.stack.ingest), 'Arn'] },
    });
  });

  it('lets API Gateway invoke the ingest function only through those routes', () => {
    const permissions = resourcesOf(deployed.template, 'AWS::Lambda::Permission');
    expect(permissions.map(([, p]) => resolveSourceArn(p.Properties.SourceArn)).sort()).toEqual([
      'arn:aws:execute-api:us-east-1:123456789012:<api>/*/*/webhooks/cooledge',
      'arn:aws:execute-api:us-east-1:123456789012:<api>/*/*/webhooks/zenbooker/{token}',
    ]);
  });

  it('throttles the stage at the rate and burst given in context', () => {
    deployed.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    synthesize({ throttleRateLimit: 7, throttleBurstLimit: '15' }).template.hasResourceProperties(
      'AWS::ApiGatewayV2::Stage',
      { DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 15 } },
    );
  });

  it('writes JSON access logs that never contain the request path (the Zenbooker token)', () => {
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
        'AuthenticationFailures',
        'Conflicts',
        'ConsumerErrors',
        'ConsumerThrottles',
        'DeadLetterQueueNotEmpty',
        'Ingest5xx',
        'IngestEnqueueFailed',
        'OldestMessageAge',
        'QuarantinedEvents',
        'Unprocessable',
      ].map((name) => `field-webhooks-prod-${name}`),
    );
    for (const alarm of Object.values(found)) {
      expect(alarm.AlarmActions.map(arnOf)).toEqual([topicArn]);
      expect(alarm.OKActions.map(arnOf)).toEqual([topicArn]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
  });

  it('watches the DLQ, the queue age, the consumer and the API with AWS metrics', () => {
    const found = alarms();
    expect(found['field-webhooks-prod-DeadLetterQueueNotEmpty']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'field-webhooks-prod-webhook-events-dlq' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(found['field-webhooks-prod-OldestMessageAge']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: 'field-webhooks-prod-webhook-events' }],
    });
    const consumerRef = { Ref: logicalId(deployed.stack, deployed.stack.consumer) };
    for (const metric of ['Errors', 'Throttles']) {
      expect(found[`field-webhooks-prod-Consumer${metric}`]).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: consumerRef }],
        Threshold: 1,
      });
    }
    expect(found['field-webhooks-prod-Ingest5xx']).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(deployed.stack, deployed.stack.api) } }],
    });
  });

  it('watches enqueue failures, authentication failures and quarantines through the ingest metrics', () => {
    const found = alarms();
    const ingestMetric = (name: MetricName) => ({
      Namespace: 'FieldWebhooks/prod',
      MetricName: name,
      Dimensions: [{ Name: 'service', Value: 'ingest' }],
      Statistic: 'Sum',
    });
    expect(found['field-webhooks-prod-IngestEnqueueFailed']).toMatchObject(ingestMetric('EnqueueFailed'));
    expect(found['field-webhooks-prod-QuarantinedEvents']).toMatchObject({
      ...ingestMetric('Quarantined'),
      Threshold: 1,
    });
    expect(found['field-webhooks-prod-AuthenticationFailures']).toMatchObject({
      ...ingestMetric('RejectedUnauthorized'),
      Threshold: 20,
    });
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
    const conflicts = found['field-webhooks-prod-Conflicts'];
    expect(conflicts).toMatchObject(consumerMetric('Conflict'));
    expect(conflicts.AlarmDescription).toContain('npm run cli -- events --outcome conflict --stage prod');
    const unprocessable = found['field-webhooks-prod-Unprocessable'];
    expect(unprocessable).toMatchObject(consumerMetric('Unprocessable'));
    expect(unprocessable.AlarmDescription).toContain(
      'npm run cli -- events --outcome unprocessable --stage prod',
    );
    expect(unprocessable.AlarmDescription).toContain(
      'npm run cli -- replay --outcome unprocessable --stage prod',
    );
    // Another stage: its own namespace, and commands that name it.
    synthesize({ stage: 'dev' }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'field-webhooks-dev-Unprocessable',
      Namespace: 'FieldWebhooks/dev',
      AlarmDescription: Match.stringLikeRegexp('--outcome unprocessable --stage dev`'),
    });
  });
});

describe('dashboard', () => {
  it('charts the flow: received, accepted, quarantined, rejections, duplicates, applied, stale, DLQ', () => {
    const [[, dashboard]] = resourcesOf(deployed.template, 'AWS::CloudWatch::Dashboard') as [
      [string, { Properties: { DashboardName: string; DashboardBody: unknown } }],
    ];
    expect(dashboard.Properties.DashboardName).toBe('field-webhooks-prod');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    const charted: MetricName[] = [
      'Received',
      'Accepted',
      'Quarantined',
      'RejectedUnauthorized',
      'RejectedBadRequest',
      'RejectedUnsupportedMediaType',
      'RejectedTooLarge',
      'EnqueueFailed',
      'Applied',
      'Stale',
      'Recorded',
      'QuarantineRecorded',
      'Duplicate',
      'Conflict',
      'Unprocessable',
      'RecordFailed',
    ];
    for (const name of charted) expect(body).toContain(`\\"${name}\\"`);
    // API Gateway answers unknown paths itself (only the two routes exist): never emitted in AWS.
    expect(body).not.toContain('RejectedNotFound');
    expect(body).toContain('field-webhooks-prod-webhook-events-dlq');
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

  it('finds the nested stack’s resources by name: no imports, no references across the nesting', () => {
    expect(JSON.stringify(deployed.template.toJSON())).not.toMatch(/Fn::ImportValue|"Outputs\./);
    const nested = deployed.statefulTemplate.toJSON();
    expect(nested.Parameters).toBeUndefined();
    expect(nested.Outputs).toBeUndefined();
  });

  it('creates the event source mapping, the functions and the alarms only after the nested stack', () => {
    const [[dataId, data]] = resourcesOf(deployed.template, 'AWS::CloudFormation::Stack') as [
      [string, { DependsOn?: string[] }],
    ];
    const nestedStackResource = deployed.stateful.nestedStackResource as CfnResource;
    expect(dataId).toBe(deployed.stack.getLogicalId(nestedStackResource));
    expect(data.DependsOn).toBeUndefined();
    for (const [type, count] of [
      ['AWS::Lambda::EventSourceMapping', 1],
      ['AWS::Lambda::Function', 2],
      ['AWS::CloudWatch::Alarm', 10],
    ] as const) {
      const found = resourcesOf(deployed.template, type);
      expect(found, type).toHaveLength(count);
      for (const [id, resource] of found) expect(resource.DependsOn ?? [], id).toContain(dataId);
    }
  });

  it('outputs the webhook URLs, how to read the token and where to look', () => {
    const outputs = deployed.template.findOutputs('*');
    expect(resolveApi(outputs.CooledgeWebhookUrl?.Value)).toBe('<endpoint>/webhooks/cooledge');
    expect(resolveApi(outputs.ZenbookerWebhookUrl?.Value)).toBe('<endpoint>/webhooks/zenbooker/<token>');
    expect(outputs.CredentialsCommand?.Value).toBe(
      'aws secretsmanager get-secret-value --secret-id field-webhooks/prod/credentials --query SecretString --output text',
    );
    expect(resolveOffline(outputs.DashboardUrl?.Value)).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/field-webhooks-prod',
    );
    expect(outputs.IngestLogGroupName).toBeDefined();
    expect(outputs.ConsumerLogGroupName).toBeDefined();
  });

  it('outputs the nested stack’s resources for the CLI and the README, since its own would not be printed', () => {
    const outputs = deployed.template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual([
      'AlarmTopicArn',
      'ConsumerLogGroupName',
      'CooledgeWebhookUrl',
      'CredentialsCommand',
      'CredentialsSecretName',
      'DashboardUrl',
      'DeadLetterQueueUrl',
      'EventsTableName',
      'IngestLogGroupName',
      'JobsTableName',
      'QueueUrl',
      'ZenbookerWebhookUrl',
    ]);
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
