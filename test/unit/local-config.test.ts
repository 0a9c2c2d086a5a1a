import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataDirFrom, repoRoot, resetCommand } from '../../local/config.ts';

describe('local: the reset hint names the folder in use', () => {
  it('is plain for the default folder', () => {
    expect(resetCommand(join(repoRoot, '.local'))).toBe('npm start -- --reset');
  });

  it('spells out --data-dir for any other folder, so it never wipes the default one instead', () => {
    expect(resetCommand('/tmp/other data')).toBe('npm start -- --reset --data-dir "/tmp/other data"');
  });
});

describe('local: a relative --data-dir is the user’s, from the folder npm was run in', () => {
  /** A relative path of a few segments, `..` among them. */
  const relativePath = fc
    .array(fc.oneof(fc.constant('..'), fc.stringMatching(/^[a-z0-9_-]{1,8}$/)), {
      minLength: 1,
      maxLength: 4,
    })
    .map((segments) => segments.join('/'));

  it('resolves --data-dir from INIT_CWD (npm sets it to where it was run), else the current directory (property)', () => {
    fc.assert(
      fc.property(relativePath, fc.stringMatching(/^\/[a-z0-9/]{0,20}$/), (path, from) => {
        expect(dataDirFrom({ INIT_CWD: from }, path)).toBe(resolve(from, path));
        expect(dataDirFrom({}, path)).toBe(resolve(process.cwd(), path));
        // An absolute one is itself, from anywhere.
        expect(dataDirFrom({ INIT_CWD: from }, `/abs/${path}`)).toBe(resolve(`/abs/${path}`));
      }),
    );
  });

  it('keeps LOCAL_DATA_DIR and the default in the repository, wherever npm was run (and a blank one is the default)', () => {
    const env = { INIT_CWD: '/somewhere/docs' };
    expect(dataDirFrom(env)).toBe(join(repoRoot, '.local'));
    expect(dataDirFrom({ ...env, LOCAL_DATA_DIR: 'data' })).toBe(join(repoRoot, 'data'));
    expect(dataDirFrom({ ...env, LOCAL_DATA_DIR: '  ' })).toBe(join(repoRoot, '.local'));
    // The flag wins over the variable.
    expect(dataDirFrom({ ...env, LOCAL_DATA_DIR: 'data' }, 'mine')).toBe('/somewhere/docs/mine');
  });
});
