import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { AnyProvider } from '#core/provider';
import { providers as registry } from '#providers/index';
import { type DeploymentConfig, readDeploymentConfig } from './config.ts';
import { type DeploymentNames, deploymentNames, withAdopted } from './names.ts';
import type { StatefulStack } from './stateful-stack.ts';
import { WebhooksStack } from './webhooks-stack.ts';

export interface WebhookStacks {
  readonly config: DeploymentConfig;
  readonly names: DeploymentNames;
  /** The top-level stack: what `npx cdk deploy` deploys and whose outputs it prints. */
  readonly stack: WebhooksStack;
  /** Its nested stack holding the data. */
  readonly stateful: StatefulStack;
}

export interface AddWebhookStacksOptions {
  /**
   * The providers the deployment receives from: their context keys, routes, settings and outputs.
   * The registry (`functions/providers/index.ts`); a test may give its own.
   */
  readonly providers?: ReadonlyMap<string, AnyProvider>;
}

/**
 * Adds one deployment (a stage) to the app: one top-level stack with the stateful resources in a
 * nested stack, environment-agnostic so `cdk synth` needs no AWS account, and cdk-nag's AWS
 * Solutions checks, which run on every synth (nested stacks included: they walk the construct tree)
 * and fail it on any finding that is not acknowledged with a reason.
 */
export function addWebhookStacks(app: App, options: AddWebhookStacksOptions = {}): WebhookStacks {
  const providers = options.providers ?? registry;
  const config = readDeploymentConfig(app.node.getAllContext(), providers);
  // The stage's names, but the kept tables' and secret's when context adopts them.
  const names = withAdopted(deploymentNames(config.stage), config);

  // Stack tags: CloudFormation copies them onto every resource that supports tags, the nested
  // stack and its resources included.
  const tags = { project: 'field-webhooks', stage: config.stage };
  const stack = new WebhooksStack(app, names.stack, { config, names, tags, providers });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, names, stack, stateful: stack.stateful };
}
