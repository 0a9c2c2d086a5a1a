import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Fault injection on a real DynamoDB client, for the reliability tests, the chaos run and the
 * benchmarks. Faults are thrown by client middleware around the real call, so everything above —
 * the SDK's retry strategy (when injected below it), the store, the consumer, SQS redelivery —
 * runs as it would against a misbehaving DynamoDB.
 *
 * - `throttle`:       `ThrottlingException` before the request is sent (nothing written)
 * - `server-error`:   HTTP 500 `InternalServerError` before the request is sent (nothing written)
 * - `timeout-before`: the request hangs, then `TimeoutError`; it never reached the table
 * - `timeout-after`:  the request reached the table and committed, then the response was lost
 */
export type Fault = 'throttle' | 'server-error' | 'timeout-before' | 'timeout-after';

export const allFaults: readonly Fault[] = ['throttle', 'server-error', 'timeout-before', 'timeout-after'];

/** Decides, per request attempt, whether to inject a fault and which. */
export type FaultPlan = (commandName: string) => Fault | undefined;

export interface FaultOptions {
  /**
   * `sdk`: below the SDK's retry middleware, so the SDK retries (as it does for real throttles);
   * `caller`: above it, so the error reaches the store and the record fails (SQS redelivers).
   */
  layer: 'sdk' | 'caller';
  /** How long a `timeout-*` request hangs before failing. */
  hangMs?: number;
}

export interface FaultInjector {
  /** Faults injected so far, by kind. */
  readonly injected: Record<Fault, number>;
  total(): number;
}

function faultError(fault: Fault): Error {
  switch (fault) {
    case 'throttle':
      return Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400, attempts: 1 },
      });
    case 'server-error':
      return Object.assign(new Error('Internal server error'), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500, attempts: 1 },
      });
    default:
      return Object.assign(new Error('Connection timed out after 1000 ms'), {
        name: 'TimeoutError',
        $metadata: { attempts: 1 },
      });
  }
}

/** Adds the fault middleware to a real client. The plan is consulted for every attempt. */
export function injectFaults(client: DynamoDBClient, plan: FaultPlan, options: FaultOptions): FaultInjector {
  const injected: Record<Fault, number> = {
    throttle: 0,
    'server-error': 0,
    'timeout-before': 0,
    'timeout-after': 0,
  };
  const hangMs = options.hangMs ?? 20;
  type Next = (args: unknown) => Promise<unknown>;
  const middleware = (next: Next, context: { commandName?: string }) => async (args: unknown) => {
    const fault = plan(context.commandName ?? '');
    if (fault === undefined) return next(args);
    injected[fault] += 1;
    if (fault === 'timeout-after') {
      await next(args);
      await new Promise((r) => setTimeout(r, hangMs));
      throw faultError(fault);
    }
    if (fault === 'timeout-before') await new Promise((r) => setTimeout(r, hangMs));
    throw faultError(fault);
  };
  // The SDK's retry middleware sits in `finalizeRequest`: below it the SDK retries, above it not.
  const add = client.middlewareStack.add.bind(client.middlewareStack) as (
    middleware: unknown,
    options: { step: string; priority: string; name: string },
  ) => void;
  add(
    middleware,
    options.layer === 'sdk'
      ? { step: 'deserialize', priority: 'low', name: 'injectFaultBelowRetry' }
      : { step: 'initialize', priority: 'high', name: 'injectFaultAboveRetry' },
  );
  return {
    injected,
    total: () => Object.values(injected).reduce((a, b) => a + b, 0),
  };
}

/** A plan that fails about `rate` of the attempts of the given commands, picking a fault kind at random. */
export function randomFaults(
  rate: number,
  random: () => number = Math.random,
  commands: ReadonlySet<string> = new Set(['TransactWriteItemsCommand', 'PutItemCommand']),
  kinds: readonly Fault[] = allFaults,
): FaultPlan {
  return (commandName) => {
    if (!commands.has(commandName) || random() >= rate) return undefined;
    return kinds[Math.floor(random() * kinds.length)];
  };
}
