import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  ApiDestination,
  Authorization,
  Connection,
  EventBus,
  HttpMethod,
  Rule,
} from 'aws-cdk-lib/aws-events';
import { ApiDestination as ApiDestinationTarget } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, StartingPosition, type Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { jobEventSource } from '#core/job-changes';
import { queueRetentionSeconds } from '#infra/definitions';
import type { DeploymentNames } from './names.ts';
import { NodeFunction } from './node-function.ts';

/**
 * The `detail-type`s the example subscriber's rule forwards: a new job, and a job whose status
 * changed (`functions/core/job-changes.ts`). `Job Updated` is left out: its status did not change,
 * so a receiver would hear of the same status twice.
 */
export const forwardedDetailTypes = ['Job Created', 'Job Status Changed'] as const;

/** The header the example subscriber's connection sends its API key in. */
export const forwardApiKeyHeader = 'x-api-key';

/**
 * How the publish function's event source mapping reads the jobs table's stream. Each value is
 * checked against the Lambda API reference, `CreateEventSourceMapping`
 * (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html), and the
 * DynamoDB Streams guide (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
 */
export const jobStreamSource = {
  /**
   * From the records written after the mapping starts: the jobs before it are in the table
   * already, and `TRIM_HORIZON` would publish up to a day of old changes again whenever the mapping
   * is created (CloudFormation replaces a mapping whose source or starting position changes).
   */
  startingPosition: StartingPosition.LATEST,
  /**
   * At most 10 records a batch: each gives at most one event, and one `PutEvents` call takes at
   * most 10 entries, so a batch is one call (unless a job changed twice in it), which the
   * function's timeout covers.
   */
  batchSize: 10,
  /** Gathered for at most a second, as the consumer's batches are: a second of latency at most. */
  maxBatchingWindowSeconds: 1,
  /**
   * One batch at a time per shard. A job's writes share its partition key and so its shard, in
   * order; with more than one batch per shard in flight, a job's later change could be published
   * before an earlier one (API range 1 to 10; 1 is the default, set here on purpose).
   */
  parallelizationFactor: 1,
  /**
   * Retries of a batch the function failed or reported a record of, before its stream metadata goes
   * to the DLQ and the shard moves on (API range -1, infinite, to 10,000).
   */
  retryAttempts: 10,
  /**
   * A day: a record older than this goes to the DLQ instead of being retried on. DynamoDB Streams
   * keeps records 24 hours, so no record outlives it anyway (API range -1, 60 to 604,800 s).
   */
  maxRecordAgeSeconds: 24 * 60 * 60,
  /**
   * A batch the function fails whole (an error, a timeout) is halved and each half retried, down to
   * the one record that fails, so one bad record holds back neither its neighbours nor, after its
   * retries, the shard.
   */
  bisectBatchOnError: true,
  /**
   * The function answers with the first record it did not publish (`functions/publish/app.ts`), and
   * the mapping retries from that record on: the records before it are not published again.
   */
  reportBatchItemFailures: true,
} as const;

/**
 * The publish function's timeout. A batch is one `PutEvents` call ({@link jobStreamSource}), more
 * only when a job changed more than once in it (one change per job a call); the SDK tries a call
 * at most 3 times, within 1 s to connect and 2.5 s to answer each
 * (`functions/adapters/client-options.ts`): about 11 s with its backoff at worst. A batch that
 * runs out of time fails whole and is retried, halved: published again at worst, never lost.
 */
const publishTimeoutSeconds = 15;

/** Properties of {@link JobEvents}. */
export interface JobEventsProps {
  readonly names: DeploymentNames;
  /**
   * The jobs table's stream ARN: the stateful stack's table's (a reference across the nesting) or
   * the adopted table's (`existingJobsTableStreamArn`).
   */
  readonly jobsTableStreamArn: string;
  readonly logRetention: RetentionDays;
  readonly sourceMapsAtRuntime: boolean;
  readonly tracing?: Tracing;
  /** The example subscriber: forward these statuses' job events to this HTTPS URL. */
  readonly forward?: { readonly url: string; readonly statuses: readonly string[] };
}

/** The example subscriber's resources, when `jobEventsForwardUrl` is set. */
export interface JobEventsForward {
  readonly rule: Rule;
  readonly connection: Connection;
  readonly destination: ApiDestination;
  /** Holds the API key the connection sends; generated, read by the operator for the receiver. */
  readonly apiKey: Secret;
  readonly deadLetterQueue: Queue;
}

