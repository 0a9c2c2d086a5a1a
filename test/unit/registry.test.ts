import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readAllSettings } from '#core/config';
import { readCredentials } from '#core/credentials';
import type { JsonObject } from '#core/json';
import type { AnyProvider, SampleJob } from '#core/provider';
import { matchRoute, routePath } from '#core/routes';
import { providers, registry } from '#providers/index';
import { apiEvent } from '../support/api-event.ts';
import { FixedCredentials } from '../support/fakes.ts';
import { fakeIngest } from '../support/ingest-harness.ts';
import { testProvider } from '../support/test-provider.ts';

/**
 * Every provider of the registry, and a fourth that exists only in the tests, through the real
 * ingest handler: what the provider's own sender makes is accepted, a changed byte or a missing
 * credential is a 401, and routes follow from the provider's declaration alone.
 */
const extended = registry([...providers.values(), testProvider]);
const all = [...extended.values()];

/** Each provider's dev credentials, read as the local stack reads them. */
function devCredentials(served: ReadonlyMap<string, AnyProvider>) {
  const document = Object.fromEntries(
    [...served.values()].map((p) => [p.name, p.credentials.env.parse(p.credentials.env.dev)]),
  );
  const read = readCredentials(document, served);
  if (!read.ok) throw new Error(`${read.problem.path}: ${read.problem.message}`);
  return read.value;
}

const now = new Date();
const sampleJob = (index: number): SampleJob => ({
  index,
  start: new Date(now.getTime() - 3 * 3_600_000),
  person: { name: 'Priya Nair', phone: '+61498765432', email: 'priya.nair@example.com' },
  work: { title: 'Split system service', details: 'Cleaned filters.' },
  service: 'Service',
  address: '434 Lygon St, Brunswick East VIC 3057',
  random: Math.random,
  ids: {},
});

async function delivery(provider: AnyProvider, type: string, step: number, job = sampleJob(0)) {
  const sender = await provider.sender();
  const body = JSON.stringify(sender.sample(type, job, step));
  const credentials = devCredentials(extended)[provider.name];
  const settings = readAllSettings(extended, {}).get(provider.name);
  const request = sender.request(Buffer.from(body), {
    credentials,
    settings,
    now,
    messageId: `msg_${provider.name}_${step}`,
  });
  return { body, ...request };
}

function ingestFor(served: ReadonlyMap<string, AnyProvider>, credentials = devCredentials(served)) {
  return fakeIngest(
    { secret: 'unused-secret-0123456789', token: 'unused', now },
    {
      providers: served,
      providerSettings: readAllSettings(served, {}),
      credentials: new FixedCredentials(credentials),
      clock: () => now,
    },
  );
}

describe('the registry', () => {
  it('refuses a provider listed twice or a name that is no route segment', () => {
    expect(() => registry([testProvider, testProvider])).toThrow('listed twice');
    expect(() => registry([{ ...testProvider, name: 'Test' }])).toThrow('is not [a-z0-9-]');
    expect(() => registry([{ ...testProvider, name: 'a/b' }])).toThrow('is not [a-z0-9-]');
  });

  it.each(all.map((p) => [p.name, p] as const))(
    'routes %s by its declaration alone, and nothing near it',
    (_, provider) => {
      const parameter = provider.route.parameter;
      const path = routePath(provider).replace(/\{[^}]+\}/, 'value_0123456789abcdefghijkl');
      expect(matchRoute(path, extended)).toEqual({
        provider,
        pathParameter: parameter ? 'value_0123456789abcdefghijkl' : undefined,
      });
      expect(matchRoute(`${path}/`, extended)).toBeUndefined();
      expect(matchRoute(`/webhooks/${provider.name}${parameter ? '' : '/extra'}`, extended)).toBeUndefined();
      expect(matchRoute(`/prefix${path}`, extended)).toBeUndefined();
    },
  );
});

