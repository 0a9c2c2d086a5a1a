import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCredentials } from '#core/credentials';
import {
  consumerTimeoutSeconds,
  globalSecondaryIndexSpec,
  maxReceiveCount,
  queueMaximumMessageBytes,
  queueVisibilityTimeoutSeconds,
  tables,
} from '#infra/definitions';
import { providers, registry } from '#providers/index';
import { resolveOffline, resourcesOf, type Synthesized, synthesize, testProvider } from './support.ts';

let deployed: Synthesized;
beforeAll(() => {
  deployed = synthesize();
});

const fourteenDays = 14 * 24 * 60 * 60;

describe('tables', () => {
  it.each(tables)('builds the $id table from the shared definition', (definition) => {
    deployed.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: `field-webhooks-prod-${definition.id.toLowerCase()}`,
      KeySchema: [{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map(globalSecondaryIndexSpec),
      TimeToLiveSpecification:
        'timeToLiveAttribute' in definition
          ? { AttributeName: definition.timeToLiveAttribute, Enabled: true }
          : Match.absent(),
      StreamSpecification: 'stream' in definition ? { StreamViewType: definition.stream } : Match.absent(),
    });
  });

  it('gives the jobs table, and it alone, a stream of old and new images, for the publish function’s event source mapping', () => {
    const streams = resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table').map(([, table]) => [
      table.Properties.TableName,
      table.Properties.StreamSpecification,
    ]);
    expect(streams).toEqual([
      ['field-webhooks-prod-events', undefined],
      ['field-webhooks-prod-jobs', { StreamViewType: 'NEW_AND_OLD_IMAGES' }],
    ]);
  });

  it('turns the stream on in place: same logical id, name and key schema as before, so CloudFormation updates the table rather than replacing it', () => {
    // StreamSpecification is "Update requires: No interruption" (AWS::DynamoDB::Table); what would
    // replace the table (its name, its key schema) is what it was before the stream came.
    const [[id, jobs]] = resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table').filter(
      ([, table]) => table.Properties.TableName === 'field-webhooks-prod-jobs',
    ) as [[string, { Properties: Record<string, unknown> }]];
    // The id every deployed stage's table has: it comes from the construct path (Data/JobsTable).
    expect(id).toBe('JobsTable1970BC16');
    expect(jobs.Properties.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(jobs.Properties).toMatchObject({ BillingMode: 'PAY_PER_REQUEST' });
  });

  it('makes every table on-demand and recoverable to a point in time', () => {
    const found = resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table');
    expect(found).toHaveLength(tables.length);
    for (const [, table] of found) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
      expect(table.Properties.ProvisionedThroughput).toBeUndefined();
    }
  });

  it('keeps the tables when the stack is deleted or a change would replace them, not when their own create rolls back', () => {
    const found = resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table');
    expect(found).toHaveLength(tables.length);
    for (const [, table] of found) {
      expect(table.DeletionPolicy).toBe('RetainExceptOnCreate');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('leaves DynamoDB deletion protection off, so a rolled-back create can delete the table it made', () => {
    for (const [, table] of resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table')) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });
});

describe('tables kept from an earlier deployment (existingEventsTable, existingJobsTable)', () => {
  const kept = {
    existingEventsTable: 'field-webhooks-old-events',
    existingJobsTable: 'field-webhooks-old-jobs',
    existingJobsTableStreamArn:
      'arn:aws:dynamodb:us-east-1:123456789012:table/field-webhooks-old-jobs/stream/2025-01-01T00:00:00.000',
  };
  let adopted: Synthesized;
  beforeAll(() => {
    adopted = synthesize(kept);
  });

  it('are not created: the data stack has no table at all', () => {
    adopted.statefulTemplate.resourceCountIs('AWS::DynamoDB::Table', 0);
    adopted.template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(adopted.stateful.tables).toEqual({});
  });

  it('leave the rest of the data stack as it was', () => {
    adopted.statefulTemplate.resourceCountIs('AWS::SQS::Queue', 2);
    adopted.statefulTemplate.resourceCountIs('AWS::SNS::Topic', 1);
    adopted.statefulTemplate.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('are what the names point at', () => {
    expect(adopted.names.eventsTable).toBe(kept.existingEventsTable);
    expect(adopted.names.jobsTable).toBe(kept.existingJobsTable);
  });
});

describe('queues', () => {
  it('derives the visibility timeout from the consumer timeout, six times over', () => {
    expect(queueVisibilityTimeoutSeconds).toBe(consumerTimeoutSeconds * 6);
    deployed.statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'field-webhooks-prod-webhook-events',
      VisibilityTimeout: queueVisibilityTimeoutSeconds,
    });
    const [[, consumer]] = resourcesOf(deployed.template, 'AWS::Lambda::Function').filter(([id]) =>
      id.startsWith('Consumer'),
    ) as [[string, { Properties: { Timeout: number } }]];
    expect(consumer.Properties.Timeout * 6).toBe(queueVisibilityTimeoutSeconds);
  });

  it('moves a message to the DLQ after the shared receive count', () => {
    deployed.statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'field-webhooks-prod-webhook-events',
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] },
        maxReceiveCount,
      },
    });
    deployed.statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'field-webhooks-prod-webhook-events-dlq',
      RedrivePolicy: Match.absent(),
    });
  });

  it('encrypts both queues, keeps messages 14 days and takes the largest message SQS allows', () => {
    const found = resourcesOf(deployed.statefulTemplate, 'AWS::SQS::Queue');
    expect(found).toHaveLength(2);
    for (const [, queue] of found) {
      expect(queue.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: fourteenDays,
        MaximumMessageSize: queueMaximumMessageBytes,
      });
    }
  });

  it('refuses every request to either queue that does not use TLS', () => {
    const policies = resourcesOf(deployed.statefulTemplate, 'AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });
});

describe('credentials secret', () => {
  it('is generated, never written into the template, and retained except when its own create rolls back', () => {
    const secrets = resourcesOf(deployed.statefulTemplate, 'AWS::SecretsManager::Secret').map(([, s]) => s);
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: 'field-webhooks/prod/credentials',
        GenerateSecretString: { ExcludePunctuation: true },
      },
    });
    expect(secrets[0]?.Properties.SecretString).toBeUndefined();
  });

  type SecretProperties = {
    Description: string;
    GenerateSecretString: { SecretStringTemplate: string; GenerateStringKey: string };
  };
  const secretOf = (synthesized: Synthesized) => {
    const [[, secret]] = resourcesOf(synthesized.statefulTemplate, 'AWS::SecretsManager::Secret') as [
      [string, { Properties: SecretProperties }],
    ];
    return secret.Properties;
  };

  it('keeps its template at the legacy value for good, whatever the registry: a changed template would overwrite the values operators put in a deployed secret', () => {
    const legacy = '{"cooledgeSecrets":[],"zenbookerTokens":[]}';
    expect(secretOf(deployed).GenerateSecretString).toMatchObject({
      SecretStringTemplate: legacy,
      GenerateStringKey: 'placeholder',
    });
    const withTest = synthesize({}, { providers: registry([...providers.values(), testProvider]) });
    expect(secretOf(withTest).GenerateSecretString.SecretStringTemplate).toBe(legacy);
  });

  it('starts in a shape the ingest function reads (the providers’ legacy keys), with no credential in it yet', () => {
    const template = JSON.parse(secretOf(deployed).GenerateSecretString.SecretStringTemplate);
    const legacyKeys = [...providers.values()].flatMap((p) =>
      p.credentials.legacy ? [p.credentials.legacy.key] : [],
    );
    expect(Object.keys(template).sort()).toEqual(legacyKeys.sort());
    for (const value of Object.values(template)) expect(value).toEqual([]);
  });

  it('is refused as it starts (503 until filled in), and read once any one provider is filled in beside it', () => {
    const template = {
      ...JSON.parse(secretOf(deployed).GenerateSecretString.SecretStringTemplate),
      placeholder: 'generated',
    };
    expect(readCredentials(template, providers)).toEqual({
      ok: false,
      problem: { path: '(root)', message: 'configures no provider' },
    });
    // The empty lists left as they are configure nothing: only the provider filled in is read.
    const standard = {
      sources: { acme: { secrets: [`whsec_${Buffer.from('s'.repeat(32)).toString('base64')}`] } },
    };
    expect(readCredentials({ ...template, standard }, providers)).toEqual({ ok: true, value: { standard } });
  });

  it('describes the credentials document without listing the providers', () => {
    const description = secretOf(deployed).Description;
    expect(description).toContain('{"<provider>": ');
    for (const provider of providers.values())
      expect(description).not.toMatch(new RegExp(provider.name, 'i'));
  });

  it('is not created when an existing secret is named in context', () => {
    const imported = synthesize({ existingSecretName: 'kept/from/before' });
    imported.statefulTemplate.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.statefulTemplate.resourceCountIs('AWS::DynamoDB::Table', tables.length);
    imported.template.hasOutput('CredentialsSecretName', { Value: 'kept/from/before' });
  });
});

