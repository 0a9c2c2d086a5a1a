import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/** Helpers for tests that run the repository's commands as child processes, as a user would. */

export const root = resolve(import.meta.dirname, '..', '..');
const bin = join(root, 'node_modules', '.bin');
const tsx = join(bin, 'tsx');

/** The environment for children: the repository's Node 24 and tools first on PATH, as npm scripts have. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, NO_COLOR: '1', ...extra };
}

export { freePort, portInUse as portOpen } from '../../local/stack.ts';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI (`tsx cli/index.ts …`) to completion. */
export function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return run(tsx, ['cli/index.ts', ...args], env);
}

export function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  shell = false,
): Promise<Run> {
  const started = performance.now();
  return new Promise((done, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      shell,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => done({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Retries `probe` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** A long-running child whose output is kept, in its own process group (so a signal reaches all of it). */
export class Service {
  readonly child: ChildProcess;
  output = '';
  exit: Promise<number | null>;

  constructor(command: string, args: string[], env: Record<string, string>) {
    this.child = spawn(command, args, {
      cwd: root,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exit = new Promise((done) => this.child.once('exit', (code) => done(code)));
  }

  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exit.then(() => {
      exited = true;
    });
    while (Date.now() < deadline) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (exited) throw new Error(`the process exited before printing ${pattern}:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
  }

  /** Sends a signal to the whole process group, as a terminal's Ctrl-C does. */
  signal(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined || !this.running()) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}
