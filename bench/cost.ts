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
  /** CloudWatch custom metrics (EMF), first 10,000 a month. */
  metricPerMonth: 0.3,
  alarmPerMonth: 0.1,
  secretPerMonth: 0.4,
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
}

export interface CostLine {
  item: string;
  basis: string;
  perMillion: number;
}

export interface CostResult {
  lines: CostLine[];
  totalPerMillion: number;
  fixedMonthly: CostLine[];
  prices: typeof prices;
}

const gb = 1024 ** 3;

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
      basis: `event log, ${round(input.storedBytesPerEvent / 1024)} KB per event (item + index entry) kept 30 days: per million events a month`,
      perMillion: ((million * input.storedBytesPerEvent) / gb) * prices.dynamoPerGbMonth,
    },
    {
      item: 'CloudWatch Logs',
      basis: `${Math.round(input.logBytesPerEvent)} bytes per delivery (${input.logSource})`,
      perMillion: ((million * input.logBytesPerEvent) / gb) * prices.logsPerGbIngested,
    },
  ].map((line) => ({ ...line, perMillion: round(line.perMillion) }));
  const fixedMonthly: CostLine[] = [
    {
      item: 'CloudWatch metrics',
      basis: '≈ 18 EMF metric names × service dimension',
      perMillion: round(18 * prices.metricPerMonth),
    },
    { item: 'CloudWatch alarms', basis: '10 alarms', perMillion: round(10 * prices.alarmPerMonth) },
    { item: 'Secrets Manager', basis: '1 secret (reads cached)', perMillion: prices.secretPerMonth },
    {
      item: 'SQS idle polling',
      basis: 'event source mapping long-polls: ≈ 5 pollers × 3 receives a minute',
      perMillion: round(5 * 3 * 60 * 24 * 30 * prices.sqsPerRequest),
    },
  ];
  return {
    lines,
    totalPerMillion: round(lines.reduce((sum, line) => sum + line.perMillion, 0)),
    fixedMonthly,
    prices,
  };
}
