import {
  ArnFormat,
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { consumerBatchingWindowSeconds, consumerBatchSize, consumerTimeoutSeconds } from '#infra/definitions';
import type { DeploymentConfig } from './config.ts';
import { Monitoring } from './monitoring.ts';
import type { DeploymentNames } from './names.ts';
import { NodeFunction } from './node-function.ts';
import { StatefulStack } from './stateful-stack.ts';

/** Properties of a {@link WebhooksStack}. */
export interface WebhooksStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly names: DeploymentNames;
}

/**
 * The ingest function keeps a provider waiting, so it must answer inside the HTTP API's 30 s
 * integration timeout. 20 s covers the worst case its clients allow (`ingestClientOptions`: a
 * Secrets Manager read and an SQS send, two attempts of at most 3.5 s each, with backoff) plus a
 * cold start, so a failure is always our 503 with `Retry-After`, never a bare timeout; a normal
 * delivery takes tens of milliseconds.
 */
const ingestTimeoutSeconds = 20;

/**
 * The two routes of SPEC.md §1, nothing else. The function matches the path itself and answers 405
 * for a method other than POST, so each route takes ANY; every other path gets API Gateway's 404.
 */
export const webhookRoutes = ['/webhooks/cooledge', '/webhooks/zenbooker/{token}'] as const;

/**
 * One stage, as the one top-level stack `npx cdk deploy` deploys without arguments. The data lives
 * in a nested stack ({@link StatefulStack}, `Data`); this stack holds what a redeploy may replace
 * freely: the functions, the event source mapping, the HTTP API, the alarms and the dashboard. It
 * refers to the nested stack's resources by their names (`names.ts`), never by reference, and
 * declares every output, because `cdk deploy` prints only the top-level stack's.
 */
export class WebhooksStack extends Stack {
  readonly stateful: StatefulStack;
  readonly ingest: NodeFunction;
  readonly consumer: NodeFunction;
  readonly api: HttpApi;

