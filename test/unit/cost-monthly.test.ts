import { describe, expect, it } from 'vitest';
import { customMetrics } from '#core/ports';
import { type CfnTemplate, type MonthlyCostInputs, monthlyCost, prices } from '../../bench/cost.ts';

/** The monthly model over hand-written templates: each line counted from what they hold. */

type Resources = NonNullable<CfnTemplate['Resources']>;

const alarm = (properties: Record<string, unknown> = {}) => ({
  Type: 'AWS::CloudWatch::Alarm',
  Properties: { MetricName: '5xx', Namespace: 'AWS/ApiGateway', Period: 300, ...properties },
});
const queueMapping = {
  Type: 'AWS::Lambda::EventSourceMapping',
  Properties: {
    EventSourceArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:us-east-1:1:q']] },
  },
};
const ingestFunction = (refreshSeconds: string) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Environment: { Variables: { SECRET_REFRESH_SECONDS: refreshSeconds } } },
});

function cost(resources: Resources, overrides: Partial<MonthlyCostInputs> = {}) {
  const result = monthlyCost({
    events: 0,
    perMillion: { totalPerMillion: 10 },
    templates: [{ Resources: resources }],
    metrics: {},
    ...overrides,
  });
  const line = (item: string) => {
    const found = result.lines.find((l) => l.item === item);
    if (!found) throw new Error(`no line ${item}: ${result.lines.map((l) => l.item).join(', ')}`);
    return found;
  };
  return { ...result, line };
}

