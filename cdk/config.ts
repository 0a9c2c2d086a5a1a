import * as v from 'valibot';
import type { AnyProvider, ProviderSetting } from '#core/provider';
import { defaults, maxBodyBytesCeiling } from '#infra/definitions';
import { providers as registry } from '#providers/index';

/**
 * The deployment's settings, read from CDK context (`cdk.json`, `cdk.context.json` or
 * `npx cdk deploy -c key=value`) and validated before any construct exists, so a bad value fails
 * `cdk synth` with the key's name instead of surfacing as a broken stack. Besides the fixed keys
 * below, every provider of the registry brings its own (see `providerEntries`): its route's throttle
 * and its settings.
 */

/** Thrown when a context value is missing its mark; the message names every bad key. */
export class ContextError extends Error {
  override name = 'ContextError';
}

/** The CloudWatch Logs retention periods AWS accepts, in days. */
const retentionDays = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export { maxBodyBytesCeiling };

/** `-c key=value` gives strings, `cdk.json` gives JSON values: a whole number may arrive as either. */
const wholeNumber = (min: number, max: number) =>
  v.pipe(
    v.union(
      [v.number(), v.pipe(v.string(), v.trim(), v.regex(/^\d+$/), v.transform(Number))],
      'must be a whole number',
    ),
    v.integer('must be a whole number'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

/** A switch: `true`/`false` from `cdk.json`, or the text `true`/`false` from `-c key=value`. */
const flag = v.union(
  [
    v.boolean(),
    v.pipe(
      v.picklist(['true', 'false']),
      v.transform((s) => s === 'true'),
    ),
  ],
  'must be true or false',
);

/** An empty `-c key=` means "not set". */
const optionalText = <T extends v.GenericSchema<string, string>>(schema: T) =>
  v.optional(
    v.pipe(
      v.string('must be text'),
      v.trim(),
      v.transform((s) => (s === '' ? undefined : s)),
      v.union([v.undefined(), schema]),
    ),
  );

/** What DynamoDB accepts as a table name; an ARN has `:` and `/`, so it is refused. */
const tableName = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z0-9_.-]{3,255}$/,
    'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), not an ARN',
  ),
);

/**
 * A DynamoDB stream's ARN, as `describe-table` gives it (`LatestStreamArn`): the table's ARN, then
 * `/stream/` and the label DynamoDB gave the stream when it was enabled.
 */
const streamArnPattern =
  /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/([A-Za-z0-9_.-]{3,255})\/stream\/[^/\s]+$/;
const streamArn = v.pipe(
  v.string(),
  v.regex(
    streamArnPattern,
    "must be a DynamoDB stream ARN, the table's LatestStreamArn (arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>)",
  ),
);

/**
 * What an API destination accepts as its endpoint: HTTPS, at most 2,048 characters, of the
 * characters its `InvocationEndpoint` pattern allows
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateApiDestination.html).
 * Refused besides: credentials in the URL (they would sit in the template and the console; the
 * connection carries the key), and `*`, which an API destination reads as a path parameter to fill.
 */
