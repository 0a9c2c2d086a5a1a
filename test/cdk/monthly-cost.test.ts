import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, deploymentTemplates, monthlyCost, monthlyGoal } from '../../bench/cost.ts';
import { resourcesOf, synthesize } from './support.ts';

/** The monthly cost model over the deployment as `cdk synth` builds it (`npm run bench` prints it). */

let templates: CfnTemplate[];
beforeAll(async () => {
  templates = await deploymentTemplates();
});

/** The per-million total of the last `npm run bench` (bench/results.json). */
const lastPerMillion = (
  JSON.parse(readFileSync(new URL('../../bench/results.json', import.meta.url), 'utf8')) as {
    cost: { totalPerMillion: number };
  }
).cost.totalPerMillion;

describe('monthly cost of the default deployment', () => {
  it('is counted from the same templates the stack synthesizes', () => {
    const { template, statefulTemplate } = synthesize();
    const [top, nested] = templates as [CfnTemplate, CfnTemplate];
    expect(Object.keys(top.Resources ?? {}).sort()).toEqual(Object.keys(template.toJSON().Resources).sort());
    expect(Object.keys(nested.Resources ?? {}).sort()).toEqual(
      Object.keys(statefulTemplate.toJSON().Resources).sort(),
    );
    expect(resourcesOf(template, 'AWS::CloudWatch::Alarm')).toHaveLength(11);
  });

  it('meets the goal at 20,000 deliveries a month, and costs the fixed part with none', () => {
    const at = (events: number) =>
      monthlyCost({ events, perMillion: { totalPerMillion: lastPerMillion }, templates });
    const idle = at(0);
    const goal = at(monthlyGoal.events);
    expect(goal.total).toBeLessThanOrEqual(monthlyGoal.dollars);
    expect(idle.lines.map((line) => [line.item, line.monthly])).toEqual([
      ['Per delivery', 0],
      ['CloudWatch metrics, per event', 0],
      ['CloudWatch metrics, on failure', 0],
      ['CloudWatch alarms', 1.1],
      ['CloudWatch dashboards', 0],
      ['Secrets Manager', 0.4],
      ['Secrets Manager reads', 0],
      ['SQS idle polling', 0.263],
    ]);
    expect(idle.total).toBe(1.76);
    // 11 alarms, the secret, idle polling (657,000 requests), 8,760 secret reads, and the deliveries.
    expect(goal.total).toBeCloseTo(
      1.1 + 0.4 + 0.2628 + 0.0438 + (monthlyGoal.events * lastPerMillion) / 1e6,
      2,
    );
  });
});
