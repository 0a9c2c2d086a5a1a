import type { Provider } from '#core/provider';
import { cooledge } from './cooledge.ts';
import { zenbooker } from './zenbooker.ts';

/** Every provider this deployment receives from, by the name used in its route. */
export const providers: ReadonlyMap<string, Provider> = new Map<string, Provider>(
  [cooledge as Provider, zenbooker as Provider].map((p) => [p.name, p]),
);
