import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '#core/json';

const root = join(import.meta.dirname, '..', 'fixtures');

export type ProviderName = 'cooledge' | 'zenbooker';

/** A fixture body, parsed fresh each call so tests can change it freely. */
export function fixture(provider: ProviderName, name: string): JsonObject {
  return JSON.parse(readFileSync(join(root, provider, `${name}.json`), 'utf8')) as JsonObject;
}

/** Every fixture name of a provider, e.g. `job.completed`, `job.started.v2025`. */
export function fixtureNames(provider: ProviderName): string[] {
  return readdirSync(join(root, provider))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}
