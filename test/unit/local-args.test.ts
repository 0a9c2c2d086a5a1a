import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { providers } from '#providers/index';
import { startArgs, startHelp, startOptions } from '../../local/args.ts';
import { localSettings } from '../../local/runner.ts';
import { oneEditTypo } from '../support/typos.ts';

/** `npm start -- <argv>` as the runner reads it; help text to nowhere. */
const read = (argv: readonly string[]) => startArgs(argv, 'HELP', () => {});

const flags = Object.keys(startOptions);
const valueFlags = flags.filter((f) => startOptions[f as keyof typeof startOptions].type === 'string');

describe('npm start: its arguments, checked as the CLI checks its own', () => {
  it('a value flag followed by any flag (or -h) needs a value: `--data-dir --reset` makes no folder (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valueFlags),
        fc.constantFrom(...flags.map((f) => `--${f}`), '-h', '--', '--anything'),
        fc.array(fc.constantFrom('--reset'), { maxLength: 1 }),
        (flag, next, before) => {
          expect(read([...before, `--${flag}`, next])).toEqual({
            kind: 'usage',
            message: `--${flag} needs a value (for one that starts with "--", write --${flag}=…)`,
          });
        },
      ),
    );
    // Written as the message says, such a value is taken.
    expect(read(['--data-dir=--reset'])).toEqual({ kind: 'start', reset: false, dataDir: '--reset' });
  });

  it('a mistyped flag: one line naming it and the flag it was probably meant to be (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('reset', 'data-dir', 'forward-job-events'),
        fc.nat(),
        fc.integer({ min: 0, max: 2 }),
        (flag, at, kind) => {
          const typed = oneEditTypo(flag, at % (flag.length - 1), kind);
          fc.pre(typed !== flag && !flags.includes(typed));
          const result = read([`--${typed}`]);
          expect(result.kind).toBe('usage');
          const message = (result as { message: string }).message;
          expect(message).toMatch(new RegExp(`^unknown option --${typed} \\(did you mean --${flag}\\?\\)$`));
        },
      ),
    );
    expect(read(['--rest'])).toEqual({
      kind: 'usage',
      message: 'unknown option --rest (did you mean --reset?)',
    });
  });

  it('--reset takes no value; --data-dir takes no empty one; a stray argument is refused (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (value) => {
        expect(read([`--reset=${value}`])).toEqual({
          kind: 'usage',
          message: '--reset does not take a value',
        });
      }),
    );
    for (const argv of [['--data-dir', ''], ['--data-dir='], ['--data-dir', '   ']])
      expect(read(argv)).toEqual({ kind: 'usage', message: '--data-dir needs a value (got an empty one)' });
    expect(read(['--data-dir'])).toEqual({ kind: 'usage', message: '--data-dir needs a value' });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.startsWith('-')),
        (stray) => {
          const result = read(['--reset', stray]);
          expect(result.kind).toBe('usage');
          expect((result as { message: string }).message).toMatch(/^npm start takes no arguments \(got "/);
        },
      ),
    );
    // A second `--` (npm took the first): the flags after it would be arguments.
    expect(read(['--reset', '--', '--data-dir', 'x'])).toEqual({
      kind: 'usage',
      message:
        'npm start takes its options after a single -- (npm start -- --reset --data-dir <dir>); got "--data-dir" after a second one',
    });
  });

  it('the usage line, taken literally, is what parses: `npm start [-- [--reset] [--data-dir <dir>] [--forward-job-events <url>]]`', () => {
    const help = startHelp(providers);
    expect(help.split('\n')[0]).toBe(
      'Usage: npm start [-- [--reset] [--data-dir <dir>] [--forward-job-events <url>]]',
    );
    const url = 'http://127.0.0.1:8080/jobs';
    // Every form it allows, after the one `--` npm takes.
    for (const argv of [
      [],
      ['--reset'],
      ['--data-dir', 'x'],
      ['--reset', '--data-dir', 'x'],
      ['--data-dir', 'x', '--reset'],
      ['--forward-job-events', url],
      ['--reset', '--forward-job-events', url, '--data-dir', 'x'],
    ])
      expect(read(argv)).toEqual({
        kind: 'start',
        reset: argv.includes('--reset'),
        dataDir: argv.includes('x') ? 'x' : undefined,
        forwardJobEvents: argv.includes(url) ? url : undefined,
      });
    expect(read(['-h'])).toEqual({ kind: 'help' });
  });
});

describe('npm start -- --forward-job-events <url>, and JOB_EVENTS_FORWARD_URL', () => {
  it('takes an http or https URL, as a separate word or after =, its path and query kept', () => {
    for (const url of [
      'http://127.0.0.1:9000/hooks',
      'https://example.com/jobs?key=abc',
      'HTTPS://EXAMPLE.COM',
    ])
      for (const argv of [['--forward-job-events', url], [`--forward-job-events=${url}`]])
        expect(read(argv)).toMatchObject({ kind: 'start', forwardJobEvents: url });
  });

  it('refuses another scheme, something that is no URL, credentials in it, and an empty value', () => {
    for (const url of ['ftp://example.com/x', 'example.com/hooks', '/hooks', 'file:///tmp/x', 'http//x'])
      expect(read(['--forward-job-events', url])).toEqual({
        kind: 'usage',
        message: `--forward-job-events must be an http:// or https:// URL (got "${url}")`,
      });
    expect(read(['--forward-job-events', 'https://me:secret@example.com/x'])).toEqual({
      kind: 'usage',
      message:
        '--forward-job-events must not hold a user name or password: fetch refuses to send them (put a key in the path or the query)',
    });
    expect(read(['--forward-job-events', ''])).toEqual({
      kind: 'usage',
      message: '--forward-job-events needs a value (got an empty one)',
    });
    expect(read(['--forward-job-events'])).toEqual({
      kind: 'usage',
      message: '--forward-job-events needs a value',
    });
    // The value is checked as given: quoted in the message, escaped.
    const result = read(['--forward-job-events', 'ftp://x/\u001b[2J']);
    expect(result).toMatchObject({ kind: 'usage' });
    expect((result as { message: string }).message).not.toContain('\u001b');
    expect((result as { message: string }).message).toContain('(got "ftp://x/\\u{1b}[2J")');
  });

  it('has an environment twin, JOB_EVENTS_FORWARD_URL, which the flag overrides; a bad one names itself', () => {
    const dataDir = '/tmp/field-webhooks-args';
    expect(localSettings({}, dataDir).jobEventsForwardUrl).toBeUndefined();
    expect(localSettings({ JOB_EVENTS_FORWARD_URL: '  ' }, dataDir).jobEventsForwardUrl).toBeUndefined();
    const env = { JOB_EVENTS_FORWARD_URL: 'http://127.0.0.1:9000/from-env' };
    expect(localSettings(env, dataDir).jobEventsForwardUrl).toBe('http://127.0.0.1:9000/from-env');
    expect(localSettings(env, dataDir, providers, 'https://example.com/flag').jobEventsForwardUrl).toBe(
      'https://example.com/flag',
    );
    expect(() => localSettings({ JOB_EVENTS_FORWARD_URL: 'ftp://x' }, dataDir)).toThrow(
      'JOB_EVENTS_FORWARD_URL must be an http:// or https:// URL (got "ftp://x")',
    );
    expect(() => localSettings({}, dataDir, providers, 'nope')).toThrow(
      '--forward-job-events must be an http:// or https:// URL (got "nope")',
    );
    expect(startHelp(providers)).toContain('JOB_EVENTS_FORWARD_URL: as --forward-job-events (the flag wins)');
  });
});
