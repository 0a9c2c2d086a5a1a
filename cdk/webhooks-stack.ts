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
import type { AnyProvider } from '#core/provider';
import { routePath } from '#core/routes';
import {
  consumerBatchingWindowSeconds,
  consumerBatchSize,
  consumerTimeoutSeconds,
  tables,
} from '#infra/definitions';
import { providers as registry } from '#providers/index';
import { accessLogFormat } from './access-log.ts';
import { type DeploymentConfig, defaultForwardStatuses, type ProviderConfig } from './config.ts';
import { JobEvents } from './job-events.ts';
import { Monitoring } from './monitoring.ts';
import type { DeploymentNames } from './names.ts';
import { NodeFunction } from './node-function.ts';
import { StatefulStack } from './stateful-stack.ts';

/** Properties of a {@link WebhooksStack}. */
export interface WebhooksStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly names: DeploymentNames;
  /**
   * The providers to receive from: one route, one URL output and the settings of each. The registry
   * (`functions/providers/index.ts`) unless a test gives its own; `config` must have been read for
   * the same ones (`readDeploymentConfig`), since their context keys are theirs.
   */
  readonly providers?: ReadonlyMap<string, AnyProvider>;
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
 * The id of a provider's URL output: its name in PascalCase, then `WebhookUrl` (`cooledge` gives
 * `CooledgeWebhookUrl`, `acme-crm` gives `AcmeCrmWebhookUrl`).
 */
export function webhookUrlOutputId(provider: AnyProvider): string {
  const pascal = provider.name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `${pascal}WebhookUrl`;
}

/** A provider's part of the config, which must have been read for it. */
function configOf(config: DeploymentConfig, provider: AnyProvider): ProviderConfig {
  const found = config.perProvider.get(provider.name);
  if (!found) {
    throw new Error(
      `provider ${provider.name}: the deployment config was not read for it (readDeploymentConfig)`,
    );
  }
  return found;
}

/**
 * One stage, as the one top-level stack `npx cdk deploy` deploys without arguments. The data lives
 * in a nested stack ({@link StatefulStack}, `Data`); this stack holds what a redeploy may replace
 * freely: the functions, the event source mappings, the HTTP API, the job events bus, the
 * alarms and the dashboard. It refers to the nested stack's resources by their names (`names.ts`),
 * by reference only for the jobs table's stream ARN (which no name derives), and declares every
 * output, because `cdk deploy` prints only the top-level stack's.
 */
export class WebhooksStack extends Stack {
  readonly stateful: StatefulStack;
  readonly ingest: NodeFunction;
  readonly consumer: NodeFunction;
  readonly api: HttpApi;
  readonly jobEvents: JobEvents;

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
    const providers = [...(props.providers ?? registry).values()];
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
    const ingestEnvironment: Record<string, string> = {
      ...metricsNamespace,
      QUEUE_URL: queue.queueUrl,
      MAX_BODY_BYTES: String(config.maxBodyBytes),
      EVENT_TIME_SKEW_SECONDS: String(config.eventTimeSkewSeconds),
      // The secret's name, never its value: the function reads it at cold start and every refresh.
      WEBHOOK_SECRET_ID: secretName,
      SECRET_REFRESH_SECONDS: String(config.secretRefreshSeconds),
    };
    // Every provider's settings (e.g. how it signs), from their context keys or their defaults.
    for (const provider of providers) {
      for (const [variable, value] of Object.entries(configOf(config, provider).environment)) {
        if (Object.hasOwn(ingestEnvironment, variable)) {
          throw new Error(`provider ${provider.name}: environment variable ${variable} is already set`);
        }
        ingestEnvironment[variable] = value;
      }
    }
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
      environment: ingestEnvironment,
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
    // Every change the consumer applies to a job, published to the stage's event bus from the jobs
    // table's stream (`job-events.ts`). The stream ARN is the one reference across the nesting: a
    // stream's ARN ends in a label DynamoDB picks when the stream is enabled, so no name derives it.
    // CDK passes it as an output of the data stack's template, which a redeploy of the code leaves
    // as it is. An adopted jobs table names its stream in context instead (config.ts).
    const jobsTableStreamArn = config.existingJobsTableStreamArn ?? this.stateful.tables.Jobs?.tableStreamArn;
    if (jobsTableStreamArn === undefined) {
      throw new Error('the jobs table has no stream: infra/definitions.ts must give jobsTable a `stream`');
    }
    this.jobEvents = new JobEvents(this, 'JobEvents', {
      names,
      jobsTableStreamArn,
      logRetention,
      sourceMapsAtRuntime: config.sourceMaps,
      tracing,
      ...(config.jobEventsForwardUrl
        ? {
            forward: {
              url: config.jobEventsForwardUrl,
              statuses: config.jobEventsForwardStatuses ?? defaultForwardStatuses,
            },
          }
        : {}),
    });

