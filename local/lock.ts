import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { visible } from '../cli/format.ts';
import { processAlive } from './config.ts';
import { LocalStackError } from './names.ts';

/**
 * One runner per data folder: DynamoDB Local and the SQS emulator must not open the same files
 * twice, and a second runner (with other ports) would overwrite `stack.json` and delete it on exit
 * while the first still runs. The runner holds `runner.lock` in the folder while it runs: created
 * exclusively, holding its pid; stale, and taken over, once that process is gone.
 */

export const lockFileName = 'runner.lock';

interface LockContent {
  pid: number;
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not mistaken for the holder. */
  startTime?: string;
  startedAt: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock if it is still ours; safe to call more than once. */
  release(): void;
}

/** Field 22 of `/proc/<pid>/stat`, or undefined where there is no such file. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * The command line of a process, printable, when `/proc` lets us read it: at most 200 characters,
 * cut at the start when longer, since the script it runs is at the end and the interpreter's path
 * (as long as the folder the project sits in) at the front.
 */
export function processCommand(pid: number): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const command = raw.split('\0').filter(Boolean).join(' ');
    if (command === '') return undefined;
    return visible(command.length > 200 ? `…${command.slice(-199)}` : command);
  } catch {
    return undefined;
  }
}

function readLock(path: string): { raw: string; content: LockContent | undefined } | undefined {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const content = JSON.parse(raw) as Partial<LockContent>;
    if (typeof content.pid === 'number' && Number.isInteger(content.pid) && content.pid > 0) {
      return { raw, content: content as LockContent };
    }
  } catch {}
  return { raw, content: undefined };
}

/** True while the process that wrote the lock runs (the same pid, started at the same time). */
function holderAlive(content: LockContent): boolean {
  if (!processAlive(content.pid)) return false;
  const startTime = processStartTime(content.pid);
  return content.startTime === undefined || startTime === undefined || startTime === content.startTime;
}

function heldError(dataDir: string, content: LockContent): LocalStackError {
  const command = processCommand(content.pid);
  return new LocalStackError(
    `the data folder ${dataDir} is in use by another local stack: pid ${content.pid}` +
      `${command ? ` (${command})` : ''}, started ${visible(content.startedAt)}. ` +
      `Stop that one first (Ctrl-C in its terminal, or \`kill ${content.pid}\`), or give this one ` +
      'its own folder: `npm start -- --data-dir <dir>` (or LOCAL_DATA_DIR), with other ports.',
  );
}

/**
 * Takes the data folder's lock for this process, or throws a `LocalStackError` naming the process
 * that holds it. The lock is released by `release()` and, whatever happens, when this process exits
 * (a normal exit, or `process.exit` after a signal the caller handles); a killed process leaves a
 * lock that the next runner finds stale and takes over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, lockFileName);
  const mine = `${JSON.stringify({
    pid: process.pid,
    ...(processStartTime(process.pid) === undefined ? {} : { startTime: processStartTime(process.pid) }),
    startedAt: new Date().toISOString(),
  } satisfies LockContent)}\n`;
  // Written whole under a private name, then linked into place: the link is atomic and fails if a
  // lock exists, so nobody ever reads a half-written lock.
  const draft = `${path}.${process.pid}.tmp`;
  writeFileSync(draft, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        linkSync(draft, path);
        return held(path, mine);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const existing = readLock(path);
      if (existing === undefined) continue;
      if (existing.content && holderAlive(existing.content)) throw heldError(dataDir, existing.content);
      // Stale (its process is gone) or unreadable: take it over, unless it changed meanwhile.
      if (readLock(path)?.raw === existing.raw) rmSync(path, { force: true });
    }
    throw new LocalStackError(`could not lock the data folder ${dataDir}: another runner is starting there.`);
  } finally {
    rmSync(draft, { force: true });
  }
}

function held(path: string, mine: string): DataDirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8') === mine) rmSync(path, { force: true });
    } catch {}
  };
  process.once('exit', release);
  return { path, release };
}
