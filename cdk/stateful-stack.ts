import { ArnFormat, Duration, NestedStack, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  globalSecondaryIndexSpec,
  type KeyAttribute,
  maxReceiveCount,
  queueMaximumMessageBytes,
  queueRetentionSeconds,
  queueVisibilityTimeoutSeconds,
  type TableDefinition,
  tables,
} from '#infra/definitions';
import type { DeploymentConfig } from './config.ts';
import type { DeploymentNames } from './names.ts';

type TableId = (typeof tables)[number]['id'];

/** Properties of a {@link StatefulStack}. */
export interface StatefulStackProps {
  readonly config: DeploymentConfig;
  readonly names: DeploymentNames;
}

/**
 * What must outlive any code change: the two tables, the queue and its DLQ, the credentials secret
 * and the alarm topic (with its confirmed email subscription). The tables and the secret are kept
 * when the stack is deleted, and not created when context adopts ones kept from before
 * (`existingEventsTable`, `existingJobsTable`, `existingSecretName`). A nested stack of the one
 * top-level stack (`webhooks-stack.ts`), so a bare `npx cdk deploy` deploys everything;
 * CloudFormation leaves it untouched unless its own template changes, so a redeploy of the
 * functions, which find these resources by name, never touches it. Termination protection and
 * stack tags come from the parent. Its outputs would not be printed by `cdk deploy`, so the parent
 * declares them; its one output is CDK's own, the jobs table's stream ARN, which the parent's job
 * events publisher reads (no name derives it).
 */
export class StatefulStack extends NestedStack {
  /** The tables this stack creates: none of those adopted by context. */
  readonly tables: Readonly<Partial<Record<TableId, Table>>>;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, {
      description: 'Field webhooks: tables, queue + DLQ, credentials secret, alarm topic (retained data)',
    });
    const { config, names } = props;
    const tableNames: Record<TableId, string> = { Events: names.eventsTable, Jobs: names.jobsTable };
    const adopted: Record<TableId, string | undefined> = {
      Events: config.existingEventsTable,
      Jobs: config.existingJobsTable,
    };

    this.tables = Object.fromEntries(
      tables
        .filter((definition) => adopted[definition.id] === undefined)
        .map((definition) => [definition.id, this.table(definition, tableNames[definition.id])]),
    );

    const queueDefaults = {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(queueRetentionSeconds),
      maxMessageSizeBytes: queueMaximumMessageBytes,
    };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...queueDefaults,
      queueName: names.deadLetterQueue,
    });
    this.queue = new Queue(this, 'Queue', {
      ...queueDefaults,
      queueName: names.queue,
      visibilityTimeout: Duration.seconds(queueVisibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      topicName: names.alarmTopic,
      displayName: `Field webhooks (${config.stage}) alarms`,
      enforceSSL: true,
    });
    // Any topic policy replaces the default one SNS writes, so say explicitly that this deployment's
    // alarms, and only they, may publish (scoped by alarm ARN and account against confused deputies).
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisDeploymentsAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': this.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${names.alarmPrefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': this.account },
        },
      }),
    );
    if (config.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));

    if (!config.existingSecretName) this.credentialsSecret(names.credentialsSecret);
  }

  /**
   * On-demand, point-in-time recovery, TTL. Kept when the stack is deleted or a change would replace
   * it, but deleted when the nested stack's own create rolls back (`RetainExceptOnCreate`), so a
   * failure inside this stack leaves no table behind to make its retry fail with "already exists".
   * A failure in the parent stack comes after this stack completed (everything there depends on
   * it); CloudFormation then deletes this stack, which may keep the tables like any deletion: the
   * README's "When a deploy fails" checks for them. DynamoDB's own deletion protection stays off:
   * CloudFormation could not delete a protected table on that rollback (DeleteTable is refused),
   * and the rollback would fail instead. What guards the data: the deletion policy, fixed names (CloudFormation refuses
   * a change that would replace the table), the stack's termination protection, and point-in-time
   * recovery, which keeps a backup of a table deleted by hand for 35 days.
   */
  private table(definition: TableDefinition, tableName: string): Table {
    const table = new Table(this, `${definition.id}Table`, {
      tableName,
      partitionKey: attribute(definition.partitionKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: false,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
      // The jobs table's stream, which the job events publisher reads (`job-events.ts`). Turning a stream
      // on for a table that exists is an update in place, never a replacement: CloudFormation lists
      // `StreamSpecification` as "Update requires: No interruption"
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html#cfn-dynamodb-table-streamspecification),
      // so deploying this to a stage keeps its table and its data. Turning it off again, or changing
      // its view, would give the table a new stream with a new ARN, which the event source mapping cannot follow.
      ...(definition.stream ? { stream: StreamViewType[definition.stream] } : {}),
    });
    for (const index of definition.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: ProjectionType[globalSecondaryIndexSpec(index).Projection.ProjectionType],
        ...(index.nonKeyAttributes.length > 0 ? { nonKeyAttributes: [...index.nonKeyAttributes] } : {}),
      });
    }
    return table;
  }

  /**
   * The secret holds the credentials document, `{"<provider>": <its credentials>, …}`
   * (docs/http.md). It starts as `{"cooledgeSecrets":[],"zenbookerTokens":[],"placeholder":"…"}`,
   * the document's first shape, deliberately incomplete: a provider's signing secret or token often
   * exists only once its webhook is created, which cannot happen before this stack, so the operator
   * writes it with `put-secret-value` (README: Deploy). Until then the ingest function cannot load
   * credentials and answers 503, which providers retry, and the 5xx alarm says why; nothing is
   * rejected for good. CloudFormation needs a generated key next to a template; `placeholder` is
   * that key and is never read.
   */
  private credentialsSecret(secretName: string): Secret {
    const secret = new Secret(this, 'CredentialsSecret', {
      secretName,
      description: 'Field webhooks credentials: {"<provider>": <its credentials>, ...} (docs/http.md)',
      generateSecretString: {
        // The document's first shape, frozen: it must never follow the registry. A changed
        // `GenerateSecretString` makes CloudFormation generate the secret again, overwriting the
        // values operators have put in a deployed one. The receiver still reads this shape
        // (`legacy` in a provider's `credentials`); a test pins it.
        secretStringTemplate: JSON.stringify({ cooledgeSecrets: [], zenbookerTokens: [] }),
        generateStringKey: 'placeholder',
        excludePunctuation: true,
        passwordLength: 32,
      },
      // Deleting it would break every URL and signature configured at the providers, so it is kept
      // (and adopted again with `existingSecretName`), except when the deployment that created it
      // rolls back: then it holds nothing yet, and a kept one would fail the retry.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The values are issued by or registered with the providers (a signing secret a provider shows once, a token inside the URL saved at the provider), so a rotation Lambda cannot change them. Rotation is the documented manual overlap: add the new value, switch the provider, remove the old one.',
    });
    return secret;
  }
}

function attribute(key: KeyAttribute) {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}
