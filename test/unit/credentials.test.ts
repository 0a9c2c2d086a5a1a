import type { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { credentialsFrom, SecretsManagerCredentials, StaticCredentials } from '#adapters/credentials';
import { readCredentials } from '#core/credentials';
import { providers } from '#providers/index';
import { awsError, RecordingLogger } from '../support/fakes.ts';

/** Secrets in the first shape (`cooledgeSecrets`, `zenbookerTokens`), as a deployed secret holds them. */
const first = {
  cooledgeSecrets: ['whsec_first_secret_0123456789'],
  zenbookerTokens: ['zbk_first_token_0123456789abcdef'],
};
const rotated = {
  cooledgeSecrets: ['whsec_rotated_secret_012345678', 'whsec_first_secret_0123456789'],
  zenbookerTokens: ['zbk_rotated_token_0123456789abcd'],
};

/** What the receiver makes of a credentials document (`readCredentials`); fails the test when invalid. */
function read(document: unknown) {
  const result = readCredentials(document, providers);
  if (!result.ok)
    throw new Error(`expected valid credentials: ${result.problem.path} ${result.problem.message}`);
  return result.value;
}

type Answer = { SecretString?: string } | Error;

/**
 * A stand-in for the Secrets Manager client: answers each `send` with the next queued answer (the
 * last one repeats) and keeps the secret ids it was asked for.
 */
class FakeSecretsManager {
  readonly requested: Array<string | undefined> = [];
  constructor(private readonly answers: Answer[]) {}
  async send(command: GetSecretValueCommand) {
    this.requested.push(command.input.SecretId);
    const answer = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
    if (answer instanceof Error) throw answer;
    return answer ?? {};
  }
  asClient() {
    return this as unknown as SecretsManagerClient;
  }
}

const secretString = (value: unknown) => ({ SecretString: JSON.stringify(value) });

/** A manual clock in milliseconds. */
function manualClock(start = 1_750_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function setup(answers: Answer[], refreshSeconds = 300) {
  const client = new FakeSecretsManager(answers);
  const clock = manualClock();
  const logger = new RecordingLogger();
  const credentials = new SecretsManagerCredentials(
    'webhooks/credentials',
    refreshSeconds,
    providers,
    client.asClient(),
    clock.now,
    logger,
  );
  return { client, clock, credentials, logger };
}

describe('SecretsManagerCredentials', () => {
  it('reads the configured secret at first use', async () => {
    const { client, credentials } = setup([secretString(first)]);
    expect(await credentials.get()).toEqual(read(first));
    expect(client.requested).toEqual(['webhooks/credentials']);
  });

  it('serves the cached value within the refresh window', async () => {
    const { client, clock, credentials } = setup([secretString(first), secretString(rotated)]);
    await credentials.get();
    clock.advance(299_999);
    expect(await credentials.get()).toEqual(read(first));
    expect(client.requested).toHaveLength(1);
  });

  it('reads the secret again once the refresh window has passed, picking up a rotation', async () => {
    const { client, clock, credentials } = setup([secretString(first), secretString(rotated)]);
    await credentials.get();
    clock.advance(300_000);
    expect(await credentials.get()).toEqual(read(rotated));
    expect(client.requested).toHaveLength(2);
  });

  it('starts a new window from the refresh', async () => {
    const { client, clock, credentials } = setup([secretString(first), secretString(rotated)]);
    await credentials.get();
    clock.advance(300_000);
    await credentials.get();
    clock.advance(299_000);
    await credentials.get();
    expect(client.requested).toHaveLength(2);
  });

  it('keeps the last good value when a refresh fails', async () => {
    const { client, clock, credentials } = setup([secretString(first), new Error('ThrottlingException')]);
    await credentials.get();
    clock.advance(301_000);
    expect(await credentials.get()).toEqual(read(first));
    expect(client.requested).toHaveLength(2);
  });

  it('keeps the last good value when a refresh returns an invalid secret', async () => {
    const { clock, credentials } = setup([secretString(first), secretString({ cooledgeSecrets: [] })]);
    await credentials.get();
    clock.advance(301_000);
    expect(await credentials.get()).toEqual(read(first));
  });

  it('waits 30 seconds after a failed refresh before asking again', async () => {
    const { client, clock, credentials } = setup([
      secretString(first),
      new Error('down'),
      secretString(rotated),
    ]);
    await credentials.get();
    clock.advance(301_000);
    await credentials.get();
    clock.advance(29_000);
    expect(await credentials.get()).toEqual(read(first));
    expect(client.requested).toHaveLength(2);
    clock.advance(2_000);
    expect(await credentials.get()).toEqual(read(rotated));
    expect(client.requested).toHaveLength(3);
  });

  it('shares one read between concurrent first uses', async () => {
    const { client, credentials } = setup([secretString(first)]);
    const values = await Promise.all([credentials.get(), credentials.get(), credentials.get()]);
    expect(values).toEqual([read(first), read(first), read(first)]);
    expect(client.requested).toHaveLength(1);
  });

  it('fails the first use when Secrets Manager is down', async () => {
    const { credentials } = setup([new Error('ResourceNotFoundException')]);
    await expect(credentials.get()).rejects.toThrow('ResourceNotFoundException');
  });

  it('tries again after a failed first use', async () => {
    const { credentials } = setup([new Error('down'), secretString(first)]);
    await expect(credentials.get()).rejects.toThrow();
    expect(await credentials.get()).toEqual(read(first));
  });

  it.each<[string, Answer]>([
    ['not JSON', { SecretString: 'whsec_plain_text_secret_value' }],
    ['empty', {}],
    ['configuring no provider', secretString({ placeholder: 'generated' })],
    ['naming an unknown provider', secretString({ ...first, coolege: { secrets: first.cooledgeSecrets } })],
    [
      'giving one provider in both shapes',
      secretString({ ...first, cooledge: { secrets: first.cooledgeSecrets } }),
    ],
    ['holding a short secret', secretString({ ...first, cooledgeSecrets: ['short-secret'] })],
    [
      'holding a token with a slash',
      secretString({ ...first, zenbookerTokens: ['zbk/first/token/0123456789abcdef'] }),
    ],
    [
      'as the stack created it, both first-shape lists empty',
      secretString({ cooledgeSecrets: [], zenbookerTokens: [], placeholder: 'generated' }),
    ],
    [
      'holding the secrets as text, not a list',
      secretString({ ...first, cooledgeSecrets: 'whsec_as_a_string_0123456789' }),
    ],
  ])('rejects a secret that is %s at first load', async (_, answer) => {
    const { credentials } = setup([answer]);
    await expect(credentials.get()).rejects.toThrow(/^webhook secret is (not JSON|invalid)/);
  });

  it('names where an invalid secret is wrong', async () => {
    const { credentials } = setup([
      secretString({ ...first, zenbookerTokens: [first.zenbookerTokens[0] as string, 'short'] }),
    ]);
    await expect(credentials.get()).rejects.toThrow(/^webhook secret is invalid at zenbookerTokens\.1: /);
  });

  it('never quotes the secret value in its errors', async () => {
    const values = ['whsec_plain_text_secret_value', 'short-secret', 'whsec_as_a_string_0123456789'];
    const answers: Answer[] = [
      { SecretString: values[0] },
      secretString({ ...first, cooledgeSecrets: [values[1]] }),
      secretString({ ...first, cooledgeSecrets: values[2] }),
    ];
    for (const answer of answers) {
      const error = await setup([answer])
        .credentials.get()
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(error).toBeInstanceOf(Error);
      for (const value of values) expect(error?.message).not.toContain(value);
    }
  });
});

describe('SecretsManagerCredentials: what it logs', () => {
  it('logs a failed refresh once, with the secret’s name and Secrets Manager’s code, HTTP status and message', async () => {
    const { clock, credentials, logger } = setup([
      secretString(first),
      awsError('ThrottlingException', 'Rate exceeded', { $metadata: { httpStatusCode: 400 } }),
    ]);
    await credentials.get();
    clock.advance(301_000);
    const values = await Promise.all([credentials.get(), credentials.get(), credentials.get()]);
    expect(values).toEqual([read(first), read(first), read(first)]);
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        message: 'secret refresh failed, keeping the last good value',
        data: { secretId: 'webhooks/credentials', error: 'ThrottlingException (HTTP 400): Rate exceeded' },
      },
    ]);
  });

  it('logs what is wrong with a refreshed secret, never its values', async () => {
    const leaked = ['whsec_short', 'zbk_rotated/token/with/slashes_0123'];
    const { clock, credentials, logger } = setup([
      secretString(first),
      secretString({ cooledgeSecrets: [leaked[0]], zenbookerTokens: [leaked[1]] }),
      { SecretString: `{"cooledgeSecrets": ["${leaked[0]}"` },
    ]);
    await credentials.get();
    clock.advance(301_000);
    expect(await credentials.get()).toEqual(read(first));
    clock.advance(31_000);
    expect(await credentials.get()).toEqual(read(first));

    expect(logger.entries.map((entry) => entry.data?.error)).toEqual([
      'LoggableError: webhook secret is invalid at cooledgeSecrets.0: expected a signing secret of at least 16 characters',
      'LoggableError: webhook secret is not JSON',
    ]);
    for (const value of leaked) expect(logger.text()).not.toContain(value);
  });

  it('leaves a failed first read to the request that fails with it, logging nothing itself', async () => {
    const { credentials, logger } = setup([
      awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret."),
    ]);
    await expect(credentials.get()).rejects.toThrow("Secrets Manager can't find the specified secret.");
    expect(logger.entries).toEqual([]);
  });
});