const invocationEndpointPattern = /^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@&=+$,A-Za-z0-9])+)([).!';/?:,])?$/;
function isForwardUrl(text: string): boolean {
  if (text.length > 2048 || !invocationEndpointPattern.test(text) || text.includes('*')) return false;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
const forwardUrl = v.pipe(
  v.string(),
  v.check(
    isForwardUrl,
    'must be an https:// URL of at most 2048 characters, without credentials, `*` or a fragment (e.g. https://example.com/hooks/jobs)',
  ),
);

/** The most statuses `jobEventsForwardStatuses` may name: an event pattern stays well within its 2,048 characters. */
export const maxForwardStatuses = 20;

/** The statuses the example subscriber forwards when `jobEventsForwardStatuses` is not set. */
export const defaultForwardStatuses: readonly string[] = ['completed'];

/**
 * `jobEventsForwardStatuses`: comma-separated statuses, each matched exactly (case and all) against
 * the job's status after the change; blanks around a comma are dropped, repeats kept once. Empty
 * means "not set".
 */
const forwardStatuses = v.optional(
  v.pipe(
    v.string('must be text'),
    v.trim(),
    v.transform((text) =>
      text === '' ? undefined : [...new Set(text.split(',').map((status) => status.trim()))],
    ),
    v.union([
      v.undefined(),
      v.pipe(
        v.array(v.string()),
        v.check(
          (statuses) => statuses.every((status) => /^[^\p{Cc}]{1,100}$/u.test(status)),
          'must be comma-separated statuses, none empty and none longer than 100 characters (e.g. completed,canceled)',
        ),
        v.maxLength(maxForwardStatuses, `must name at most ${maxForwardStatuses} statuses`),
      ),
    ]),
  ),
);

/** A route's steady rate and its burst, in requests per second (what API Gateway accepts). */
const rateLimit = wholeNumber(1, 10_000);
const burstLimit = wholeNumber(1, 5_000);

/** The keys every deployment has, whatever its providers. */
const ContextSchema = v.object({
  /** Names this deployment: stack names, resource names, metrics namespace. */
  stage: v.optional(
    v.pipe(
      v.string('must be text'),
      v.regex(/^[a-z][a-z0-9-]{0,19}$/, 'must be 1-20 characters of a-z, 0-9 and -, starting with a letter'),
    ),
    'prod',
  ),
  /**
   * Requests per second each route accepts in steady state, unless its provider has a limit of its
   * own (`<provider>RateLimit`, see `throttleKeys`); also the stage's default for any other route.
   * Each route has its own bucket, so traffic on one URL never uses up another's.
   */
  throttleRateLimit: v.optional(rateLimit, 50),
  /** Requests each route accepts in a burst above the steady rate, unless it has its own. */
  throttleBurstLimit: v.optional(burstLimit, 100),
  /** Days an event log record (the dedupe marker) is kept; 0 keeps it forever. */
  dedupeHorizonDays: v.optional(wholeNumber(0, 3_650), defaults.dedupeHorizonDays),
  /** Largest webhook body accepted, in bytes. */
  maxBodyBytes: v.optional(wholeNumber(1_024, maxBodyBytesCeiling), defaults.maxBodyBytes),
  /**
   * Seconds an event's own time may lie after its receipt before the event is quarantined; the
   * ingest function checks deliveries and the consumer checks replays with the same value.
   */
  eventTimeSkewSeconds: v.optional(wholeNumber(0, 86_400), defaults.eventTimeSkewSeconds),
  /** How often the ingest function re-reads the credentials secret (seconds). */
  secretRefreshSeconds: v.optional(wholeNumber(0, 86_400), defaults.secretRefreshSeconds),
  /** Upper bound on concurrent consumer invocations (the event source mapping's maximum concurrency). */
  consumerMaxConcurrency: v.optional(wholeNumber(2, 1_000), 5),
  logRetentionDays: v.optional(
    v.pipe(
      wholeNumber(1, 3_653),
      v.picklist(retentionDays, `must be one of ${retentionDays.join(', ')} (what CloudWatch Logs accepts)`),
    ),
    30,
  ),
  /**
   * Run the functions with `--enable-source-maps`, so stack traces name the TypeScript lines. Off
   * by default: it adds to every cold start (7.5 ms and 6.6 ms in `npm run bench`); the maps are
   * shipped beside each bundle either way, to map a minified trace when it is needed.
   */
  sourceMaps: v.optional(flag, false),
  /**
   * X-Ray active tracing of both functions. Off by default: X-Ray charges per trace recorded and
   * scanned, and the functions' logs and metrics already cover the pipeline.
   */
  tracing: v.optional(flag, false),
  /** Rejected-as-unauthorized deliveries in 5 minutes that raise the alarm. */
  authFailureAlarmThreshold: v.optional(wholeNumber(1, 1_000_000), 20),
  /** 429s (throttled requests) in each of three 5-minute periods in a row that raise the alarm. */
  throttledAlarmThreshold: v.optional(wholeNumber(1, 1_000_000), 10),
  /** 4xx answers in each of three 5-minute periods in a row that raise the alarm. */
  clientErrorAlarmThreshold: v.optional(wholeNumber(1, 1_000_000), 50),
  /** Subscribed to the alarm topic when set (AWS mails a confirmation link). */
  alarmEmail: optionalText(v.pipe(v.string(), v.email('must be an email address'))),
  /**
   * Use this existing Secrets Manager secret (by name) instead of creating one, e.g. the one kept
   * from an earlier deployment.
   */
  existingSecretName: optionalText(
    v.pipe(
      v.string(),
      v.regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name, not an ARN'),
    ),
  ),
  /**
   * Use these existing tables (by name) instead of creating them: the ones kept from a destroyed
   * deployment of this or another stage. Both or neither (see `adoptionProblems`).
   */
  existingEventsTable: optionalText(tableName),
  existingJobsTable: optionalText(tableName),
  /**
   * The adopted jobs table's stream (its `LatestStreamArn`), which the publish function's event
   * source mapping reads.
   * Required with `existingJobsTable`, refused without it (see `jobEventsProblems`): a stream's ARN
   * ends in a label DynamoDB gives it when it is enabled, so no name can derive it.
   */
  existingJobsTableStreamArn: optionalText(streamArn),
  /**
   * The example subscriber (`job-events.ts`): when set, a rule on the job events bus forwards the
   * job events whose status is one of `jobEventsForwardStatuses` to this HTTPS URL through an API
   * destination. Off by default.
   */
  jobEventsForwardUrl: optionalText(forwardUrl),
  /** The statuses the example subscriber forwards, `defaultForwardStatuses` unless set; only with its URL. */
  jobEventsForwardStatuses: forwardStatuses,
});

/** What the fixed keys give. */
type BaseConfig = v.InferOutput<typeof ContextSchema>;

/** What a deployment takes from context for one provider (see `providerEntries`). */
export interface ProviderConfig {
  /** Its route's steady rate: `<provider>RateLimit`, else `throttleRateLimit`. */
  readonly rateLimit: number;
  /** Its route's burst: `<provider>BurstLimit`, else `throttleBurstLimit`. */
  readonly burstLimit: number;
  /**
   * Its settings as the ingest function reads them at cold start: each `ProviderSetting.variable`
   * with the text given to the setting's context key, else the setting's default.
   */
  readonly environment: Readonly<Record<string, string>>;
}

export type DeploymentConfig = BaseConfig & {
  /** Each provider's part, by provider name, in the order of the providers it was read for. */
  readonly perProvider: ReadonlyMap<string, ProviderConfig>;
};

/**
 * A provider's own throttle keys, `<name>RateLimit` and `<name>BurstLimit` (`cooledgeRateLimit`),
 * the name in camelCase (`acme-crm` gives `acmeCrmRateLimit`: each `-` dropped and the letter after
 * it upper-cased) so they look like every other key; `acme-crmRateLimit` is refused as unknown, with
 * the right spelling suggested.
 */
export function throttleKeys(provider: AnyProvider): { rate: string; burst: string } {
  const prefix = provider.name.replace(/-+([a-z0-9])/g, (_, next: string) => next.toUpperCase());
  return { rate: `${prefix}RateLimit`, burst: `${prefix}BurstLimit` };
}

/** How every key of ours is spelt: camelCase, starting with a lower-case letter. */
const camelCase = /^[a-z][A-Za-z0-9]*$/;

/**
 * The context keys the CDK CLI itself writes to `cdk.json` or `cdk.context.json` without a `:`
 * (`cdk acknowledge`, `cdk cli-telemetry`); a test checks the installed CLI sets no other. Every
 * other key of CDK's own has a `:` in it (`@aws-cdk/core:…` feature flags, `aws:cdk:…`, lookups such
 * as `availability-zones:account=…:region=…`).
 */
export const cdkPlainKeys: readonly string[] = ['acknowledged-issue-numbers', 'cli-telemetry'];

/** Whether a context key is CDK's own, not this project's (see `cdkPlainKeys`). */
export function isCdkKey(key: string): boolean {
  return key.includes(':') || key.startsWith('@') || cdkPlainKeys.includes(key);
}

/**
 * The known key an unknown one was probably meant to be: the same but for case, `-` and `_`
 * (`StandardRateLimit`, `acme-crmRateLimit`), else the one it starts (`throttleRate`), else the
 * nearest within a few edits (`standardRatLimit`), else none.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const loose = (text: string) => text.toLowerCase().replace(/[-_]/g, '');
  const same = known.find((candidate) => loose(candidate) === loose(key));
  if (same !== undefined) return same;
  const started = known.filter(
    (candidate) => loose(key).length >= 4 && loose(candidate).startsWith(loose(key)),
  );
  if (started.length > 0) return started.reduce((a, b) => (b.length < a.length ? b : a));
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(loose(key), loose(candidate));
    if (distance <= Math.max(2, Math.floor(candidate.length / 5)) && distance < (best?.distance ?? Infinity))
      best = { key: candidate, distance };
  }
  return best?.key;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * A provider setting's context value as the text its environment variable will hold: `String()` of
 * what context gave (`-c` gives text, `cdk.json` may give a number), checked by the setting's own
 * schema, which the function applies again at cold start; the setting's default when unset.
 */
function settingText(setting: ProviderSetting) {
  return v.optional(
    v.pipe(
      v.unknown(),
      v.transform((value) => String(value)),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        const checked = v.safeParse(setting.schema, dataset.value, { abortPipeEarly: true });
        if (!checked.success) addIssue({ message: checked.issues.map((issue) => issue.message).join('; ') });
      }),
    ),
    setting.default,
  );
}

