import * as v from 'valibot';
import { idProblem, maxIdBytes } from './limits.ts';
import type { AnyProvider, AuthResult } from './provider.ts';
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
 * entries. An empty first-shape list configures nothing: the stack creates the secret with both
 * lists empty, and an operator who fills in only one provider (or adds only a new-shape entry)
 * leaves the other list as it was. Unknown keys are refused (a misspelt provider would otherwise be
 * silently unconfigured), as is a document that configures no provider, the untouched template
 * included. A new-shape entry always needs at least one value: writing it is configuring it.
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
    // The first shape's empty list: the provider is not configured (its route answers 401).
    if (old && isEmptyList(entries[legacy.key])) continue;
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

const isEmptyList = (value: unknown) => Array.isArray(value) && value.length === 0;

// ---------------------------------------------------------------------------------------------
// Bindings: a credential may be bound to the accounts its deliveries may write (docs/http.md)
// ---------------------------------------------------------------------------------------------

/**
 * The business or account ids a credential value is bound to: an authentic event for any other
 * account, or for none, is refused (401). `undefined`: unbound, any account (as every credential
 * was before bindings).
 */
export type Binding = readonly string[] | undefined;

/** `"accounts"`: at least one id, each one an event could name (see `idProblem`). */
export const boundAccounts = v.pipe(
  v.array(
    v.pipe(
      v.string(),
      v.check(
        (id) => idProblem(id) === undefined && id.trim() !== '',
        `an account id: not blank, well-formed Unicode, at most ${maxIdBytes} UTF-8 bytes`,
      ),
    ),
  ),
  v.minLength(1, 'at least one account id'),
);

/**
 * Refuses an object with any key other than `keys`: a misspelt or misplaced `"accounts"` would
 * otherwise leave a credential unbound, accepting every account, in silence.
 */
export function onlyKeys<T extends object>(keys: readonly string[], hint = '') {
  const listed = keys.map((key) => `"${key}"`).join(' and ');
  return v.check<T, string>(
    (entry) => Object.keys(entry).every((key) => keys.includes(key)),
    `no key other than ${listed}${hint}`,
  );
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A provider's entry that is one list of credential values under `listKey` (Cooledge's
 * `"secrets"`, Zenbooker's `"tokens"`). Each value is given as text (unbound) or as
 * `{"<field>": <text>, "accounts": [<id>, …]}` (bound to those accounts). Read as the values alone,
 * in order, under `listKey` (so whatever reads an entry as a list of text keeps doing so) and, only
 * when at least one value is bound, `bindings`: each value's binding at the same index.
 *
 * A value listed both as text and as an object is refused (the binding would do nothing: a
 * mistake either way); one bound in several objects is bound to all their accounts.
 */
export function boundList<K extends string>(
  listKey: K,
  field: string,
  value: v.GenericSchema<unknown, string>,
  atLeastOne: string,
): v.GenericSchema<unknown, { [P in K]: string[] } & { bindings?: Binding[] }> {
  const bound = v.pipe(
    v.looseObject({ [field]: value, accounts: boundAccounts }),
    onlyKeys([field, 'accounts']),
  );
  const list = v.pipe(
    v.array(v.lazy((input) => (isObject(input) ? bound : value))),
    v.minLength(1, atLeastOne),
    v.check((items) => {
      const read = items.map((item) =>
        isObject(item) ? { text: item[field], bound: true } : { text: item },
      );
      const unbound = new Set(read.filter((item) => !item.bound).map((item) => item.text));
      return read.every((item) => !item.bound || !unbound.has(item.text));
    }, `each value either unbound (text) or bound ({"${field}", "accounts"}), never both`),
  );
  return v.pipe(
    v.looseObject({ [listKey]: list }),
    onlyKeys([listKey], ` (a value is bound on its own: {"${field}": …, "accounts": […]})`),
    v.transform((entry) => {
      const items = entry[listKey] as ReadonlyArray<string | Record<string, unknown>>;
      const values = items.map((item) => (typeof item === 'string' ? item : (item[field] as string)));
      const bindings: Binding[] = items.map((item) =>
        typeof item === 'string' ? undefined : (item.accounts as string[]),
      );
      const read = { [listKey]: values } as { [P in K]: string[] } & { bindings?: Binding[] };
      if (bindings.some((binding) => binding !== undefined)) read.bindings = bindings;
      return read;
    }),
  );
}

/**
 * What authentication says once every configured value has been compared (all of them, in constant
 * time, whatever matched): `matched` holds the bindings of the values that matched the delivery's
 * credential (empty: none did). Unbound when one of them is, else bound to all their accounts.
 */
export function matchedCredential(matched: readonly Binding[], failure: string): AuthResult {
  if (matched.length === 0) return { ok: false, reason: failure };
  if (matched.some((binding) => binding === undefined)) return { ok: true };
  return { ok: true, accounts: [...new Set(matched.flatMap((binding) => binding ?? []))] };
}

/**
 * Why an authentic event may not be stored with the credential that authenticated it, or
 * `undefined` when it may: the account it would be stored under (`undefined`: it names none) must
 * be one a bound credential is bound to. An unbound credential may write any account, or none.
 */
export function unboundAccount(
  auth: { accounts?: readonly string[] },
  accountId: string | undefined,
): string | undefined {
  if (auth.accounts === undefined) return undefined;
  return accountId !== undefined && auth.accounts.includes(accountId) ? undefined : 'account not bound';
}

/** A comma-separated list of values, blanks dropped: how local env variables hold several. */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
