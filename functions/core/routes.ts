import type { Provider } from './provider.ts';

export type RouteMatch = { provider: Provider; pathToken: string | undefined };

// The whole path, as API Gateway routes it: the stack's `$default` stage adds no prefix, and a
// trailing slash or any other prefix is another path (404), here as in AWS.
const webhookPath = /^\/webhooks\/([a-z0-9-]+)(?:\/([^/]+))?$/;

/**
 * `/webhooks/<provider>` for signing providers, `/webhooks/<provider>/<token>` for providers that
 * authenticate by URL. Anything else is not a route.
 */
export function matchRoute(path: string, providers: ReadonlyMap<string, Provider>): RouteMatch | undefined {
  const match = webhookPath.exec(path);
  if (!match) return undefined;
  const provider = providers.get(match[1] ?? '');
  if (!provider) return undefined;
  const token = match[2];
  if (provider.pathToken !== (token !== undefined)) return undefined;
  return { provider, pathToken: token };
}
