import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readSettings } from '#core/config';
import { readCredentials } from '#core/credentials';
import type { JsonObject } from '#core/json';
import type { AnyProvider, DeliveryRequest } from '#core/provider';
import { providers } from '#providers/index';
import { eventKey as zenbookerEventKey } from '#providers/zenbooker';
import { providerFlags } from '../../cli/commands.ts';
import { deliveryIds } from '../../cli/send.ts';
import { writeStackFile } from '../../local/config.ts';
import { resourceNames } from '../../local/names.ts';
import { cli } from './run-cli.ts';

/** A receiver that answers every delivery with `reply`, and records what it got. */
let reply: { status: number; body: unknown } = { status: 202, body: {} };
/** The bodies received, in order. */
let received: string[] = [];
/** The requests received, in order: path, headers (lower-cased by Node), exact body. */
let requests: Array<{ method: string; path: string; headers: Record<string, string>; body: Buffer }> = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push(body.toString('utf8'));
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: Object.fromEntries(
          Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
        ),
        body,
      });
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
  requests = [];
});

describe('cli send: what to look at next', () => {
  it('after an accepted event, `jobs`', async () => {
    const result = await cli(['send', '--url', url, '--data-dir', '/tmp/a b']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^202 accepted {2}cooledge job\.completed/);
    // The consumer batches for up to a second: `jobs` at once may show nothing yet.
    expect(result.stdout).toContain(
      "see it stored in a second or so (the consumer batches for up to 1 s): npm run cli -- jobs --data-dir '/tmp/a b'\n",
    );
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
      '401 from the Cooledge webhook: the credentials in this terminal (whse…, from COOLEDGE_WEBHOOK_SECRETS in this terminal) differ from those the stack printed',
    );
    expect(result.stderr).toContain('Pass --secret, or set COOLEDGE_WEBHOOK_SECRETS here as it is set there');
    expect(result.stderr).toContain(
      "--scheme timestamped: it must match the stack's COOLEDGE_SIGNATURE_SCHEME",
    );
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
      'zbk_mine_0123456789abcdefghij',
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).statuses).toEqual({ '401 Unauthorized': 3 });
    expect(result.stderr).toContain(
      '401 from the Zenbooker webhook: the credentials in this terminal (zbk_…, from --token) differ from those the stack printed',
    );
    expect(result.stderr).toContain('Pass --token, or set ZENBOOKER_WEBHOOK_TOKENS here');
    expect(result.stderr).not.toContain('zbk_mine_0123456789abcdefghij');
    expect(result.stderr).not.toContain('Cooledge');
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

/** A provider's credentials from their text and its settings from `env`, as the receiver reads them. */
function receiverContext(provider: AnyProvider, text: string, env: Record<string, string> = {}) {
  const checked = readCredentials(
    { [provider.name]: provider.credentials.env.parse(text) },
    new Map([[provider.name, provider]]),
  );
  if (!checked.ok) throw new Error(`${provider.name}: ${checked.problem.message}`);
  return { credentials: checked.value[provider.name], settings: readSettings(provider, env) };
}

/** A request the fake receiver got, as the provider reads it behind API Gateway. */
function asDelivery(provider: AnyProvider, request: (typeof requests)[number]): DeliveryRequest {
  const prefix = `/webhooks/${provider.name}`;
  expect(request.path === prefix || request.path.startsWith(`${prefix}/`), request.path).toBe(true);
  const parameter = request.path.slice(prefix.length + 1);
  return {
    headers: request.headers,
    pathParameter: parameter === '' ? undefined : decodeURIComponent(parameter),
    rawBody: request.body,
  };
}

const registry = [...providers.values()];

/**
 * A credential text for `provider` other than its dev value, derived from that value so that every
 * provider of the registry has one: the dev text with one letter or digit changed to the next of
 * its kind (from the end, so a prefix such as `whsec_` stays), the first such text that the
 * provider's `parse` and schema accept and that holds other credentials: a request its sender makes
 * with them authenticates, and one made with the dev value does not (so `A` for `B` in padded
 * base64, the same bytes, is passed over).
 */
async function secondCredentialText(provider: AnyProvider): Promise<string> {
  const { dev } = provider.credentials.env;
  const sender = await provider.sender();
  const settings = readSettings(provider, {});
  const body = Buffer.from('{"type":"job.completed"}');
  const credentialsOf = (text: string) => {
    const checked = readCredentials(
      { [provider.name]: provider.credentials.env.parse(text) },
      new Map([[provider.name, provider]]),
    );
    return checked.ok ? checked.value[provider.name] : undefined;
  };
  /** Whether a request made with `made` authenticates against `held`. */
  const accepts = (held: unknown, made: unknown) => {
    const now = new Date();
    const { path, headers } = sender.request(body, {
      credentials: made,
      settings,
      now,
      messageId: 'msg_2nd',
    });
    const delivery = asDelivery(provider, {
      method: 'POST',
      path,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
      body,
    });
    return provider.authenticate(delivery, { credentials: held, settings, now }).ok;
  };
  const devCredentials = credentialsOf(dev);
  const kinds = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
  for (let at = dev.length - 1; at >= 0; at--) {
    const kind = kinds.find((k) => k.includes(dev.charAt(at)));
    if (kind === undefined) continue;
    const changed = kind.charAt((kind.indexOf(dev.charAt(at)) + 1) % kind.length);
    const text = `${dev.slice(0, at)}${changed}${dev.slice(at + 1)}`;
    const credentials = credentialsOf(text);
    if (
      credentials !== undefined &&
      accepts(credentials, credentials) &&
      !accepts(credentials, devCredentials)
    )
      return text;
  }
  throw new Error(
    `${provider.name}: no one-character change of its dev credential text holds other credentials`,
  );
}

describe('cli send: every provider in the registry', () => {
  it.each(registry.map((p) => [p.name, p] as const))(
    '--provider %s: a POST its own authenticate accepts, with the dev credentials and default settings',
    async (name, provider) => {
      const result = await cli(['send', '--url', url, '--provider', name, '--count', '3']);
      expect(result.code, result.stderr).toBe(0);
      expect(requests).toHaveLength(3);
      const { credentials, settings } = receiverContext(provider, provider.credentials.env.dev);
      for (const request of requests) {
        expect(request.method).toBe('POST');
        expect(request.headers['content-type']).toBe('application/json');
        const delivery = asDelivery(provider, request);
        expect(provider.authenticate(delivery, { credentials, settings, now: new Date() })).toEqual({
          ok: true,
        });
        const body = JSON.parse(request.body.toString('utf8')) as JsonObject;
        expect(provider.envelope(body, delivery).ok).toBe(true);
        expect(provider.validate(body).ok).toBe(true);
      }
    },
  );

  it('--provider all: every provider in the registry, taking turns event by event, for any count (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 * registry.length + 2 }), async (count) => {
        requests = [];
        const result = await cli([
          'send',
          '--url',
          url,
          '--provider',
          'all',
          '--count',
          String(count),
          '--concurrency',
          '1',
        ]);
        expect(result.code, result.stderr).toBe(0);
        const sent = requests.map((r) => r.path.split('/')[2]);
        expect(sent).toHaveLength(count);
        // In turns: request i goes to provider i mod P, so the first P reach every provider.
        expect(sent).toEqual(sent.map((_, i) => registry[i % registry.length]?.name));
        if (count >= registry.length) expect(new Set(sent).size).toBe(registry.length);
      }),
      { numRuns: 12 },
    );
  });

  it('--provider all without --count: one job.completed per provider, each one its own authenticate accepts', async () => {
    const result = await cli(['send', '--url', url, '--provider', 'all', '--json', '--concurrency', '1']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ deliveries: registry.length, duplicates: 0 });
    expect(requests.map((r) => r.path.split('/')[2])).toEqual(registry.map((p) => p.name));
    for (const [i, provider] of registry.entries()) {
      const request = requests[i] as (typeof requests)[number];
      const { credentials, settings } = receiverContext(provider, provider.credentials.env.dev);
      const delivery = asDelivery(provider, request);
      expect(provider.authenticate(delivery, { credentials, settings, now: new Date() })).toEqual({
        ok: true,
      });
      const envelope = provider.envelope(JSON.parse(request.body.toString('utf8')) as JsonObject, delivery);
      expect(envelope.ok && envelope.eventType).toBe('job.completed');
    }
  });

  it('the README never sends `--provider all` with a count that misses a provider', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const counts = [...readme.matchAll(/--provider all --count (\d+)/g)].map((m) => Number(m[1]));
    expect(counts.length).toBeGreaterThan(0);
    for (const count of counts) expect(count).toBeGreaterThanOrEqual(registry.length);
  });

  it.each(registry.map((p) => [p.name, p] as const))(
    '--provider %s --duplicates 1: each event delivered twice under one event key',
    async (_, provider) => {
      const result = await cli([
        'send',
        '--url',
        url,
        '--provider',
        provider.name,
        '--count',
        '4',
        '--duplicates',
        '1',
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(requests).toHaveLength(8);
      const keys = new Map<string, number>();
      for (const request of requests) {
        const body = JSON.parse(request.body.toString('utf8')) as JsonObject;
        const envelope = provider.envelope(body, asDelivery(provider, request));
        if (!envelope.ok) throw new Error(envelope.detail);
        keys.set(envelope.eventKey, (keys.get(envelope.eventKey) ?? 0) + 1);
      }
      expect([...keys.values()]).toEqual([2, 2, 2, 2]);
    },
  );

  it('Standard Webhooks: a redelivery keeps its webhook-id, each event has its own', async () => {
    const result = await cli([
      'send',
      '--url',
      url,
      '--provider',
      'standard',
      '--count',
      '3',
      '--duplicates',
      '1',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const ids = requests.map((r) => r.headers['webhook-id'] as string);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(ids.filter((x) => x === id)).toHaveLength(2);
  });

  it.each(registry.map((p) => [p.name, p] as const))(
    '--file without --provider: a %s body is recognised as its own',
    async (name, provider) => {
      await cli(['send', '--url', url, '--provider', name]);
      const body = received[0] as string;
      requests = [];
      const dir = mkdtempSync(join(tmpdir(), 'send-'));
      const file = join(dir, 'body.json');
      writeFileSync(file, body);
      try {
        const result = await cli(['send', '--url', url, '--file', file]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toContain(` ${name} `);
        expect(requests[0]?.path.startsWith(`/webhooks/${provider.name}`)).toBe(true);
        expect(requests[0]?.body.toString('utf8')).toBe(body);
      } finally {
        rmSync(dir, { recursive: true });
      }
    },
  );

  it('--file: a body no provider recognises needs --provider, naming every one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'send-'));
    const file = join(dir, 'body.json');
    writeFileSync(file, '{"hello":"world"}');
    try {
      const result = await cli(['send', '--url', url, '--file', file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`add --provider ${registry.map((p) => p.name).join('|')}`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('cli send: credentials and settings from the providers’ flags and variables', () => {
  /** Each provider's flag, with a valid value other than its dev one. */

  it('offers every provider’s credentials flag and setting flags, with its help line', async () => {
    const help = (await cli(['send', '--help'])).stdout;
    for (const provider of registry) {
      const own = provider.credentials.env.flag;
      if (own !== undefined) {
        expect(help).toMatch(new RegExp(`^  --${own} <`, 'm'));
        expect(help).toContain(provider.credentials.env.variable);
      }
      for (const setting of Object.values(provider.settings)) {
        if (setting.flag === undefined) continue;
        expect(help).toMatch(new RegExp(`^  --${setting.flag} <`, 'm'));
        expect(help.replace(/\s+/g, ' ')).toContain(setting.description);
      }
    }
    expect(help).toContain(`--provider <name>       ${registry.map((p) => p.name).join(', ')} or all`);
  });

  it('--out-of-order promises what holds: each job at its newest state; stale events happen in order too', async () => {
    const help = (await cli(['send', '--help'])).stdout.replace(/\s+/g, ' ');
    const entry = help.slice(help.indexOf('--out-of-order '), help.indexOf('--file <path>'));
    expect(entry).not.toMatch(/should end up stale/);
    expect(entry).toContain('Each job still ends at its newest state');
    expect(entry).toContain(
      "In-order sends can end with stale events too: the consumer processes a batch's records in parallel",
    );
  });

  it('refuses a flag two providers declare, or one send has already', () => {
    const cooledge = providers.get('cooledge') as AnyProvider;
    const twin = { ...cooledge, name: 'twin' };
    expect(() =>
      providerFlags(
        new Map([
          ['cooledge', cooledge],
          ['twin', twin],
        ]),
      ),
    ).toThrow('send flag --secret (twin) is declared twice');
    const clash = {
      ...cooledge,
      credentials: { ...cooledge.credentials, env: { ...cooledge.credentials.env, flag: 'count' } },
    };
    expect(() => providerFlags(new Map([['cooledge', clash]]))).toThrow('send flag --count (cooledge)');
    expect(providerFlags().map((f) => f.flag)).toEqual(
      registry.flatMap((p) => [
        ...(p.credentials.env.flag === undefined ? [] : [p.credentials.env.flag]),
        ...Object.values(p.settings).flatMap((s) => (s.flag === undefined ? [] : [s.flag])),
      ]),
    );
  });

  it.each(registry.filter((p) => p.credentials.env.flag !== undefined).map((p) => [p.name, p] as const))(
    '%s: its flag, else its variable, gives the credentials the request is made with',
    async (name, provider) => {
      const { flag, variable } = provider.credentials.env;
      const text = await secondCredentialText(provider);
      const { credentials, settings } = receiverContext(provider, text);
      const authentic = () => {
        const request = requests.at(-1);
        if (!request) throw new Error('nothing sent');
        return provider.authenticate(asDelivery(provider, request), {
          credentials,
          settings,
          now: new Date(),
        });
      };
      expect((await cli(['send', '--url', url, '--provider', name, `--${flag}`, text])).code).toBe(0);
      expect(authentic()).toEqual({ ok: true });
      expect((await cli(['send', '--url', url, '--provider', name], { [variable]: text })).code).toBe(0);
      expect(authentic()).toEqual({ ok: true });
      // The flag wins over the variable.
      const devVariable = { [variable]: provider.credentials.env.dev };
      expect(
        (await cli(['send', '--url', url, '--provider', name, `--${flag}`, text], devVariable)).code,
      ).toBe(0);
      expect(authentic()).toEqual({ ok: true });
      // Without either, the dev value: not these credentials.
      expect((await cli(['send', '--url', url, '--provider', name])).code).toBe(0);
      expect(authentic()).not.toEqual({ ok: true });
    },
  );

  it.each(registry.filter((p) => p.credentials.env.flag !== undefined).map((p) => [p.name, p] as const))(
    '%s: malformed credentials are a usage error naming the flag or variable, never the value',
    async (name, provider) => {
      const { flag, variable } = provider.credentials.env;
      const bad = 'x';
      const byFlag = await cli(['send', '--url', url, '--provider', name, `--${flag}`, bad]);
      expect(byFlag.code).toBe(2);
      expect(byFlag.stderr).toMatch(new RegExp(`^error: --${flag} is invalid`));
      const byVariable = await cli(['send', '--url', url, '--provider', name], { [variable]: bad });
      expect(byVariable.code).toBe(2);
      expect(byVariable.stderr).toMatch(new RegExp(`^error: ${variable} is invalid`));
      expect(requests).toHaveLength(0);
    },
  );

  it('--scheme plain signs as the plain scheme; COOLEDGE_SIGNATURE_SCHEME is read when it is absent', async () => {
    const cooledge = providers.get('cooledge') as AnyProvider;
    const plain = receiverContext(cooledge, cooledge.credentials.env.dev, {
      COOLEDGE_SIGNATURE_SCHEME: 'plain',
    });
    const check = () =>
      cooledge.authenticate(asDelivery(cooledge, requests.at(-1) as (typeof requests)[number]), {
        ...plain,
        now: new Date(),
      });
    await cli(['send', '--url', url, '--scheme', 'plain']);
    expect(requests.at(-1)?.headers['x-cooledge-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(check()).toEqual({ ok: true });
    await cli(['send', '--url', url], { COOLEDGE_SIGNATURE_SCHEME: 'plain' });
    expect(check()).toEqual({ ok: true });
    await cli(['send', '--url', url, '--scheme', 'timestamped'], { COOLEDGE_SIGNATURE_SCHEME: 'plain' });
    expect(requests.at(-1)?.headers['x-cooledge-signature']).toMatch(/^t=\d+,v1=/);
    const bad = await cli(['send', '--url', url], { COOLEDGE_SIGNATURE_SCHEME: 'md5' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('COOLEDGE_SIGNATURE_SCHEME is invalid');
  });

  it('Standard Webhooks --json: the event key is the source and webhook-id the request carried', async () => {
    reply = { status: 401, body: { title: 'Unauthorized' } };
    const result = await cli(['send', '--url', url, '--provider', 'standard', '--json']);
    expect(result.code).toBe(1);
    const request = requests[0] as (typeof requests)[number];
    const source = request.path.split('/')[3];
    expect(JSON.parse(result.stdout).delivery).toMatchObject({
      provider: 'standard',
      eventType: 'job.completed',
      status: 401,
      eventKey: `${source}:${request.headers['webhook-id']}`,
      // The job as the receiver keys it: the sender's job_id under its source.
      jobId: `${source}:${(JSON.parse(request.body.toString('utf8')) as { data: { job_id: string } }).data.job_id}`,
    });
    expect(result.stderr).toContain('401 from the Standard Webhooks webhook');
    expect(result.stderr).toContain('Pass --source-secret, or set STANDARD_WEBHOOK_SECRETS here');
  });
});

describe('cli send --url <one of the receiver’s webhook URLs, as pasted>', () => {
  const standard = providers.get('standard') as AnyProvider;
  const whsec = (key: Uint8Array) => `whsec_${Buffer.from(key).toString('base64')}`;
  /**
   * A webhook URL's path as a stack output or the banner prints it, with the credentials the
   * receiver holds for it (`receiver`) and those in this terminal (`env`, never the URL's own).
   */
  const pasted = fc.oneof(
    fc.constant({ provider: 'cooledge', path: '/webhooks/cooledge', receiver: undefined, env: {} }),
    fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{24,40}$/), fc.boolean()).map(([token, other]) => ({
      provider: 'zenbooker',
      path: `/webhooks/zenbooker/${token}`,
      receiver: token,
      // This terminal's own token (or the dev one) must not be what is sent.
      env: other ? { ZENBOOKER_WEBHOOK_TOKENS: 'zbk_this_terminal_0123456789abcdef' } : {},
    })),
    fc
      .tuple(
        fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.boolean(),
      )
      .map(([source, key, first]) => {
        // The URL's source among others in this terminal, first or not.
        const others = `local=${whsec(new Uint8Array(32).fill(1))},zz-other=${whsec(new Uint8Array(32).fill(2))}`;
        const text = first ? `${source}=${whsec(key)},${others}` : `${others},${source}=${whsec(key)}`;
        return {
          provider: 'standard',
          path: `/webhooks/standard/${source}`,
          receiver: text,
          env: { STANDARD_WEBHOOK_SECRETS: text },
        };
      }),
  );

  it('posts to the pasted path (provider, token or source) with credentials that authenticate there (property)', async () => {
    await fc.assert(
      fc.asyncProperty(pasted, fc.boolean(), async (webhook, named) => {
        requests = [];
        const provider = providers.get(webhook.provider) as AnyProvider;
        const args = [
          'send',
          '--url',
          `${url}${webhook.path}`,
          ...(named ? ['--provider', webhook.provider] : []),
        ];
        const result = await cli(args, webhook.env);
        expect(result.code, result.stderr).toBe(0);
        expect(requests).toHaveLength(1);
        const request = requests[0] as (typeof requests)[number];
        expect(request.path).toBe(webhook.path);
        const { credentials, settings } = receiverContext(
          provider,
          webhook.receiver ?? provider.credentials.env.dev,
        );
        const delivery = asDelivery(provider, request);
        expect(provider.authenticate(delivery, { credentials, settings, now: new Date() })).toEqual({
          ok: true,
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a route template or a bare provider path leaves the parameter to the credentials', async () => {
    for (const path of [
      '/webhooks/zenbooker/{token}',
      '/webhooks/zenbooker/%7Btoken%7D',
      '/webhooks/zenbooker',
      '/webhooks/',
    ]) {
      requests = [];
      const result = await cli(['send', '--url', `${url}${path}`, '--provider', 'zenbooker']);
      expect(result.code, `${path}: ${result.stderr}`).toBe(0);
      expect(requests[0]?.path).toBe('/webhooks/zenbooker/zbk_local_dev_0123456789abcdefghij');
    }
  });

  it('refuses a source this terminal has no secret for, and a provider the URL contradicts, sending nothing', async () => {
    const noSecret = await cli(['send', '--url', `${url}/webhooks/standard/billing`]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain(
      'error: --url names the Standard Webhooks source "billing", but the credentials in this terminal ' +
        '(from the local dev default) have none for it: pass --source-secret, or set STANDARD_WEBHOOK_SECRETS, with them',
    );
    const conflict = await cli([
      'send',
      '--url',
      `${url}/webhooks/zenbooker/zbk_pasted_0123456789abcdefghij`,
      '--provider',
      'standard',
    ]);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toContain(
      'error: --url is the zenbooker webhook URL, but --provider is standard',
    );
    // Never the token: it is a credential.
    expect(conflict.stderr).not.toContain('zbk_pasted');
    expect(requests).toHaveLength(0);
    expect(standard.route.parameter?.secret).toBe(false);
  });

  it('after a 401, says the pasted token is not one the receiver holds, never printing it whole', async () => {
    reply = { status: 401, body: { title: 'Unauthorized' } };
    const token = 'zbk_pasted_0123456789abcdefghij';
    const result = await cli(['send', '--url', `${url}/webhooks/zenbooker/${token}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      '401 from the Zenbooker webhook: the token in --url (zbk_…) is not one the receiver holds',
    );
    expect(result.stderr).not.toContain(token);
  });

  it('a --file goes to the pasted webhook as that provider’s', async () => {
    const file = fileURLToPath(new URL('../fixtures/zenbooker/job.completed.json', import.meta.url));
    const token = 'zbk_pasted_0123456789abcdefghij';
    const result = await cli(['send', '--url', `${url}/webhooks/zenbooker/${token}`, '--file', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(requests[0]?.path).toBe(`/webhooks/zenbooker/${token}`);
  });
});

describe('cli send: relative paths are the user’s, from the folder npm was run in (INIT_CWD)', () => {
  it('--file and --data-dir resolve from INIT_CWD, not from the repository root (property)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'send-cwd-'));
    const fixture = fileURLToPath(new URL('../fixtures/cooledge/job.completed.json', import.meta.url));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/),
          fc.integer({ min: 0, max: 2 }),
          async (name, depth) => {
            requests = [];
            // The user is `depth` folders below `home`; the file sits in `home/<name>/`.
            const user = join(home, ...Array.from({ length: depth }, (_, i) => `d${i}`));
            mkdirSync(join(home, name), { recursive: true });
            mkdirSync(user, { recursive: true });
            writeFileSync(join(home, name, 'body.json'), readFileSync(fixture));
            const relative = `${'../'.repeat(depth)}${name}/body.json`;
            const result = await cli(['send', '--url', url, '--file', relative], { INIT_CWD: user });
            expect(result.code, result.stderr).toBe(0);
            expect(requests[0]?.body.toString('utf8')).toBe(readFileSync(fixture, 'utf8'));
            // The data directory the same way: the stack file found there gives the URL.
            writeStackFile(join(home, name), {
              pid: process.pid,
              url,
              dynamoEndpoint: 'http://127.0.0.1:1',
              sqsEndpoint: 'http://127.0.0.1:2',
              region: 'us-east-1',
              names: resourceNames('local'),
              queues: { queueUrl: 'q', deadLetterQueueUrl: 'd' },
              startedAt: new Date().toISOString(),
            });
            const dataDir = `${'../'.repeat(depth)}${name}`;
            const found = await cli(['send', '--data-dir', dataDir, '--json'], { INIT_CWD: user, PORT: '1' });
            expect(found.code, found.stderr).toBe(0);
            expect(JSON.parse(found.stdout).url).toBe(url);
          },
        ),
        { numRuns: 15 },
      );
      // Not found: the path as typed, and where it was looked for.
      const missing = await cli(['send', '--url', url, '--file', 'nope.json'], { INIT_CWD: home });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`--file nope.json: ENOENT (${join(home, 'nope.json')})`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