    if (tracing) {
      // The publish function's role acknowledges its own wildcards, X-Ray's included (job-events.ts).
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
      description: 'Webhook receiver: POST /webhooks/<provider>, one route per provider',
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
      // The default for a route without settings of its own; every webhook route has its own.
      throttle: { rateLimit: config.throttleRateLimit, burstLimit: config.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(accessLogFormat),
      },
    });
    const integration = new HttpLambdaIntegration('IngestIntegration', this.ingest, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    // One route per provider at its path (`routePath`), and nothing else: every other path gets
    // API Gateway's 404. The function matches the path itself and answers 405 for a method other
    // than POST, so each route takes ANY. One throttle per route (`RouteSettings`, keyed by route
    // key), so whoever floods one URL gets that route's 429s and never another provider's
    // deliveries. A route's settings replace the stage defaults for it as a whole; only throttling
    // is set in either. The stage must be created after the routes it names ("Unable to find Route
    // by key"), hence the dependency.
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const provider of providers) {
      const path = routePath(provider);
      const { rateLimit, burstLimit } = configOf(config, provider);
      routeSettings[HttpRouteKey.with(path, HttpMethod.ANY).key] = {
        ThrottlingRateLimit: rateLimit,
        ThrottlingBurstLimit: burstLimit,
      };
      for (const route of this.api.addRoutes({ path, methods: [HttpMethod.ANY], integration })) {
        stage.node.addDependency(route);
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `Webhook providers cannot use IAM, JWT or Lambda authorizers. Every request to this route is authenticated inside the ingest function, by ${provider.title}'s own scheme (a signature over the raw body or a secret in the URL, compared in constant time), before anything is stored.`,
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
      jobEvents: {
        deadLetterQueue: this.jobEvents.deadLetterQueue,
        publish: this.jobEvents.publish,
        ...(this.jobEvents.forward ? { forwardDeadLetterQueue: this.jobEvents.forward.deadLetterQueue } : {}),
      },
    });

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    // One URL per provider. A route parameter stays a placeholder (`{token}`, `{source}`): a
    // secret one is never a real value in an output, and the provider's `setup` says what to put.
    for (const provider of providers) {
      output(webhookUrlOutputId(provider), `${this.api.apiEndpoint}${routePath(provider)}`, provider.setup);
    }
    output(
      'CredentialsCommand',
      `aws secretsmanager get-secret-value --secret-id ${secretName} --query SecretString --output text`,
      'Prints the credentials secret: {"<provider>": <its credentials>, ...} (docs/http.md)',
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
      'Secrets Manager secret with each provider\'s credentials, {"<provider>": ...} (docs/http.md, README: Deploy)',
    );
    output('AlarmTopicArn', alarmTopic.topicArn, 'SNS topic the alarms notify');
    output(
      'JobEventsBusName',
      names.jobEventBus,
      'EventBridge bus with one event per change to a job (source field-webhooks; README: Job change events)',
    );
    output(
      'JobEventsBusArn',
      this.jobEvents.bus.eventBusArn,
      'ARN of the job events bus, for rules and policies',
    );
    if (this.jobEvents.forward) {
      output(
        'JobEventsForwardApiKeySecretArn',
        this.jobEvents.forward.apiKey.secretArn,
        'Secret holding the x-api-key value the job events forwarder sends; configure the receiver with it (README: Job change events)',
      );
    }

    // Found by name, so CloudFormation cannot see that the event source mapping needs the queue, the
    // functions the tables, queue and secret, and the alarms the topic. Everything in this stack
    // therefore waits for the nested stack on create, and goes before it on delete.
    const dataScope = this.stateful.nestedStackResource?.node.scope;
    for (const child of this.node.children) {
      if (child !== this.stateful && child !== dataScope) child.node.addDependency(this.stateful);
    }
  }
}
