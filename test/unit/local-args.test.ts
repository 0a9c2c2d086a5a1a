import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { providers } from '#providers/index';
import { startArgs, startHelp, startOptions } from '../../local/args.ts';
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
        fc.constantFrom('reset', 'data-dir'),
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

  it('the usage line, taken literally, is what parses: `npm start [-- [--reset] [--data-dir <dir>]]`', () => {
    const help = startHelp(providers);
    expect(help.split('\n')[0]).toBe('Usage: npm start [-- [--reset] [--data-dir <dir>]]');
    // Every form it allows, after the one `--` npm takes.
    for (const argv of [
      [],
      ['--reset'],
      ['--data-dir', 'x'],
      ['--reset', '--data-dir', 'x'],
      ['--data-dir', 'x', '--reset'],
    ])
      expect(read(argv)).toMatchObject({
        kind: 'start',
        reset: argv.includes('--reset'),
        dataDir: argv.includes('x') ? 'x' : undefined,
      });
    expect(read(['-h'])).toEqual({ kind: 'help' });
  });
});