describe('alarm topic', () => {
  it('accepts only TLS publishers and lets this deployment’s alarms publish', () => {
    deployed.statefulTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': ['', Match.arrayWith([':alarm:field-webhooks-prod/*'])],
                },
              },
            }),
          }),
        ]),
      },
    });
  });

  it('admits every alarm of its own stage and none of another stage whose name extends it', () => {
    type Statement = { Effect: string; Condition?: { ArnLike?: Record<string, unknown> } };
    /** The topic policy's `aws:SourceArn` pattern of a stage, and its alarms' ARNs, resolved offline. */
    const stageOf = (stage: string) => {
      const built = stage === 'prod' ? deployed : synthesize({ stage });
      const policies = resourcesOf(built.statefulTemplate, 'AWS::SNS::TopicPolicy');
      const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
      const allow = statements.filter((s) => s.Effect === 'Allow' && s.Condition?.ArnLike);
      expect(allow).toHaveLength(1);
      const pattern = resolveOffline(allow[0]?.Condition?.ArnLike?.['aws:SourceArn']);
      const alarmArns = resourcesOf(built.template, 'AWS::CloudWatch::Alarm').map(
        ([, alarm]) => `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm.Properties.AlarmName}`,
      );
      return { pattern, alarmArns };
    };
    /** IAM `ArnLike`: `*` is any run of characters, `?` any one. */
    const arnLike = (pattern: string, arn: string) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ).test(arn);
    const prod = stageOf('prod');
    const prodEu = stageOf('prod-eu');
    expect(prod.pattern).toBe('arn:aws:cloudwatch:us-east-1:123456789012:alarm:field-webhooks-prod/*');
    expect(prod.alarmArns.length).toBeGreaterThan(0);
    for (const arn of prod.alarmArns) expect(arnLike(prod.pattern, arn), arn).toBe(true);
    for (const arn of prodEu.alarmArns) {
      expect(arnLike(prodEu.pattern, arn), arn).toBe(true);
      expect(arnLike(prod.pattern, arn), arn).toBe(false);
    }
  });

  it('has no subscription unless an alarm email is given', () => {
    deployed.statefulTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
    synthesize({ alarmEmail: 'oncall@example.com' }).statefulTemplate.hasResourceProperties(
      'AWS::SNS::Subscription',
      { Protocol: 'email', Endpoint: 'oncall@example.com' },
    );
  });
});

describe('the stack', () => {
  it('is nested in the top-level stack, which holds its termination protection and its outputs', () => {
    expect(deployed.stateful.nestedStackParent).toBe(deployed.stack);
    expect(deployed.stack.terminationProtection).toBe(true);
    // Its one output is the jobs table's stream ARN, for the publish function's event source
    // mapping; no name derives it.
    const outputs = Object.values(deployed.statefulTemplate.findOutputs('*'));
    expect(outputs).toEqual([
      { Value: { 'Fn::GetAtt': [expect.stringMatching(/^JobsTable/), 'StreamArn'] } },
    ]);
  });

  it('names everything after the stage, so two stages can share an account', () => {
    const dev = synthesize({ stage: 'dev' });
    expect(dev.stack.stackName).toBe('field-webhooks-dev');
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'field-webhooks-dev-jobs',
    });
    dev.statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'field-webhooks-dev-webhook-events',
    });
  });
});
