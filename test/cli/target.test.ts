import { describe, expect, it } from 'vitest';
import { deploymentNames } from '../../cdk/names.ts';
import { resolveTarget, type Target } from '../../cli/target.ts';

const queueUrlOf = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;

/** Answers GetQueueUrl before it leaves the client, as SQS would for a queue of that name. */
function answerGetQueueUrl(target: Target): void {
  target.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'GetQueueUrlCommand') return next(args);
      const { QueueName } = args.input as { QueueName: string };
      return { output: { QueueUrl: queueUrlOf(QueueName), $metadata: {} }, response: {} } as never;
    },
    { step: 'initialize' },
  );
}

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

  it('prefers a stage over exported stack outputs, which may be another stage’s', async () => {
    const prod = deploymentNames('prod');
    const target = resolveTarget(
      { stage: 'dev', region: 'eu-west-1' },
      {
        EVENTS_TABLE_NAME: prod.eventsTable,
        JOBS_TABLE_NAME: prod.jobsTable,
        QUEUE_URL: queueUrlOf(prod.queue),
        DEAD_LETTER_QUEUE_URL: queueUrlOf(prod.deadLetterQueue),
      },
    );
    try {
      answerGetQueueUrl(target);
      const dev = deploymentNames('dev');
      expect(target.eventsTable()).toBe(dev.eventsTable);
      expect(target.jobsTable()).toBe(dev.jobsTable);
      expect(await target.queueUrl()).toBe(queueUrlOf(dev.queue));
      expect(await target.deadLetterQueueUrl()).toBe(queueUrlOf(dev.deadLetterQueue));
    } finally {
      target.close();
    }
  });

  it('lets a flag override one name of a stage', async () => {
    const target = resolveTarget(
      { stage: 'dev', region: 'eu-west-1', 'queue-url': queueUrlOf('scratch'), 'jobs-table': 'scratch-jobs' },
      { QUEUE_URL: queueUrlOf(deploymentNames('prod').queue) },
    );
    try {
      answerGetQueueUrl(target);
      expect(await target.queueUrl()).toBe(queueUrlOf('scratch'));
      expect(target.jobsTable()).toBe('scratch-jobs');
      expect(await target.deadLetterQueueUrl()).toBe(queueUrlOf(deploymentNames('dev').deadLetterQueue));
    } finally {
      target.close();
    }
  });

  it('prefers explicit names over stack outputs without a stage', () => {
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
