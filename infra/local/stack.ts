import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { buildConsole } from "../../console/build";
import { functionServices, functionTable } from "../../functions/adapters/services";
import { hashPassword } from "../../shared/auth/passwords";
import { newPasswordSecret, randomString } from "../../shared/auth/secrets";
import { dollarsToUnits } from "../../shared/billing/units";
import { createAdmin, createKey } from "../../shared/bootstrap";
import { BATCH_WORKER, RESOURCE_ENV, USAGE_ROLLUP } from "../../shared/config/resources";
import { loadSettings, type Settings } from "../../shared/config/settings";
import { createLogger, type LogSink } from "../../shared/observability";
import type { Services } from "../../shared/services";
import {
  createAwsServices,
  createDynamoClient,
  createS3Client,
  createSqsClient,
} from "../../shared/store/aws";
import { newChannelRecord } from "../../shared/store/channels";
import { installAwsLambdaGlobal } from "./awslambda";
import { freePort, startDemoIdentity } from "./demo-identity";
import { startDemoPayments } from "./demo-payments/configure";
import { type DemoUpstream, startDemoUpstream } from "./demo-upstream";
import { type JvmJit, startDynamoDbLocal } from "./dynamodb-local";
import { startSqsAndS3 } from "./fauxqs";
import { type ResponseObserver, startFunctionUrlServer } from "./function-url-server";
import { startJanitorTimer } from "./janitor-timer";
import { type LocalLogging, standInLogger } from "./logs";
import { type Mailbox, startMailbox } from "./mailbox";
import { createLocalResources, type LocalResources } from "./resources";
import { startSqsPoller } from "./sqs-poller";
import { type StreamPoller, startStreamPoller } from "./stream-poller";

export interface RealUpstream {
  baseUrl: string;
  apiKey?: string;
  /** Models to serve; read from the upstream's /models when absent. */
  models?: string[];
}

export interface LocalStackOptions {
  /** Port of the function URL server; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Keep DynamoDB's data on disk here instead of in memory. */
  dataDir?: string;
  /** A real OpenAI-compatible upstream for the default channel; the demo upstream otherwise. */
  upstream?: RealUpstream;
  /** Where to remember the admin token and demo key between runs. */
  stateFile?: string;
  /** Extra environment for the functions (settings such as SLUICE_CACHE_TTL_MS). */
  env?: Record<string, string>;
  /** Shorter than on AWS in tests, so that redelivery happens within a test. */
  visibilityTimeoutSeconds?: number;
  /** A fixed delay for every demo upstream answer (benchmarks). */
  demoUpstreamLatencyMs?: number;
  /** Told when each response's first byte goes out (benchmarks). */
  responseObserver?: ResponseObserver;
  /** How often the janitor sweeps (AWS: every 5 minutes; locally every minute by default). */
  janitorIntervalMs?: number;
  /**
   * How long the usage rollups gather log lines before adding them up (AWS: USAGE_ROLLUP's
   * window; locally none by default, so rollups follow at once).
   */
  rollupBatchingWindowMs?: number;
  /**
   * How often the rollups' poller reads a stream shard that had nothing new (Lambda: 250 ms).
   * Tests read it less often: each read costs DynamoDB Local CPU, over a whole run.
   */
  rollupPollIntervalMs?: number;
  /** Where the console is built and served from (a fresh temporary folder by default). */
  consoleDir?: string;
  /** DynamoDB Local's JIT: "quick" by default, "full" for benchmarks of its throughput. */
  dynamoJit?: JvmJit;
  /**
   * Where the functions and the stand-ins log, a JSON line at a time: stdout when absent. A
   * test run keeps them (test/stack-log.ts); the level is SLUICE_LOG_LEVEL's, as on AWS.
   */
  logSink?: LogSink;
}

export interface LocalStack {
  url: string;
  adminToken: string;
  adminUserId: string;
  /** The admin's console sign-in. */
  adminUsername: string;
  adminPassword: string;
  demoKey: string;
  /** The default channel's upstream: the demo server, or the configured real one. */
  upstream:
    | { kind: "demo"; server: DemoUpstream; unpriced: string[] }
    | { kind: "real"; baseUrl: string; models: string[]; unpriced: string[] };
  /**
   * The secret a CloudFront distribution would add to each request: a client that sends it
   * in x-sluice-origin-verify, with CloudFront-Viewer-Address, is taken to come from that
   * address (tests send sign-ins from many addresses this way).
   */
  originSecret: string;
  dynamoEndpoint: string;
  /** DynamoDB Local's Java process, whose CPU the benchmarks report apart from sluice's. */
  dynamoPid: number | undefined;
  awsEndpoint: string;
  /**
   * The AWS credentials the functions have in their environment (Lambda's role's, on AWS):
   * what a `bedrock` channel without a key signs with, and what the demo upstream's Bedrock
   * endpoints accept.
   */
  awsCredentials: { accessKeyId: string; secretAccessKey: string };
  resources: LocalResources;
  /** Services of the stack's own process, for bootstrap and tests. */
  services: Services;
  /** The usage rollups' stream consumer: `drain()` waits until every line written is added up. */
  rollups: StreamPoller;
  // Stream e-mail (issue 22 E).
  /** Where the stack's mail goes (SMTP), and where to read it (`GET <url>/mail?to=`). */
  mailbox: Pick<Mailbox, "url" | "smtp">;
  stop(): Promise<void>;
}

