import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { providers } from '#providers/index';
import { commands } from '../../cli/commands.ts';
import { freePort } from '../e2e/support.ts';
import { oneEditTypo } from '../support/typos.ts';
import { cli } from './run-cli.ts';

describe('cli: commands and help', () => {
  it('lists every command for --help', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const name of ['send', 'jobs', 'events', 'replay', 'redrive'])
      expect(result.stdout).toContain(`  ${name} `);
  });

  it('asks for a command when given none', async () => {
    const result = await cli([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: missing command/);
  });

  it.each(commands.map((c) => c.name))(
    'prints help for %s with --help, -h and `help <command>`',
    async (name) => {
      const long = await cli([name, '--help']);
      expect(long.code).toBe(0);
      expect(long.stdout).toMatch(new RegExp(`^Usage: npm run cli -- ${name}\\b`));
      expect((await cli([name, '-h'])).stdout).toBe(long.stdout);
      expect((await cli(['help', name])).stdout).toBe(long.stdout);
    },
  );

  it('says which commands take --stage: exactly those that have it, and that send takes --url', async () => {
    const help = (await cli(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).not.toMatch(/every command/i);
    const staged = commands.filter((c) => c.options.stage !== undefined).map((c) => c.name);
    const unstaged = commands.filter((c) => c.options.stage === undefined).map((c) => c.name);
    const said = /(\w+(?:, \w+)*(?: and \w+)?) work against the local stack .*? with --stage/.exec(help);
    expect(said?.[1]?.split(/, | and /)).toEqual(staged);
    for (const name of unstaged) {
      expect(said?.[1]).not.toContain(name);
      expect(commands.find((c) => c.name === name)?.options.url).toBeDefined();
      expect(help).toContain(
        `${name} posts to the local stack by default, and to a deployed stack's API with --url`,
      );
    }
  });

  it('rejects an unknown command and suggests a close one', async () => {
    const result = await cli(['jbos']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "jbos" (did you mean jobs?)');
    const help = await cli(['help', 'jbos']);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain('unknown command "jbos" (did you mean jobs?)');
  });
});

describe('cli: argument errors exit 2 with the flag and what it expects', () => {
  it.each([
    [['send', '--bogus'], 'unknown option --bogus'],
    [['send', '--count'], '--count needs a value'],
    [['send', '--json=yes'], '--json does not take a value'],
    [['send', '--count', '0'], '--count must be between 1 and 100000 (got 0)'],
    [['send', '--count', 'ten'], '--count must be a whole number (got "ten")'],
    [['send', '--concurrency', '1000'], '--concurrency must be between 1 and 256'],
    [['send', '--duplicates', '1.5'], '--duplicates must be a rate between 0 and 1'],
    [['send', '--duplicates', 'lots'], '--duplicates must be a rate between 0 and 1'],
    [
      ['send', '--provider', 'acme'],
      `--provider must be one of ${[...providers.keys(), 'all'].join(', ')} (got "acme")`,
    ],
    [['send', '--scheme', 'md5'], '--scheme must be one of timestamped, plain'],
    [
      ['send', '--provider', 'zenbooker', '--type', 'invoice.paid'],
      '--type invoice.paid has no zenbooker sample',
    ],
    [['send', '--url', 'ftp://example.com'], '--url must be an http(s) URL'],
    [['send', '--url', 'not a url'], '--url must be an http(s) URL'],
    [['send', '--file', '/no/such/file.json'], '--file /no/such/file.json: ENOENT'],
    [['send', 'extra'], 'send takes no arguments'],
    [['jobs', 'show'], 'jobs show needs a job id'],
    [['jobs', 'show', 'a', 'b'], 'jobs show takes one job id'],
    [['jobs', 'frobnicate'], 'unknown jobs subcommand "frobnicate"'],
    [['jobs', '--limit', '-3'], '--limit must be a whole number (got "-3")'],
    [['jobs', '--limt', '5'], 'unknown option --limt (did you mean --limit?)'],
    [['send', '--concurency', '5'], 'unknown option --concurency (did you mean --concurrency?)'],
    [['events', '--sicne', '1h'], 'unknown option --sicne (did you mean --since?)'],
    [['replay', '--dryrun'], 'unknown option --dryrun (did you mean --dry-run?)'],
    [['redrive', '--dry-run=yes'], '--dry-run does not take a value'],
    [
      ['replay', '--all', '--data-dir', '--dry-run'],
      '--data-dir needs a value (for one that starts with "--"',
    ],
    [['redrive', '--data-dir', '--dry-run'], '--data-dir needs a value'],
    [['jobs', '--account', '--json'], '--account needs a value'],
    [['jobs', '--account', '-h'], '--account needs a value'],
    [['jobs', '--account', '--'], '--account needs a value'],
    [['jobs', '--account='], '--account needs a value (got an empty one)'],
    [['events', '--body'], '--body applies to `events show <event key>`'],
    [['jobs', '--status', ''], '--status needs a value (got an empty one)'],
    [['send', '--secret='], '--secret needs a value (got an empty one)'],
    [['replay', '--key', 'k1', '--key', ' '], '--key needs a value (got an empty one)'],
    [
      ['jobs', '--provider', 'acme'],
      `--provider must be one of ${[...providers.keys()].join(', ')} (got "acme")`,
    ],
    [['jobs', '--region', 'eu-west-1'], '--region applies to a deployed stack: add --aws'],
    [['jobs', '--aws', '--data-dir', 'x'], '--data-dir selects a local stack and --aws a deployed one'],
    [['events', 'show'], 'events show needs an event key'],
    [
      ['events', '--outcome', 'lost'],
      '--outcome must be one of applied, stale, recorded, quarantined, conflict, unprocessable (got "lost")',
    ],
    [['events', '--since', 'yesterday'], '--since must be an ISO 8601 time'],
    [['events', '--since', '1h', '--until', '2h'], '--since ('],
    [['replay'], 'replay needs a filter'],
    [['replay', '--key', 'k', '--outcome', 'stale'], '--key selects events directly'],
    [['replay', 'everything'], 'replay takes filters, not arguments'],
    [['replay', '--outcome', 'conflict'], 'conflict records are never replayed'],
    [['replay', '--all', '--limit', '1000'], 'unknown option --limit'],
    [['redrive', '--max', '0'], '--max must be at least 1 (got 0)'],
    [['redrive', '--max', '99999999999999999999'], '--max must be at most 9007199254740991'],
    [
      ['send', '--file', 'body.json', '--count', '3'],
      '--file sends each file once, as it is: --count does not apply',
    ],
    [
      ['send', '--file', 'body.json', '--count', '2', '--type', 'job.completed'],
      '--file sends each file once, as it is: --type, --count do not apply',
    ],
    [
      ['send', '--stage', 'dev'],
      "unknown option --stage: send reaches a deployed stack with --url <its API's URL>",
    ],
    [['send', '--aws'], "unknown option --aws: send reaches a deployed stack with --url <its API's URL>"],
    [['send', '--provider', 'all', '--file', 'body.json'], '--provider all does not apply to --file'],
    [
      ['jobs', '--stage', 'dev', '--data-dir', 'x'],
      '--data-dir selects a local stack and --stage dev a deployed one: give only one of them',
    ],
    [
      ['events', '--aws', '--stage', 'dev', '--data-dir', 'x'],
      '--data-dir selects a local stack and --stage dev a deployed one',
    ],
    [['events', '--since', '2026-02-30'], '--since must be an ISO 8601 time'],
    [['events', '--until', '2026-11-30junk'], '--until must be an ISO 8601 time'],
    [['events', '--since', '2026-11-30T24:00:00Z'], '--since must be an ISO 8601 time'],
    [
      [
        'send',
        '--url',
        'http://127.0.0.1:1/webhooks/zenbooker/zbk_pasted_token_0123456789abcdef',
        '--provider',
        'cooledge',
      ],
      '--url is the zenbooker webhook URL, but --provider is cooledge',
    ],
    [
      ['send', '--url', 'http://127.0.0.1:1/webhooks/cooledge', '--provider', 'all'],
      '--url is the cooledge webhook URL, and --provider all sends to every provider',
    ],
    [['send', '--url', 'http://127.0.0.1:1/webhooks/acme'], '--url: "/webhooks/acme" names no provider'],
    [
      ['send', '--url', 'http://127.0.0.1:1/webhooks/cooledge/extra'],
      '--url: /webhooks/cooledge takes nothing after it',
    ],
    [['jobs', '--stage', 'prod/eu'], '--stage must be a stage name like prod or dev'],
  ])('%j → %s', async (argv, message) => {
    const result = await cli(argv);
    expect(result.stderr).toContain(`error: ${message}`);
    expect(result.stderr).toContain(`Run \`npm run cli -- ${argv[0]} --help\` for usage.`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });

  it('names the missing table and its variable for a deployed stack', async () => {
    const result = await cli(['jobs', '--aws'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pass --stage, or --jobs-table, or set JOBS_TABLE_NAME');
    const events = await cli(['events', '--aws', '--region', 'eu-west-1'], {});
    expect(events.stderr).toContain('pass --stage, or --events-table, or set EVENTS_TABLE_NAME');
    const redrive = await cli(['redrive', '--aws', '--region', 'eu-west-1'], {});
    expect(redrive.stderr).toContain('pass --stage, or --queue-url, or set QUEUE_URL');
  });
});

describe('cli: failures while working exit 1 with a hint', () => {
  it('says when nothing listens at the send URL', async () => {
    const port = await freePort();
    const result = await cli(['send', '--url', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `nothing is listening at http://127.0.0.1:${port}: start the local stack`,
    );
  });

  it('says how to give a region when a deployed stack is asked for without one', async () => {
    // No region anywhere: not in the environment, not in a profile.
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/credentials');
    try {
      const result = await cli(['jobs', '--stage', 'prod']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'error: Region is missing: set AWS_REGION (or a profile with a region, via AWS_PROFILE), or pass --region\n',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('says when the local stack is not running', async () => {
    const port = String(await freePort());
    const result = await cli(['jobs', '--data-dir', '/nonexistent'], { DYNAMODB_PORT: port });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*Is `npm start` running/);
  });
});

describe('cli: a mistyped flag is refused with a suggestion (property)', () => {
  const flagsOf = (name: string) => Object.keys(commands.find((c) => c.name === name)?.options ?? {});
  const cases = commands.flatMap((c) =>
    flagsOf(c.name)
      .filter((flag) => flag.length >= 5)
      .map((flag) => [c.name, flag] as const),
  );

  it('exits 2 naming the typo and the flag it was probably meant to be, for every command', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...cases),
        fc.nat(),
        fc.integer({ min: 0, max: 2 }),
        async ([command, flag], at, kind) => {
          const typed = oneEditTypo(flag, at % (flag.length - 1), kind);
          fc.pre(typed !== flag && !flagsOf(command).includes(typed));
          const result = await cli([command, `--${typed}`]);
          expect(result.code).toBe(2);
          expect(result.stdout).toBe('');
          const line = result.stderr.split('\n')[0] as string;
          expect(line).toMatch(
            new RegExp(`^error: unknown option --${typed} \\(did you mean .*--${flag}\\b`),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('cli: a flag that takes a value never takes the next flag as it (property)', () => {
  it('refuses `--<flag> --<other>` for every value flag and every other flag of every command, and runs nothing', async () => {
    const cases = commands.flatMap((c) =>
      Object.entries(c.options)
        .filter(([, o]) => o.type === 'string')
        .flatMap(([flag]) => Object.keys(c.options).map((other) => [c.name, flag, other] as const)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cases), async ([command, flag, other]) => {
        const result = await cli([command, `--${flag}`, `--${other}`]);
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr.split('\n')[0]).toBe(
          `error: --${flag} needs a value (for one that starts with "--", write --${flag}=…)`,
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('cli: shellQuote gives back the exact value when a hint is pasted into a shell (property)', () => {
  it('round-trips any text through bash, control characters and bidi marks included, in printable text', async () => {
    const { shellQuote } = await import('../../cli/commands.ts');
    const { execFileSync } = await import('node:child_process');
    const { hasTerminalActive } = await import('#core/text');
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.constantFrom('\u001b', '\u0007', '\n', '\u202e', "'", '\\', '$', ' ', '"', '`'),
            fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
          ),
          maxLength: 20,
        }),
        (value) => {
          fc.pre(!value.includes('\u0000'));
          const quoted = shellQuote(value);
          expect(hasTerminalActive(quoted)).toBe(false);
          for (const locale of ['C.UTF-8', 'C']) {
            const echoed = execFileSync('bash', ['-c', `printf %s ${quoted}`], {
              encoding: 'utf8',
              env: { ...process.env, LC_ALL: locale },
            });
            expect(echoed).toBe(value);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
