import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LocalStackError, type QueueUrls, type ResourceNames } from './names.ts';

/**
 * Settings shared by the local runner (`npm start`) and the CLI when it talks to the local stack:
 * ports, the data directory, and the small "stack file" the runner writes so the CLI finds a stack
 * started with other ports or another data directory. The dev credentials are each provider's own
 * (`credentials.env.dev` in its module).
 */

export const repoRoot = resolve(dirname(import.meta.dirname));

/** The resource name prefix of the local stack (tables `local-events`, `local-jobs`, …). */
export const localPrefix = 'local';

export const defaultPorts = { http: 3000, dynamodb: 8000, sqs: 4566 } as const;

type Env = Record<string, string | undefined>;

/** Reads a TCP port from the environment; `0` asks the OS for a free one. */
export function portFrom(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > 65_535) {
    throw new LocalStackError(`${name} must be a port number between 0 and 65535`);
  }
  return Number(raw);
}

/**
 * The command that wipes this data folder: `--data-dir` is spelled out unless it is the default,
 * so a hint never points `--reset` at another folder than the one in use.
 */
export function resetCommand(dataDir: string): string {
  const isDefault = dataDir === resolve(repoRoot, '.local');
  return `npm start -- --reset${isDefault ? '' : ` --data-dir ${JSON.stringify(dataDir)}`}`;
}

/**
 * The data directory as an absolute path: `override` (`--data-dir`), else `LOCAL_DATA_DIR`, else
 * `.local` in the repository. A relative `--data-dir` is the user's, typed in the folder they ran
 * npm from: resolved from npm's `INIT_CWD` (npm runs scripts in the repository root, whatever the
 * folder), else the current directory. A relative `LOCAL_DATA_DIR` is a setting of the
 * repository's, like the default: resolved from its root, wherever npm is run.
 */
export function dataDirFrom(env: Env, override?: string): string {
  if (override !== undefined) return resolve(env.INIT_CWD || process.cwd(), override);
  return resolve(repoRoot, env.LOCAL_DATA_DIR?.trim() || '.local');
}

/** The first value of a comma-separated list, or the fallback. */
export function firstOf(list: string | undefined, fallback: string): string {
  return (
    list
      ?.split(',')
      .map((s) => s.trim())
      .find((s) => s !== '') ?? fallback
  );
}

/** What a running local stack publishes about itself (no secrets). */
export interface StackFile {
  pid: number;
  url: string;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  region: string;
  names: ResourceNames;
  queues: QueueUrls;
  startedAt: string;
}

export const stackFileName = 'stack.json';

export function writeStackFile(dataDir: string, stack: StackFile): void {
  writeFileSync(join(dataDir, stackFileName), `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
}

/** The stack file of a local stack, when one was started from this data directory. */
export function readStackFile(dataDir: string): StackFile | undefined {
  const path = join(dataDir, stackFileName);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StackFile;
  } catch {
    return undefined;
  }
}

export function removeStackFile(dataDir: string): void {
  rmSync(join(dataDir, stackFileName), { force: true });
}

/** True when a process with this id exists (and may be signalled by us). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
