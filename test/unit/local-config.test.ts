import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, resetCommand } from '../../local/config.ts';

describe('local: the reset hint names the folder in use', () => {
  it('is plain for the default folder', () => {
    expect(resetCommand(join(repoRoot, '.local'))).toBe('npm start -- --reset');
  });

  it('spells out --data-dir for any other folder, so it never wipes the default one instead', () => {
    expect(resetCommand('/tmp/other data')).toBe('npm start -- --reset --data-dir "/tmp/other data"');
  });
});