/**
 * The keys the providers bring: for each, its route's throttle (`throttleKeys`) and each of its
 * settings' `context` key.
 *
 * @throws Error when a key is taken twice (by two providers, or by a provider and a fixed key): a
 * mistake in the registry, not in the context.
 */
function providerEntries(providers: ReadonlyMap<string, AnyProvider>): v.ObjectEntries {
  const entries: v.ObjectEntries = {};
  const add = (key: string, schema: v.ObjectEntries[string], owner: AnyProvider) => {
    if (Object.hasOwn(ContextSchema.entries, key) || Object.hasOwn(entries, key)) {
      throw new Error(`provider ${owner.name}: context key ${key} is already taken`);
    }
    if (!camelCase.test(key)) {
      throw new Error(`provider ${owner.name}: context key ${key} is not camelCase (${camelCase.source})`);
    }
    entries[key] = schema;
  };
  for (const provider of providers.values()) {
    const keys = throttleKeys(provider);
    add(keys.rate, v.optional(rateLimit), provider);
    add(keys.burst, v.optional(burstLimit), provider);
    for (const setting of Object.values(provider.settings)) {
      add(setting.context, settingText(setting), provider);
    }
  }
  return entries;
}

/** Every context key of a deployment receiving from `providers`: the fixed ones, then theirs. */
export function contextKeys(providers: ReadonlyMap<string, AnyProvider> = registry): string[] {
  return [...Object.keys(ContextSchema.entries), ...Object.keys(providerEntries(providers))];
}