  constructor(scope: Construct, id: string, props: WebhooksStackProps) {
    super(scope, id, {
      description:
        'Field webhooks: HTTP API, ingest and consumer functions, alarms, dashboard; data in a nested stack',
      // Deleting the stage would drop the queued messages and the code that drains them; make
      // `cdk destroy` a deliberate two-step act (README: Teardown). The nested stack is only ever
      // deleted with its parent, so this protects it too.
      terminationProtection: true,
      ...props,
    });
    const { config, names } = props;
    const logRetention = config.logRetentionDays as RetentionDays;
    this.stateful = new StatefulStack(this, 'Data', { config, names });

    const queue = Queue.fromQueueAttributes(this, 'Queue', {
      queueArn: this.formatArn({ service: 'sqs', resource: names.queue }),
      queueName: names.queue,
    });
    const deadLetterQueue = Queue.fromQueueAttributes(this, 'DeadLetterQueue', {
      queueArn: this.formatArn({ service: 'sqs', resource: names.deadLetterQueue }),
      queueName: names.deadLetterQueue,
    });
    const tableArn = (name: string) =>
      this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: name });
    const secretName = config.existingSecretName ?? names.credentialsSecret;
    // Secrets Manager appends `-` and six random characters to a secret's ARN.
    const secretArn = this.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const alarmTopic = Topic.fromTopicArn(
      this,
      'AlarmTopic',
      this.formatArn({ service: 'sns', resource: names.alarmTopic }),
    );
    const metricsNamespace = { POWERTOOLS_METRICS_NAMESPACE: names.metricsNamespace };

    // Latency-sensitive (the provider waits) and its cold start is module initialisation, which is
    // CPU-bound: 512 MiB buys about a third of a vCPU, at a cost that is noise at webhook volumes.
    this.ingest = new NodeFunction(this, 'Ingest', {
      entry: 'functions/ingest/handler.ts',
      description: 'Authenticates, validates and enqueues webhook deliveries (API Gateway HTTP API)',
      memorySize: 512,
      timeout: Duration.seconds(ingestTimeoutSeconds),
      logRetention,
      sourceMapsAtRuntime: config.sourceMaps,
      environment: {
        ...metricsNamespace,
        QUEUE_URL: queue.queueUrl,
        MAX_BODY_BYTES: String(config.maxBodyBytes),
        COOLEDGE_SIGNATURE_SCHEME: config.signatureScheme,
        COOLEDGE_SIGNATURE_TOLERANCE_SECONDS: String(config.signatureToleranceSeconds),
        EVENT_TIME_SKEW_SECONDS: String(config.eventTimeSkewSeconds),
        // The secret's name, never its value: the function reads it at cold start and every refresh.
        WEBHOOK_SECRET_ID: secretName,
        SECRET_REFRESH_SECONDS: String(config.secretRefreshSeconds),
      },
    });
    this.ingest.addToRolePolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
    this.ingest.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
    );

    // I/O-bound (one DynamoDB transaction per record, records in parallel); a batch of ten bodies of
    // at most 300 KiB is a few MiB of working set, so 256 MiB leaves ample headroom.
    this.consumer = new NodeFunction(this, 'Consumer', {
      entry: 'functions/consume/handler.ts',
      description: 'Dedupes and persists queued webhook events (SQS event source, partial batch response)',
      memorySize: 256,
      // The queue's visibility timeout is six times this (infra/definitions.ts).
      timeout: Duration.seconds(consumerTimeoutSeconds),
      logRetention,
      sourceMapsAtRuntime: config.sourceMaps,
      environment: {
        ...metricsNamespace,
        EVENTS_TABLE_NAME: names.eventsTable,
        JOBS_TABLE_NAME: names.jobsTable,
        DEDUPE_HORIZON_DAYS: String(config.dedupeHorizonDays),
        // Replays are checked again for an event time too far ahead: the same skew as ingest.
        EVENT_TIME_SKEW_SECONDS: String(config.eventTimeSkewSeconds),
      },
    });
    // Put and Update, alone or inside TransactWriteItems (which needs the actions of its parts;
    // `ConditionCheckItem` only for `ConditionCheck` parts, which the store does not use). No reads.
    this.consumer.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [tableArn(names.eventsTable), tableArn(names.jobsTable)],
      }),
    );
    // What Lambda's poller calls on the function's behalf. A failed record is simply not deleted.
    this.consumer.addToRolePolicy(
      new PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [queue.queueArn],
      }),
    );
    // Batches of up to 10 gathered for up to 1 s: webhook traffic is sparse and bursty, so this
    // amortises cold starts and invocations in a burst while adding at most a second of latency.
    // Failed records are reported one by one, so one bad event never replays its neighbours.
    new EventSourceMapping(this, 'ConsumerEvents', {
      target: this.consumer,
      eventSourceArn: queue.queueArn,
      batchSize: consumerBatchSize,
      maxBatchingWindow: Duration.seconds(consumerBatchingWindowSeconds),
      reportBatchItemFailures: true,
      // Caps the DynamoDB write rate and the share of the account's Lambda concurrency; beyond it
      // messages wait in the queue (the age alarm watches) instead of being throttled.
      maxConcurrency: config.consumerMaxConcurrency,
    });

    this.api = new HttpApi(this, 'Api', {
      apiName: names.stack,
      description: 'Webhook receiver: POST /webhooks/cooledge, POST /webhooks/zenbooker/{token}',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.throttleRateLimit, burstLimit: config.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });
    const integration = new HttpLambdaIntegration('IngestIntegration', this.ingest, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    for (const path of webhookRoutes) {
      for (const route of this.api.addRoutes({ path, methods: [HttpMethod.ANY], integration })) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Webhook providers cannot use IAM, JWT or Lambda authorizers. Every request is authenticated inside the ingest function before anything is stored: an HMAC signature over the raw body (Cooledge) or a constant-time comparison of the URL token (Zenbooker).',
        });
      }
    }

    new Monitoring(this, 'Monitoring', {
      dashboardName: names.dashboard,
      alarmPrefix: names.alarmPrefix,
      stage: config.stage,
      metricsNamespace: names.metricsNamespace,
      api: this.api,
      ingest: this.ingest,
      consumer: this.consumer,
      queue,
      deadLetterQueue,
      alarmTopic,
      authFailureThreshold: config.authFailureAlarmThreshold,
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output(
      'CooledgeWebhookUrl',
      `${this.api.apiEndpoint}${webhookRoutes[0]}`,
      'Paste into Cooledge as the webhook URL',
    );
    output(
      'ZenbookerWebhookUrl',
      `${this.api.apiEndpoint}/webhooks/zenbooker/<token>`,
      'Paste into Zenbooker with <token> replaced by one of "zenbookerTokens" in the credentials secret',
    );
    output(
      'CredentialsCommand',
      `aws secretsmanager get-secret-value --secret-id ${secretName} --query SecretString --output text`,
      'Prints the credentials secret: the Zenbooker token is in "zenbookerTokens"',
    );
    output(
      'DashboardUrl',
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${names.dashboard}`,
      'CloudWatch dashboard of the pipeline',
    );
    output('IngestLogGroupName', this.ingest.logGroup.logGroupName, 'aws logs tail <this> --follow');
    output('ConsumerLogGroupName', this.consumer.logGroup.logGroupName, 'aws logs tail <this> --follow');
    // The nested stack's resources, by name like everything else: a nested stack's own outputs are
    // not printed by `cdk deploy`.
    output('EventsTableName', names.eventsTable, 'Event log table (EVENTS_TABLE_NAME for the CLI)');
    output('JobsTableName', names.jobsTable, 'Jobs table (JOBS_TABLE_NAME for the CLI)');
    output('QueueUrl', queue.queueUrl, 'Events queue (QUEUE_URL for the CLI)');
    output('DeadLetterQueueUrl', deadLetterQueue.queueUrl, 'Dead-letter queue (DEAD_LETTER_QUEUE_URL)');
    output(
      'CredentialsSecretName',
      secretName,
      'Secrets Manager secret with the Cooledge signing secrets and Zenbooker tokens (README: Deploy)',
    );
    output('AlarmTopicArn', alarmTopic.topicArn, 'SNS topic the alarms notify');

    // Found by name, so CloudFormation cannot see that the event source mapping needs the queue, the
    // functions the tables, queue and secret, and the alarms the topic. Everything in this stack
    // therefore waits for the nested stack on create, and goes before it on delete.
    const dataScope = this.stateful.nestedStackResource?.node.scope;
    for (const child of this.node.children) {
      if (child !== this.stateful && child !== dataScope) child.node.addDependency(this.stateful);
    }
  }
}

/**
 * One JSON line per request. `$context.path` and the raw path are left out on purpose: the
 * Zenbooker token is a path segment. `routeKey` is the route template (`ANY /webhooks/zenbooker/
 * {token}`), which names the provider without the secret.
 */
export const accessLogFields = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  method: '$context.httpMethod',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
} as const;
