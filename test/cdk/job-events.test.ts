import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnResource } from 'aws-cdk-lib';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { jobsTable, queueRetentionSeconds } from '#infra/definitions';
import { ContextError, maxForwardStatuses, readDeploymentConfig } from '../../cdk/config.ts';
import { forwardApiKeyHeader, forwardedDetailTypes, jobStreamSource } from '../../cdk/job-events.ts';
import { deploymentNames } from '../../cdk/names.ts';
import { maxEntriesPerPut } from '../../functions/publish/publish.ts';
import {
  logicalId,
  resolveOffline,
  resourcesOf,
  roleStatements,
  runApp,
  type Synthesized,
  synthesize,
} from './support.ts';

/**
 * Job change events (cdk/job-events.ts): the jobs table's stream, the Lambda event source mapping
 * on it that invokes the publish function, which puts each change to a job on the stage's bus, the
 * DLQ the mapping sends what it gave up on to, its alarm, and the optional example subscriber
 * (`jobEventsForwardUrl`).
 */

let deployed: Synthesized;
beforeAll(() => {
  deployed = synthesize();
});

/** A template resource, as `Template.findResources` gives it. */
type Resource = ReturnType<Synthesized['template']['findResources']>[string];
const resources = (synthesized: Synthesized): Record<string, Resource> =>
  synthesized.template.toJSON().Resources;
const only = (synthesized: Synthesized, type: string): [string, Resource] => {
  const found = resourcesOf(synthesized.template, type);
  expect(found, type).toHaveLength(1);
  return found[0] as [string, Resource];
};
const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });
const idOf = (synthesized: Synthesized, construct: { node: { defaultChild?: unknown } }) =>
  logicalId(synthesized.stack, construct);

const keptStream =
  'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-prod-jobs-kept/stream/2025-01-01T00:00:00.000';
const adoptedContext = {
  existingEventsTable: 'field-webhooks-prod-events-kept',
  existingJobsTable: 'field-webhooks-prod-jobs-kept',
  existingJobsTableStreamArn: keptStream,
};
const forwardContext = {
  jobEventsForwardUrl: 'https://example.com/hooks/jobs?from=field-webhooks',
  jobEventsForwardStatuses: 'completed, canceled,completed',
};

/**
 * The jobs table's stream ARN as the top-level template reads it: an output of the nested stack
 * (`Fn::GetAtt` on the nested stack resource), which must be the jobs table's `StreamArn`.
 */