export interface LocalState {
  url: string;
  adminToken: string;
  adminUsername: string;
  adminPassword: string;
  demoKey: string;
}

/**
 * The whole of sluice on one machine: DynamoDB Local, fauxqs, the real API handler behind a
 * local function URL, and the real batch worker behind a local SQS poller.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  useLocalAwsEnvironment();
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => {});
  };
  try {
    // The console is built while DynamoDB Local and fauxqs start.
    const consoleDir = options.consoleDir ?? mkdtempSync(join(tmpdir(), "sluice-console-"));
    const consoleBuilt = buildConsole({ outDir: consoleDir });
    if (!options.consoleDir) stops.push(async () => rmSync(consoleDir, { recursive: true }));
    const dynamo = await startDynamoDbLocal({ dataDir: options.dataDir, jit: options.dynamoJit });
    stops.push(dynamo.stop);
    const aws = await startSqsAndS3();
    stops.push(aws.stop);
    await consoleBuilt;

    process.env[RESOURCE_ENV.dynamoEndpoint] = dynamo.endpoint;
    process.env[RESOURCE_ENV.awsEndpoint] = aws.endpoint;
    const clients = {
      dynamo: await createDynamoClient(),
      s3: await createS3Client(),
      sqs: await createSqsClient(),
    };
    const resources = await createLocalResources(clients, {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    });
    // stream D (sign-in): the demo providers call back at the stack's own origin, known first.
    const port = options.port || (await freePort(options.host));
    const ownHost = !options.host || options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
    const identity = await startDemoIdentity(`http://${ownHost}:${port}`);
    stops.push(identity.stop);
    Object.assign(process.env, identity.env);
    // Stream e-mail (issue 22 E): the functions send mail over SMTP to a mailbox of the stack's.
    const mailbox = await startMailbox();
    stops.push(mailbox.stop);
    Object.assign(process.env, {
      // Served over plain http: a Secure session cookie would not come back.
      SLUICE_SECURE_COOKIES: "false",
      // The local server stands in for CloudFront too (see LocalStack.originSecret).
      SLUICE_ORIGIN_SECRET: randomString(32),
      SLUICE_CONSOLE_DIR: consoleDir,
      [RESOURCE_ENV.table]: resources.tableName,
      [RESOURCE_ENV.logTable]: resources.logTableName,
      [RESOURCE_ENV.bucket]: resources.bucketName,
      [RESOURCE_ENV.queueUrl]: resources.queueUrl,
      ...mailboxEnvironment(mailbox),
      ...options.env,
    });

    // Each function logs through a Logger of its own, named for it, as each has a log group of
    // its own on AWS; so does each stand-in for Lambda's machinery.
    const logging: LocalLogging = { level: loadSettings().log.level, sink: options.logSink };
    const functionLog = (name: string) => createLogger({ ...logging, functionName: name });
    // The stack's own services (bootstrap, and for tests), on the same resources as the functions.
    const services = createAwsServices(process.env, { log: functionLog("sluice-local-stack") });
    const upstream = await configureDefaultChannel(
      services,
      options.upstream,
      options.demoUpstreamLatencyMs,
    );
    if (upstream.kind === "demo") stops.push(upstream.server.close);

    // The functions' modules read their environment when imported, so they are imported only
    // now; each function is made here on services and a Logger of its own.
    installAwsLambdaGlobal();
    const { apiHandler } = await import("../../functions/api/function-url");
    const { batchWorkerHandler } = await import("../../functions/batch-worker/handler");
    const { janitorHandler } = await import("../../functions/janitor/handler");
    const { usageRollupHandler } = await import("../../functions/usage-rollup/handler");
    const on = (name: string) => functionServices(process.env, { log: functionLog(name) });
    const apiServices = on(API);
    const server = await startFunctionUrlServer({
      handler: apiHandler(apiServices),
      functionName: API,
      port,
      host: options.host,
      observer: options.responseObserver,
      log: standInLogger("function-url", API, logging),
    });
    stops.push(server.close);
    // Payments (stream c-pay): the demo providers, configured at start.
    const payments = await startDemoPayments(services, apiServices, server.url);
    stops.push(payments.close);
    const poller = startSqsPoller({
      sqs: clients.sqs,
      queueUrl: resources.queueUrl,
      queueArn: resources.queueArn,
      handler: batchWorkerHandler(on(WORKER)),
      functionName: WORKER,
      batchSize: BATCH_WORKER.batchSize,
      concurrency: BATCH_WORKER.maxConcurrency,
      log: standInLogger("sqs-poller", WORKER, logging),
    });
    stops.push(poller.stop);
    const streams = new DynamoDBStreamsClient({ endpoint: dynamo.endpoint });
    stops.push(async () => streams.destroy());
    const rollups = startStreamPoller({
      dynamo: clients.dynamo,
      streams,
      tableName: resources.logTableName,
      handler: usageRollupHandler(functionTable(process.env, "rollups"), {
        log: functionLog(ROLLUP),
        logRetentionDays: services.settings.logRetentionDays,
        settings: withPublicOrigin(loadSettings(), server.url),
        // As the API caches what it reads (SLUICE_CACHE_TTL_MS): a threshold just set is seen.
        profileTtlMs: services.settings.cacheTtlMs,
      }),
      functionName: ROLLUP,
      batchSize: options.rollupBatchingWindowMs ? USAGE_ROLLUP.batchSize : 100,
      maxBatchingWindowMs: options.rollupBatchingWindowMs ?? 0,
      pollIntervalMs: options.rollupPollIntervalMs,
      // USAGE_ROLLUP.filter, as Lambda applies it on AWS: new lines.
      filter: (record) => record.eventName === "INSERT",
      log: standInLogger("stream-poller", ROLLUP, logging),
    });
    stops.push(rollups.stop);
    const sweeps = startJanitorTimer(
      janitorHandler(on(JANITOR)),
      options.janitorIntervalMs ?? 60_000,
      standInLogger("janitor-timer", JANITOR, logging),
    );
    stops.push(sweeps.stop);
    stops.push(async () => destroyClients(clients));

    const credentials = await ensureCredentials(services, options.stateFile, server.url);
    await identity.configure(services); // stream D
    return {
      url: server.url,
      ...credentials,
      originSecret: process.env.SLUICE_ORIGIN_SECRET as string,
      upstream,
      dynamoEndpoint: dynamo.endpoint,
      dynamoPid: dynamo.pid,
      awsEndpoint: aws.endpoint,
      awsCredentials: localAwsCredentials(),
      resources,
      services,
      rollups,
      mailbox: { url: mailbox.url, smtp: mailbox.smtp },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The local functions' names (on AWS, CloudFormation names them). */
