import { fileURLToPath } from "node:url";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { type NodejsFunctionProps, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { RESOURCE_ENV } from "../../shared/config/resources";
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
    // ESM bundles have no `require`; CommonJS dependencies bundled into them still call it.
    banner:
      "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
  },
} satisfies Partial<NodejsFunctionProps>;

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
    // Stack traces point into the TypeScript sources rather than the minified bundle.
    NODE_OPTIONS: "--enable-source-maps",
  };
}
