import type { AnyProvider } from '#core/provider';
import { cooledge } from './cooledge.ts';
import { standard } from './standard.ts';
import { zenbooker } from './zenbooker.ts';

/**
 * The registry: every provider this deployment receives from, in the order people see them listed
 * (banner, stack outputs, `send --provider`). Adding a provider is its module and one line here.
 */
export const providers: ReadonlyMap<string, AnyProvider> = registry([cooledge, zenbooker, standard]);

/**
 * A registry of `list` by provider name.
 *
 * @throws Error when a name is not a route segment (`[a-z0-9-]+`) or is listed twice.
 */
export function registry(list: readonly AnyProvider[]): ReadonlyMap<string, AnyProvider> {
  const map = new Map<string, AnyProvider>();
  for (const provider of list) {
    if (!/^[a-z0-9-]{1,32}$/.test(provider.name))
      throw new Error(`provider name ${provider.name} is not [a-z0-9-]{1,32}`);
    if (map.has(provider.name)) throw new Error(`provider ${provider.name} is listed twice`);
    map.set(provider.name, provider);
  }
  return map;
}
