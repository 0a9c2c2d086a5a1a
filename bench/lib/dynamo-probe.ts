import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Counts what a client asks of DynamoDB: HTTP requests per operation (SDK retries included, since
 * the counter sits below the retry middleware) and the write and read units DynamoDB reports. The
 * store does not ask for `ReturnConsumedCapacity`; the probe adds it, which changes only the size of
 * the response.
 */
export interface DynamoProbe {
  readonly requests: Map<string, number>;
  writeUnits: number;
  readUnits: number;
  /** Write units by table and index, tables named by their suffix (`events`, `jobs`). */
  readonly writeUnitsByTarget: Map<string, number>;
  totalRequests(): number;
  reset(): void;
  /** Every `TransactWriteItems` input seen, when capturing (to replay the same shape as a floor). */
  readonly transactions: Array<Record<string, unknown>>;
  capture: boolean;
}

const writeCommands = new Set([
  'TransactWriteItemsCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
]);

interface Capacity {
  TableName?: string;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  CapacityUnits?: number;
  WriteCapacityUnits?: number;
  ReadCapacityUnits?: number;
}

function add(map: Map<string, number>, key: string, value: number) {
  map.set(key, (map.get(key) ?? 0) + value);
}

export function probe(client: DynamoDBClient): DynamoProbe {
  const state: DynamoProbe = {
    requests: new Map(),
    writeUnits: 0,
    readUnits: 0,
    writeUnitsByTarget: new Map(),
    transactions: [],
    capture: false,
    totalRequests: () => [...state.requests.values()].reduce((a, b) => a + b, 0),
    reset() {
      state.requests.clear();
      state.writeUnits = 0;
      state.readUnits = 0;
      state.writeUnitsByTarget.clear();
      state.transactions.length = 0;
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      const input = args.input as Record<string, unknown>;
      if (writeCommands.has(name)) input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        if (writeCommands.has(name)) {
          state.writeUnits += c.WriteCapacityUnits ?? c.CapacityUnits ?? 0;
          const table = c.TableName?.split('-').pop() ?? 'table';
          add(state.writeUnitsByTarget, `${table} table`, c.Table?.CapacityUnits ?? 0);
          for (const [index, units] of Object.entries(c.GlobalSecondaryIndexes ?? {})) {
            add(state.writeUnitsByTarget, `${table} GSI ${index}`, units.CapacityUnits ?? 0);
          }
        } else state.readUnits += c.ReadCapacityUnits ?? c.CapacityUnits ?? 0;
      }
      return result;
    },
    { step: 'initialize', priority: 'low', name: 'benchCapacityProbe' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // At the build step lib-dynamodb has marshalled the input: it can be replayed as is.
      if (state.capture && context.commandName === 'TransactWriteItemsCommand') {
        state.transactions.push(structuredClone(args.input as Record<string, unknown>));
      }
      return next(args);
    },
    { step: 'build', priority: 'high', name: 'benchTransactionCapture' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      state.requests.set(name, (state.requests.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchRequestCounter' },
  );
  return state;
}
