import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as v from 'valibot';
import type { AnyProvider } from '#core/provider';
import { standard } from '#providers/standard';
import { projectRoot } from '../../cdk/node-function.ts';
import { addWebhookStacks, type WebhookStacks } from '../../cdk/webhooks.ts';

/** The feature flags `cdk synth` runs with, so the tests synthesize what a deploy would. */
const cdkJsonContext: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export interface Synthesized extends WebhookStacks {
  readonly app: App;
  /** The top-level stack's template: everything but the data, and every output. */
  readonly template: Template;
  /** The nested stack's template: the tables, queues, secret and alarm topic. */
  readonly statefulTemplate: Template;
}

export interface BuildOptions {
  bundle?: boolean;
  outdir?: string;
  /** The providers the stack receives from; the registry when unset. */
  providers?: ReadonlyMap<string, AnyProvider>;
}

/**
 * Builds the app as `cdk/app.ts` does, with `context` as if passed by `-c`. Bundling is skipped
 * (`aws:cdk:bundling-stacks: []`) unless `bundle` is set.
 */
export function buildApp(
  context: Record<string, unknown> = {},
  options: BuildOptions = {},
): WebhookStacks & { app: App } {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      ...cdkJsonContext,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  return { app, ...addWebhookStacks(app, { providers: options.providers }) };
}

/**
 * {@link buildApp}, then synthesizes the top-level and the nested template. Synthesis runs cdk-nag,
 * so any unacknowledged finding fails whichever test triggered it.
 */
export function synthesize(context: Record<string, unknown> = {}, options: BuildOptions = {}): Synthesized {
  const built = buildApp(context, options);
  return {
    ...built,
    template: Template.fromStack(built.stack),
    statefulTemplate: Template.fromStack(built.stateful),
  };
}

export function logicalId(stack: Stack, element: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(element.node.defaultChild as CfnElement);
}

export interface Statement {
  actions: string[];
  resource: unknown;
}

/** Every Allow statement of a function's execution role, actions sorted. */
export function roleStatements(template: Template, stack: Stack, fn: IFunction): Statement[] {
  if (!fn.role) throw new Error('function has no role');
  const roleId = logicalId(stack, fn.role);
  const policies = Object.values(template.findResources('AWS::IAM::Policy'));
  return policies
    .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
    .map((statement) => {
      if (statement.Effect !== 'Allow') throw new Error('unexpected Deny in an execution role');
      const actions = [statement.Action].flat() as string[];
      return { actions: [...actions].sort(), resource: statement.Resource };
    });
}

type Resource = ReturnType<Template['findResources']>[string];

/** The template's resources of one type, as [logical id, resource] pairs. */
export function resourcesOf(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type));
}

const pseudoParameters: Record<string, string> = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Turns a template value built from `Fn::Join` and pseudo-parameter `Ref`s into a plain string. */
export function resolveOffline(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string' && object.Ref in pseudoParameters) {
      return pseudoParameters[object.Ref] as string;
    }
    const join = object['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) return join[1].map(resolveOffline).join(join[0]);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} offline`);
}

/**
 * A provider that exists only in tests, to show that a provider listed in a registry gets its route,
 * throttle, settings and output with no change to the CDK code. Only what the stack reads is its
 * own; the rest is borrowed from Standard Webhooks, since the stack never calls it.
 */
export const testProvider: AnyProvider = {
  ...standard,
  name: 'acme-crm',
  title: 'Acme CRM',
  route: { parameter: { name: 'account', secret: true } },
  settings: {
    mode: {
      variable: 'ACME_CRM_MODE',
      context: 'acmeCrmMode',
      default: 'strict',
      schema: v.picklist(['strict', 'lenient'], 'must be "strict" or "lenient"'),
      description: 'how strictly Acme CRM deliveries are checked',
    },
  },
  setup: 'Paste into Acme CRM with {account} replaced by one of its account tokens',
};

/**
 * Runs the CDK app (`cdk/app.ts`, cdk.json's `app`) in a child process as the CDK CLI does, with
 * cdk.json's context and `context` on top, writing to `outdir`, without bundling and with no AWS
 * credentials or region at all. Returns the process's status, stdout and stderr.
 */
export function runApp(context: Record<string, unknown>, outdir: string) {
  const cdkJsonContext = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')).context;
  return spawnSync(process.execPath, ['--import', 'tsx', 'cdk/app.ts'], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({
        ...cdkJsonContext,
        'aws:cdk:enable-path-metadata': true,
        'aws:cdk:enable-asset-metadata': true,
        'aws:cdk:version-reporting': true,
        'aws:cdk:bundling-stacks': [],
        ...context,
      }),
    },
  });
}
