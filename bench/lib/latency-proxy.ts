import { createConnection, createServer, type Socket } from 'node:net';
import { parentPort, Worker, workerData } from 'node:worker_threads';

/**
 * A TCP proxy that holds every chunk for `delayMs` before passing it on, in each direction: put in
 * front of DynamoDB Local, it adds a network round trip of about `2 × delayMs` to every request, as
 * the network between a Lambda function and DynamoDB in the same region does (a few ms each way).
 * Chunks are delayed from their arrival, not one after the other, so a request split over several
 * chunks pays the delay once; order is kept (timers of the same duration fire in the order they were
 * set). It runs in a worker thread, so the timers fire on time while the benchmark's own thread is
 * busy; a connection's first bytes wait for the upstream connection as well (once per socket: the
 * SDK keeps connections alive).
 */

export interface LatencyProxyInput {
  targetHost: string;
  targetPort: number;
  /** Delay added to each chunk, in each direction. */
  delayMs: number;
}

export interface LatencyProxyStats {
  connections: number;
  chunksUp: number;
  chunksDown: number;
  bytesUp: number;
  bytesDown: number;
}

export interface LatencyProxy {
  /** `http://127.0.0.1:<port>`: give it to a DynamoDB client as its endpoint. */
  endpoint: string;
  delayMs: number;
  stop(): Promise<LatencyProxyStats>;
}

type ProxyMessage =
  | { type: 'listening'; port: number }
  | { type: 'stopped'; stats: LatencyProxyStats }
  | { type: 'failed'; error: string };

/** Starts the proxy in a worker thread, in front of `target` (`http://host:port`). */
export async function startLatencyProxy(target: string, delayMs: number): Promise<LatencyProxy> {
  const url = new URL(target);
  const input: LatencyProxyInput = {
    targetHost: url.hostname,
    targetPort: Number(url.port),
    delayMs,
  };
  const worker = new Worker(new URL('./latency-proxy.ts', import.meta.url), {
    workerData: { latencyProxy: input },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: ProxyMessage) => {
      if (message.type === 'listening') resolve(message.port);
      else
        reject(
          new Error(`latency proxy failed: ${message.type === 'failed' ? message.error : message.type}`),
        );
    });
    worker.once('error', reject);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    delayMs,
    async stop() {
      const stopped = new Promise<LatencyProxyStats>((resolve, reject) => {
        worker.once('message', (message: ProxyMessage) => {
          if (message.type === 'stopped') resolve(message.stats);
          else reject(new Error(`latency proxy failed: ${message.type === 'failed' ? message.error : ''}`));
        });
        setTimeout(() => reject(new Error('latency proxy did not stop')), 10_000).unref();
      });
      worker.postMessage({ type: 'stop' });
      try {
        return await stopped;
      } finally {
        await worker.terminate();
      }
    },
  };
}

/** Forwards `from` to `to`, each chunk `delayMs` after it arrived; the end and errors follow the data. */
function pipeDelayed(from: Socket, to: Socket, delayMs: number, count: (bytes: number) => void) {
  let pending = 0;
  let ended = false;
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    pending += 1;
    setTimeout(() => {
      pending -= 1;
      if (!to.destroyed && !to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      if (ended && pending === 0) to.end();
    }, delayMs);
  });
  from.on('end', () => {
    ended = true;
    if (pending === 0) setTimeout(() => to.end(), delayMs);
  });
  from.on('error', () => setTimeout(() => to.destroy(), delayMs));
  from.on('close', () => {
    if (!ended) setTimeout(() => to.destroy(), delayMs);
  });
}

function serve(input: LatencyProxyInput, port: NonNullable<typeof parentPort>) {
  const stats: LatencyProxyStats = { connections: 0, chunksUp: 0, chunksDown: 0, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    stats.connections += 1;
    const upstream = createConnection({ host: input.targetHost, port: input.targetPort });
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    pipeDelayed(client, upstream, input.delayMs, (bytes) => {
      stats.chunksUp += 1;
      stats.bytesUp += bytes;
    });
    pipeDelayed(upstream, client, input.delayMs, (bytes) => {
      stats.chunksDown += 1;
      stats.bytesDown += bytes;
    });
  });
  server.on('error', (error) =>
    port.postMessage({ type: 'failed', error: String(error) } satisfies ProxyMessage),
  );
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    port.postMessage({
      type: 'listening',
      port: typeof address === 'object' && address ? address.port : 0,
    } satisfies ProxyMessage);
  });
  port.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    for (const socket of sockets) socket.destroy();
    server.close(() => port.postMessage({ type: 'stopped', stats } satisfies ProxyMessage));
  });
}

const data = workerData as { latencyProxy?: LatencyProxyInput } | null;
if (parentPort && data?.latencyProxy) serve(data.latencyProxy, parentPort);
