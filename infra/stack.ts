import { CfnOutput, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { SecurityGroup, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import { Key } from "aws-cdk-lib/aws-kms";
import { Architecture, CapacityProvider } from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { RESOURCE_ENV } from "../shared/config/resources";
import { loadSettings } from "../shared/config/settings";
import { Api } from "./constructs/api";
import { BatchPipeline } from "./constructs/batch-pipeline";
import { CustomDomain } from "./constructs/custom-domain";
import { Files } from "./constructs/file-bucket";
import type { FunctionRuntime } from "./constructs/function-defaults";
import { Janitor } from "./constructs/janitor";
import { grantSesSending } from "./constructs/mail";
import { Operations } from "./constructs/operations";
import { Store } from "./constructs/store";
import { UsageRollup } from "./constructs/usage-rollup";
import { DEFAULT_OPTIONS, type DeploymentOptions, optionsFromContext, validated } from "./options";

export interface SluiceStackProps extends StackProps {
  /** The deployment's options; by default read from the app's context (infra/options.ts). */
  options?: Partial<DeploymentOptions>;
}

/** Memory of the API function on managed instances: their execution environments start at 2 GiB. */
export const MANAGED_API_MEMORY_MIB = 2048;

/**
 * All of sluice on AWS: table, bucket, batch queue and worker, the API, the janitor, the
 * usage rollups, and the alarms and dashboard that watch them.
 */
export class SluiceStack extends Stack {
  readonly options: DeploymentOptions;
  readonly store: Store;
  readonly files: Files;
  readonly batch: BatchPipeline;
  readonly api: Api;
  readonly janitor: Janitor;
  readonly rollup: UsageRollup;
  readonly operations: Operations;
  /** Seals channels' provider keys in the table. */
  readonly channelKey: Key;
  readonly capacityProvider?: CapacityProvider;
  readonly customDomain?: CustomDomain;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, props);
    this.options = props.options
      ? validated({ ...DEFAULT_OPTIONS, ...props.options })
      : optionsFromContext(this.node);
    const { options } = this;
    const runtime: FunctionRuntime = {
      settings: options.settings,
      logRetentionDays: options.logRetentionDays,
    };
    const managed = options.computeMode === "managed-instances";

    this.store = new Store(this, "Store");
    this.files = new Files(this, "Files", {
      responseRetentionDays: loadSettings(options.settings).responseRetentionDays,
    });
    this.batch = new BatchPipeline(this, "Batch", {
      store: this.store,
      files: this.files,
      runtime,
    });
    this.api = new Api(this, "Api", {
      store: this.store,
      files: this.files,
      queue: this.batch.queue,
      runtime,
      memoryMiB: managed ? MANAGED_API_MEMORY_MIB : options.apiMemoryMiB,
      reservedConcurrency: options.apiReservedConcurrency,
      bedrockModels: options.bedrockModels,
    });
    this.janitor = new Janitor(this, "Janitor", {
      store: this.store,
      files: this.files,
      queue: this.batch.queue,
      runtime,
    });
    this.rollup = new UsageRollup(this, "UsageRollup", { store: this.store, runtime });
    // Stream e-mail (issue 22 E): the API mails codes and reset links, the rollups notices.
    if (options.mail) grantSesSending([this.api.function, this.rollup.function], options.mail);
    // The link in a low-balance notice: the domain's console, or the function URL's.
    this.rollup.function.addEnvironment(
      "SLUICE_PUBLIC_ORIGIN",
      options.settings.SLUICE_PUBLIC_ORIGIN ??
        (options.domainName ? `https://${options.domainName}` : this.api.url.url),
    );

    // Only the functions that call upstreams may open channels' provider keys: the API (which
    // also seals them when an admin saves a channel) and the batch worker.
    this.channelKey = new Key(this, "ChannelKey", {
      description: "sluice: seals channels' provider keys in the table",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api.function.addEnvironment(RESOURCE_ENV.channelKey, this.channelKey.keyArn);
    this.channelKey.grantEncryptDecrypt(this.api.function);
    this.batch.worker.addEnvironment(RESOURCE_ENV.channelKey, this.channelKey.keyArn);
    this.channelKey.grantDecrypt(this.batch.worker);

    if (managed) this.capacityProvider = this.managedInstances(options.managedConcurrency);

    this.operations = new Operations(this, "Operations", {
      api: this.api.function,
      worker: this.batch.worker,
      janitor: this.janitor.function,
      rollup: this.rollup.function,
      deadLetterQueue: this.batch.deadLetterQueue,
      tables: [this.store.table, this.store.logTable],
      alarmEmail: options.alarmEmail,
    });

    if (options.domainName && options.certificateArn) {
      this.customDomain = new CustomDomain(this, "CustomDomain", {
        url: this.api.url,
        domainName: options.domainName,
        certificateArn: options.certificateArn,
      });
      // The function believes CloudFront-Viewer-Address only with the distribution's secret,
      // and accepts sign-ins from the domain's pages (its Host is the function URL's).
      this.api.function.addEnvironment(
        "SLUICE_ORIGIN_SECRET",
        this.customDomain.originSecret.secretValue.unsafeUnwrap(),
      );
      // Links in mail point at the domain (stream e-mail, issue 22 E).
      if (!options.settings.SLUICE_PUBLIC_ORIGIN)
        this.api.function.addEnvironment("SLUICE_PUBLIC_ORIGIN", `https://${options.domainName}`);
      this.api.function.addEnvironment(
        "SLUICE_SITE_ORIGINS",
        [options.settings.SLUICE_SITE_ORIGINS, `https://${options.domainName}`]
          .filter(Boolean)
          .join(","),
      );
      new CfnOutput(this, "CustomDomainTarget", {
        value: this.customDomain.distribution.distributionDomainName,
        description: `Point ${options.domainName} (CNAME or alias) here`,
      });
    }

    new CfnOutput(this, "FunctionUrl", {
      value: this.api.url.url,
      description: "Base URL of the API",
    });
    new CfnOutput(this, "TableName", { value: this.store.table.tableName });
    new CfnOutput(this, "LogTableName", { value: this.store.logTable.tableName });
    new CfnOutput(this, "BucketName", { value: this.files.bucket.bucketName });
    new CfnOutput(this, "BatchQueueUrl", { value: this.batch.queue.queueUrl });
    new CfnOutput(this, "DashboardName", { value: this.operations.dashboard.dashboardName });
    new CfnOutput(this, "AlarmTopicArn", { value: this.operations.topic.topicArn });
  }

  /**
   * Puts the API function on Lambda Managed Instances: EC2 capacity that Lambda runs and
   * scales, where one execution environment serves many invocations at once. Its VPC has
   * public subnets only, so upstream calls leave through the internet gateway (no NAT
   * gateway, which would cost per GB).
   */
  private managedInstances(concurrency: number): CapacityProvider {
    const vpc = new Vpc(this, "Vpc", {
      maxAzs: 3,
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: SubnetType.PUBLIC }],
    });
    // Upstreams may listen on any port (a self-hosted model on :8000); nothing comes in.
    const securityGroup = new SecurityGroup(this, "InstancesSecurityGroup", {
      vpc,
      description: "sluice API instances: outbound only",
      allowAllOutbound: true,
    });
    const provider = new CapacityProvider(this, "CapacityProvider", {
      subnets: vpc.publicSubnets,
      securityGroups: [securityGroup],
      architectures: [Architecture.ARM_64],
    });
    provider.addFunction(this.api.function, {
      perExecutionEnvironmentMaxConcurrency: concurrency,
    });
    return provider;
  }
}
