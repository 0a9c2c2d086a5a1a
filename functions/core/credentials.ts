import * as v from 'valibot';
import type { AnyProvider } from './provider.ts';
import { toIssues } from './validation.ts';

/**
 * The webhook credentials in force: each configured provider's entry, by provider name, as its
 * `credentials.schema` returned it. A provider without an entry is not configured: its deliveries
 * are answered 401. Several values may be active in an entry at once, so a secret or token can be
 * rotated without a window where real deliveries fail.
 */
export type WebhookCredentials = Readonly<Record<string, unknown>>;

/** Port: returns the credentials in force now (cached and refreshed by the adapter). */
export interface CredentialsSource {
  get(): Promise<WebhookCredentials>;
}

/** Why a credentials document was refused: where, and what was expected. Never a value. */
export interface CredentialsProblem {
  /** Dotted path in the document, e.g. `cooledge.secrets.0`, or `(root)`. */
  path: string;
  message: string;
}

/** The key CloudFormation generates next to the secret's template; never read (cdk/stateful-stack.ts). */
const generatedKey = 'placeholder';

/**
 * Reads a credentials document (the secret's JSON, or what local env variables stand for):
 * `{"<provider>": <entry>, …}`, plus the first shape's keys (`cooledgeSecrets`, `zenbookerTokens`:
 * see `ProviderCredentials.legacy`), which a deployed secret may still use, alone or beside new
 * entries. Unknown keys are refused (a misspelt provider would otherwise be silently unconfigured),
 * as is a document that configures no provider.
 */
export function readCredentials(
  document: unknown,
  providers: ReadonlyMap<string, AnyProvider>,
): { ok: true; value: WebhookCredentials } | { ok: false; problem: CredentialsProblem } {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return {
      ok: false,
      problem: { path: '(root)', message: 'must be a JSON object keyed by provider name' },
    };
  }
  const entries = document as Record<string, unknown>;
  const known = new Set<string>([generatedKey]);
  const value: Record<string, unknown> = {};
  for (const provider of providers.values()) {
    known.add(provider.name);
    const legacy = provider.credentials.legacy;
    if (legacy) known.add(legacy.key);
    const given = Object.hasOwn(entries, provider.name);
    const old = legacy !== undefined && Object.hasOwn(entries, legacy.key);
    if (given && old) {
      return {
        ok: false,
        problem: { path: provider.name, message: `give "${provider.name}" or "${legacy?.key}", not both` },
      };
    }
    if (!given && !old) continue;
    const path = given ? provider.name : (legacy?.key as string);
    const entry = given ? entries[provider.name] : legacy?.entry(entries[path]);
    const result = v.safeParse(provider.credentials.schema, entry);
    if (!result.success) {
      // Path and expectation only: valibot's own messages may quote the received value, a secret.
      const [issue] = toIssues(result.issues);
      // A first-shape value is the entry's one field: its own path leaves that field out.
      const inner = given ? issue?.path : issue?.path.split('.').slice(1).join('.');
      const at = inner && inner !== '(root)' ? `${path}.${inner}` : path;
      return { ok: false, problem: { path: at, message: issue?.message ?? 'is invalid' } };
    }
    value[provider.name] = result.output;
  }
  const unknown = Object.keys(entries).find((key) => !known.has(key));
  if (unknown !== undefined) {
    return {
      ok: false,
      problem: {
        path: unknown,
        message: `is not a provider (known: ${[...known].filter((k) => k !== generatedKey).join(', ')})`,
      },
    };
  }
  if (Object.keys(value).length === 0) {
    return { ok: false, problem: { path: '(root)', message: 'configures no provider' } };
  }
  return { ok: true, value };
}

/** A comma-separated list of values, blanks dropped: how local env variables hold several. */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