function expectJobsTableStream(synthesized: Synthesized, value: unknown): void {
  const nestedId = synthesized.stack.getLogicalId(synthesized.stateful.nestedStackResource as CfnResource);
  const [id, attribute] = (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
  expect(id).toBe(nestedId);
  const outputName = attribute.replace(/^Outputs\./, '');
  const jobsId = synthesized.stateful.getLogicalId(
    synthesized.stateful.tables.Jobs?.node.defaultChild as CfnResource,
  );
  expect(synthesized.statefulTemplate.toJSON().Outputs[outputName]).toEqual({
    Value: getAtt(jobsId, 'StreamArn'),
  });
}

describe('the job events bus', () => {
  it('is created by the stack, named after the stage', () => {
    const [, bus] = only(deployed, 'AWS::Events::EventBus');
    expect(bus.Properties.Name).toBe('field-webhooks-prod-job-events');
    expect(only(synthesize({ stage: 'dev' }), 'AWS::Events::EventBus')[1].Properties.Name).toBe(
      'field-webhooks-dev-job-events',
    );
  });

  it('is named and identified in the outputs `cdk deploy` prints', () => {
    const outputs = deployed.template.findOutputs('*');
    const busId = idOf(deployed, deployed.stack.jobEvents.bus);
    expect(outputs.JobEventsBusName?.Value).toBe('field-webhooks-prod-job-events');
    expect(outputs.JobEventsBusArn?.Value).toEqual(getAtt(busId));
    for (const id of ['JobEventsBusName', 'JobEventsBusArn']) {
      expect(outputs[id]?.Description, id).toEqual(expect.any(String));
      expect(outputs[id]?.Export, id).toBeUndefined();
    }
  });

  it('takes events only from the publish function’s role: no rule on it and no resource policy by default', () => {
    deployed.template.resourceCountIs('AWS::Events::Rule', 0);
    deployed.template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
    const [, bus] = only(deployed, 'AWS::Events::EventBus');
    expect(bus.Properties.Policy).toBeUndefined();
  });
});

describe('the jobs table stream', () => {
  it('is NEW_AND_OLD_IMAGES, on the jobs table, as its shared definition says', () => {
    expect(jobsTable.stream).toBe('NEW_AND_OLD_IMAGES');
    deployed.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'field-webhooks-prod-jobs',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('is an update in place of the table: it keeps its retention policies and nothing else about it changes', () => {
    const [[, table]] = resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table').filter(
      ([, t]) => t.Properties.TableName === 'field-webhooks-prod-jobs',
    ) as [[string, Resource & { DeletionPolicy: string; UpdateReplacePolicy: string }]];
    expect(table.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    // Only mutable properties besides the name and key schema, which are what they were.
    expect(Object.keys(table.Properties).sort()).toEqual(
      [
        'AttributeDefinitions',
        'BillingMode',
        'DeletionProtectionEnabled',
        'GlobalSecondaryIndexes',
        'KeySchema',
        'PointInTimeRecoverySpecification',
        'StreamSpecification',
        'TableName',
      ].sort(),
    );
  });
});

describe('the event source mapping', () => {
  const mappingOf = (synthesized: Synthesized) => {
    const publishId = idOf(synthesized, synthesized.stack.jobEvents.publish);
    const found = resourcesOf(synthesized.template, 'AWS::Lambda::EventSourceMapping').filter(
      ([, mapping]) => (mapping.Properties.FunctionName as { Ref?: string }).Ref === publishId,
    );
    expect(found).toHaveLength(1);
    return found[0] as [string, Resource];
  };

  it('reads the jobs table’s stream, by the nested stack’s output, into the publish function', () => {
    const [id, mapping] = mappingOf(deployed);
    expect(id).toBe(idOf(deployed, deployed.stack.jobEvents.streamEvents));
    expectJobsTableStream(deployed, mapping.Properties.EventSourceArn);
    expect(mapping.Properties.Enabled).toBeUndefined();
  });

  it('reads an adopted jobs table’s stream from context', () => {
    expect(mappingOf(synthesize(adoptedContext))[1].Properties.EventSourceArn).toBe(keptStream);
  });

  it('reads the stream in per-job order, in batches one PutEvents call takes, retried from the failed record with bisection, then sent to the DLQ', () => {
    const dlqId = idOf(deployed, deployed.stack.jobEvents.deadLetterQueue);
    const { FunctionName: _, EventSourceArn: __, ...parameters } = mappingOf(deployed)[1].Properties;
    expect(parameters).toEqual({
      StartingPosition: 'LATEST',
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      // One batch at a time per shard: a job's changes are never published out of order.
      ParallelizationFactor: 1,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86_400,
      BisectBatchOnFunctionError: true,
      // The function reports the first record it did not publish; the mapping retries from it.
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: getAtt(dlqId) } },
    });
    // One PutEvents call takes at most 10 entries, and a record gives at most one; the stream keeps
    // records a day, so an older one cannot be waiting.
    expect(jobStreamSource.batchSize).toBeLessThanOrEqual(maxEntriesPerPut);
    expect(jobStreamSource.maxRecordAgeSeconds).toBeLessThanOrEqual(24 * 60 * 60);
    // Nothing filters before the function: it decides what is a change.
    expect(parameters.FilterCriteria).toBeUndefined();
  });

  it('waits for the data stack, whose stream it reads, and for the function’s permissions', () => {
    const [, mapping] = mappingOf(deployed);
    const nestedId = deployed.stack.getLogicalId(deployed.stateful.nestedStackResource as CfnResource);
    expect(mapping.DependsOn).toContain(nestedId);
    // The mapping names the function, which waits for its role's policy: the poller can read the
    // stream and send to the DLQ the moment the mapping exists.
    const fn = resources(deployed)[idOf(deployed, deployed.stack.jobEvents.publish)] as Resource;
    const policyId = resourcesOf(deployed.template, 'AWS::IAM::Policy').find(([, policy]) =>
      (policy.Properties.Roles as Array<{ Ref: string }>).some(
        (role) => role.Ref === logicalId(deployed.stack, deployed.stack.jobEvents.publish.role as Role),
      ),
    )?.[0];
    expect(fn.DependsOn).toContain(policyId);
  });

  it('is the stack’s only way to the stream: no EventBridge pipe, and no role but the publish function’s reads it', () => {
    for (const synthesized of [deployed, synthesize(adoptedContext), synthesize(forwardContext)]) {
      synthesized.template.resourceCountIs('AWS::Pipes::Pipe', 0);
      expect(JSON.stringify(synthesized.template.toJSON())).not.toMatch(/pipes\.amazonaws\.com|AWS::Pipes/);
    }
  });
});

describe('the publish function', () => {
  it('is the house Node function, small, its own log group, told the bus by name', () => {
    const { stack } = deployed;
    const publish = stack.jobEvents.publish;
    const fn = resources(deployed)[idOf(deployed, publish)] as Resource;
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 15,
      LoggingConfig: { LogGroup: { Ref: idOf(deployed, publish.logGroup) } },
    });
    expect(fn.Properties.Environment).toEqual({
      Variables: { JOB_EVENTS_BUS_NAME: 'field-webhooks-prod-job-events' },
    });
    expect(resources(deployed)[idOf(deployed, publish.logGroup)]?.Properties.RetentionInDays).toBe(30);
  });

  it('has an entry, functions/publish/handler.ts, that exports the handler the mapping invokes', async () => {
    // test/cdk/bundle.test.ts bundles it and loads the bundle as Lambda does, with the template's
    // environment; without the bus's name it would not start.
    vi.stubEnv('JOB_EVENTS_BUS_NAME', 'field-webhooks-prod-job-events');
    try {
      const module = await import('../../functions/publish/handler.ts');
      expect(typeof module.handler).toBe('function');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('may write its log, read the stream, put events on the bus and send to its DLQ: nothing else', () => {
    const { stack, template } = deployed;
    const { jobEvents } = stack;
    const statements = roleStatements(template, stack, jobEvents.publish);
    expect(statements).toHaveLength(5);
    const [log, putEvents, stream, listStreams, dlq] = statements;
    expect(log).toEqual({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resource: getAtt(idOf(deployed, jobEvents.publish.logGroup)),
    });
    // PutEvents on this stage's bus alone.
    expect(putEvents).toEqual({
      actions: ['events:PutEvents'],
      resource: getAtt(idOf(deployed, jobEvents.bus)),
    });
    // What Lambda's poller reads with the function's role.
    expect(stream?.actions).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
    ]);
    expectJobsTableStream(deployed, stream?.resource);
    expect(listStreams).toEqual({ actions: ['dynamodb:ListStreams'], resource: '*' });
    // What the mapping's on-failure destination needs (aws-cdk-lib's SqsDlq), on the DLQ alone.
    expect(dlq).toEqual({
      actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      resource: getAtt(idOf(deployed, jobEvents.deadLetterQueue)),
    });
    // No inline policy, no managed policy.
    const role = resources(deployed)[logicalId(stack, jobEvents.publish.role as Role)];
    expect(role?.Properties.Policies).toBeUndefined();
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('reads an adopted table’s stream, by the ARN given in context', () => {
    const adopted = synthesize(adoptedContext);
    expect(roleStatements(adopted.template, adopted.stack, adopted.stack.jobEvents.publish)).toContainEqual({
      actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      resource: keptStream,
    });
  });

  it('has no wildcard action, and a wildcard resource only for dynamodb:ListStreams (and X-Ray when traced), which take no other', () => {
    for (const synthesized of [
      deployed,
      synthesize(adoptedContext),
      synthesize(forwardContext),
      synthesize({ tracing: 'true' }),
    ]) {
      const { stack, template } = synthesized;
      for (const statement of roleStatements(template, stack, stack.jobEvents.publish)) {
        for (const action of statement.actions) expect(action).not.toContain('*');
        if (JSON.stringify(statement.resource).includes('*')) {
          // CDK merges X-Ray's statement with ListStreams' when both take "*".
          expect(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']).toEqual(
            expect.arrayContaining(statement.actions),
          );
          expect(statement.resource).toBe('*');
        }
      }
    }
  });

  it('is the only function that may read the stream or put to the bus: ingest and the consumer know nothing of it', () => {
    const { stack, template } = deployed;
    for (const fn of [stack.ingest, stack.consumer]) {
      const actions = roleStatements(template, stack, fn).flatMap((statement) => statement.actions);
      expect(
        actions.filter((action) =>
          /^(events|pipes):|^dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)$/.test(action),
        ),
        fn.node.id,
      ).toEqual([]);
      const role = resources(deployed)[logicalId(stack, fn.role as Role)];
      expect(role?.Properties.Policies).toBeUndefined();
      const variables = resources(deployed)[logicalId(stack, fn)]?.Properties.Environment.Variables;
      expect(JSON.stringify(variables)).not.toMatch(/job-events|JobEvents|EVENT_BUS/i);
    }
  });
});

describe('the job events DLQ', () => {
  it('is encrypted, refuses plain HTTP and keeps messages 14 days', () => {
    const dlqId = idOf(deployed, deployed.stack.jobEvents.deadLetterQueue);
    const dlq = resources(deployed)[dlqId] as Resource;
    expect(dlq.Properties).toEqual({
      QueueName: 'field-webhooks-prod-job-events-dlq',
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: queueRetentionSeconds,
    });
    expect(queueRetentionSeconds).toBe(14 * 24 * 60 * 60);
    const policies = resourcesOf(deployed.template, 'AWS::SQS::QueuePolicy').filter(([, policy]) =>
      (policy.Properties.Queues as Array<{ Ref: string }>).some((queue) => queue.Ref === dlqId),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]?.[1].Properties.PolicyDocument.Statement as Array<Record<string, unknown>>;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    // The function's role sends to it (above): its queue policy allows no one.
    expect(statements.filter((statement) => statement.Effect === 'Allow')).toEqual([]);
  });
});

describe('the job events DLQ alarm', () => {
  const alarmOf = (synthesized: Synthesized) =>
    resourcesOf(synthesized.template, 'AWS::CloudWatch::Alarm').find(
      ([, alarm]) => alarm.Properties.AlarmName === 'field-webhooks-prod/JobEventsDeadLetterQueueNotEmpty',
    )?.[1].Properties;

  it('fires on one message in the DLQ, notifies the alarm topic both ways, and keeps its state through SQS’s silences', () => {
    const alarm = alarmOf(deployed);
    const topic = 'arn:aws:sns:us-east-1:123456789012:field-webhooks-prod-alarms';
    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: getAtt(idOf(deployed, deployed.stack.jobEvents.deadLetterQueue), 'QueueName'),
        },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'ignore',
    });
    expect(alarm?.Metrics).toBeUndefined();
    expect((alarm?.AlarmActions as unknown[] | undefined)?.map(resolveOffline)).toEqual([topic]);
    expect((alarm?.OKActions as unknown[] | undefined)?.map(resolveOffline)).toEqual([topic]);
  });

  it('says what failed, where to look, and how to recover, within CloudFormation’s 1024 characters', () => {
    const description = alarmOf(deployed)?.AlarmDescription as string;
    expect(description.length).toBeLessThanOrEqual(1024);
    expect(description).toContain(`each of ${jobStreamSource.retryAttempts} retries`);
    expect(description).toContain('aged past 24 hours');
    expect(description).toContain('event source mapping');
    expect(description).toContain('publish function');
    expect(description).toContain('"job changes failed"');
    expect(description).not.toMatch(/pipe/i);
    // The DLQ holds stream metadata, not the job; the jobs table still has the state.
    expect(description).toContain('stream metadata');
    expect(description).toContain('the jobs table still holds');
    expect(description).toContain('npm run cli -- jobs --stage prod');
    expect(description).toContain('purge');
    expect(description).toContain('Ingest and the consumer are not affected');
    expect(alarmOf(synthesize({ stage: 'dev' }))).toBeUndefined();
  });

  it('is on the dashboard, beside the publish function’s errors, the stream’s iterator age and the DLQ’s depth', () => {
    const [[, dashboard]] = resourcesOf(deployed.template, 'AWS::CloudWatch::Dashboard') as [
      [string, Resource],
    ];
    const join = dashboard.Properties.DashboardBody['Fn::Join'] as [string, unknown[]];
    const body = join[1]
      .map((part) => {
        if (typeof part === 'string') return part;
        const attribute = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
        return attribute ? `<${attribute[0]}.${attribute[1]}>` : `<${(part as { Ref?: string }).Ref}>`;
      })
      .join(join[0]);
    expect(body).not.toMatch(/Pipes|PipeName/);
    const widgets = JSON.parse(body).widgets as Array<{
      type: string;
      properties: { title?: string; metrics?: unknown[][]; alarms?: string[] };
    }>;
    const titled = (title: string) => widgets.find((widget) => widget.properties.title === title)?.properties;
    const publish = `<${idOf(deployed, deployed.stack.jobEvents.publish)}>`;
    expect(titled('Job events: publish invocations and errors')?.metrics).toEqual([
      ['AWS/Lambda', 'Invocations', 'FunctionName', publish, { label: 'publish invocations', stat: 'Sum' }],
      ['AWS/Lambda', 'Errors', 'FunctionName', publish, { label: 'publish function errors', stat: 'Sum' }],
    ]);
    expect(titled('Job events: stream iterator age, max (ms)')?.metrics).toEqual([
      ['AWS/Lambda', 'IteratorAge', 'FunctionName', publish, { label: 'iterator age (ms)', stat: 'Maximum' }],
    ]);
    const dlqId = idOf(deployed, deployed.stack.jobEvents.deadLetterQueue);
    expect(titled('Job events: dead-letter queues')?.metrics).toEqual([
      [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        `<${dlqId}.QueueName>`,
        { label: 'job events DLQ', stat: 'Maximum' },
      ],
    ]);
    const alarmId = resourcesOf(deployed.template, 'AWS::CloudWatch::Alarm').find(([id]) =>
      id.startsWith('MonitoringJobEventsDeadLetterQueueNotEmpty'),
    )?.[0];
    expect(titled('Alarms')?.alarms).toContain(`<${alarmId}.Arn>`);
  });
});

