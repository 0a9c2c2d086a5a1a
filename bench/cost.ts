import { readFileSync } from 'node:fs';
import { customMetrics, type MetricPublication } from '#core/ports';
import { round } from '../tools/stats.ts';

/**
 * Cost per million deliveries on AWS, computed from the measured figures and us-east-1 list prices.
 * The prices are constants: there is no internet here to fetch them, so they carry the date they
 * were last checked, and the table in docs/performance.md says so.
 */
export const prices = {
  region: 'us-east-1',
  checked:
    'as published on the AWS pricing pages, checked 2025-06 (on-demand DynamoDB after the 2024-11-01 reduction); not fetched live: no internet here',
  /** Lambda, arm64, first 7.5 billion GB-s a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1e6,
  /** API Gateway HTTP API, first 300 million requests a month, per 512 KB. */
  httpApiPerRequest: 1.0 / 1e6,
  /** SQS standard queue, per request (each 64 KB chunk of a payload is a request). */
  sqsPerRequest: 0.4 / 1e6,
  /** DynamoDB on-demand, standard table class. */
  dynamoPerWriteUnit: 0.625 / 1e6,
  dynamoPerGbMonth: 0.25,
  /** CloudWatch Logs, standard class, ingestion. */
  logsPerGbIngested: 0.5,
  /**
   * CloudWatch custom metrics (EMF), first 10,000 a month: prorated by the hour, billed only for the
   * hours in which the metric is published (https://aws.amazon.com/cloudwatch/pricing/).
   */
  metricPerMonth: 0.3,
  /** CloudWatch alarms, per metric an alarm evaluates: standard resolution, high resolution (< 60 s). */
  alarmPerMonth: 0.1,
  alarmHighResolutionPerMonth: 0.3,
  compositeAlarmPerMonth: 0.5,
  /** CloudWatch dashboards: the first 3 of an account are free (up to 50 metrics each), then each. */
  dashboardPerMonth: 3,
  freeDashboardsPerAccount: 3,
  /** CloudWatch Logs Insights, per GB scanned: what a Logs Insights widget costs each time it is viewed. */
  logsInsightsPerGbScanned: 0.005,
  /** Secrets Manager: per secret a month, and per API call (https://aws.amazon.com/secrets-manager/pricing/). */
  secretPerMonth: 0.4,
  /** EventBridge custom events (`PutEvents`), per event of up to 64 KB. */
  eventBridgePerEvent: 1.0 / 1e6,
  secretsManagerPerApiCall: 0.05 / 10_000,
  /** The month AWS prices by: 730 hours. */
  hoursPerMonth: 730,
} as const;

export interface CostInputs {
  ingestMemoryMb: number;
  consumerMemoryMb: number;
  memorySource: string;
  /** Billed ingest duration per delivery (ms, rounded up per invocation). */
  ingestMs: number;
  ingestMsSource: string;
  /** Billed consumer duration per invocation, and events per invocation. */
  consumerInvocationMs: number;
  consumerEventsPerInvocation: number;
  consumerMsSource: string;
  sqsRequestsPerEvent: number;
  sqsSource: string;
  writeUnitsPerEvent: number;
  writeUnitsSource: string;
  /** Event log bytes stored per event (base table + index copy), kept for the dedupe horizon. */
  storedBytesPerEvent: number;
  logBytesPerEvent: number;
  logSource: string;
  /** Job change events published per delivery (one per change to a job: applied events and stale fills). */
  jobChangesPerDelivery: number;
  /** Records of the jobs table's stream per delivery (every job write): what the publish function reads. */
  jobStreamRecordsPerDelivery: number;
  publishMemoryMb: number;
  /** Billed publish duration per invocation of 10 records (ms). */
  publishInvocationMs: number;
  jobEventsSource: string;
}

export interface CostLine {
  item: string;
  basis: string;
  perMillion: number;
}

export interface CostResult {
  lines: CostLine[];
  totalPerMillion: number;
  prices: typeof prices;
}

const gb = 1024 ** 3;

/**
 * What a million deliveries cost on AWS in dollars, item by item, at the list prices of
 * {@link prices} (no free tier), from the figures the benchmark measured.
 */