/**
 * Reads and validates this project's context keys, those of `providers` included (the registry
 * unless a test gives its own). `context` is everything CDK gathered; the keys that belong to CDK
 * itself (`isCdkKey`: a `:` in them, or the CLI's few plain ones) are left alone, and every other key
 * must be one of ours, exactly as spelt, so a typo such as `throttleRate`, `StandardRateLimit` or
 * `acme-crmRateLimit` fails the synth, naming it and the key it probably meant, instead of silently
 * deploying the default.
 */
export function readDeploymentConfig(
  context: Record<string, unknown>,
  providers: ReadonlyMap<string, AnyProvider> = registry,
): DeploymentConfig {
  const schema = v.object({ ...ContextSchema.entries, ...providerEntries(providers) });
  const known = Object.keys(schema.entries);
  const ours = new Set<string>(known);
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if (ours.has(key)) raw[key] = value;
    else if (!isCdkKey(key)) {
      const guess = closestKey(key, known);
      const meant = guess === undefined ? '' : `did you mean ${guess}? `;
      problems.push(`${key}: unknown context key (${meant}known: ${known.join(', ')})`);
    }
  }

  const result = v.safeParse(schema, raw, { abortPipeEarly: true });
  if (result.success) {
    problems.push(...adoptionProblems(result.output as BaseConfig));
    problems.push(...jobEventsProblems(result.output as BaseConfig));
  }
  if (!result.success) {
    for (const issue of result.issues) {
      const key = issue.path?.map((p) => String(p.key)).join('.') ?? '(context)';
      problems.push(`${key}: ${issue.message} (got ${JSON.stringify(issue.input)})`);
    }
  }
  if (problems.length > 0 || !result.success) {
    throw new ContextError(`invalid CDK context:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const output = result.output as Record<string, unknown>;
  const base = Object.fromEntries(
    Object.keys(ContextSchema.entries).map((key) => [key, output[key]]),
  ) as BaseConfig;
  const perProvider = new Map<string, ProviderConfig>();
  for (const provider of providers.values()) {
    const keys = throttleKeys(provider);
    perProvider.set(provider.name, {
      rateLimit: (output[keys.rate] as number | undefined) ?? base.throttleRateLimit,
      burstLimit: (output[keys.burst] as number | undefined) ?? base.throttleBurstLimit,
      environment: Object.fromEntries(
        Object.values(provider.settings).map((setting) => [
          setting.variable,
          output[setting.context] as string,
        ]),
      ),
    });
  }
  return { ...base, perProvider };
}

/**
 * The two tables are adopted together or not at all. The events table is the jobs table's dedupe
 * record: an old event log beside a new, empty jobs table would refuse every redelivered event as a
 * duplicate and never apply it, and an old jobs table beside a new event log would take them all
 * again. And they must be two tables.
 */
function adoptionProblems(config: Pick<BaseConfig, 'existingEventsTable' | 'existingJobsTable'>): string[] {
  const { existingEventsTable: events, existingJobsTable: jobs } = config;
  if (events === undefined && jobs !== undefined) {
    return [
      `existingEventsTable: must be set with existingJobsTable (got only existingJobsTable=${JSON.stringify(jobs)}): the event log and the jobs table are adopted together`,
    ];
  }
  if (events !== undefined && jobs === undefined) {
    return [
      `existingJobsTable: must be set with existingEventsTable (got only existingEventsTable=${JSON.stringify(events)}): the event log and the jobs table are adopted together`,
    ];
  }
  if (events !== undefined && events === jobs) {
    return [
      `existingJobsTable: must name another table than existingEventsTable (got ${JSON.stringify(jobs)} for both)`,
    ];
  }
  return [];
}

/**
 * The publish function's event source mapping reads the jobs table's stream. The stack's own table has its stream from its
 * definition; an adopted one must name its stream (`existingJobsTableStreamArn`), the stream of that
 * very table. The example subscriber's statuses mean nothing without its URL.
 */
function jobEventsProblems(
  config: Pick<
    BaseConfig,
    'existingJobsTable' | 'existingJobsTableStreamArn' | 'jobEventsForwardUrl' | 'jobEventsForwardStatuses'
  >,
): string[] {
  const { existingJobsTable: jobs, existingJobsTableStreamArn: stream } = config;
  const problems: string[] = [];
  if (jobs !== undefined && stream === undefined) {
    problems.push(
      `existingJobsTableStreamArn: must be set with existingJobsTable (got only existingJobsTable=${JSON.stringify(jobs)}): the job events publisher reads the adopted table's stream. Print it with \`aws dynamodb describe-table --table-name ${jobs} --query Table.LatestStreamArn --output text\`; if that prints None, the table has no stream: enable one with \`aws dynamodb update-table --table-name ${jobs} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES\` and print it again`,
    );
  }
  if (jobs === undefined && stream !== undefined) {
    problems.push(
      `existingJobsTableStreamArn: only with existingJobsTable (got ${JSON.stringify(stream)}): the stack's own jobs table brings its own stream`,
    );
  }
  const streamTable = stream === undefined ? undefined : streamArnPattern.exec(stream)?.[1];
  if (jobs !== undefined && streamTable !== undefined && streamTable !== jobs) {
    problems.push(
      `existingJobsTableStreamArn: must be a stream of existingJobsTable ${JSON.stringify(jobs)} (got one of table ${JSON.stringify(streamTable)})`,
    );
  }
  if (config.jobEventsForwardStatuses !== undefined && config.jobEventsForwardUrl === undefined) {
    problems.push(
      `jobEventsForwardStatuses: only with jobEventsForwardUrl (got ${JSON.stringify(config.jobEventsForwardStatuses.join(','))}): the statuses say which job events the example subscriber forwards to that URL`,
    );
  }
  return problems;
}