describe('credentialsFrom', () => {
  it('serves credentials from the environment as they are', async () => {
    const source = credentialsFrom({ kind: 'env', credentials: read(first) }, providers);
    expect(source).toBeInstanceOf(StaticCredentials);
    expect(await source.get()).toEqual(read(first));
  });

  it('reads credentials from Secrets Manager when a secret id is configured', () => {
    expect(
      credentialsFrom({ kind: 'secrets-manager', secretId: 'x', refreshSeconds: 60 }, providers),
    ).toBeInstanceOf(SecretsManagerCredentials);
  });
});

describe('readCredentials: the credentials document', () => {
  const cooledgeSecret = 'whsec_first_secret_0123456789';
  const token = 'zbk_first_token_0123456789abcdef';
  const standardSecret = `whsec_${Buffer.from('s'.repeat(32)).toString('base64')}`;

  it('reads each provider under its own name', () => {
    expect(
      read({
        cooledge: { secrets: [cooledgeSecret] },
        zenbooker: { tokens: [token] },
        standard: { sources: { acme: { secrets: [standardSecret] } } },
      }),
    ).toEqual({
      cooledge: { secrets: [cooledgeSecret] },
      zenbooker: { tokens: [token] },
      standard: { sources: { acme: { secrets: [standardSecret] } } },
    });
  });

  it('reads the first shape as the same credentials, so a deployed secret keeps working', () => {
    expect(read({ cooledgeSecrets: [cooledgeSecret], zenbookerTokens: [token], placeholder: 'x' })).toEqual(
      read({ cooledge: { secrets: [cooledgeSecret] }, zenbooker: { tokens: [token] } }),
    );
  });

  it('takes the first shape beside a new entry (a deployed secret gains a provider)', () => {
    expect(
      read({
        cooledgeSecrets: [cooledgeSecret],
        zenbookerTokens: [token],
        standard: { sources: { acme: { secrets: [standardSecret] } } },
      }),
    ).toMatchObject({ cooledge: { secrets: [cooledgeSecret] }, standard: { sources: { acme: {} } } });
  });

  it('reads an empty first-shape list as that provider not configured, beside any other entry', () => {
    const standard = { sources: { acme: { secrets: [standardSecret] } } };
    // The stack's template with only a new-shape entry added: Cooledge and Zenbooker answer 401.
    expect(read({ cooledgeSecrets: [], zenbookerTokens: [], placeholder: 'x', standard })).toEqual({
      standard,
    });
    // One provider filled in, the other left as the template made it.
    expect(read({ cooledgeSecrets: [cooledgeSecret], zenbookerTokens: [], placeholder: 'x' })).toEqual({
      cooledge: { secrets: [cooledgeSecret] },
    });
    expect(read({ cooledgeSecrets: [], zenbookerTokens: [token] })).toEqual({
      zenbooker: { tokens: [token] },
    });
    // An empty list beside the same provider's new-shape entry is still both shapes for one provider.
    expect(
      readCredentials({ cooledgeSecrets: [], cooledge: { secrets: [cooledgeSecret] } }, providers),
    ).toEqual({
      ok: false,
      problem: { path: 'cooledge', message: 'give "cooledge" or "cooledgeSecrets", not both' },
    });
  });

  it('leaves out a provider without an entry: it is not configured', () => {
    expect(read({ zenbooker: { tokens: [token] } })).toEqual({ zenbooker: { tokens: [token] } });
  });

  it.each<[string, unknown, string]>([
    ['an array', [], '(root)'],
    ['no provider', {}, '(root)'],
    ['an unknown key', { cooledge: { secrets: [cooledgeSecret] }, zenboker: {} }, 'zenboker'],
    [
      'a provider in both shapes',
      { cooledge: { secrets: [cooledgeSecret] }, cooledgeSecrets: [cooledgeSecret] },
      'cooledge',
    ],
    ['a short Cooledge secret', { cooledge: { secrets: ['short'] } }, 'cooledge.secrets.0'],
    [
      'a Standard source with an upper case name',
      { standard: { sources: { Acme: { secrets: [standardSecret] } } } },
      'standard.sources',
    ],
    [
      'a Standard secret without whsec_',
      { standard: { sources: { acme: { secrets: ['c2VjcmV0'] } } } },
      'standard.sources.acme.secrets.0',
    ],
    ['a Standard entry with no source', { standard: { sources: {} } }, 'standard.sources'],
    // Writing a new-shape entry is configuring it: it needs a value, unlike the first shape's lists.
    ['a Cooledge entry with no secret', { cooledge: { secrets: [] } }, 'cooledge.secrets'],
    ['a Zenbooker entry with no token', { zenbooker: { tokens: [] } }, 'zenbooker.tokens'],
    [
      'an empty new-shape entry beside a filled first shape',
      { cooledgeSecrets: [cooledgeSecret], zenbooker: { tokens: [] } },
      'zenbooker.tokens',
    ],
    [
      'the stack’s untouched template',
      { cooledgeSecrets: [], zenbookerTokens: [], placeholder: 'x' },
      '(root)',
    ],
  ])('refuses %s, naming where', (_, document, path) => {
    const result = readCredentials(document, providers);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.path.startsWith(path)).toBe(true);
  });
});