export function costPerMillion(input: CostInputs): CostResult {
  const million = 1e6;
  const ingestGbSeconds = (input.ingestMemoryMb / 1024) * (Math.ceil(input.ingestMs) / 1000);
  const consumerInvocations = 1 / Math.max(1, input.consumerEventsPerInvocation);
  const consumerGbSeconds =
    (input.consumerMemoryMb / 1024) * (Math.ceil(input.consumerInvocationMs) / 1000) * consumerInvocations;
  const lines: CostLine[] = [
    {
      item: 'API Gateway HTTP API',
      basis: '1 request per delivery (bodies < 512 KB)',
      perMillion: million * prices.httpApiPerRequest,
    },
    {
      item: 'Lambda ingest',
      basis: `1 invocation × ${Math.ceil(input.ingestMs)} ms × ${input.ingestMemoryMb} MB arm64 (${input.ingestMsSource}; memory from ${input.memorySource})`,
      perMillion: million * (prices.lambdaPerRequest + ingestGbSeconds * prices.lambdaArmPerGbSecond),
    },
    {
      item: 'Lambda consumer',
      basis: `${round(consumerInvocations)} invocations × ${Math.ceil(input.consumerInvocationMs)} ms × ${input.consumerMemoryMb} MB arm64 (${input.consumerMsSource})`,
      perMillion:
        million *
        (consumerInvocations * prices.lambdaPerRequest + consumerGbSeconds * prices.lambdaArmPerGbSecond),
    },
    {
      item: 'SQS',
      basis: `${round(input.sqsRequestsPerEvent)} requests per delivery (${input.sqsSource})`,
      perMillion: million * input.sqsRequestsPerEvent * prices.sqsPerRequest,
    },
    {
      item: 'DynamoDB writes',
      basis: `${round(input.writeUnitsPerEvent)} write units per event (${input.writeUnitsSource})`,
      perMillion: million * input.writeUnitsPerEvent * prices.dynamoPerWriteUnit,
    },
    {
      item: 'DynamoDB storage',
      basis: `event log, ${round(input.storedBytesPerEvent / 1024)} KB per event (record, and index entry where there is one) kept 30 days: per million events a month`,
      perMillion: ((million * input.storedBytesPerEvent) / gb) * prices.dynamoPerGbMonth,
    },
    {
      item: 'CloudWatch Logs',
      basis: `${Math.round(input.logBytesPerEvent)} bytes per delivery (${input.logSource})`,
      perMillion: ((million * input.logBytesPerEvent) / gb) * prices.logsPerGbIngested,
    },
    {
      item: 'Job change events: EventBridge',
      basis: `${round(input.jobChangesPerDelivery)} events per delivery on the bus, $1.00 per million (${input.jobEventsSource})`,
      perMillion: million * input.jobChangesPerDelivery * prices.eventBridgePerEvent,
    },
    {
      item: 'Job change events: Lambda publish',
      basis: `${round(input.jobStreamRecordsPerDelivery / 10)} invocations per delivery (stream records in batches of 10; the stream's reads are free for Lambda) × ${Math.ceil(input.publishInvocationMs)} ms × ${input.publishMemoryMb} MB arm64`,
      perMillion:
        million *
        (input.jobStreamRecordsPerDelivery / 10) *
        (prices.lambdaPerRequest +
          (input.publishMemoryMb / 1024) *
            (Math.ceil(input.publishInvocationMs) / 1000) *
            prices.lambdaArmPerGbSecond),
    },
  ].map((line) => ({ ...line, perMillion: round(line.perMillion) }));
  return {
    lines,
    totalPerMillion: round(lines.reduce((sum, line) => sum + line.perMillion, 0)),
    prices,
  };
}

/** The goal of issue 12: what a small business's deployment may cost a month, all in. */
export const monthlyGoal = { events: 20_000, dollars: 2 } as const;

/**
 * Lambda's event source mapping polls an SQS queue with 5 pollers while it is idle, each a 20 s
 * long poll, so about 3 `ReceiveMessage` requests a minute each
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
 */
export const idleSqsPolling = { pollers: 5, receivesPerMinute: 3 } as const;

/** A synthesized CloudFormation template: the part the monthly model reads. */
export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

export interface MonthlyCostInputs {
  /** Deliveries in the month. */
  events: number;
  /** The per-million model ({@link costPerMillion}): its total over a million is one delivery's cost. */
  perMillion: Pick<CostResult, 'totalPerMillion'>;
  /** The deployment's templates, the top-level stack's and the nested one's ({@link deploymentTemplates}). */
  templates: readonly CfnTemplate[];
  /** The functions' custom metrics and when each is published; `customMetrics` by default. */
  metrics?: Readonly<Record<string, MetricPublication>>;
  /** Dashboards the account holds besides this deployment's (another stage's too); default 0. */
  otherDashboards?: number;
}

export interface MonthlyLine {
  item: string;
  basis: string;
  /** Dollars a month. */
  monthly: number;
}