describe('the example subscriber', () => {
  it('is off by default: no rule, connection, API destination, key or output', () => {
    for (const type of [
      'AWS::Events::Rule',
      'AWS::Events::Connection',
      'AWS::Events::ApiDestination',
      'AWS::SecretsManager::Secret',
    ]) {
      deployed.template.resourceCountIs(type, 0);
    }
    expect(deployed.stack.jobEvents.forward).toBeUndefined();
    expect(deployed.template.findOutputs('JobEventsForwardApiKeySecretArn')).toEqual({});
    // One queue: the job events DLQ.
    deployed.template.resourceCountIs('AWS::SQS::Queue', 1);
  });

  describe('with jobEventsForwardUrl', () => {
    let forwarding: Synthesized;
    beforeAll(() => {
      forwarding = synthesize(forwardContext);
    });
    const forward = () => {
      const found = forwarding.stack.jobEvents.forward;
      if (!found) throw new Error('no forwarder');
      return found;
    };

    it('has exactly one rule, on the job events bus, matching the chosen statuses of created and status-changed jobs', () => {
      const [, rule] = only(forwarding, 'AWS::Events::Rule');
      expect(rule.Properties.Name).toBe('field-webhooks-prod-job-events-forward');
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.EventBusName).toEqual({ Ref: idOf(forwarding, forwarding.stack.jobEvents.bus) });
      expect(rule.Properties.EventPattern).toEqual({
        source: ['field-webhooks'],
        'detail-type': ['Job Created', 'Job Status Changed'],
        // As given, blanks trimmed and the repeat dropped.
        detail: { status: ['completed', 'canceled'] },
      });
      expect([...forwardedDetailTypes]).toEqual(['Job Created', 'Job Status Changed']);
    });

    it('forwards `completed` alone when no statuses are given', () => {
      const [, rule] = only(
        synthesize({ jobEventsForwardUrl: 'https://example.com/x' }),
        'AWS::Events::Rule',
      );
      expect(rule.Properties.EventPattern.detail).toEqual({ status: ['completed'] });
    });

    it('POSTs to the URL through an API destination, retrying for a day, then to its own DLQ', () => {
      const [destinationId, destination] = only(forwarding, 'AWS::Events::ApiDestination');
      const [connectionId] = only(forwarding, 'AWS::Events::Connection');
      expect(destination.Properties).toMatchObject({
        Name: 'field-webhooks-prod-job-events-forward',
        InvocationEndpoint: forwardContext.jobEventsForwardUrl,
        HttpMethod: 'POST',
        ConnectionArn: getAtt(connectionId),
      });
      const [, rule] = only(forwarding, 'AWS::Events::Rule');
      const dlqId = idOf(forwarding, forward().deadLetterQueue);
      expect(rule.Properties.Targets).toEqual([
        {
          Id: 'Target0',
          Arn: getAtt(destinationId),
          RoleArn: getAtt(idOf(forwarding, forwarding.stack.jobEvents.node.findChild('ForwardRole') as Role)),
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: getAtt(dlqId) },
        },
      ]);
      expect(resources(forwarding)[dlqId]?.Properties).toEqual({
        QueueName: 'field-webhooks-prod-job-events-forward-dlq',
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: queueRetentionSeconds,
      });
    });

    it('lets only its rule send to its DLQ, over TLS', () => {
      const dlqId = idOf(forwarding, forward().deadLetterQueue);
      const [, policy] = resourcesOf(forwarding.template, 'AWS::SQS::QueuePolicy').find(([, p]) =>
        (p.Properties.Queues as Array<{ Ref: string }>).some((queue) => queue.Ref === dlqId),
      ) as [string, Resource];
      const statements = policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      expect(statements.filter((s) => s.Effect === 'Allow')).toEqual([
        expect.objectContaining({
          Action: 'sqs:SendMessage',
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': getAtt(idOf(forwarding, forward().rule)) } },
        }),
      ]);
    });

    it('invokes the API destination with a role only its rule may assume, allowed that alone', () => {
      const role = forwarding.stack.jobEvents.node.findChild('ForwardRole') as Role;
      const roleResource = resources(forwarding)[idOf(forwarding, role)] as Resource;
      const [trust] = roleResource.Properties.AssumeRolePolicyDocument.Statement;
      expect(trust).toMatchObject({
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
      expect(resolveOffline(trust.Condition.ArnEquals['aws:SourceArn'])).toBe(
        'arn:aws:events:us-east-1:123456789012:rule/field-webhooks-prod-job-events/field-webhooks-prod-job-events-forward',
      );
      const [destinationId] = only(forwarding, 'AWS::Events::ApiDestination');
      expect(roleStatements(forwarding.template, forwarding.stack, { role } as never)).toEqual([
        { actions: ['events:InvokeApiDestination'], resource: getAtt(destinationId) },
      ]);
    });

    it('authenticates with an API key header whose value the stack generates into a secret, never into the template', () => {
      const [, connection] = only(forwarding, 'AWS::Events::Connection');
      const [secretId, secret] = only(forwarding, 'AWS::SecretsManager::Secret');
      expect(connection.Properties.AuthorizationType).toBe('API_KEY');
      const { ApiKeyName, ApiKeyValue } = connection.Properties.AuthParameters.ApiKeyAuthParameters;
      expect(ApiKeyName).toBe(forwardApiKeyHeader);
      expect(forwardApiKeyHeader).toBe('x-api-key');
      // A dynamic reference to the generated secret, resolved by CloudFormation when it writes the connection.
      expect(ApiKeyValue).toEqual({
        'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']],
      });
      expect(secret.Properties.GenerateSecretString).toMatchObject({
        ExcludePunctuation: true,
        PasswordLength: 48,
      });
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(forwarding.template.findOutputs('*').JobEventsForwardApiKeySecretArn?.Value).toEqual({
        Ref: secretId,
      });
    });

    it('changes nothing of the event source mapping, and adds no alarm', () => {
      const mappings = (synthesized: Synthesized) =>
        resourcesOf(synthesized.template, 'AWS::Lambda::EventSourceMapping').map(([id, mapping]) => [
          id,
          mapping.Properties,
        ]);
      expect(mappings(forwarding)).toEqual(mappings(deployed));
      expect(resourcesOf(forwarding.template, 'AWS::CloudWatch::Alarm')).toHaveLength(
        resourcesOf(deployed.template, 'AWS::CloudWatch::Alarm').length,
      );
    });
  });
});

