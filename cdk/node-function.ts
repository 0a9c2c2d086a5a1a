import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type IRole, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import {
  LogLevel,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The repository root: entries, `package.json` (its `imports`), the lock file and tsconfig live here. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * SDK modules the bundles leave out. Each is reached only through an `import()` on a path the
 * functions never take on Lambda; bundled, it is code to compile, and sometimes built-ins to load,
 * at every cold start (about 150 KB of each bundle and 12 ms of init, bench/cold-start.ts). Left
 * external, such an import, if it were ever reached, would load the Lambda runtime's own copy of
 * the SDK (on `NODE_PATH`, another version) or fail.
 *
 * - The credential sources after the environment in the SDK's default chain (SSO, the shared config
 *   and credentials files, `credential_process`, web identity token files, the container and
 *   instance metadata endpoints): Lambda hands every function its role's credentials in
 *   `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, the chain's first link.
 * - Event streams: no operation the functions call (SQS `SendMessage`, Secrets Manager
 *   `GetSecretValue`, DynamoDB writes, EventBridge `PutEvents`) streams events.
 */
export const unreachableOnLambda = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
  '@smithy/core/event-streams',
] as const;

/** Properties of a {@link NodeFunction}: a Lambda function's options plus its entry file. */
export interface NodeFunctionProps
  extends Omit<
    NodejsFunctionProps,
    | 'entry'
    | 'handler'
    | 'code'
    | 'runtime'
    | 'architecture'
    | 'bundling'
    | 'projectRoot'
    | 'depsLockFilePath'
    | 'logGroup'
    | 'logRetention'
    | 'role'
    | 'memorySize'
    | 'timeout'
  > {
  /** Entry file, relative to the repository root; it must export `handler`. */
  readonly entry: string;
  /**
   * Memory in MiB. Lambda allots CPU in proportion, so this is also the CPU budget for the cold
   * start (module initialisation is CPU-bound).
   *
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * How long the function's log group keeps events.
   *
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Environment variables. A caller's `NODE_OPTIONS` is appended to the house flags rather than
   * replacing them.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Start Node with `--enable-source-maps`, so stack traces point at the TypeScript. It costs
   * part of every cold start (ingest 8–9 ms, consumer 6–7 ms, bench/cold-start.ts); the map ships
   * beside the bundle either way.
   *
   * @default false
   */
  readonly sourceMapsAtRuntime?: boolean;
}

/**
 * The house Lambda function for Node.js code in this repository:
 *
 * - Node.js 24 (the version the project builds and tests on: the `node` devDependency) on arm64,
 *   which costs less per GB-second than x86 for the same work.
 * - Bundled locally by esbuild (a devDependency; never Docker) as one minified CommonJS file with
 *   its source map beside it; `--enable-source-maps` only when asked (`sourceMapsAtRuntime`), since
 *   it costs every cold start. CommonJS rather than an ES module: Node builds an ES module facade
 *   for every built-in an ES module imports, and hoists every such import to load time, even those
 *   of code that runs only later or never; Lambda's runtime `require`s a `.js` handler.
 * - The AWS SDK v3 is bundled rather than taken from the runtime: the version that runs is the one
 *   in `package-lock.json` that the tests ran against, not whatever the runtime ships that week,
 *   and one tree-shaken file loads faster than resolving the runtime copy's many separate modules.
 * - Its own log group with a retention period, written to through its own role, which holds no
 *   managed policy: callers grant exactly what the code calls.
 */
export class NodeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    const {
      entry,
      memorySize = 256,
      timeout = Duration.seconds(10),
      logRetention = RetentionDays.ONE_MONTH,
      environment = {},
      sourceMapsAtRuntime = false,
      ...options
    } = props;

    // Siblings rather than children: both must exist before `super()` can receive them.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: logRetention,
      // Operational logs only; they go with the stack rather than pile up after every teardown.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role: IRole = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}; grants are added where its resources are wired`,
    });

    const { NODE_OPTIONS: callerNodeOptions, ...callerEnvironment } = environment;
    super(scope, id, {
      ...options,
      entry: join(projectRoot, entry),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout,
      logGroup,
      role,
      environment: {
        ...nodeOptions([sourceMapsAtRuntime ? '--enable-source-maps' : undefined, callerNodeOptions]),
        ...callerEnvironment,
      },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node24',
        // Prefer packages' ES module builds: they tree-shake, CommonJS does not.
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // Stack traces need only the mappings; embedded sources would add megabytes to each upload.
        sourcesContent: false,
        bundleAwsSDK: true,
        externalModules: [...unreachableOnLambda],
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });

    logGroup.grantWrite(role);
  }
}

/** `NODE_OPTIONS` from the flags that are set; none at all when none is. */
function nodeOptions(flags: ReadonlyArray<string | undefined>): Record<string, string> {
  const set = flags.filter((f): f is string => Boolean(f));
  return set.length === 0 ? {} : { NODE_OPTIONS: set.join(' ') };
}
