import { describe, expect, it } from 'vitest';
import type { AnyProvider } from '#core/provider';
import { matchRoute, routePath } from '#core/routes';
import { providers, registry } from '#providers/index';
import { banner } from '../../local/banner.ts';
import { resourceNames } from '../../local/names.ts';
import { type LocalSettings, localSettings, type RunningLocalStack } from '../../local/runner.ts';
import { testProvider, testProviderDevKey } from '../support/test-provider.ts';

const dataDir = '/tmp/field-webhooks-local-settings';

/** A running stack as the banner sees it, without starting anything. */
function stackOf(settings: LocalSettings): RunningLocalStack {
  const url = 'http://127.0.0.1:3000';
  return {
    url,
    settings,
    stack: {
      pid: 1,
      url,
      dynamoEndpoint: 'http://127.0.0.1:8000',
      sqsEndpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      names: resourceNames('local'),
      queues: { queueUrl: 'http://127.0.0.1:4566/q', deadLetterQueueUrl: 'http://127.0.0.1:4566/dlq' },
      startedAt: '2026-06-17T14:38:55.904Z',
    },
    stop: async () => {},
    summary: () => '',
    childPids: () => [],
  };
}

describe('local settings: each provider of the registry brings its credentials', () => {
  it("uses each provider's dev value when its variable is unset or blank, and hands it to the handlers", () => {
    const blank = Object.fromEntries([...providers.values()].map((p) => [p.credentials.env.variable, '  ']));
    for (const env of [{}, blank]) {
      const settings = localSettings({ ...env, WEBHOOK_SECRET_ID: 'arn:from-the-shell' }, dataDir);
      expect(settings.providers).toBe(providers);
      expect(settings.handlerEnv.WEBHOOK_SECRET_ID).toBeUndefined();
      for (const provider of providers.values()) {
        const { variable, dev } = provider.credentials.env;
        expect(settings.credentials[provider.name]).toBe(dev);
        expect(settings.devCredentials[provider.name]).toBe(true);
        expect(settings.handlerEnv[variable]).toBe(dev);
      }
    }
  });

  it('uses what the environment sets instead, trimmed', () => {
    const settings = localSettings(
      { ZENBOOKER_WEBHOOK_TOKENS: ' zbk_from_the_environment_0123456789 ' },
      dataDir,
    );
    expect(settings.credentials.zenbooker).toBe('zbk_from_the_environment_0123456789');
    for (const provider of providers.values()) {
      expect(settings.devCredentials[provider.name], provider.name).toBe(provider.name !== 'zenbooker');
    }
    expect(settings.handlerEnv.ZENBOOKER_WEBHOOK_TOKENS).toBe('zbk_from_the_environment_0123456789');
  });

  it.each([...providers.values()])(
    'refuses malformed $name credentials before starting, naming the variable',
    (provider) => {
      const { variable } = provider.credentials.env;
      expect(() => localSettings({ [variable]: 'x' }, dataDir)).toThrow(
        new RegExp(`^${variable} is invalid`),
      );
    },
  );

  it('serves another registry: a provider outside the registry gets its dev value too', () => {
    const served = registry([...providers.values(), testProvider]);
    const settings = localSettings({}, dataDir, served);
    expect(settings.providers).toBe(served);
    expect(settings.credentials.test).toBe(testProviderDevKey);
    expect(settings.handlerEnv.TEST_PROVIDER_KEYS).toBe(testProviderDevKey);
    expect(localSettings({}, dataDir).handlerEnv).not.toHaveProperty('TEST_PROVIDER_KEYS');
  });
});

describe('local settings: the data folder', () => {
  it('takes a relative `npm start -- --data-dir` from the folder npm was run in (INIT_CWD)', () => {
    expect(localSettings({ INIT_CWD: '/home/me/field-webhooks/docs' }, '../mine').dataDir).toBe(
      '/home/me/field-webhooks/mine',
    );
    expect(localSettings({ INIT_CWD: '/home/me/field-webhooks/docs' }, '/abs/data').dataDir).toBe(
      '/abs/data',
    );
  });
});

