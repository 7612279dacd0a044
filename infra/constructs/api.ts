import { Duration } from "aws-cdk-lib";
import {
  type FunctionUrl,
  FunctionUrlAuthType,
  HttpMethod,
  InvokeMode,
} from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { API_FUNCTION, FUNCTION_URL_CORS } from "../../shared/config/resources";
import { grantBedrockModels } from "./bedrock-access";
import type { Files } from "./file-bucket";
import {
  type FunctionRuntime,
  fromProjectRoot,
  nodeFunctionDefaults,
  resourceEnvironment,
  runtimeProps,
  sideBundles,
} from "./function-defaults";
import type { Store } from "./store";

export interface ApiProps {
  store: Store;
  runtime: FunctionRuntime;
  files: Files;
  /** The batch queue; the API only enqueues onto it. */
  queue: IQueue;
  memoryMiB: number;
  /** Concurrent executions kept for the API (none: it shares the account's pool). */
  reservedConcurrency?: number;
  /** The Bedrock models and inference profiles Bedrock channels may invoke (options.ts). */
  bedrockModels: readonly string[];
}

/** The OpenAI-compatible API: one Lambda behind a streaming function URL. */
export class Api extends Construct {
  readonly function: NodejsFunction;
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);

    this.function = new NodejsFunction(this, "Function", {
      ...nodeFunctionDefaults,
      bundling: {
        ...nodeFunctionDefaults.bundling,
        // The console's files go beside the bundle, in `console/` (never imported: read from
        // disk when asked for, shared/web/console-files.ts).
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // Without its table of file sizes, as esbuild's is left out; errors still show.
          // The entry that imports the bundle (index.mjs), compiled whole at a small share of
          // a vCPU, is a file of its own (functions/api/entry.ts): the function's handler.
          afterBundling: (inputDir: string, outputDir: string) => [
            `cd "${inputDir}" && npx --no-install tsx console/build.ts "${outputDir}/console" --quiet`,
            ...sideBundles(inputDir, outputDir),
            `cd "${inputDir}" && npx --no-install tsx infra/api-entry.ts "${outputDir}"`,
          ],
        },
      },
      entry: fromProjectRoot("functions/api/handler.ts"),
      handler: "entry.handler",
      memorySize: props.memoryMiB,
      reservedConcurrentExecutions: props.reservedConcurrency,
      timeout: Duration.seconds(API_FUNCTION.timeoutSeconds),
      ...runtimeProps(
        this,
        props.runtime,
        resourceEnvironment({
          store: props.store,
          bucket: props.files.bucket,
          queue: props.queue,
        }),
      ),
    });

    this.url = this.function.addFunctionUrl({
      // Public URL: sluice authenticates requests with its own API keys.
      authType: FunctionUrlAuthType.NONE,
      // Completions stream token by token (server-sent events).
      invokeMode: InvokeMode.RESPONSE_STREAM,
      cors: {
        allowedOrigins: [FUNCTION_URL_CORS.allowOrigins],
        allowedMethods: [HttpMethod.ALL],
        allowedHeaders: [...FUNCTION_URL_CORS.allowHeaders],
        exposedHeaders: [...FUNCTION_URL_CORS.exposeHeaders],
        maxAge: Duration.seconds(FUNCTION_URL_CORS.maxAgeSeconds),
      },
    });

    props.store.grantReadWriteData(this.function);
    props.files.grantReadWrite(this.function);
    props.queue.grantSendMessages(this.function);
    grantBedrockModels(this.function, props.bedrockModels);
  }
}
