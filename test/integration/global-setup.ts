import type { TestProject } from 'vitest/node';
import { freePort, type RunningService, startDynamoDbLocal, startSqsEmulator } from '../../local/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

/** One DynamoDB Local (in memory) and one SQS emulator for the whole integration run. */
export default async function setup(project: TestProject) {
  const services: RunningService[] = [];
  const dynamo = await startDynamoDbLocal({ port: await freePort() });
  services.push(dynamo);
  const sqs = await startSqsEmulator({ port: 0 });
  services.push(sqs);
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', sqs.endpoint);
  return async () => {
    await Promise.all(services.map((s) => s.stop()));
  };
}