describe('local banner: one line per provider', () => {
  const lines = (text: string, heading: string) => {
    const after = text.slice(text.indexOf(heading));
    return after.split('\n').slice(1, after.split('\n').indexOf('', 1));
  };
  /**
   * A banner line with its column padding squeezed to two spaces: the widths follow the longest
   * title and variable of the registry, which a new provider may change (alignment is checked apart).
   */
  const squeezed = (line: string) => line.replace(/ {2,}/g, '  ');
  const squeezedText = (text: string) => text.split('\n').map(squeezed).join('\n');

  it('prints every URL and dev credential, filling route parameters with the dev values', async () => {
    const text = await banner(stackOf(localSettings({}, dataDir)), { colour: false, reset: false });
    const list = [...providers.values()];
    const urls = lines(text, 'Webhook URLs');
    const credentials = lines(text, 'Dev credentials');
    expect(urls).toHaveLength(list.length);
    expect(credentials).toHaveLength(list.length);
    list.forEach((provider, i) => {
      const [, title, path] = /^ {2}(.+?) +POST http:\/\/127\.0\.0\.1:3000(\S+)$/.exec(urls[i] ?? '') ?? [];
      expect(title).toBe(provider.title);
      expect(matchRoute(path ?? '', providers)?.provider).toBe(provider);
      // A parameter is filled in: the dev token, or the first source's name.
      if (provider.route.parameter) expect(path).not.toBe(routePath(provider));
      else expect(path).toBe(routePath(provider));
      const { variable, dev } = provider.credentials.env;
      expect(credentials[i]?.split(/ {2,}/).slice(1, 4)).toEqual([provider.title, variable, dev]);
    });
    // In columns: every URL starts where the others do, and so does every variable.
    expect(new Set(urls.map((line) => line.indexOf('POST '))).size).toBe(1);
    expect(
      new Set(credentials.map((line, i) => line.indexOf(list[i]?.credentials.env.variable ?? ''))).size,
    ).toBe(1);
    expect(urls.map(squeezed)).toContain(
      '  Zenbooker  POST http://127.0.0.1:3000/webhooks/zenbooker/zbk_local_dev_0123456789abcdefghij',
    );
    expect(urls.map(squeezed)).toContain(
      '  Standard Webhooks  POST http://127.0.0.1:3000/webhooks/standard/local',
    );
    expect(credentials.map(squeezed)).toContain(
      '  Cooledge  COOLEDGE_WEBHOOK_SECRETS  whsec_local_dev_0123456789abcdef  (scheme timestamped)',
    );
    expect(text).toMatch(/^Send a signed sample event \(in another terminal\):$/m);
  });

  it('never prints a credential from the environment, nor a secret route parameter; a source name it does', async () => {
    const token = 'zbk_from_the_environment_0123456789';
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    const settings = localSettings(
      {
        ZENBOOKER_WEBHOOK_TOKENS: token,
        STANDARD_WEBHOOK_SECRETS: `crm=${secret}`,
        COOLEDGE_SIGNATURE_SCHEME: 'plain',
      },
      dataDir,
    );
    const text = await banner(stackOf(settings), { colour: false, reset: false });
    expect(text).toContain(
      `POST http://127.0.0.1:3000${routePath(providers.get('zenbooker') as AnyProvider)}\n`,
    );
    expect(text).toContain('POST http://127.0.0.1:3000/webhooks/standard/crm\n');
    expect(squeezedText(text)).toContain('ZENBOOKER_WEBHOOK_TOKENS  zbk_… (from the environment)');
    expect(squeezedText(text)).toContain('STANDARD_WEBHOOK_SECRETS  crm=… (from the environment)');
    expect(text).toContain('(scheme plain)');
    expect(text).not.toContain(token.slice(0, 8));
    expect(text).not.toContain(secret.slice(0, 10));
    expect(text).toContain('with ZENBOOKER_WEBHOOK_TOKENS and STANDARD_WEBHOOK_SECRETS set there too');
  });

  it('prints one URL for each configured Standard Webhooks source, in the order given, once each', async () => {
    const secret = (byte: number) => `whsec_${Buffer.alloc(32, byte).toString('base64')}`;
    const settings = localSettings(
      { STANDARD_WEBHOOK_SECRETS: `crm=${secret(1)}, billing=${secret(2)},crm=${secret(3)}` },
      dataDir,
    );
    const urls = lines(await banner(stackOf(settings), { colour: false, reset: false }), 'Webhook URLs');
    // The title once, then a line per source in the same column; crm's rotated second secret adds
    // no URL.
    const standard = urls.filter((line) => line.includes('/webhooks/standard/'));
    expect(standard.map(squeezed)).toEqual([
      '  Standard Webhooks  POST http://127.0.0.1:3000/webhooks/standard/crm',
      '  POST http://127.0.0.1:3000/webhooks/standard/billing',
    ]);
    expect(new Set(urls.map((line) => line.indexOf('POST '))).size).toBe(1);
    for (const byte of [1, 2, 3]) expect(urls.join('\n')).not.toContain(secret(byte).slice(6, 16));
  });

  it('says an unset or empty variable leaves the dev value', async () => {
    const text = await banner(stackOf(localSettings({}, dataDir)), { colour: false, reset: false });
    expect(text).toContain("(each provider's variable, when set and not empty, replaces its dev value)");
  });

  it('lists a provider from another registry like any other', async () => {
    const settings = localSettings({}, dataDir, registry([...providers.values(), testProvider]));
    const text = await banner(stackOf(settings), { colour: false, reset: false });
    expect(lines(text, 'Webhook URLs').map(squeezed)).toContain(
      '  Test provider  POST http://127.0.0.1:3000/webhooks/test',
    );
    expect(lines(text, 'Dev credentials').map(squeezed)).toContain(
      `  Test provider  TEST_PROVIDER_KEYS  ${testProviderDevKey}`,
    );
  });
});