describe('context', () => {
  const fails = (context: Record<string, unknown>, message: string) => {
    expect(() => readDeploymentConfig(context)).toThrow(ContextError);
    expect(() => synthesize(context)).toThrow(message);
  };

  it.each([
    ['http://example.com/hooks', 'plain HTTP'],
    ['example.com/hooks', 'no scheme'],
    ['https://user:secret@example.com/hooks', 'credentials in the URL'],
    ['https://example.com/hooks/*', 'a `*`, which an API destination fills as a path parameter'],
    ['https://example.com/hooks#jobs', 'a fragment'],
    ['https://example.com/hooks jobs', 'a space'],
    [`https://example.com/${'a'.repeat(2048)}`, 'over 2048 characters'],
  ])('refuses jobEventsForwardUrl=%j (%s), naming the key', (url) => {
    fails(
      { jobEventsForwardUrl: url },
      'jobEventsForwardUrl: must be an https:// URL of at most 2048 characters, without credentials, `*` or a fragment',
    );
  });

  it('takes an empty jobEventsForwardUrl as not set', () => {
    expect(readDeploymentConfig({ jobEventsForwardUrl: '' }).jobEventsForwardUrl).toBeUndefined();
  });

  it.each([
    [{ jobEventsForwardStatuses: 'completed' }, 'jobEventsForwardStatuses: only with jobEventsForwardUrl'],
    [
      { jobEventsForwardUrl: 'https://example.com/x', jobEventsForwardStatuses: 'completed,,canceled' },
      'jobEventsForwardStatuses: must be comma-separated statuses, none empty',
    ],
    [
      {
        jobEventsForwardUrl: 'https://example.com/x',
        jobEventsForwardStatuses: Array.from({ length: maxForwardStatuses + 1 }, (_, i) => `s${i}`).join(','),
      },
      `jobEventsForwardStatuses: must name at most ${maxForwardStatuses} statuses`,
    ],
    [
      { jobEventsForwardUrl: 'https://example.com/x', jobEventsForwardStatuses: 7 },
      'jobEventsForwardStatuses: must be text',
    ],
  ])('refuses %j, naming the key', (context, message) => {
    fails(context, message);
  });

  it('reads the statuses trimmed, once each, and only with the URL', () => {
    expect(
      readDeploymentConfig({
        jobEventsForwardUrl: 'https://example.com/x',
        jobEventsForwardStatuses: ' a , b,a ',
      }).jobEventsForwardStatuses,
    ).toEqual(['a', 'b']);
    expect(readDeploymentConfig({}).jobEventsForwardStatuses).toBeUndefined();
  });

  it('refuses an adopted jobs table without its stream, saying how to find or enable it', () => {
    const context = { existingEventsTable: 'kept-events', existingJobsTable: 'kept-jobs' };
    fails(context, 'existingJobsTableStreamArn: must be set with existingJobsTable');
    expect(() => readDeploymentConfig(context)).toThrow(
      'aws dynamodb describe-table --table-name kept-jobs --query Table.LatestStreamArn --output text',
    );
    expect(() => readDeploymentConfig(context)).toThrow(
      'aws dynamodb update-table --table-name kept-jobs --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES',
    );
  });

  it.each([
    [{ existingJobsTableStreamArn: keptStream }, 'existingJobsTableStreamArn: only with existingJobsTable'],
    [
      { ...adoptedContext, existingJobsTableStreamArn: keptStream.replace('jobs-kept', 'other') },
      'existingJobsTableStreamArn: must be a stream of existingJobsTable "field-webhooks-prod-jobs-kept" (got one of table "field-webhooks-prod-other")',
    ],
    [
      {
        ...adoptedContext,
        existingJobsTableStreamArn:
          'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-prod-jobs-kept',
      },
      'existingJobsTableStreamArn: must be a DynamoDB stream ARN',
    ],
    [
      { ...adoptedContext, existingJobsTableStreamArn: 'NEW_AND_OLD_IMAGES' },
      'existingJobsTableStreamArn: must be a DynamoDB stream ARN',
    ],
  ])('refuses %j, naming the key', (context, message) => {
    fails(context, message);
  });

  it('fails `cdk synth` of an adopted jobs table without its stream with the message alone, no stack trace', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-job-events-'));
    try {
      const result = runApp({ existingEventsTable: 'kept-events', existingJobsTable: 'kept-jobs' }, outdir);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        'invalid CDK context:\n  - existingJobsTableStreamArn: must be set with existingJobsTable (got only existingJobsTable="kept-jobs")',
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('names', () => {
  it('fit EventBridge’s and SQS’s limits for the longest stage', () => {
    const names = deploymentNames('a'.repeat(20));
    expect(names.jobEventBus.length).toBeLessThanOrEqual(256);
    // A rule, a connection and an API destination share this name: 64 characters each at most.
    expect(names.jobEventsForward.length).toBeLessThanOrEqual(64);
    expect(names.jobEventsDeadLetterQueue.length).toBeLessThanOrEqual(80);
    expect(names.jobEventsForwardDeadLetterQueue.length).toBeLessThanOrEqual(80);
    // No two stages' names collide: the stage cannot contain what follows it.
    expect(deploymentNames('prod').jobEventBus).not.toBe(deploymentNames('prod').jobsTable);
  });
});
