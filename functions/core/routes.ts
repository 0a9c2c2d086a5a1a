import type { AnyProvider } from './provider.ts';

export type RouteMatch = { provider: AnyProvider; pathParameter: string | undefined };

// The whole path, as API Gateway routes it: the stack's `$default` stage adds no prefix, and a
// trailing slash or any other prefix is another path (404), here as in AWS.
const webhookPath = /^\/webhooks\/([a-z0-9-]+)(?:\/([^/]+))?$/;

/**
 * `/webhooks/<provider>`, or `/webhooks/<provider>/<parameter>` for a provider whose route has a
 * path parameter (`ProviderRoute`). Anything else is not a route.
 */
export function matchRoute(
  path: string,
  providers: ReadonlyMap<string, AnyProvider>,
): RouteMatch | undefined {
  const match = webhookPath.exec(path);
  if (!match) return undefined;
  const provider = providers.get(match[1] ?? '');
  if (!provider) return undefined;
  const parameter = match[2];
  if ((provider.route.parameter !== undefined) !== (parameter !== undefined)) return undefined;
  return { provider, pathParameter: parameter };
}

/**
 * The route's path template as API Gateway writes it: `/webhooks/cooledge`,
 * `/webhooks/zenbooker/{token}`. The stack declares one route per provider from this.
 */
export function routePath(provider: AnyProvider): string {
  const parameter = provider.route.parameter;
  return `/webhooks/${provider.name}${parameter ? `/{${parameter.name}}` : ''}`;
}
