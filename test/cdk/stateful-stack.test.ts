import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookCredentials } from '#core/credentials';
import {
  consumerTimeoutSeconds,
  globalSecondaryIndexSpec,
  maxReceiveCount,
  queueMaximumMessageBytes,
  queueVisibilityTimeoutSeconds,
  tables,
} from '#infra/definitions';
import { resourcesOf, type Synthesized, synthesize } from './support.ts';

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
    });
  });

  it('makes every table on-demand, recoverable to a point in time and protected from deletion', () => {
    const found = resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table');
    expect(found).toHaveLength(tables.length);
    for (const [, table] of found) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
      expect(table.Properties.ProvisionedThroughput).toBeUndefined();
    }
  });

  it('keeps the tables when the stack is deleted or a change would replace them', () => {
    for (const [, table] of resourcesOf(deployed.statefulTemplate, 'AWS::DynamoDB::Table')) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    }
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
  it('is generated, never written into the template, and retained', () => {
    const secrets = resourcesOf(deployed.statefulTemplate, 'AWS::SecretsManager::Secret').map(([, s]) => s);
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        Name: 'field-webhooks/prod/credentials',
        GenerateSecretString: { ExcludePunctuation: true },
      },
    });
    expect(secrets[0]?.Properties.SecretString).toBeUndefined();
  });

  it('starts in the shape the ingest function reads, with no credential in it yet', () => {
    const [[, secret]] = resourcesOf(deployed.statefulTemplate, 'AWS::SecretsManager::Secret') as [
      [string, { Properties: { GenerateSecretString: { SecretStringTemplate: string } } }],
    ];
    const template = JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate);
    expect(Object.keys(template).sort()).toEqual(Object.keys(WebhookCredentials.entries).sort());
    expect(template).toEqual({ cooledgeSecrets: [], zenbookerTokens: [] });
  });

  it('is not created when an existing secret is named in context', () => {
    const imported = synthesize({ existingSecretName: 'kept/from/before' });
    imported.statefulTemplate.resourceCountIs('AWS::SecretsManager::Secret', 0);
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
                  'Fn::Join': ['', Match.arrayWith([':alarm:field-webhooks-prod-*'])],
                },
              },
            }),
          }),
        ]),
      },
    });
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
    expect(deployed.statefulTemplate.findOutputs('*')).toEqual({});
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