const API = "sluice-api";
const WORKER = "sluice-batch-worker";
const JANITOR = "sluice-janitor";
const ROLLUP = "sluice-usage-rollup";

/** Links in the rollups' mail point at the local console unless an origin is configured. */
function withPublicOrigin(settings: Settings, url: string): Settings {
  return {
    ...settings,
    edge: { ...settings.edge, publicOrigin: settings.edge.publicOrigin ?? url },
  };
}

/** The functions' mail settings: SMTP to the stack's mailbox, from a local sender. */
export function mailboxEnvironment(mailbox: Pick<Mailbox, "smtp">): Record<string, string> {
  return {
    SLUICE_MAIL: "smtp",
    SLUICE_MAIL_FROM: "sluice <sluice@localhost>",
    SLUICE_SMTP_HOST: mailbox.smtp.host,
    SLUICE_SMTP_PORT: String(mailbox.smtp.port),
    SLUICE_SMTP_SECURE: "false",
  };
}

/** The local stack talks only to its emulators, whatever AWS settings the shell has. */
function useLocalAwsEnvironment(): void {
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

function localAwsCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID as string,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY as string,
  };
}

/** Free quota the local admin (and so the demo key) starts with. */
export const DEMO_BALANCE_USD = 10;

/** The name of the admin's access token kept in .sluice/local.json (store/access-tokens.ts). */
const LOCAL_TOKEN = "local-cli";

/**
 * Models of the default channel that have no price: refused (403 model_not_priced) until an
 * admin prices them, as everywhere; the banner lists them.
 */
async function unpricedModels(services: Services, models: string[]): Promise<string[]> {
  const priced = (await services.pricing.get()).models;
  return models.filter((model) => !priced[model]);
}

