import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';
import { type RunningService, startDynamoDbLocal, startSqsEmulator } from '../../local/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
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
