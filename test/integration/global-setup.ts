import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../../infra/local/stack";
import { TEST_ENV } from "../fixtures/test-env";
import { serveStackLog, stackLogSink } from "../stack-log";

/** What every integration test gets: one local stack, started once per run. */
export interface SluiceUnderTest {
  url: string;
  adminToken: string;
  adminUserId: string;
  adminUsername: string;
  adminPassword: string;
  demoKey: string;
  /** Sent with CloudFront-Viewer-Address, makes a request count as coming from that address. */
  originSecret: string;
  dynamoEndpoint: string;
  awsEndpoint: string;
  /** What the stack's functions sign AWS calls with (a keyless `bedrock` channel's calls). */
  awsCredentials: { accessKeyId: string; secretAccessKey: string };
  tableName: string;
  logTableName: string;
  bucketName: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  stateFile: string;
  /** The stack's mailbox: `GET <mailboxUrl>/mail?to=<address>` lists what an address received. */
  mailboxUrl: string;
  /** Where the mailbox takes SMTP (what the stack's SLUICE_SMTP_HOST and _PORT say). */
  mailboxSmtp: { host: string; port: number };
  /** The stack's log of a test: `GET <stackLogUrl>/?test=<id>` (test/stack-log.ts). */
  stackLogUrl: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    sluice: SluiceUnderTest;
  }
}

/**
 * The run's stack: both integration projects (vitest.config.ts) call this setup, in the one
 * vitest process, and share the stack the first one started; the last to finish stops it.
 */
const shared = globalThis as typeof globalThis & {
  sluiceStack?: { started: ReturnType<typeof startStack>; users: number };
};

export default async function setup(project: TestProject) {
  shared.sluiceStack ??= { started: startStack(), users: 0 };
  const run = shared.sluiceStack;
  run.users++;
  const { stack, stateFile, stateDir, log } = await run.started;
  project.provide("sluice", {
    url: stack.url,
    adminToken: stack.adminToken,
    adminUserId: stack.adminUserId,
    adminUsername: stack.adminUsername,
    adminPassword: stack.adminPassword,
    demoKey: stack.demoKey,
    originSecret: stack.originSecret,
    dynamoEndpoint: stack.dynamoEndpoint,
    awsEndpoint: stack.awsEndpoint,
    awsCredentials: stack.awsCredentials,
    tableName: stack.resources.tableName,
    logTableName: stack.resources.logTableName,
    bucketName: stack.resources.bucketName,
    queueUrl: stack.resources.queueUrl,
    deadLetterQueueUrl: stack.resources.deadLetterQueueUrl,
    stateFile,
    mailboxUrl: stack.mailbox.url,
    mailboxSmtp: stack.mailbox.smtp,
    stackLogUrl: log.url,
  });
  return async () => {
    if (--run.users > 0) return;
    shared.sluiceStack = undefined;
    await Promise.all([stack.stop(), log.close()]);
    rmSync(stateDir, { recursive: true, force: true });
  };
}

async function startStack() {
  const stateDir = mkdtempSync(join(tmpdir(), "sluice-test-"));
  const stateFile = join(stateDir, "local.json");
  const stack = await startLocalStack({
    port: 0,
    stateFile,
    // Kept, not printed: a failing test is shown the lines of its requests (test/stack-log.ts).
    logSink: stackLogSink,
    env: {
      ...TEST_ENV,
      // The metric lines would go to stdout; their shape is tested (unit/observability.test.ts).
      POWERTOOLS_METRICS_DISABLED: "true",
      // A non-streamed answer of o4-mini (the provider fixture's slow reasoner) times out
      // after 2 s, so tests see an answer past its timeout; every other model's waits 30 s,
      // which no test's call takes even on a busy machine (a timed-out call is not retried).
      SLUICE_UPSTREAM_TIMEOUT_MS: "30000",
      SLUICE_UPSTREAM_MODEL_TIMEOUTS: "o4-mini=2",
      // Small chunks, so a small batch still has several. Files keep seed 000's 10 MB limit.
      SLUICE_BATCH_CHUNK_LINES: "5",
      SLUICE_BATCH_EXPIRY_GRACE_SECONDS: "1",
      // An open circuit half-opens after a second, so a test sees its probe.
      SLUICE_CHANNEL_OPEN_SECONDS: "1",
      // Tests burst hundreds of calls at once from one user (quota races): the default of 50
      // would refuse some as rate limited. Every call is still counted against this limit;
      // rate-limits.test.ts tests the default with instances of its own.
      SLUICE_USER_CONCURRENCY: "1000",
    },
    // Redelivery within a test, yet longer than any chunk takes here.
    visibilityTimeoutSeconds: 5,
    // A sweep and a read of the log's stream each second: soon enough for a test waiting on
    // them, and twice or four times less DynamoDB Local CPU, while idle, than every 500 and
    // 250 ms (the stack's reads when idle were a tenth of the run's CPU).
    janitorIntervalMs: 1_000,
    rollupPollIntervalMs: 1_000,
  });
  return { stack, stateFile, stateDir, log: await serveStackLog() };
}
