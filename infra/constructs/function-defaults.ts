import { fileURLToPath } from "node:url";
import { RemovalPolicy } from "aws-cdk-lib";
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
} from "aws-cdk-lib/aws-lambda";
import { LogLevel, type NodejsFunctionProps, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { RESOURCE_ENV } from "../../shared/config/resources";
import { logLevel } from "../../shared/config/settings";
import { sideBundleNames } from "../side-bundles";
import type { Store } from "./store";

/** The repository root: bundling runs from here and uses its package-lock.json. */
const projectRootUrl = new URL("../../", import.meta.url);

/** Absolute path of a file given relative to the repository root. */
export function fromProjectRoot(relativePath: string): string {
  return fileURLToPath(new URL(relativePath, projectRootUrl));
}

/**
 * Settings every function shares: Node 22 on Graviton, bundled locally by esbuild (no Docker)
 * into one minified ESM file with a source map.
 */
export const nodeFunctionDefaults = {
  projectRoot: fileURLToPath(projectRootUrl),
  depsLockFilePath: fromProjectRoot("package-lock.json"),
  runtime: Runtime.NODEJS_22_X,
  architecture: Architecture.ARM_64,
  bundling: {
    format: OutputFormat.ESM,
    target: "node22",
    minify: true,
    sourceMap: true,
    // esbuild's table of output sizes on every synth is noise; its warnings and errors are not.
    logLevel: LogLevel.WARNING,
    // ESM bundles have no `require`; CommonJS dependencies bundled into them still call it.
    banner:
      "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
    // The AWS SDK is the runtime's; the lazy dependencies go beside the bundle (sideBundles).
    externalModules: ["@aws-sdk/*", ...sideBundleNames()],
  },
} satisfies Partial<NodejsFunctionProps>;

/**
 * The commands, for a function's `afterBundling` hook, that put the lazy dependencies beside its
 * bundle (infra/side-bundles.ts): the functions that relay calls (the API, the batch worker)
 * import them when a call needs one. Every function whose code reaches such an import needs
 * them (test/infra/stack.test.ts checks each function's bundle against the files beside it).
 */
export function sideBundles(inputDir: string, outputDir: string, only: string[] = []): string[] {
  return [
    `cd "${inputDir}" && npx --no-install tsx infra/side-bundles.ts "${outputDir}"${only
      .map((name) => ` ${name}`)
      .join("")}`,
  ];
}

/** The environment through which a function finds sluice's resources (names in RESOURCE_ENV). */
export function resourceEnvironment(resources: {
  store: Store;
  bucket: IBucket;
  queue: IQueue;
}): Record<string, string> {
  return {
    [RESOURCE_ENV.table]: resources.store.table.tableName,
    [RESOURCE_ENV.logTable]: resources.store.logTable.tableName,
    [RESOURCE_ENV.bucket]: resources.bucket.bucketName,
    [RESOURCE_ENV.queueUrl]: resources.queue.queueUrl,
  };
}

/**
 * Stack traces that point into the TypeScript sources rather than the minified bundle, for the
 * functions nobody waits on (worker, janitor, rollups). Not the API's: Node reads the 2.6 MB
 * map at import and decodes it at the first stack trace, which at 128 MB's CPU share added
 * about a second to its cold start (`npm run bench -- --share`); its traces are mapped offline
 * with the `index.mjs.map` beside the bundle (README, Lambda settings).
 */
export const SOURCE_MAPS_ENV = { NODE_OPTIONS: "--enable-source-maps" } as const;

/** What every function of a deployment shares: its runtime settings and log retention. */
export interface FunctionRuntime {
  /** Runtime settings (SLUICE_*) from the deployment's options. */
  settings: Record<string, string>;
  logRetentionDays: number;
}

/**
 * A function's log group, made by the stack (so it expires and goes with the stack), how it
 * logs, and its settings: props to spread into a NodejsFunction's.
 */
export function runtimeProps(
  scope: Construct,
  runtime: FunctionRuntime,
  environment: Record<string, string>,
): Pick<
  NodejsFunctionProps,
  "logGroup" | "environment" | "loggingFormat" | "applicationLogLevelV2" | "systemLogLevelV2"
> {
  const logGroup = new LogGroup(scope, "Logs", {
    retention: retentionDays(runtime.logRetentionDays),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return {
    logGroup,
    ...loggingProps(runtime.settings),
    environment: { ...runtime.settings, ...environment },
  };
}

/**
 * Lambda's own log lines (START, END, REPORT with the memory used) in JSON like sluice's, and
 * its log-level filter. The filter counts a line without a level (the metric lines) as INFO,
 * so it never goes above INFO: a SLUICE_LOG_LEVEL of WARN or ERROR is kept by the functions'
 * Loggers (shared/observability.ts), one of DEBUG lets their debug lines through.
 */
function loggingProps(
  settings: Record<string, string>,
): Pick<NodejsFunctionProps, "loggingFormat" | "applicationLogLevelV2" | "systemLogLevelV2"> {
  return {
    loggingFormat: LoggingFormat.JSON,
    applicationLogLevelV2:
      logLevel(settings) === "DEBUG" ? ApplicationLogLevel.DEBUG : ApplicationLogLevel.INFO,
    systemLogLevelV2: SystemLogLevel.INFO,
  };
}

/** The CloudWatch retention at or above `days` (it takes only certain values). */
function retentionDays(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays)
    .filter((value): value is RetentionDays => typeof value === "number" && value > 0)
    .sort((a, b) => a - b);
  return allowed.find((value) => value >= days) ?? RetentionDays.TEN_YEARS;
}