/**
 * Job change events: every change the consumer makes to a job leaves the jobs table's DynamoDB
 * stream (`NEW_AND_OLD_IMAGES`, after the write committed), and a Lambda event source mapping on
 * that stream invokes the publish function (`functions/publish/handler.ts`), which turns each batch
 * of records into one event per change (source `field-webhooks`; `detail-type`
 * `Job Created`, `Job Status Changed` or `Job Updated`) and puts them on the stage's event bus
 * itself (`PutEvents`).
 *
 * Why an event source mapping rather than an EventBridge pipe: DynamoDB Streams reads are free only
 * for Lambda triggers. A pipe's `GetRecords` polling is billed as streams read request units
 * beyond the first 2.5 million a month per account and Region ($0.02 per 100,000), and an idle
 * poller, at about 4 reads a second per shard, makes about 10.5 million a month: about $1.60 a
 * month before the first event, most of the $2 a month a small business's deployment may cost
 * (issue 12); Pipes also bills $0.40 per million records. The mapping gives the same guarantees:
 * per-shard order (parallelization factor 1), retries, bisection on error, a maximum record age, an
 * on-failure destination (the DLQ) and partial batch responses.
 *
 * Nothing here can slow or fail ingest or the consumer: they never call it, and the stream is read
 * after their writes committed. Records are published at least once and, per job, in order (one
 * batch at a time per shard, {@link jobStreamSource}; calls one after the other, each with at most
 * one change per job); `detail.changeId` is the key to dedupe on and `detail.sequence` the per-job
 * order. A batch that fails every retry (or ages past a day) has
 * its stream metadata sent to the DLQ, whose alarm `Monitoring` raises.
 *
 * Optionally (`jobEventsForwardUrl`), an example subscriber: a rule on the bus forwarding chosen
 * statuses to an HTTPS URL through an API destination.
 */
export class JobEvents extends Construct {
  readonly bus: EventBus;
  readonly publish: NodeFunction;
  /** The event source mapping: the jobs table's stream to the publish function. */
  readonly streamEvents: EventSourceMapping;
  /**
   * Where the event source mapping sends what it gave up on (a batch that failed every retry, or a
   * record older than a day): the batch's stream metadata, not the jobs.
   */
  readonly deadLetterQueue: Queue;
  readonly forward?: JobEventsForward;

