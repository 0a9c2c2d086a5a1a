import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { NodeFunction } from '../../cdk/node-function.ts';

/** One NodeFunction in a stack of its own, bundling skipped. */
function template(props: Partial<ConstructorParameters<typeof NodeFunction>[2]> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  new NodeFunction(stack, 'Fn', { entry: 'functions/consume/handler.ts', ...props });
  return Template.fromStack(stack);
}

describe('NodeFunction', () => {
  it('applies the house defaults', () => {
    const t = template();
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 10,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^FnLogGroup') } },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    t.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
    // Source maps at run time cost every cold start: off unless asked for.
    const [fn] = Object.values(t.findResources('AWS::Lambda::Function'));
    expect(fn?.Properties.Environment).toBeUndefined();
  });

  it('passes the caller environment, NODE_OPTIONS included', () => {
    template({
      environment: { TABLE: 'jobs', NODE_OPTIONS: '--max-old-space-size=200' },
    }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectEquals({ NODE_OPTIONS: '--max-old-space-size=200', TABLE: 'jobs' }),
      },
    });
  });

  it('turns source maps on at run time when asked, before the caller’s NODE_OPTIONS', () => {
    template({ sourceMapsAtRuntime: true }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectEquals({ NODE_OPTIONS: '--enable-source-maps' }) },
    });
    template({
      sourceMapsAtRuntime: true,
      environment: { NODE_OPTIONS: '--max-old-space-size=200' },
    }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectEquals({ NODE_OPTIONS: '--enable-source-maps --max-old-space-size=200' }),
      },
    });
  });

  it('takes memory, timeout and log retention from the caller', () => {
    const t = template({
      memorySize: 1024,
      timeout: Duration.seconds(3),
      logRetention: RetentionDays.ONE_WEEK,
    });
    t.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, Timeout: 3 });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    // The deprecated `logRetention` custom resource is never used.
    t.resourceCountIs('Custom::LogRetention', 0);
  });

  it('runs under its own role, allowed only to write its own log group', () => {
    const t = template();
    const roles = Object.values(t.findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(1);
    expect(roles[0]?.Properties.ManagedPolicyArns).toBeUndefined();
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FnLogGroup'), 'Arn'] },
          },
        ],
      },
    });
  });
});
