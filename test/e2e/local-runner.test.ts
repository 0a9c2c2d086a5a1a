import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { cooledge, sign } from '#providers/cooledge';
import { providers } from '#providers/index';
import { zenbooker } from '#providers/zenbooker';
import { fixture } from '../support/fixtures.ts';
import { alive, freePort, root, run, Service } from './support.ts';

/**
 * The runner (`npm start`) as an operator meets it across restarts, on one data folder: a second
 * runner is refused while the first runs, the folder is free again after SIGTERM and Ctrl-C, a
 * restart with another `QUEUE_VISIBILITY_TIMEOUT_SECONDS` applies it, and what senders put in event
 * keys, types and paths reaches the terminal inert.
 */
describe('npm start on one data folder, across restarts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'field-webhooks-runner-'));
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  const lockFile = join(dataDir, 'runner.lock');
  const stackFile = join(dataDir, 'stack.json');
  const started: Service[] = [];

  async function ports() {
    return {
      PORT: String(await freePort()),
      DYNAMODB_PORT: String(await freePort()),
      SQS_PORT: String(await freePort()),
    };
  }

  async function start(extra: Record<string, string> = {}): Promise<Service> {
    const service = new Service(tsx, ['local/start.ts'], {
      LOCAL_DATA_DIR: dataDir,
      ...(await ports()),
      ...extra,
    });
    started.push(service);
    await service.waitFor(/^ready: serving (\S+)/m, 90_000);
    return service;
  }

  async function stop(service: Service, signal: NodeJS.Signals): Promise<number | null> {
    service.signal(signal);
    return Promise.race([
      service.exit,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit on ${signal}`)), 30_000)),
    ]);
  }

  const pidOf = () => (JSON.parse(readFileSync(stackFile, 'utf8')) as { pid: number }).pid;

  afterAll(async () => {
    for (const service of started) {
      if (!service.running()) continue;
      service.signal('SIGINT');
      await Promise.race([service.exit, new Promise((r) => setTimeout(r, 15_000))]);
      service.signal('SIGKILL');
    }
    const pidFile = join(dataDir, 'dynamodb.pid');
    if (existsSync(pidFile)) {
      const javaPid = Number(readFileSync(pidFile, 'utf8'));
      if (javaPid > 0 && alive(javaPid)) process.kill(javaPid, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a second runner on the same folder, naming the first, and leaves its files alone', async () => {
    const first = await start();
    const pid = pidOf();
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid });
    const stackBefore = readFileSync(stackFile, 'utf8');
    const lockBefore = readFileSync(lockFile, 'utf8');

    const second = await run(tsx, ['local/start.ts'], { LOCAL_DATA_DIR: dataDir, ...(await ports()) });
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toContain(
      `error: the data folder ${dataDir} is in use by another local stack: pid ${pid} (`,
    );
    expect(second.stderr).toMatch(/local\/start\.ts/);
    expect(second.stderr).toContain(`kill ${pid}`);
    expect(second.stderr).toContain('--data-dir');
    expect(second.stderr).not.toMatch(/^\s+at /m);
    expect(readFileSync(stackFile, 'utf8')).toBe(stackBefore);
    expect(readFileSync(lockFile, 'utf8')).toBe(lockBefore);
    expect(first.running()).toBe(true);

    // SIGTERM to the pid the ready line prints, and to it alone (not npm's or tsx's, not the
    // process group): the runner drains, stops DynamoDB Local and exits 0.
    const printed = Number(
      /^ready: serving \S+ \(.*runner pid (\d+): Ctrl-C here, or `kill \1`, stops it\)$/m.exec(
        first.output,
      )?.[1],
    );
    expect(printed).toBe(pid);
    const javaPid = Number(readFileSync(join(dataDir, 'dynamodb.pid'), 'utf8'));
    expect(alive(javaPid)).toBe(true);
    process.kill(printed, 'SIGTERM');
    const code = await Promise.race([
      first.exit,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit on SIGTERM')), 30_000)),
    ]);
    expect(code, first.output).toBe(0);
    expect(first.output).toMatch(/^stopped \(/m);
    expect(existsSync(lockFile)).toBe(false);
    expect(existsSync(stackFile)).toBe(false);
    expect(alive(javaPid)).toBe(false);
  });

  it('restarts on the folder with another visibility timeout, logs inert values, frees it on Ctrl-C', async () => {
    const runner = await start({ QUEUE_VISIBILITY_TIMEOUT_SECONDS: '3' });
    expect(runner.output).not.toMatch(/already exists/);
    const stack = JSON.parse(readFileSync(stackFile, 'utf8')) as {
      url: string;
      sqsEndpoint: string;
      queues: { queueUrl: string };
    };
    const sqs = new SQSClient({
      endpoint: stack.sqsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.queues.queueUrl,
          AttributeNames: ['VisibilityTimeout'],
        }),
      );
      expect(Attributes?.VisibilityTimeout).toBe('3');
    } finally {
      sqs.destroy();
    }

    // An OSC 52 clipboard write in the event key, a C1 CSI and a bidi override in the event type.
    const printed = (variable: string) =>
      (new RegExp(`${variable} +(\\S+)`).exec(runner.output) as RegExpExecArray)[1] as string;
    const secret = printed(cooledge.credentials.env.variable);
    const token = printed(zenbooker.credentials.env.variable);
    const eventKey = `\u001b]52;c;${Buffer.from('rm -rf ~').toString('base64').replace(/=/g, '')}\u0007${randomUUID()}`;
    const body = JSON.stringify({
      ...fixture('cooledge', 'job.completed'),
      event_id: eventKey,
      event_type: 'job.\u009b2J\u202edetelpmoc',
    });
    const accepted = await fetch(`${stack.url}/webhooks/cooledge`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-cooledge-signature': sign(body, secret, 'timestamped'),
      },
      body,
    });
    expect(accepted.status).toBe(202);
    // A real token sent to a wrong path.
    const wrong = await fetch(`${stack.url}/webhooks/${token}`, { method: 'POST', body: '{}' });
    expect(wrong.status).toBe(404);
    await runner.waitFor(/POST \(no route\)/, 10_000);
    await runner.waitFor(/event accepted .*eventKey="\\u001b\]52;c;/, 10_000);

    expect(runner.output).toContain('eventType="job.\\u009b2J\\u202edetelpmoc"');
    // Line breaks are the log's own; nothing else a terminal acts on (NO_COLOR: no colours either).
    expect(runner.output.replaceAll('\n', '')).not.toMatch(/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u);
    // The banner prints the dev token; the log after it never does.
    expect(runner.output.slice(runner.output.indexOf('ready: serving'))).not.toContain(token.slice(0, 16));

    expect(await stop(runner, 'SIGINT'), runner.output).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('refuses a mistyped flag with a suggestion, and starts nothing', async () => {
    const typo = await run(tsx, ['local/start.ts', '--rest'], {
      LOCAL_DATA_DIR: dataDir,
      ...(await ports()),
    });
    expect(typo.code).toBe(2);
    // One line in the CLI's words and where the usage is, not the whole help.
    expect(typo.stderr).toBe(
      'error: unknown option --rest (did you mean --reset?)\nRun `npm start -- --help` for usage.\n',
    );
    expect(existsSync(lockFile)).toBe(false);
    // A flag where --data-dir's value should be: refused, and no folder named after the flag.
    const swallowed = await run(tsx, ['local/start.ts', '--data-dir', '--reset'], { ...(await ports()) });
    expect(swallowed.code).toBe(2);
    expect(swallowed.stderr).toBe(
      'error: --data-dir needs a value (for one that starts with "--", write --data-dir=…)\n' +
        'Run `npm start -- --help` for usage.\n',
    );
    expect(existsSync(join(root, '--reset'))).toBe(false);
    const help = await run(tsx, ['local/start.ts', '-h'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm start/);
    // The providers' variables come from the registry.
    for (const provider of providers.values()) {
      expect(help.stdout).toContain(provider.credentials.env.variable);
      for (const setting of Object.values(provider.settings)) expect(help.stdout).toContain(setting.variable);
    }
  });
});
