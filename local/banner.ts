import { join, relative } from 'node:path';
import * as v from 'valibot';
import { readSettings } from '#core/config';
import { commaList } from '#core/credentials';
import type { AnyProvider } from '#core/provider';
import { matchRoute, routePath } from '#core/routes';
import { dataDirFrom, repoRoot, resetCommand } from './config.ts';
import { jobEventsFileName } from './job-publisher.ts';
import type { LocalSettings, RunningLocalStack } from './runner.ts';

const bold = (s: string, on: boolean) => (on ? `\x1b[1m${s}\x1b[0m` : s);

/** Keeps the start of a secret the user set, so the banner never prints it whole. */
function masked(value: string): string {
  return `${value.slice(0, 4)}… (from the environment)`;
}

/**
 * The paths to POST to: the route itself, or for a route with a parameter the path the provider's
 * sender would use with these credentials (a Standard Webhooks source, Zenbooker's token), one for
 * each value of the comma-separated text that gives a path of its own (so every configured source,
 * in the order given; a rotation's second secret adds none). A secret parameter is the credential
 * itself, so it is filled in only when it is the public dev value; else, or when the sender cannot
 * address a request, the route's template (`/webhooks/zenbooker/{token}`).
 */
async function webhookPaths(provider: AnyProvider, settings: LocalSettings): Promise<string[]> {
  const template = routePath(provider);
  const parameter = provider.route.parameter;
  if (!parameter || (parameter.secret && !settings.devCredentials[provider.name])) return [template];
  const text = settings.credentials[provider.name] ?? provider.credentials.env.dev;
  const sender = await provider.sender();
  const pathOf = (values: string): string | undefined => {
    try {
      const credentials = v.parse(provider.credentials.schema, provider.credentials.env.parse(values));
      const { path } = sender.request(Buffer.from('{}'), {
        credentials,
        settings: readSettings(provider, settings.handlerEnv),
        now: new Date(),
        messageId: 'msg_banner',
      });
      return matchRoute(path, new Map([[provider.name, provider]])) ? path : undefined;
    } catch {
      return undefined;
    }
  };
  const paths = new Set<string>();
  for (const value of commaList(text)) {
    const path = pathOf(value);
    if (path !== undefined) paths.add(path);
  }
  if (paths.size === 0) paths.add(pathOf(text) ?? template);
  return [...paths];
}

/** The current value of each setting `cli send` has a flag for (Cooledge's `scheme timestamped`). */
function flaggedSettings(provider: AnyProvider, env: LocalSettings['handlerEnv']): string {
  const shown = Object.entries(provider.settings)
    .filter(([, setting]) => setting.flag !== undefined)
    .map(([name, setting]) => `${name} ${env[setting.variable] ?? setting.default}`);
  return shown.length > 0 ? `   (${shown.join(', ')})` : '';
}

/**
 * A forward URL without what may be a secret in it: its origin, and `/…` when it has more (a path
 * or query may hold a key).
 */
function forwardedTo(url: string): string {
  const parsed = new URL(url);
  const more = parsed.pathname !== '/' || parsed.search !== '';
  return `${parsed.origin}${more ? '/…' : ''}`;
}

/** `A`, `A and B`, `A, B and C`. */
function listed(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * What `npm start` prints once the stack is up: where to send webhooks and with which dev
 * credentials (one line per provider served), where the emulators listen, and one command that
 * sends a signed sample event.
 */
export async function banner(
  stack: RunningLocalStack,
  options: { colour: boolean; reset: boolean },
): Promise<string> {
  const { settings, stack: s } = stack;
  const providers = [...settings.providers.values()];
  const inRepo = !relative(repoRoot, settings.dataDir).startsWith('..');
  const shownDir = inRepo ? relative(repoRoot, settings.dataDir) || '.' : settings.dataDir;
  const defaultDir = settings.dataDir === dataDirFrom({});

  const dirFlag = defaultDir ? '' : ` --data-dir ${settings.dataDir}`;
  const sendCommand = `npm run cli -- send${dirFlag}`;
  const jobsCommand = `npm run cli -- jobs${dirFlag}`;
  const watchCommand = `npm run cli -- watch${dirFlag}`;
  const eventsFile = join(shownDir, jobEventsFileName);
  const forward = settings.jobEventsForwardUrl
    ? `, and POSTed to ${forwardedTo(settings.jobEventsForwardUrl)}`
    : ' (--forward-job-events <url> also POSTs them)';
  const needsEnv = providers
    .filter((p) => !settings.devCredentials[p.name])
    .map((p) => p.credentials.env.variable);
  const h = (text: string) => bold(text, options.colour);

  const titleWidth = Math.max(...providers.map((p) => p.title.length)) + 2;
  const variableWidth = Math.max(...providers.map((p) => p.credentials.env.variable.length)) + 2;
  const paths = await Promise.all(providers.map((p) => webhookPaths(p, settings)));
  // One line per URL: a provider with several (Standard Webhooks sources) names itself once.
  const urls = providers.flatMap((p, i) =>
    (paths[i] ?? []).map((path, n) => `  ${(n === 0 ? p.title : '').padEnd(titleWidth)}POST ${s.url}${path}`),
  );
  const credentials = providers.map((p) => {
    const text = settings.credentials[p.name] ?? '';
    const value = settings.devCredentials[p.name] ? text : masked(text);
    return `  ${p.title.padEnd(titleWidth)}${p.credentials.env.variable.padEnd(variableWidth)}${value}${flaggedSettings(p, settings.handlerEnv)}`;
  });

  return `
${h('Webhook URLs')}
${urls.join('\n')}

${h('Dev credentials')} (each provider's variable, when set and not empty, replaces its dev value)
${credentials.join('\n')}

${h('Local AWS')} (region ${s.region}, any credentials)
  DynamoDB    ${s.dynamoEndpoint}   tables ${s.names.eventsTable}, ${s.names.jobsTable}
  SQS         ${s.sqsEndpoint}   queue ${s.names.queue}, DLQ ${s.names.deadLetterQueue}
  Data        ${shownDir}${options.reset ? ' (just wiped)' : ''}   \`${resetCommand(settings.dataDir)}\` wipes it

${h('Job change events')} (from the latest change on: a restart does not publish earlier ones again)
  Logged here as \`job change\` lines, appended to ${eventsFile}${forward}
  Watch them live:  ${watchCommand}

${h('Send a signed sample event')} (in another terminal${needsEnv.length ? `, with ${listed(needsEnv)} set there too` : ''}):
  ${sendCommand}
Then look at the result:  ${jobsCommand}

`;
}