async function configureDefaultChannel(
  services: Services,
  real: RealUpstream | undefined,
  demoLatencyMs?: number,
): Promise<LocalStack["upstream"]> {
  if (real) {
    const models = real.models?.length ? real.models : await listUpstreamModels(real);
    await services.channels.put(
      newChannelRecord({
        id: "default",
        name: "default",
        baseUrl: real.baseUrl,
        key: real.apiKey ?? "",
        models,
      }),
    );
    return {
      kind: "real",
      baseUrl: real.baseUrl,
      models,
      unpriced: await unpricedModels(services, models),
    };
  }
  // Its Bedrock endpoints take the functions' own credentials, as Bedrock takes the role's.
  const server = await startDemoUpstream({
    latencyMs: demoLatencyMs,
    bedrock: { credentials: [localAwsCredentials()] },
  });
  await services.channels.put(
    newChannelRecord({
      id: "default",
      name: "demo upstream",
      baseUrl: server.baseUrl,
      models: server.models,
    }),
  );
  // The demo upstream also speaks Azure AI Speech, so seed 000's `tts-az-1` works offline.
  await services.channels.put(
    newChannelRecord({
      id: "demo-azure-speech",
      name: "demo Azure Speech",
      type: "azure-speech",
      baseUrl: new URL(server.baseUrl).origin,
      key: "demo",
      models: ["tts-az-1"],
    }),
  );
  return { kind: "demo", server, unpriced: await unpricedModels(services, server.models) };
}

async function listUpstreamModels(upstream: RealUpstream): Promise<string[]> {
  const url = `${upstream.baseUrl.replace(/\/+$/, "")}/models`;
  const response = await fetch(url, {
    headers: upstream.apiKey ? { authorization: `Bearer ${upstream.apiKey}` } : {},
  });
  if (!response.ok) {
    throw new Error(
      `GET ${url} answered ${response.status}; set SLUICE_UPSTREAM_MODELS to list the models yourself`,
    );
  }
  const body = (await response.json()) as { data?: { id: string }[] };
  return (body.data ?? []).map((m) => m.id).sort();
}

/** Reuses the previous run's admin token and demo key when the data survived; else creates them. */
async function ensureCredentials(
  services: Services,
  stateFile: string | undefined,
  url: string,
): Promise<Omit<LocalState, "url"> & { adminUserId: string }> {
  const previous = stateFile && existsSync(stateFile) ? readState(stateFile) : undefined;
  if (previous) {
    const { current: admin } = await services.users.findByAccessToken(previous.adminToken);
    const key = await services.apiKeys.findBySecret(previous.demoKey);
    if (admin && key) {
      let { adminPassword, adminToken } = previous;
      // A state file from before the console: the admin gets a password now.
      if (!admin.passwordHash) {
        adminPassword = newPasswordSecret();
        await services.users.setFirstPassword(
          admin.id,
          await hashPassword(adminPassword, services.settings.console.passwordCost),
        );
      } else if (!adminPassword) {
        // A password the file does not know: a new one, which revokes every token, so the
        // file's is minted again.
        adminPassword = newPasswordSecret();
        const { sessionVersion } = await services.users.changeCredentials(admin.id, {
          passwordHash: await hashPassword(adminPassword, services.settings.console.passwordCost),
        });
        adminToken = await services.tags.issue("accessToken");
        await services.users.issueAccessToken(
          admin.id,
          { secret: adminToken, name: LOCAL_TOKEN, via: "local" },
          sessionVersion,
        );
      }
      const state = { ...previous, adminToken, adminUsername: admin.username, adminPassword };
      writeState(stateFile, { ...state, url });
      return { ...state, adminUserId: admin.id };
    }
  }
  // The file's token is `local-cli`: the console's "generate" replaces only `console`.
  const { user, accessToken, password } = await createAdmin(services, "admin", {
    name: LOCAL_TOKEN,
    via: "local",
  });
  // A starting balance, so that `npm start` followed by a curl just works.
  await services.ledger.topUp(user.id, {
    reference: "local-demo-balance",
    bucket: "free",
    units: dollarsToUnits(DEMO_BALANCE_USD),
    by: user.id,
    requestId: "req_local_stack",
  });
  const { secret } = await createKey(services, { userId: user.id, name: "demo" });
  const state = {
    adminToken: accessToken,
    adminUsername: user.username,
    adminPassword: password,
    demoKey: secret,
  };
  writeState(stateFile, { ...state, url });
  return { ...state, adminUserId: user.id };
}

function readState(file: string): LocalState | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LocalState;
  } catch {
    return undefined;
  }
}

function writeState(file: string | undefined, state: LocalState): void {
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

function destroyClients(clients: {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  s3: { destroy(): void };
}): void {
  clients.dynamo.destroy();
  clients.sqs.destroy();
  clients.s3.destroy();
}
