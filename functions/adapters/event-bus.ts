import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventBus, JobEventEntry, PutEventsResult } from '../publish/publish.ts';
import { clientOptions } from './client-options.ts';

/**
 * The publish function's {@link EventBus}: EventBridge `PutEvents`. A call that fails as a whole
 * (throttled, a network error, a permission) rejects after the SDK's retries; the entries
 * EventBridge refused come back in the result, for the caller to report.
 */
export class EventBridgeBus implements EventBus {
  private readonly client: EventBridgeClient;

  /** `client` defaults to one configured from the environment (`AWS_ENDPOINT_URL_EVENTBRIDGE` included). */
  constructor(client?: EventBridgeClient) {
    this.client = client ?? new EventBridgeClient(clientOptions);
  }

  async putEvents(entries: readonly JobEventEntry[]): Promise<PutEventsResult> {
    const { FailedEntryCount, Entries } = await this.client.send(
      new PutEventsCommand({ Entries: [...entries] }),
    );
    return { FailedEntryCount, Entries };
  }
}