export interface MonthlyCost {
  events: number;
  lines: MonthlyLine[];
  /** Dollars a month, all in. */
  total: number;
  prices: typeof prices;
}

type Resource = NonNullable<CfnTemplate['Resources']>[string];

/**
 * What a deployment costs in a month of `events` deliveries, in dollars at list prices with no free
 * tier (except the 3 free dashboards of an account, which the issue counts as free): the per-event
 * cost of the per-million model, plus what the deployment costs whatever its volume, counted from
 * its templates (alarms and the metrics each evaluates, dashboards, secrets, event source mappings,
 * metric filters, the secret's refresh interval) and from `customMetrics` in
 * `functions/core/ports.ts` (which metrics are published with every event, which only on failure).
 * Assumes a healthy month (no failure publishes a metric) with the events spread evenly at random
 * over its 730 hours. Prices: {@link prices}.
 */
export function monthlyCost(input: MonthlyCostInputs): MonthlyCost {
  const { events } = input;
  const resources = input.templates.flatMap((t) => Object.values(t.Resources ?? {}));
  const ofType = (type: string) => resources.filter((r) => r.Type === type);
  const props = (r: Resource) => r.Properties ?? {};
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const hours = prices.hoursPerMonth;
  const lines: MonthlyLine[] = [];

  lines.push({
    item: 'Per delivery',
    basis: `${events.toLocaleString('en-US')} deliveries × $${input.perMillion.totalPerMillion} per million (the per-million model)`,
    monthly: (events * input.perMillion.totalPerMillion) / 1e6,
  });

  // A metric published in every hour with an event: Poisson arrivals leave an hour empty with
  // probability e^(−events/hours), so 20,000 events a month publish it in all 730 hours.
  const hoursWithEvents = hours * (1 - Math.exp(-events / hours));
  const published = Object.entries(input.metrics ?? customMetrics);
  const filters = ofType('AWS::Logs::MetricFilter').flatMap(
    (r) => (props(r).MetricTransformations as Array<{ MetricName: string; DefaultValue?: number }>) ?? [],
  );
  // A filter with a default value publishes it in every period that has log events; without one it
  // publishes only when a line matches.
  const perEvent = [
    ...published.filter(([, when]) => when === 'perEvent').map(([name]) => name),
    ...filters.filter((f) => f.DefaultValue !== undefined).map((f) => f.MetricName),
  ];
  const onFailure = [
    ...published.filter(([, when]) => when === 'failure').map(([name]) => name),
    ...filters.filter((f) => f.DefaultValue === undefined).map((f) => f.MetricName),
  ];
  lines.push({
    item: 'CloudWatch metrics, per event',
    basis: `${plural(perEvent.length, 'custom metric')} published with every event${perEvent.length ? ` (${perEvent.join(', ')})` : ''}: ${usd(prices.metricPerMonth)} each a month, prorated over the ${Math.round(hoursWithEvents)} of ${hours} hours that have an event`,
    monthly: (perEvent.length * prices.metricPerMonth * hoursWithEvents) / hours,
  });
  lines.push({
    item: 'CloudWatch metrics, on failure',
    basis: `${plural(onFailure.length, 'custom metric')} published only in an hour something fails (${onFailure.join(', ')}): $${round(prices.metricPerMonth / hours)} each per such hour, none in a healthy month ($${round(onFailure.length * prices.metricPerMonth)} if each failed every hour)`,
    monthly: 0,
  });

  const alarms = ofType('AWS::CloudWatch::Alarm');
  const alarmMetrics = alarms.map((r) => {
    const p = props(r);
    // A metric-math alarm bills each metric it reads, not the expression.
    const metrics = Array.isArray(p.Metrics)
      ? (p.Metrics as Array<{ MetricStat?: { Period?: number } }>).filter((m) => m.MetricStat)
      : [{ MetricStat: { Period: p.Period as number | undefined } }];
    return metrics.map((m) =>
      (m.MetricStat?.Period ?? 60) < 60 ? prices.alarmHighResolutionPerMonth : prices.alarmPerMonth,
    );
  });
  const composite = ofType('AWS::CloudWatch::CompositeAlarm').length;
  const metricCount = alarmMetrics.flat().length;
  lines.push({
    item: 'CloudWatch alarms',
    basis: `${plural(alarms.length, 'alarm')} evaluating ${plural(metricCount, 'metric')}${composite ? ` and ${plural(composite, 'composite alarm')}` : ''}, ${usd(prices.alarmPerMonth)} a metric a month (${usd(prices.alarmHighResolutionPerMonth)} at high resolution); an account's first 10 alarm metrics are free, not counted here`,
    monthly:
      alarmMetrics.flat().reduce((sum, price) => sum + price, 0) + composite * prices.compositeAlarmPerMonth,
  });

  const dashboards = ofType('AWS::CloudWatch::Dashboard');
  const otherDashboards = input.otherDashboards ?? 0;
  const billedDashboards = Math.min(
    dashboards.length,
    Math.max(0, dashboards.length + otherDashboards - prices.freeDashboardsPerAccount),
  );
  const logWidgets = dashboards
    .map((r) => JSON.stringify(props(r).DashboardBody ?? '').split('\\"type\\":\\"log\\"').length - 1)
    .reduce((sum, n) => sum + n, 0);
  lines.push({
    item: 'CloudWatch dashboards',
    basis: `${plural(dashboards.length, 'dashboard')}; an account's first ${prices.freeDashboardsPerAccount} are free, then ${usd(prices.dashboardPerMonth)} each a month: ${billedDashboards} billed with ${otherDashboards} other in the account. Its ${plural(logWidgets, 'Logs Insights widget')} bill $${prices.logsInsightsPerGbScanned} per GB scanned when viewed (a day of logs at 20,000 events a month is under 1 MB), not counted`,
    monthly: billedDashboards * prices.dashboardPerMonth,
  });

  const secrets = ofType('AWS::SecretsManager::Secret').length;
  lines.push({
    item: 'Secrets Manager',
    basis: `${plural(secrets, 'secret')} holding the providers' credentials, ${usd(prices.secretPerMonth)} each a month. It stays a secret: CloudFormation cannot create an SSM SecureString parameter, a standard-tier parameter holds at most 4 KB, and deployed stacks keep their credentials in the secret`,
    monthly: secrets * prices.secretPerMonth,
  });
  // The ingest function re-reads the secret when a request finds its copy older than the refresh
  // interval: at most once per delivery, and at most once per interval while an instance is warm.
  const refreshSeconds = resources
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => (props(r).Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables)
    .map((variables) => Number(variables?.SECRET_REFRESH_SECONDS))
    .find((seconds) => seconds > 0);
  if (refreshSeconds !== undefined) {
    const reads = Math.min(events, (hours * 3600) / refreshSeconds);
    lines.push({
      item: 'Secrets Manager reads',
      basis: `${Math.round(reads).toLocaleString('en-US')} GetSecretValue calls: one per delivery at most, and one per ${refreshSeconds} s refresh while an instance is warm (one at a time at this volume), ${usd(prices.secretsManagerPerApiCall * 10_000)} per 10,000`,
      monthly: reads * prices.secretsManagerPerApiCall,
    });
  }

  const sqsMappings = ofType('AWS::Lambda::EventSourceMapping').filter((r) =>
    JSON.stringify(props(r).EventSourceArn ?? '').includes(':sqs:'),
  ).length;
  const receives = sqsMappings * idleSqsPolling.pollers * idleSqsPolling.receivesPerMinute * 60 * hours;
  lines.push({
    item: 'SQS idle polling',
    basis: `${plural(sqsMappings, 'event source mapping')}: ${idleSqsPolling.pollers} pollers × ${idleSqsPolling.receivesPerMinute} ReceiveMessage a minute (20 s long polls) = ${receives.toLocaleString('en-US')} requests a month, within SQS's always-free million but counted at list price`,
    monthly: receives * prices.sqsPerRequest,
  });

  const rounded = lines.map((line) => ({ ...line, monthly: round(line.monthly) }));
  return {
    events,
    lines: rounded,
    total: round(lines.reduce((sum, line) => sum + line.monthly, 0)),
    prices,
  };
}

/**
 * The default deployment's templates (the top-level stack and its nested data stack), synthesized
 * in this process as `cdk synth` would with `cdk.json`'s context and `context` on top (as `-c`),
 * without bundling the functions: what {@link monthlyCost} counts. Takes a few seconds (cdk-nag
 * runs too).
 */
export async function deploymentTemplates(context: Record<string, unknown> = {}): Promise<CfnTemplate[]> {
  const [{ App }, { Template }, { addWebhookStacks }] = await Promise.all([
    import('aws-cdk-lib'),
    import('aws-cdk-lib/assertions'),
    import('../cdk/webhooks.ts'),
  ]);
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context },
  });
  const { stack, stateful } = addWebhookStacks(app);
  return [Template.fromStack(stack).toJSON(), Template.fromStack(stateful).toJSON()] as CfnTemplate[];
}
