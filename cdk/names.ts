import { eventsTable, jobsTable, queueNames } from '#infra/definitions';
import type { DeploymentConfig } from './config.ts';

/**
 * Every physical name a deployment uses, derived from its stage. Both halves of the stack compute
 * them here, so the code finds the nested stateful stack's resources by name rather than by
 * reference (which CDK would wire through outputs of the nested template, so the data template would
 * change whenever the code's use of it did), and the CLI can derive them from a stage alone. The one
 * exception is the jobs table's stream, whose ARN ends in a label DynamoDB picks (`job-events.ts`).
 * Fixed names on the tables also mean CloudFormation refuses, rather than performs, any change that
 * would replace them.
 */
export interface DeploymentNames {
  /** The one top-level CloudFormation stack, so a bare `npx cdk deploy` deploys the stage. */
  readonly stack: string;
  readonly eventsTable: string;
  readonly jobsTable: string;
  readonly queue: string;
  readonly deadLetterQueue: string;
  /** Secrets Manager secret holding the credentials, `{"<provider>": <its credentials>, …}` (docs/http.md). */
  readonly credentialsSecret: string;
  readonly alarmTopic: string;
  /**
   * Every alarm's name starts with it (`field-webhooks-<stage>/`); the alarm topic lets exactly
   * these publish, and no other stage's alarm name can start with it.
   */
  readonly alarmPrefix: string;
  readonly dashboard: string;
  /** CloudWatch namespace of the functions' embedded metrics; per stage so stages never mix. */
  readonly metricsNamespace: string;
  /** EventBridge event bus every change to a job is published to (`job-events.ts`). */
  readonly jobEventBus: string;
  /** SQS queue where the event source mapping on the jobs table's stream puts the batches it could not publish. */
  readonly jobEventsDeadLetterQueue: string;
  /** The optional example subscriber's rule, connection and API destination (`jobEventsForwardUrl`). */
  readonly jobEventsForward: string;
  /** SQS queue where the example subscriber's rule puts the events it could not deliver. */
  readonly jobEventsForwardDeadLetterQueue: string;
}

/** Mirrors the local runner's `<prefix>-events`, `<prefix>-webhook-events`, … naming. */
export function deploymentNames(stage: string): DeploymentNames {
  const prefix = `field-webhooks-${stage}`;
  return {
    stack: prefix,
    eventsTable: `${prefix}-${eventsTable.id.toLowerCase()}`,
    jobsTable: `${prefix}-${jobsTable.id.toLowerCase()}`,
    queue: `${prefix}-${queueNames.queue}`,
    deadLetterQueue: `${prefix}-${queueNames.deadLetterQueue}`,
    credentialsSecret: `field-webhooks/${stage}/credentials`,
    alarmTopic: `${prefix}-alarms`,
    // `/`, not `-`: a stage name cannot contain `/` (config.ts), so `field-webhooks-prod/*` in the
    // alarm topic's policy matches this stage's alarms and never stage `prod-eu`'s, which
    // `field-webhooks-prod-*` did. (CloudWatch alarm names may contain `/`.)
    alarmPrefix: `${prefix}/`,
    dashboard: prefix,
    metricsNamespace: `FieldWebhooks/${stage}`,
    jobEventBus: `${prefix}-job-events`,
    jobEventsDeadLetterQueue: `${prefix}-job-events-dlq`,
    jobEventsForward: `${prefix}-job-events-forward`,
    jobEventsForwardDeadLetterQueue: `${prefix}-job-events-forward-dlq`,
  };
}

/**
 * {@link deploymentNames} with the tables and the secret this deployment adopts instead of creating
 * (`existingEventsTable`, `existingJobsTable`, `existingSecretName`): everything that finds them by
 * name, the functions' environment, their permissions and the outputs, then finds the kept ones.
 */
export function withAdopted(
  names: DeploymentNames,
  adopted: Pick<DeploymentConfig, 'existingEventsTable' | 'existingJobsTable' | 'existingSecretName'>,
): DeploymentNames {
  return {
    ...names,
    eventsTable: adopted.existingEventsTable ?? names.eventsTable,
    jobsTable: adopted.existingJobsTable ?? names.jobsTable,
    credentialsSecret: adopted.existingSecretName ?? names.credentialsSecret,
  };
}
