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
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  consumerBatchingWindowSeconds,
  consumerBatchSize,
  consumerTimeoutSeconds,
  tables,
} from '#infra/definitions';
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
 * The two routes of docs/http.md, nothing else. The function matches the path itself and answers 405
 * for a method other than POST, so each route takes ANY; every other path gets API Gateway's 404.
 */
export const webhookRoutes = ['/webhooks/cooledge', '/webhooks/zenbooker/{token}'] as const;

type WebhookRoute = (typeof webhookRoutes)[number];

/** Each route's own throttle: its provider's context keys, else the stage-wide ones. */
function routeThrottles(config: DeploymentConfig): Record<WebhookRoute, { rate: number; burst: number }> {
  return {
    '/webhooks/cooledge': {
      rate: config.cooledgeRateLimit ?? config.throttleRateLimit,
      burst: config.cooledgeBurstLimit ?? config.throttleBurstLimit,
    },
    '/webhooks/zenbooker/{token}': {
      rate: config.zenbookerRateLimit ?? config.throttleRateLimit,
      burst: config.zenbookerBurstLimit ?? config.throttleBurstLimit,
    },
  };
}

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
      // deleted with its parent, so this protects it too. The CLI turns it on before the change
      // set runs, so a failed first create is protected as well: README, "When a deploy fails".
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
    // By name like everything else, whether the nested stack created them or context adopted kept
    // ones (`names` then holds the adopted names). Their indexes are declared, so any grant that
    // reads would cover `index/*`; the consumer only writes, and writes go to the table ARN alone.
    const tableNames = { Events: names.eventsTable, Jobs: names.jobsTable };
    const [eventsTable, jobsTable] = tables.map((definition) =>
      Table.fromTableAttributes(this, `${definition.id}Table`, {
        tableName: tableNames[definition.id],
        globalIndexes: definition.globalSecondaryIndexes.map((index) => index.indexName),
      }),
    ) as [ITable, ITable];
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
    // `-c tracing=true`: X-Ray active tracing of both functions (invocation, init and overhead
    // segments; the SDK clients are not instrumented, so calls to SQS, Secrets Manager and DynamoDB
    // show as time inside the function, not as subsegments). Off by default, since X-Ray bills per
    // trace. The API stage cannot join: HTTP APIs do not support X-Ray tracing (only REST APIs do).
    const tracing = config.tracing ? Tracing.ACTIVE : undefined;

    // Latency-sensitive (the provider waits) and its cold start is module initialisation, which is
    // CPU-bound: 512 MiB buys about a third of a vCPU, at a cost that is noise at webhook volumes.
    this.ingest = new NodeFunction(this, 'Ingest', {
      entry: 'functions/ingest/handler.ts',
      description: 'Authenticates, validates and enqueues webhook deliveries (API Gateway HTTP API)',
      memorySize: 512,
      timeout: Duration.seconds(ingestTimeoutSeconds),
      logRetention,
      sourceMapsAtRuntime: config.sourceMaps,
      tracing,
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
      tracing,
      environment: {
        ...metricsNamespace,
        EVENTS_TABLE_NAME: eventsTable.tableName,
        JOBS_TABLE_NAME: jobsTable.tableName,
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
        resources: [eventsTable.tableArn, jobsTable.tableArn],
      }),
    );
    // What Lambda's poller calls on the function's behalf. A failed record is simply not deleted.
    this.consumer.addToRolePolicy(
      new PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [queue.queueArn],
      }),
    );
    if (tracing) {
      for (const fn of [this.ingest, this.consumer]) {
        if (!fn.role) continue;
        Validations.of(fn.role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Active tracing (-c tracing=true) lets the function send segments to X-Ray: xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions, so their resource is "*" (what Lambda adds for Tracing.ACTIVE).',
        });
      }
    }
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
    const stage = new HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // The default for a route without settings of its own; both webhook routes have their own.
      throttle: { rateLimit: config.throttleRateLimit, burstLimit: config.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });
    const integration = new HttpLambdaIntegration('IngestIntegration', this.ingest, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    // One throttle per route (`RouteSettings`, keyed by route key), so whoever floods one URL gets
    // that route's 429s and never the other provider's deliveries. A route's settings replace the
    // stage defaults for it as a whole; only throttling is set in either. The stage must be created
    // after the routes it names ("Unable to find Route by key"), hence the dependency.
    const throttles = routeThrottles(config);
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const path of webhookRoutes) {
      routeSettings[HttpRouteKey.with(path, HttpMethod.ANY).key] = {
        ThrottlingRateLimit: throttles[path].rate,
        ThrottlingBurstLimit: throttles[path].burst,
      };
      for (const route of this.api.addRoutes({ path, methods: [HttpMethod.ANY], integration })) {
        stage.node.addDependency(route);
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Webhook providers cannot use IAM, JWT or Lambda authorizers. Every request is authenticated inside the ingest function before anything is stored: an HMAC signature over the raw body (Cooledge) or a constant-time comparison of the URL token (Zenbooker).',
        });
      }
    }
    (stage.node.defaultChild as CfnStage).routeSettings = routeSettings;

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
      accessLogs,
      throttledThreshold: config.throttledAlarmThreshold,
      clientErrorThreshold: config.clientErrorAlarmThreshold,
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
