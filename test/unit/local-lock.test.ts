import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockDataDir, lockFileName, processCommand } from '../../local/lock.ts';
import { LocalStackError } from '../../local/names.ts';

/**
 * One runner per data folder: a second `npm start` on the same `.local/` (with other ports) must
 * stop before it touches anything, naming the process that holds the folder; a lock left by a
 * process that is gone is taken over; the lock goes when its runner exits.
 */

const root = resolve(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const onLinux = existsSync('/proc/self/stat');

describe('local data folder lock', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  function folder(): string {
    const dir = mkdtempSync(join(tmpdir(), 'local-lock-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  function sleeper(): ChildProcess {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    return child;
  }

  async function deadPid(): Promise<number> {
    const child = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    return child.pid as number;
  }

  const lockOf = (dir: string) =>
    JSON.parse(readFileSync(join(dir, lockFileName), 'utf8')) as { pid: number };

  it('is taken with this process id and removed on release', () => {
    const dir = join(folder(), 'not-yet-there');
    const lock = lockDataDir(dir);
    expect(lock.path).toBe(join(dir, lockFileName));
    expect(lockOf(dir).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    lock.release();
    lockDataDir(dir).release();
  });

  it('refuses a second runner, naming the holder (pid and command) and what to do', () => {
    const dir = folder();
    const holder = sleeper();
    const held = `${JSON.stringify({ pid: holder.pid, startedAt: '2026-06-17T14:38:55.904Z' })}\n`;
    writeFileSync(join(dir, lockFileName), held);
    let error: unknown;
    try {
      lockDataDir(dir);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LocalStackError);
    const message = (error as Error).message;
    expect(message).toContain(`the data folder ${dir} is in use by another local stack: pid ${holder.pid}`);
    if (onLinux) expect(message).toContain(`(sleep 30)`);
    expect(message).toContain(`kill ${holder.pid}`);
    expect(message).toContain('npm start -- --data-dir <dir>');
    // The holder's lock is left as it was.
    expect(readFileSync(join(dir, lockFileName), 'utf8')).toBe(held);
  });

  it('refuses a second lock in the same process while the first is held', () => {
    const dir = folder();
    const lock = lockDataDir(dir);
    cleanups.push(() => lock.release());
    expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by another local stack: pid ${process.pid}`));
  });

  it('takes over a stale lock whose process is gone', async () => {
    const dir = folder();
    writeFileSync(join(dir, lockFileName), JSON.stringify({ pid: await deadPid(), startedAt: 'earlier' }));
    const lock = lockDataDir(dir);
    cleanups.push(() => lock.release());
    expect(lockOf(dir).pid).toBe(process.pid);
  });

  it.runIf(onLinux)('takes over a lock whose pid now belongs to another process', () => {
    const dir = folder();
    const holder = sleeper();
    writeFileSync(
      join(dir, lockFileName),
      JSON.stringify({ pid: holder.pid, startTime: '1', startedAt: '1970-01-01T00:00:00.000Z' }),
    );
    const lock = lockDataDir(dir);
    cleanups.push(() => lock.release());
    expect(lockOf(dir).pid).toBe(process.pid);
  });

  it('takes over a lock it cannot read', () => {
    const dir = folder();
    writeFileSync(join(dir, lockFileName), 'not json');
    const lock = lockDataDir(dir);
    cleanups.push(() => lock.release());
    expect(lockOf(dir).pid).toBe(process.pid);
  });

  it('never removes a lock that is no longer its own', () => {
    const dir = folder();
    const lock = lockDataDir(dir);
    const other = JSON.stringify({ pid: 1, startedAt: 'later' });
    writeFileSync(lock.path, other);
    lock.release();
    expect(readFileSync(lock.path, 'utf8')).toBe(other);
  });

  it.each([
    ['a normal exit', '', undefined],
    ['Ctrl-C', 'SIGINT', 'SIGINT'],
    ['SIGTERM', 'SIGTERM', 'SIGTERM'],
  ] as const)(
    'is released when its process exits: %s',
    async (_, handled, signal) => {
      const dir = folder();
      // As `local/start.ts` does: a handled signal ends in `process.exit`.
      const script = `
      import(${JSON.stringify(join(root, 'local', 'lock.ts'))}).then(({ lockDataDir }) => {
        lockDataDir(${JSON.stringify(dir)});
        ${handled ? `process.on('${handled}', () => setTimeout(() => process.exit(0), 10));` : ''}
        process.stdout.write('locked\\n');
        ${handled ? 'setInterval(() => {}, 1000);' : ''}
      });
    `;
      const child = spawn(tsx, ['--eval', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      cleanups.push(() => child.kill('SIGKILL'));
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise((r) => child.once('exit', r));
      while (!output.includes('locked') && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 20));
      expect(output).toContain('locked');
      if (signal) {
        expect(existsSync(join(dir, lockFileName))).toBe(true);
        child.kill(signal);
      }
      await exited;
      expect(existsSync(join(dir, lockFileName)), output).toBe(false);
    },
    30_000,
  );
});

describe('processCommand', () => {
  it('keeps the end of a long command line, where the script is, within 200 characters', async () => {
    // A command line as long as a project in a deep folder gives it: the script name comes last.
    const script = `${'/deep/folder'.repeat(30)}/local/start.ts`;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)', script], {
      stdio: 'ignore',
    });
    try {
      await new Promise((done) => setTimeout(done, 200));
      const command = processCommand(child.pid as number);
      expect(command?.length).toBeLessThanOrEqual(200);
      expect(command).toMatch(/^….*\/local\/start\.ts$/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