describe('monthly cost', () => {
  it('charges each delivery what the per-million model says', () => {
    expect(cost({}, { events: 20_000 }).line('Per delivery')).toMatchObject({
      monthly: 0.2,
      basis: '20,000 deliveries × $10 per million (the per-million model)',
    });
    expect(cost({}).line('Per delivery').monthly).toBe(0);
  });

  it('charges each metric an alarm evaluates, a metric-math alarm for each metric it reads', () => {
    const { line } = cost({
      Plain: alarm(),
      Math: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          Metrics: [
            { Id: 'a', MetricStat: { Metric: { MetricName: 'Errors' }, Period: 300, Stat: 'Sum' } },
            { Id: 'b', MetricStat: { Metric: { MetricName: 'Throttles' }, Period: 300, Stat: 'Sum' } },
            { Id: 'total', Expression: 'a + b' },
          ],
        },
      },
      HighResolution: alarm({ Period: 10 }),
      Composite: { Type: 'AWS::CloudWatch::CompositeAlarm' },
    });
    expect(line('CloudWatch alarms').monthly).toBeCloseTo(0.1 + 0.2 + 0.3 + 0.5);
    expect(line('CloudWatch alarms').basis).toMatch(/^3 alarms evaluating 4 metrics and 1 composite alarm, /);
  });

  it('charges a metric published with every event for the hours that have one, and one published on failure nothing', () => {
    const metrics = { Applied: 'perEvent', Conflict: 'failure', Unprocessable: 'failure' } as const;
    const at = (events: number) =>
      cost({}, { events, metrics }).line('CloudWatch metrics, per event').monthly;
    expect(at(0)).toBe(0);
    // 20,000 events a month leave no hour of the 730 without one.
    expect(at(20_000)).toBe(prices.metricPerMonth);
    // 730 events a month: an hour has none with probability 1/e.
    expect(at(730)).toBeCloseTo(prices.metricPerMonth * (1 - Math.exp(-1)), 3);
    const onFailure = cost({}, { events: 20_000, metrics }).line('CloudWatch metrics, on failure');
    expect(onFailure.monthly).toBe(0);
    expect(onFailure.basis).toMatch(
      /^2 custom metrics published only in an hour something fails \(Conflict, Unprocessable\)/,
    );
  });

  it('counts a log metric filter as published with every event only when it has a default value', () => {
    const filter = (name: string, defaultValue?: number) => ({
      Type: 'AWS::Logs::MetricFilter',
      Properties: {
        MetricTransformations: [
          {
            MetricName: name,
            MetricValue: '1',
            ...(defaultValue === undefined ? {} : { DefaultValue: defaultValue }),
          },
        ],
      },
    });
    const { line } = cost(
      { Throttled: filter('ApiThrottled'), Lines: filter('Lines', 0) },
      { events: 20_000 },
    );
    expect(line('CloudWatch metrics, per event')).toMatchObject({ monthly: prices.metricPerMonth });
    expect(line('CloudWatch metrics, per event').basis).toContain('(Lines)');
    expect(line('CloudWatch metrics, on failure').basis).toContain('(ApiThrottled)');
  });

  it('takes the functions’ own list of metrics by default: none of them published with every event', () => {
    const { line } = cost({}, { events: 20_000, metrics: undefined });
    expect(line('CloudWatch metrics, per event').monthly).toBe(0);
    expect(line('CloudWatch metrics, on failure').basis).toMatch(
      new RegExp(`^${Object.keys(customMetrics).length} custom metrics `),
    );
  });

  it('charges a dashboard only beyond the 3 an account has free, and names its Logs Insights widgets', () => {
    const dashboard = {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardBody: {
          'Fn::Join': ['', ['{"widgets":[{"type":"log"},{"type":"metric"},{"type":"log"}]}']],
        },
      },
    };
    expect(cost({ Dashboard: dashboard }).line('CloudWatch dashboards')).toMatchObject({
      monthly: 0,
      basis: expect.stringContaining('0 billed with 0 other in the account. Its 2 Logs Insights widgets'),
    });
    expect(cost({ Dashboard: dashboard }, { otherDashboards: 2 }).line('CloudWatch dashboards').monthly).toBe(
      0,
    );
    expect(cost({ Dashboard: dashboard }, { otherDashboards: 3 }).line('CloudWatch dashboards').monthly).toBe(
      prices.dashboardPerMonth,
    );
  });

  it('charges each secret, and its reads: one per delivery at most, one per refresh interval while warm', () => {
    const resources = { Secret: { Type: 'AWS::SecretsManager::Secret' }, Ingest: ingestFunction('300') };
    expect(cost(resources).line('Secrets Manager').monthly).toBe(prices.secretPerMonth);
    expect(cost(resources).line('Secrets Manager reads').monthly).toBe(0);
    expect(cost(resources, { events: 1_000 }).line('Secrets Manager reads').monthly).toBeCloseTo(0.005);
    // 730 hours of 300 s refreshes: 8,760 reads.
    expect(cost(resources, { events: 20_000 }).line('Secrets Manager reads')).toMatchObject({
      monthly: 0.0438,
      basis: expect.stringMatching(/^8,760 GetSecretValue calls/),
    });
  });

  it('charges the event source mapping’s idle polling of an SQS queue, and no other mapping’s', () => {
    const stream = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { EventSourceArn: 'arn:aws:kinesis:…' },
    };
    expect(cost({ Queue: queueMapping, Stream: stream }).line('SQS idle polling')).toMatchObject({
      // 5 pollers × 3 a minute × 60 × 730 = 657,000 requests at $0.40 a million.
      monthly: 0.263,
      basis: expect.stringContaining('1 event source mapping: 5 pollers × 3 ReceiveMessage a minute'),
    });
  });

  it('adds the lines up, counting resources across every template given', () => {
    const result = monthlyCost({
      events: 20_000,
      perMillion: { totalPerMillion: 11 },
      templates: [
        { Resources: { A: alarm(), B: alarm(), Mapping: queueMapping, Ingest: ingestFunction('300') } },
        { Resources: { Secret: { Type: 'AWS::SecretsManager::Secret' } } },
      ],
    });
    expect(result.events).toBe(20_000);
    expect(result.total).toBeCloseTo(0.22 + 0.2 + 0.4 + 0.0438 + 0.2628, 2);
    expect(result.total).toBeCloseTo(
      result.lines.reduce((sum, line) => sum + line.monthly, 0),
      2,
    );
  });
});
