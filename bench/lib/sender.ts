import { parentPort, workerData } from 'node:worker_threads';
import pLimit from 'p-limit';
import { sign } from '#providers/cooledge';

/**
 * The load generator, in a worker thread so its event loop does not share time with the server it
 * measures. Behaves like a provider: signs Cooledge deliveries when sending them, and retries a 503
 * or a connection error after a pause (a provider retries until it gets a 2xx).
 */

export interface Delivery {
  path: string;
  body: string;
  /** Sign with the Cooledge secret at send time (header added by the sender). */
  signed: boolean;
}

export interface SenderInput {
  baseUrl: string;
  deliveries: Delivery[];
  concurrency: number;
  secret: string;
  maxAttempts: number;
}

export interface SenderOutput {
  /** Per delivery: the final status (0 when every attempt failed to connect). */
  statuses: number[];
  /** Per delivery: latency of the final attempt in milliseconds. */
  latencies: number[];
  /** Per delivery: the event key the receiver answered with, if any. */
  keys: Array<string | null>;
  attempts: number;
  startedAt: number;
  endedAt: number;
}

async function send(input: SenderInput): Promise<SenderOutput> {
  const n = input.deliveries.length;
  const out: SenderOutput = {
    statuses: new Array(n).fill(0),
    latencies: new Array(n).fill(0),
    keys: new Array(n).fill(null),
    attempts: 0,
    startedAt: Date.now(),
    endedAt: 0,
  };
  await pLimit(input.concurrency).map(input.deliveries, async (delivery, i) => {
    for (let attempt = 1; attempt <= input.maxAttempts; attempt++) {
      out.attempts += 1;
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'bench' };
      if (delivery.signed) headers['x-cooledge-signature'] = sign(delivery.body, input.secret, 'timestamped');
      const started = performance.now();
      let status = 0;
      let key: string | null = null;
      try {
        const response = await fetch(`${input.baseUrl}${delivery.path}`, {
          method: 'POST',
          headers,
          body: delivery.body,
        });
        status = response.status;
        const json = (await response.json()) as { event_key?: string };
        key = json.event_key ?? null;
      } catch {
        status = 0;
      }
      out.latencies[i] = performance.now() - started;
      out.statuses[i] = status;
      out.keys[i] = key;
      if (status !== 503 && status !== 0) break;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  });
  out.endedAt = Date.now();
  return out;
}

if (parentPort && workerData) {
  const port = parentPort;
  send(workerData as SenderInput).then(
    (result) => port.postMessage({ ok: true, result }),
    (error: unknown) => port.postMessage({ ok: false, error: String(error) }),
  );
}
