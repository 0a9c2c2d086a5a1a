import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queueNames } from '#infra/definitions';
import { deploymentNames } from '../cdk/names.ts';
import { dataDirFrom, defaultPorts, localPrefix, portFrom, readStackFile } from '../local/config.ts';
import { localCredentials, localRegion, resourceNames } from '../local/names.ts';
import { CommandError, flag, str, UsageError, type Values } from './args.ts';
import { quote } from './format.ts';

/**
 * Which stack a command talks to. Local (the default): the endpoints and names `npm start` wrote
 * to its stack file, or the default ports. Deployed (`--aws` or `--stage`): the SDK's usual
 * environment for credentials, region and endpoints; names from flags, else derived from `--stage`
 * as the CDK app does, else (`--aws` alone) the variables the stack outputs (the ones the Lambda
 * functions read).
 */
export interface Target {
  kind: 'local' | 'aws';
  /** For messages: where this is. */
  description: string;
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  eventsTable(): string;
  jobsTable(): string;
  queueUrl(): Promise<string>;
  deadLetterQueueUrl(): Promise<string>;
  close(): void;
}

type Env = Record<string, string | undefined>;

const localAccount = '000000000000';

export function resolveTarget(values: Values, env: Env): Target {
  const deployed = flag(values, 'aws') || str(values, 'stage') !== undefined;
  return deployed ? awsTarget(values, env) : localTarget(values, env);
}

function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

function localTarget(values: Values, env: Env): Target {
  if (str(values, 'region')) throw new UsageError('--region applies to a deployed stack: add --aws');
  const dataDir = dataDirFrom(env, str(values, 'data-dir'));
  const stack = readStackFile(dataDir);
  const dynamoEndpoint =
    str(values, 'dynamodb-endpoint') ??
    stack?.dynamoEndpoint ??
    `http://127.0.0.1:${portFrom(env, 'DYNAMODB_PORT', defaultPorts.dynamodb)}`;
  const sqsEndpoint =
    str(values, 'sqs-endpoint') ??
    stack?.sqsEndpoint ??
    `http://127.0.0.1:${portFrom(env, 'SQS_PORT', defaultPorts.sqs)}`;
  const names = stack?.names ?? resourceNames(localPrefix);
  const common = { region: localRegion, credentials: localCredentials, maxAttempts: 2 };
  const dynamo = new DynamoDBClient({ ...common, endpoint: dynamoEndpoint });
  const sqs = new SQSClient({ ...common, endpoint: sqsEndpoint });
  const queueUrl = str(values, 'queue-url') ?? `${sqsEndpoint}/${localAccount}/${names.queue}`;
  const dlqUrl = str(values, 'dlq-url') ?? `${sqsEndpoint}/${localAccount}/${names.deadLetterQueue}`;
  return {
    kind: 'local',
    description: `the local stack (DynamoDB ${dynamoEndpoint}, SQS ${sqsEndpoint})`,
    doc: documentClient(dynamo),
    sqs,
    eventsTable: () => str(values, 'events-table') ?? names.eventsTable,
    jobsTable: () => str(values, 'jobs-table') ?? names.jobsTable,
    queueUrl: async () => queueUrl,
    deadLetterQueueUrl: async () => dlqUrl,
    close: () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

function awsTarget(values: Values, env: Env): Target {
  const stage = str(values, 'stage');
  if (stage !== undefined && !/^[A-Za-z0-9-]+$/.test(stage)) {
    throw new UsageError(`--stage must be a stage name like prod or dev (got ${quote(stage)})`);
  }
  if (str(values, 'data-dir')) {
    // Named as given: --stage (with or without --aws), else --aws.
    const deployedBy = stage !== undefined ? `--stage ${stage}` : '--aws';
    throw new UsageError(
      `--data-dir selects a local stack and ${deployedBy} a deployed one: give only one of them`,
    );
  }
  const region = str(values, 'region');
  const dynamoEndpoint = str(values, 'dynamodb-endpoint');
  const sqsEndpoint = str(values, 'sqs-endpoint');
  // The deployed stack names its resources after the stage (`cdk/names.ts`), so a stage is enough.
  const deployed = stage === undefined ? undefined : deploymentNames(stage);
  const dynamo = new DynamoDBClient({
    ...(region ? { region } : {}),
    ...(dynamoEndpoint ? { endpoint: dynamoEndpoint } : {}),
  });
  const sqs = new SQSClient({
    ...(region ? { region } : {}),
    ...(sqsEndpoint ? { endpoint: sqsEndpoint } : {}),
  });
  // A stage is as explicit as a flag, and exported stack outputs may be another stage's: with
  // --stage they are ignored, so `--stage dev` never reads or writes prod's resources.
  const output = (variable: string) => (deployed ? undefined : env[variable]);
  const named = (flagName: string, variable: string, fromStage: string | undefined, what: string) => {
    const value = str(values, flagName) ?? fromStage ?? output(variable);
    if (!value) {
      throw new UsageError(
        `the deployed stack's ${what} is needed: pass --stage, or --${flagName}, or set ${variable} (a stack output)`,
      );
    }
    return value;
  };
  const queueByName = async (name: string) => {
    const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!out.QueueUrl) throw new CommandError(`the queue ${name} was not found`);
    return out.QueueUrl;
  };
  let queue: Promise<string> | undefined;
  let dlq: Promise<string> | undefined;
  const queueUrl = () => {
    const given = str(values, 'queue-url') ?? output('QUEUE_URL');
    if (given) return Promise.resolve(given);
    queue ??= queueByName(named('queue-url', 'QUEUE_URL', deployed?.queue, 'queue URL'));
    return queue;
  };
  return {
    kind: 'aws',
    description: `AWS${stage ? ` stage ${stage}` : ''}${region ? ` (${region})` : ''}`,
    doc: documentClient(dynamo),
    sqs,
    eventsTable: () => named('events-table', 'EVENTS_TABLE_NAME', deployed?.eventsTable, 'events table'),
    jobsTable: () => named('jobs-table', 'JOBS_TABLE_NAME', deployed?.jobsTable, 'jobs table'),
    queueUrl,
    deadLetterQueueUrl: () => {
      const given = str(values, 'dlq-url') ?? output('DEAD_LETTER_QUEUE_URL');
      if (given) return Promise.resolve(given);
      dlq ??= deployed
        ? queueByName(deployed.deadLetterQueue)
        : queueUrl().then((url) => deadLetterQueueOf(sqs, url));
      return dlq;
    },
    close: () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

/** The DLQ named by the queue's redrive policy, so operators only need the queue URL. */
async function deadLetterQueueOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const arn = Attributes?.RedrivePolicy
    ? (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string }).deadLetterTargetArn
    : undefined;
  const [, , , , account, name] = arn?.split(':') ?? [];
  if (!name || !account) {
    throw new CommandError(
      `the queue has no redrive policy: pass --dlq-url (e.g. …/${queueNames.deadLetterQueue})`,
    );
  }
  const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }));
  if (!out.QueueUrl) throw new CommandError(`the dead-letter queue ${name} was not found`);
  return out.QueueUrl;
}
