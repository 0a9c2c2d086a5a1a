import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../cli/target.ts';

describe('cli target', () => {
  it('derives a deployed stage’s table names the way the CDK app names them', () => {
    const target = resolveTarget({ stage: 'prod', region: 'eu-west-1' }, {});
    try {
      expect(target.kind).toBe('aws');
      expect(target.eventsTable()).toBe('field-webhooks-prod-events');
      expect(target.jobsTable()).toBe('field-webhooks-prod-jobs');
    } finally {
      target.close();
    }
  });

  it('prefers explicit names and stack outputs over the stage', () => {
    const target = resolveTarget(
      { aws: true, 'jobs-table': 'custom-jobs' },
      { EVENTS_TABLE_NAME: 'output-events' },
    );
    try {
      expect(target.jobsTable()).toBe('custom-jobs');
      expect(target.eventsTable()).toBe('output-events');
    } finally {
      target.close();
    }
  });

  it('uses the local stack’s names and path-style queue URLs by default', async () => {
    const target = resolveTarget({ 'data-dir': '/nonexistent' }, { SQS_PORT: '4599' });
    try {
      expect(target.kind).toBe('local');
      expect(target.jobsTable()).toBe('local-jobs');
      expect(await target.deadLetterQueueUrl()).toBe(
        'http://127.0.0.1:4599/000000000000/local-webhook-events-dlq',
      );
    } finally {
      target.close();
    }
  });
});