  constructor(scope: Construct, id: string, props: JobEventsProps) {
    super(scope, id);
    const { names } = props;

    this.bus = new EventBus(this, 'Bus', {
      eventBusName: names.jobEventBus,
      description: 'Field webhooks: one event per change to a job (source field-webhooks)',
    });

    // Computes the events from each record's old and new image and puts them on the bus: a small
    // function whose role may write its log, read the stream, put to the bus and send to the DLQ.
    this.publish = new NodeFunction(this, 'Publish', {
      entry: 'functions/publish/handler.ts',
      description: 'Publishes the job changes of jobs table stream records to the job events bus',
      memorySize: 256,
      timeout: Duration.seconds(publishTimeoutSeconds),
      logRetention: props.logRetention,
      sourceMapsAtRuntime: props.sourceMapsAtRuntime,
      tracing: props.tracing,
      // The name, not a reference: it is fixed per stage, and the bundle test loads the bundle
      // with the template's environment as it is.
      environment: { JOB_EVENTS_BUS_NAME: names.jobEventBus },
    });
    this.publish.addToRolePolicy(
      new PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }),
    );

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      queueName: names.jobEventsDeadLetterQueue,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(queueRetentionSeconds),
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, 'the job events event source mapping');

    // What Lambda's poller calls on the function's behalf, with its role, as the Lambda guide lists
    // for a DynamoDB stream (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html) and as
    // aws-cdk-lib's `Table.grantStreamRead` grants it. The DLQ's permission comes with `SqsDlq`.
    this.publish.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [props.jobsTableStreamArn],
      }),
    );
    // ListStreams lists the account's streams and names none, so it takes "*".
    this.publish.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }),
    );
    if (this.publish.role) {
      Validations.of(this.publish.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: [
          'dynamodb:ListStreams, which a Lambda event source mapping on a DynamoDB stream needs, supports no resource-level permissions, so its resource is "*"; it lists stream ARNs and reads no data.',
          ...(props.tracing
            ? [
                'Active tracing (-c tracing=true) lets the function send segments to X-Ray: xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions either (what Lambda adds for Tracing.ACTIVE).',
              ]
            : []),
          'Every other action of the role is scoped to one resource (its log group, the stream, the bus, the DLQ).',
        ].join(' '),
      });
    }

    const source = jobStreamSource;
    this.streamEvents = new EventSourceMapping(this, 'StreamEvents', {
      target: this.publish,
      eventSourceArn: props.jobsTableStreamArn,
      startingPosition: source.startingPosition,
      batchSize: source.batchSize,
      maxBatchingWindow: Duration.seconds(source.maxBatchingWindowSeconds),
      parallelizationFactor: source.parallelizationFactor,
      retryAttempts: source.retryAttempts,
      maxRecordAge: Duration.seconds(source.maxRecordAgeSeconds),
      bisectBatchOnError: source.bisectBatchOnError,
      reportBatchItemFailures: source.reportBatchItemFailures,
      // A batch given up on: its shard, sequence numbers and times, not the records.
      onFailure: new SqsDlq(this.deadLetterQueue),
    });

    if (props.forward) this.forward = this.forwarder(names, props.forward);
  }

  /**
   * The example subscriber: a rule forwarding `Job Created` and `Job Status Changed` events whose
   * status (after the change) is one of `statuses` to `url`, as the whole EventBridge event, POSTed
   * through an API destination with an API key header. The key is generated into a secret this
   * stack creates (`apiKey`); the operator configures the receiver to expect it (README: Job change
   * events). The connection copies it into the secret EventBridge keeps for the connection when the
   * connection is created or changed: CloudFormation reads a secret reference only then.
   */
  private forwarder(
    names: DeploymentNames,
    forward: { readonly url: string; readonly statuses: readonly string[] },
  ): JobEventsForward {
    const apiKey = new Secret(this, 'ForwardApiKey', {
      description: `Field webhooks: the ${forwardApiKeyHeader} header the job events forwarder sends (${names.jobEventsForward})`,
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      // Nothing else depends on it: a new deployment generates a new key.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(apiKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The key must also be configured at the receiving system, which a rotation Lambda cannot reach, and the API destination connection keeps its own copy, set when the connection is written. Rotation is manual and documented in the README: write the new key, update the connection, then the receiver.',
    });
    const connection = new Connection(this, 'ForwardConnection', {
      connectionName: names.jobEventsForward,
      description: 'Field webhooks: API key of the job events forwarder',
      authorization: Authorization.apiKey(forwardApiKeyHeader, apiKey.secretValue),
    });
    const destination = new ApiDestination(this, 'ForwardDestination', {
      apiDestinationName: names.jobEventsForward,
      description: 'Field webhooks: where the job events forwarder POSTs',
      connection,
      endpoint: forward.url,
      httpMethod: HttpMethod.POST,
    });
    const deadLetterQueue = new Queue(this, 'ForwardDeadLetterQueue', {
      queueName: names.jobEventsForwardDeadLetterQueue,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(queueRetentionSeconds),
    });
    acknowledgeDeadLetterQueue(deadLetterQueue, 'the job events forwarder rule');
    // The role EventBridge invokes the API destination with; only this rule may use it.
    const stack = Stack.of(this);
    const eventRole = new Role(this, 'ForwardRole', {
      assumedBy: new ServicePrincipal('events.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnEquals: {
            'aws:SourceArn': stack.formatArn({
              service: 'events',
              resource: 'rule',
              resourceName: `${names.jobEventBus}/${names.jobEventsForward}`,
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          },
        },
      }),
      description: 'Lets the job events forwarder rule invoke its API destination',
    });
    const rule = new Rule(this, 'ForwardRule', {
      ruleName: names.jobEventsForward,
      description:
        'Field webhooks: forwards the job events of the statuses in jobEventsForwardStatuses to an HTTPS URL',
      eventBus: this.bus,
      eventPattern: {
        source: [jobEventSource],
        detailType: [...forwardedDetailTypes],
        detail: { status: [...forward.statuses] },
      },
      targets: [
        new ApiDestinationTarget(destination, {
          eventRole,
          deadLetterQueue,
          // EventBridge's own defaults, written out: a day of retries with backoff, at most 185
          // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
          maxEventAge: Duration.hours(24),
          retryAttempts: 185,
        }),
      ],
    });
    return { rule, connection, destination, apiKey, deadLetterQueue };
  }
}

/** cdk-nag asks every queue for a DLQ of its own (SQS3); these two are DLQs themselves. */
function acknowledgeDeadLetterQueue(queue: Queue, of: string): void {
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is the dead-letter queue of ${of}: what fails there lands here and waits for an operator, and nothing consumes it, so a dead-letter queue of its own would never receive anything.`,
  });
}
