import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '#core/json';
import { eventKey as zenbookerEventKey } from '#providers/zenbooker';
import { deliveryIds } from '../../cli/send.ts';
import { cli } from './run-cli.ts';

/** A receiver that answers every delivery with `reply`, and records what it got. */
let reply: { status: number; body: unknown } = { status: 202, body: {} };
/** The bodies received, in order. */
let received: string[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(reply.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  reply = { status: 202, body: { status: 'accepted', event_key: 'evt_1' } };
  received = [];
});

describe('cli send: what to look at next', () => {
  it('after an accepted event, `jobs`', async () => {
    const result = await cli(['send', '--url', url, '--data-dir', '/tmp/a b']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^202 accepted {2}cooledge job\.completed/);
    expect(result.stdout).toContain("see it stored: npm run cli -- jobs --data-dir '/tmp/a b'\n");
  });

  it('after a quarantined event, `events --outcome quarantined` (it never reaches a job)', async () => {
    reply = { status: 202, body: { status: 'quarantined', event_key: 'evt_q' } };
    const result = await cli(['send', '--url', url]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('-- jobs');
    expect(result.stdout).toContain('  npm run cli -- events --outcome quarantined\n');
    expect(result.stdout).toContain('  npm run cli -- events show evt_q\n');
  });

  it('after a 401, that this terminal’s secret differs from the stack’s, without printing it', async () => {
    reply = { status: 401, body: { title: 'Unauthorized' } };
    const secret = 'whsec_from_the_environment_0123456789';
    const result = await cli(['send', '--url', url], { COOLEDGE_WEBHOOK_SECRETS: secret });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^401 Unauthorized/);
    expect(result.stderr).toContain(
      '401 from the Cooledge webhook: the signing secret in this terminal (whse…, from COOLEDGE_WEBHOOK_SECRETS in this terminal) differs from the one the stack printed',
    );
    expect(result.stderr).toContain('--scheme timestamped');
    expect(result.stderr).not.toContain(secret);
    expect(result.stderr).not.toContain('ZENBOOKER');
  });

  it('after a 401 from Zenbooker, the path token, also for many deliveries and --json', async () => {
    reply = { status: 401, body: { title: 'Unauthorized' } };
    const result = await cli([
      'send',
      '--url',
      url,
      '--provider',
      'zenbooker',
      '--count',
      '3',
      '--token',
      'zbk_mine',
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).statuses).toEqual({ '401 Unauthorized': 3 });
    expect(result.stderr).toContain(
      '401 from the Zenbooker webhook: the path token in this terminal (zbk_…, from --token) differs from the one the stack printed',
    );
    expect(result.stderr).toContain('ZENBOOKER_WEBHOOK_TOKENS');
  });

  it('summarises many deliveries one status a line', async () => {
    const result = await cli(['send', '--url', url, '--count', '3']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sent 3 deliveries .*\n {2}202 accepted +3\nlatency {2}p50 /m);
  });

  it('prints the receiver’s answer escaped: any server can be --url', async () => {
    reply = { status: 202, body: { status: '\u001b[2J\u009b0m', event_key: 'k\n\u202e' } };
    const result = await cli(['send', '--url', url]);
    expect(result.stdout).toMatch(
      /^202 \\u\{1b\}\[2J\\u\{9b\}0m {2}cooledge .* event_key k\\u\{a\}\\u\{202e\} /,
    );
    for (const raw of ['\u001b', '\u009b', '\u202e']) expect(result.stdout).not.toContain(raw);
  });
});

describe('cli send --json: one delivery’s job id and event key', () => {
  /** The body the receiver got, parsed. */
  const sent = () => JSON.parse(received[0] as string) as Record<string, unknown>;
  /** `send --url <receiver> --json …`'s `delivery`. */
  const delivery = async (...args: string[]) =>
    JSON.parse((await cli(['send', '--url', url, '--json', ...args])).stdout).delivery;
  const fixture = (path: string) => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));

  it('names the job and the event key the receiver answered with, beside the summary', async () => {
    const result = await cli(['send', '--url', url, '--json']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ url, deliveries: 1, ok: 1, statuses: { '202 accepted': 1 } });
    expect(out.delivery).toEqual({
      provider: 'cooledge',
      eventType: 'job.completed',
      status: 202,
      label: 'accepted',
      jobId: sent().job_id,
      eventKey: 'evt_1',
    });
  });

  it('without an answer to go by (a 401), derives the event key from the body as the receiver does', async () => {
    reply = { status: 401, body: { title: 'Unauthorized' } };
    expect(await delivery()).toMatchObject({ status: 401, eventKey: sent().event_id, jobId: sent().job_id });
    received = [];
    const zenbooker = await delivery('--provider', 'zenbooker');
    // Zenbooker sends no event id: the key is the hash of the body without retry_count.
    expect(zenbooker).toMatchObject({
      status: 401,
      eventKey: zenbookerEventKey(sent() as JsonObject),
      jobId: (sent().data as { id: string }).id,
    });
    expect(zenbooker.eventKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--file: derived by the provider module; null with the reason when the body has none', async () => {
    reply = { status: 400, body: { title: 'Bad Request' } };
    const zenbooker = await delivery('--file', fixture('zenbooker/job.completed.json'));
    expect(zenbooker).toMatchObject({
      eventKey: zenbookerEventKey(sent() as JsonObject),
      jobId: '1571382643450x202948477110764130',
    });
    expect(zenbooker).not.toHaveProperty('missing');

    // A lead names no job.
    expect(await delivery('--file', fixture('cooledge/lead.created.json'))).toEqual({
      provider: 'cooledge',
      eventType: 'lead.created',
      status: 400,
      label: 'Bad Request',
      jobId: null,
      eventKey: '5e8b2c47-9a13-4f6d-8c20-3b1f7d9a0e54',
      missing: { jobId: 'a lead.created event with this body names no job' },
    });

    // No envelope: neither, and why.
    const dir = mkdtempSync(join(tmpdir(), 'send-'));
    const file = join(dir, 'no-envelope.json');
    writeFileSync(file, '{"job_id":"j1"}');
    const bare = await delivery('--provider', 'cooledge', '--file', file);
    rmSync(dir, { recursive: true });
    const why = 'event_id must be a non-empty string: the receiver refuses it (400)';
    expect(bare).toMatchObject({ jobId: null, eventKey: null, missing: { eventKey: why, jobId: why } });
  });

  it('a body that fails validation is quarantined: no job', () => {
    const body = JSON.parse(readFileSync(fixture('cooledge/job.completed.json'), 'utf8'));
    delete body.job_id;
    expect(
      deliveryIds({ provider: 'cooledge', body: JSON.stringify(body), eventType: 'job.completed' }),
    ).toEqual({
      eventKey: body.event_id,
      jobId: null,
      missing: { jobId: 'the body fails validation: the event is quarantined, applied to no job' },
    });
  });

  it('many deliveries: the summary only, as before', async () => {
    const out = JSON.parse((await cli(['send', '--url', url, '--count', '2', '--json'])).stdout);
    expect(out).not.toHaveProperty('delivery');
    expect(out.deliveries).toBe(2);
  });
});
