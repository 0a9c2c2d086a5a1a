import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './run-cli.ts';

/** A receiver that answers every delivery with `reply`, and records what it got. */
let reply: { status: number; body: unknown } = { status: 202, body: {} };
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
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