describe('every provider through the ingest handler', () => {
  it.each(all.map((p) => [p.name, p] as const))(
    '%s: every sample its sender makes is accepted and queued as a valid message',
    async (_, provider) => {
      const sender = await provider.sender();
      const { handler, queue } = ingestFor(extended);
      const job = sampleJob(1);
      for (const [step, type] of sender.history.entries()) {
        const { body, path, headers } = await delivery(provider, type, step, job);
        const response = await handler(apiEvent('POST', path, body, headers));
        expect(response.statusCode, `${type}: ${response.body}`).toBe(202);
        expect(JSON.parse(response.body as string)).toMatchObject({
          status: 'accepted',
          provider: provider.name,
        });
      }
      expect(queue.messages).toHaveLength(sender.history.length);
      for (const message of queue.messages) {
        expect(message.provider).toBe(provider.name);
        expect(message.issues).toBeUndefined();
      }
    },
  );

  // A deliberate policy for every provider of the registry (docs/providers.md, "Adding a
  // provider"): a provider signs its body, and then refuses any change to it, or, when it cannot
  // sign, is authenticated by a secret path parameter, which the receiver keeps out of logs, stack
  // outputs and access logs (`route.parameter.secret`). A header token (an API key) is neither: this
  // test fails for it. The test provider, outside the registry, uses a header key and is left out.
  it.each([...providers.values()].map((p) => [p.name, p] as const))(
    '%s: signs its body or is authenticated by a secret URL, never a header token (registry policy): any one byte of the body changed after signing is a 401 (property)',
    async (_, provider) => {
      const sender = await provider.sender();
      const [type] = sender.history;
      const original = await delivery(provider, type as string, 0);
      const { handler, queue } = ingestFor(extended);
      // A provider that cannot sign (Zenbooker) is authenticated by a secret path parameter alone,
      // so a changed body is the caller's word; any other provider must refuse the change.
      const padded = await handler(apiEvent('POST', original.path, `${original.body} `, original.headers));
      if (padded.statusCode === 202) {
        if (provider.route.parameter?.secret !== true)
          throw new Error(
            `${provider.name} accepts a changed body and has no secret path parameter: a provider that cannot sign its body must be authenticated by a secret path parameter, not a header token (docs/providers.md, "Adding a provider")`,
          );
        return;
      }
      expect(padded.statusCode).toBe(401);
      await fc.assert(
        fc.asyncProperty(
          fc.nat(original.body.length - 1),
          fc.integer({ min: 1, max: 0x7e }),
          async (at, code) => {
            const char = String.fromCharCode(code);
            fc.pre(original.body[at] !== char);
            const changed = original.body.slice(0, at) + char + original.body.slice(at + 1);
            const response = await handler(apiEvent('POST', original.path, changed, original.headers));
            expect([401, 415]).toContain(response.statusCode);
          },
        ),
        { numRuns: 40 },
      );
      expect(queue.messages).toHaveLength(0);
    },
  );

  it.each(all.map((p) => [p.name, p] as const))(
    '%s: without an entry in the credentials it is not configured: 401, logged as such, nothing queued',
    async (_, provider) => {
      const { body, path, headers } = await delivery(
        provider,
        (await provider.sender()).history[0] as string,
        0,
      );
      const credentials: Record<string, unknown> = { ...devCredentials(extended) };
      delete credentials[provider.name];
      const { handler, queue, logger } = ingestFor(extended, credentials);
      const response = await handler(apiEvent('POST', path, body, headers));
      expect(response.statusCode).toBe(401);
      expect(queue.messages).toHaveLength(0);
      expect(logger.entries).toContainEqual({
        level: 'warn',
        message: 'authentication failed',
        data: { provider: provider.name, reason: 'provider not configured' },
      });
    },
  );

  it('serves a provider that is not in the registry without any other file knowing it', async () => {
    const { body, path, headers } = await delivery(testProvider, 'job.completed', 1);
    const withIt = ingestFor(extended);
    expect((await withIt.handler(apiEvent('POST', path, body, headers))).statusCode).toBe(202);
    const without = ingestFor(providers);
    expect((await without.handler(apiEvent('POST', path, body, headers))).statusCode).toBe(404);
    const bodyOf = JSON.parse(body) as JsonObject;
    expect(withIt.queue.messages[0]).toMatchObject({ provider: 'test', eventKey: bodyOf.id });
  });
});
