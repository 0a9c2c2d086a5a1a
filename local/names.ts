import { queueNames } from '#infra/definitions';

/**
 * The local stack's names, region and dummy credentials: pure values, shared by the emulator
 * startup (`stack.ts`, which re-exports them) and the CLI, which must not load the emulators.
 */

export const localRegion = 'us-east-1';
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export class LocalStackError extends Error {
  override name = 'LocalStackError';
}

export interface ResourceNames {
  eventsTable: string;
  jobsTable: string;
  queue: string;
  deadLetterQueue: string;
}

/** Names for one isolated set of resources; tests use a fresh prefix per suite. */
export function resourceNames(prefix = 'local'): ResourceNames {
  return {
    eventsTable: `${prefix}-events`,
    jobsTable: `${prefix}-jobs`,
    queue: `${prefix}-${queueNames.queue}`,
    deadLetterQueue: `${prefix}-${queueNames.deadLetterQueue}`,
  };
}

export interface QueueUrls {
  queueUrl: string;
  deadLetterQueueUrl: string;
}
