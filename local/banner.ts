import { relative } from 'node:path';
import { dataDirFrom, firstOf, repoRoot, resetCommand } from './config.ts';
import type { RunningLocalStack } from './runner.ts';

const bold = (s: string, on: boolean) => (on ? `\x1b[1m${s}\x1b[0m` : s);

/** Keeps the start of a secret the user set, so the banner never prints it whole. */
function masked(value: string): string {
  return `${value.slice(0, 4)}… (from the environment)`;
}

/**
 * What `npm start` prints once the stack is up: where to send webhooks, with which dev
 * credentials, where the emulators listen, and one command that sends a signed sample event.
 */
export function banner(stack: RunningLocalStack, options: { colour: boolean; reset: boolean }): string {
  const { settings, stack: s } = stack;
  const secret = firstOf(settings.cooledgeSecrets, '');
  const token = firstOf(settings.zenbookerTokens, '');
  const scheme = settings.handlerEnv.COOLEDGE_SIGNATURE_SCHEME ?? 'timestamped';
  const inRepo = !relative(repoRoot, settings.dataDir).startsWith('..');
  const shownDir = inRepo ? relative(repoRoot, settings.dataDir) || '.' : settings.dataDir;
  const defaultDir = settings.dataDir === dataDirFrom({});

  const dirFlag = defaultDir ? '' : ` --data-dir ${settings.dataDir}`;
  const sendCommand = `npm run cli -- send${dirFlag}`;
  const jobsCommand = `npm run cli -- jobs${dirFlag}`;
  const needsEnv = [
    settings.devCredentials.cooledge ? undefined : 'COOLEDGE_WEBHOOK_SECRETS',
    settings.devCredentials.zenbooker ? undefined : 'ZENBOOKER_WEBHOOK_TOKENS',
  ].filter(Boolean);
  const zenbookerUrl = `${s.url}/webhooks/zenbooker/${settings.devCredentials.zenbooker ? token : '<token>'}`;
  const h = (text: string) => bold(text, options.colour);

  return `
${h('Webhook URLs')}
  Cooledge    POST ${s.url}/webhooks/cooledge
  Zenbooker   POST ${zenbookerUrl}

${h('Dev credentials')} (set COOLEDGE_WEBHOOK_SECRETS / ZENBOOKER_WEBHOOK_TOKENS to use others)
  Cooledge signing secret  ${settings.devCredentials.cooledge ? secret : masked(secret)}   (scheme ${scheme})
  Zenbooker token          ${settings.devCredentials.zenbooker ? token : masked(token)}

${h('Local AWS')} (region ${s.region}, any credentials)
  DynamoDB    ${s.dynamoEndpoint}   tables ${s.names.eventsTable}, ${s.names.jobsTable}
  SQS         ${s.sqsEndpoint}   queue ${s.names.queue}, DLQ ${s.names.deadLetterQueue}
  Data        ${shownDir}${options.reset ? ' (just wiped)' : ''}   \`${resetCommand(settings.dataDir)}\` wipes it

${h('Send a signed sample event')} (in another terminal${needsEnv.length ? `, with ${needsEnv.join(' and ')} set there too` : ''}):
  ${sendCommand}
Then look at the result:  ${jobsCommand}

`;
}