describe('readCredentials: credentials bound to accounts', () => {
  const secret = 'whsec_first_secret_0123456789';
  const bound = 'whsec_bound_secret_0123456789';
  const token = 'zbk_first_token_0123456789abcdef';
  const standardSecret = `whsec_${Buffer.from('s'.repeat(32)).toString('base64')}`;

  it('reads a value given as text as unbound, and as an object as bound to its accounts', () => {
    expect(
      read({
        cooledge: { secrets: [secret, { secret: bound, accounts: ['biz-a', 'biz-b'] }] },
        zenbooker: { tokens: [{ token, accounts: ['1571029418512x639482157734019100'] }] },
        standard: {
          sources: {
            acme: { secrets: [standardSecret], accounts: ['acme-hq'] },
            other: { secrets: [standardSecret] },
          },
        },
      }),
    ).toEqual({
      // The values stay a list of text, in order; each one's binding sits at the same index.
      cooledge: { secrets: [secret, bound], bindings: [undefined, ['biz-a', 'biz-b']] },
      zenbooker: { tokens: [token], bindings: [['1571029418512x639482157734019100']] },
      standard: {
        sources: {
          acme: { secrets: [standardSecret], accounts: ['acme-hq'] },
          other: { secrets: [standardSecret] },
        },
      },
    });
  });

  it('reads a document with no binding exactly as before: no bindings at all', () => {
    const value = read({ cooledge: { secrets: [secret, secret] }, zenbooker: { tokens: [token] } });
    expect(value).toEqual({ cooledge: { secrets: [secret, secret] }, zenbooker: { tokens: [token] } });
    expect(Object.keys(value.cooledge as object)).toEqual(['secrets']);
  });

  it('takes the object form in the first shape too, naming the old key in a problem', () => {
    expect(
      read({ cooledgeSecrets: [secret, { secret: bound, accounts: ['biz-a'] }], zenbookerTokens: [token] }),
    ).toEqual(
      read({
        cooledge: { secrets: [secret, { secret: bound, accounts: ['biz-a'] }] },
        zenbooker: { tokens: [token] },
      }),
    );
    const result = readCredentials({ zenbookerTokens: [{ token, accounts: [] }] }, providers);
    expect(result).toEqual({
      ok: false,
      problem: { path: 'zenbookerTokens.0.accounts', message: 'expected at least one account id' },
    });
  });

  it('binds a value listed in several objects to all their accounts', () => {
    expect(
      read({
        cooledge: {
          secrets: [
            { secret: bound, accounts: ['biz-a'] },
            { secret: bound, accounts: ['biz-b'] },
          ],
        },
      }).cooledge,
    ).toEqual({ secrets: [bound, bound], bindings: [['biz-a'], ['biz-b']] });
  });

  it.each<[string, unknown, string, RegExp]>([
    [
      'an empty accounts list',
      { cooledge: { secrets: [{ secret: bound, accounts: [] }] } },
      'cooledge.secrets.0.accounts',
      /at least one account id/,
    ],
    [
      'an empty account id',
      { cooledge: { secrets: [{ secret: bound, accounts: ['biz-a', ''] }] } },
      'cooledge.secrets.0.accounts.1',
      /an account id/,
    ],
    [
      'an account id that is not text',
      { zenbooker: { tokens: [{ token, accounts: [42] }] } },
      'zenbooker.tokens.0.accounts.0',
      /string/,
    ],
    [
      'an account id with a lone surrogate',
      { standard: { sources: { acme: { secrets: [standardSecret], accounts: ['\ud800'] } } } },
      'standard.sources.acme.accounts.0',
      /well-formed/,
    ],
    [
      'an account id over 1024 UTF-8 bytes',
      { cooledge: { secrets: [{ secret: bound, accounts: ['工'.repeat(342)] }] } },
      'cooledge.secrets.0.accounts.0',
      /1024 UTF-8 bytes/,
    ],
    [
      'accounts as text, not a list',
      { cooledge: { secrets: [{ secret: bound, accounts: 'biz-a' }] } },
      'cooledge.secrets.0.accounts',
      /Array/,
    ],
    [
      'an object without accounts',
      { cooledge: { secrets: [{ secret: bound }] } },
      'cooledge.secrets.0.accounts',
      /accounts/,
    ],
    [
      'a misspelt accounts key',
      { cooledge: { secrets: [{ secret: bound, accounts: ['biz-a'], acounts: ['biz-b'] }] } },
      'cooledge.secrets.0',
      /no key other than "secret" and "accounts"/,
    ],
    [
      'a short secret in the object form',
      { cooledge: { secrets: [{ secret: 'short', accounts: ['biz-a'] }] } },
      'cooledge.secrets.0.secret',
      /at least 16 characters/,
    ],
    [
      'a token in the object form under the Cooledge key',
      { zenbooker: { tokens: [{ secret: token, accounts: ['biz-a'] }] } },
      'zenbooker.tokens.0.token',
      /token/,
    ],
    [
      'accounts beside the list, binding nothing',
      { cooledge: { secrets: [secret], accounts: ['biz-a'] } },
      'cooledge',
      /no key other than "secrets"/,
    ],
    [
      'a misspelt accounts key on a Standard source',
      { standard: { sources: { acme: { secrets: [standardSecret], acounts: ['acme-hq'] } } } },
      'standard.sources.acme',
      /no key other than "secrets" and "accounts"/,
    ],
    [
      'a value both unbound and bound',
      { cooledge: { secrets: [secret, { secret, accounts: ['biz-a'] }] } },
      'cooledge.secrets',
      /never both/,
    ],
  ])('refuses %s, naming where', (_, document, path, message) => {
    const result = readCredentials(document, providers);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem.path).toBe(path);
      expect(result.problem.message).toMatch(message);
      // The value is never quoted, in the object form either.
      for (const value of [secret, bound, token, 'short'])
        expect(result.problem.message).not.toContain(value);
    }
  });
});

describe('readCredentials: blank account ids', () => {
  it('refuses a binding to an account id of spaces: no event could name it usefully', () => {
    const result = readCredentials(
      { cooledge: { secrets: [{ secret: 'whsec_first_secret_0123456789', accounts: [' '] }] } },
      providers,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.path).toMatch(/^cooledge\.secrets\.0/);
  });
});
