import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App, type CfnElement } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { describe, expect, it, vi } from "vitest";
import { BEDROCK_ACTIONS } from "../../infra/constructs/bedrock-access";
import { DEFAULT_OPTIONS } from "../../infra/options";
import { SIDE_BUNDLES, specifiers, TOKENIZER_ENCODINGS } from "../../infra/side-bundles";
import { MANAGED_API_MEMORY_MIB, SluiceStack } from "../../infra/stack";
import { ByteRanks } from "../../shared/billing/byte-pair";
import { tiktokenFile } from "../../shared/billing/tokens";
import {
  ABORT_INCOMPLETE_MULTIPART_DAYS,
  API_FUNCTION,
  BATCH_QUEUE,
  BATCH_WORKER,
  BUCKET_PREFIXES,
  JANITOR,
  LIFECYCLE_EXPIRATION_DAYS,
  ORIGIN_SECRET_HEADER,
  RESOURCE_ENV,
  TABLE,
  USAGE_ROLLUP,
} from "../../shared/config/resources";

// Synthesised once for the whole file (bundling the functions takes a few seconds), with the
// feature flags from cdk.json so the template is the one `cdk synth` produces.
const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"));
const app = new App({ context: cdkJson.context });
const stack = quietly(() => new SluiceStack(app, "SluiceStack"));
const template = Template.fromStack(stack);

/**
 * Without CDK's "Bundling asset …" lines on stderr (a passing run prints the runner's lines
 * only); a bundling failure still throws, with esbuild's own output.
 */
function quietly<T>(make: () => T): T {
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    return make();
  } finally {
    stderr.mockRestore();
  }
}

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The logical ID of a construct's CloudFormation resource. */
function logicalId(construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

const ids = {
  table: logicalId(stack.store.table),
  logTable: logicalId(stack.store.logTable),
  bucket: logicalId(stack.files.bucket),
  queue: logicalId(stack.batch.queue),
  deadLetterQueue: logicalId(stack.batch.deadLetterQueue),
  worker: logicalId(stack.batch.worker),
  api: logicalId(stack.api.function),
  url: logicalId(stack.api.url),
  janitor: logicalId(stack.janitor.function),
  janitorRule: logicalId(stack.janitor.rule),
  rollup: logicalId(stack.rollup.function),
};

/** [name, logical ID] of the functions that run sluice's requests and batches. */
const FUNCTIONS = [
  ["api", ids.api],
  ["worker", ids.worker],
  ["janitor", ids.janitor],
] as const;
/** And every function, the usage rollups included. */
const ALL_FUNCTIONS = [...FUNCTIONS, ["usage rollup", ids.rollup]] as const;

const arnOf = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });
const under = (id: string, suffix: string) => ({ "Fn::Join": ["", [arnOf(id), suffix]] });

function resource(id: string): Json {
  const found = template.toJSON().Resources[id];
  if (!found) throw new Error(`no resource ${id} in the template`);
  return found;
}

/** The folder of a function's asset, as synthesised: its bundle and the files beside it. */
function assetOf(id: string): string {
  const code = properties(id).Code as { S3Key: string };
  return join(app.outdir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
}

function properties(id: string): Json {
  return resource(id).Properties as Json;
}

/** The statements of the IAM policies attached to a function's role. */
function roleStatements(functionId: string): Statement[] {
  const roleRef = (properties(functionId).Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"];
  const policies = template.findResources("AWS::IAM::Policy", {
    Properties: { Roles: Match.arrayWith([{ Ref: roleRef[0] }]) },
  });
  const statements = Object.values(policies).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
  expect(statements.length).toBeGreaterThan(0);
  return statements;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Whether an IAM action pattern such as `s3:GetObject*` covers an action. */
function covers(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`,
  );
  return regex.test(action);
}

/** Whether the statements allow `action`, on `onResource` if given, else on any resource. */
function allows(statements: Statement[], action: string, onResource?: unknown): boolean {
  return statements.some(
    (statement) =>
      statement.Effect === "Allow" &&
      asArray(statement.Action).some((pattern) => covers(pattern, action)) &&
      (onResource === undefined ||
        asArray(statement.Resource).some(
          (granted) => JSON.stringify(granted) === JSON.stringify(onResource),
        )),
  );
}

const TABLE_ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
  "dynamodb:BatchGetItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
];
const OBJECT_ACTIONS = [
  "s3:GetObject",
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:AbortMultipartUpload",
  "s3:ListMultipartUploadParts",
];
const CONSUME_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"];

describe("store", () => {
  it("is the table and the usage log's table, nothing more", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 2);
    expect(properties(ids.logTable).KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(properties(ids.logTable).GlobalSecondaryIndexes).toBeUndefined();
  });

  it("keys items by string pk/sk", () => {
    const table = properties(ids.table);
    expect(table.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
    ]);
    expect(TABLE.partitionKey).toBe("pk");
    expect(TABLE.sortKey).toBe("sk");
    expect(table.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
        { AttributeName: "gsi1pk", AttributeType: "S" },
        { AttributeName: "gsi1sk", AttributeType: "S" },
      ]),
    );
  });

  it("has its indexes projecting keys only, so balance writes never write an index", () => {
    expect(properties(ids.table).GlobalSecondaryIndexes).toEqual(
      [TABLE.gsi1, TABLE.holdsIndex].map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" },
          { AttributeName: index.sortKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "KEYS_ONLY" },
      })),
    );
  });

  it("streams new log lines (and only them) to the usage rollups, lines of calls only", () => {
    expect(properties(ids.table).StreamSpecification).toBeUndefined();
    expect(properties(ids.logTable).StreamSpecification).toEqual({ StreamViewType: "NEW_IMAGE" });
    const mappings = template.findResources("AWS::Lambda::EventSourceMapping", {
      Properties: { FunctionName: { Ref: ids.rollup } },
    });
    expect(Object.values(mappings)).toHaveLength(1);
    const mapping = Object.values(mappings)[0]?.Properties as Json;
    expect(mapping).toMatchObject({
      EventSourceArn: { "Fn::GetAtt": [ids.logTable, "StreamArn"] },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: USAGE_ROLLUP.batchSize,
      MaximumBatchingWindowInSeconds: USAGE_ROLLUP.maxBatchingWindowSeconds,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(USAGE_ROLLUP.filter) }] },
    });
  });

  it.each([
    ["table", () => ids.table],
    ["log table", () => ids.logTable],
  ])("expires the %s's items through the ttl attribute", (_, id) => {
    expect(properties(id()).TimeToLiveSpecification).toEqual({
      AttributeName: "ttl",
      Enabled: true,
    });
  });

  it.each([
    ["table", () => ids.table],
    ["log table", () => ids.logTable],
  ])("bills the %s on demand, keeps point-in-time backups and survives stack deletion", (_, id) => {
    const table = resource(id());
    expect(properties(id()).BillingMode).toBe("PAY_PER_REQUEST");
    expect(properties(id()).PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.UpdateReplacePolicy).toBe("Retain");
  });
});

describe("files bucket", () => {
  it("blocks all public access and encrypts with S3-managed keys", () => {
    const bucket = properties(ids.bucket);
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
      ],
    });
  });

  it("denies requests without TLS", () => {
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "s3:*",
            Principal: { AWS: "*" },
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("expires objects and aborts multipart uploads under each prefix", () => {
    const rules = (properties(ids.bucket).LifecycleConfiguration as { Rules: Json[] }).Rules;
    expect(Object.values(BUCKET_PREFIXES)).toEqual([
      "files/",
      "batch-outputs/",
      "work/",
      "responses/",
    ]);
    // Files and outputs after a day, the shortest S3 allows; working data must outlive a
    // batch's 24 h window plus its finalize, which a day rounded to midnight may not; stored
    // responses a day past their retention (30 days by default, as at OpenAI).
    const days: Record<string, number> = {
      "files/": 1,
      "batch-outputs/": 1,
      "work/": 2,
      "responses/": 31,
    };
    expect(ABORT_INCOMPLETE_MULTIPART_DAYS).toBe(1);
    for (const [name, prefix] of Object.entries(BUCKET_PREFIXES)) {
      if (name !== "responses")
        expect(LIFECYCLE_EXPIRATION_DAYS[name as keyof typeof LIFECYCLE_EXPIRATION_DAYS]).toBe(
          days[prefix],
        );
      expect(rules).toContainEqual(
        expect.objectContaining({
          Prefix: prefix,
          Status: "Enabled",
          ExpirationInDays: days[prefix],
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        }),
      );
    }
    // Expiry never reaches beyond sluice's prefixes.
    for (const rule of rules.filter((r) => r.ExpirationInDays !== undefined)) {
      expect(Object.values(BUCKET_PREFIXES)).toContain(rule.Prefix);
    }
  });
});

describe("batch pipeline", () => {
  it("redrives failing messages to the dead-letter queue", () => {
    expect(properties(ids.queue).RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(ids.deadLetterQueue),
      maxReceiveCount: BATCH_QUEUE.maxReceiveCount,
    });
  });

  it("keeps messages invisible for at least 6 x the worker timeout", () => {
    const visibility = properties(ids.queue).VisibilityTimeout as number;
    const workerTimeout = properties(ids.worker).Timeout as number;
    expect(workerTimeout).toBe(BATCH_WORKER.timeoutSeconds);
    expect(visibility).toBe(BATCH_QUEUE.visibilityTimeoutSeconds);
    expect(visibility).toBeGreaterThanOrEqual(6 * workerTimeout);
  });

  it("retains messages as configured", () => {
    const day = 86_400;
    expect(properties(ids.queue).MessageRetentionPeriod).toBe(BATCH_QUEUE.retentionDays * day);
    expect(properties(ids.deadLetterQueue).MessageRetentionPeriod).toBe(
      BATCH_QUEUE.deadLetterRetentionDays * day,
    );
  });

  it("denies queue access without TLS", () => {
    for (const queue of [ids.queue, ids.deadLetterQueue]) {
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });

  it("feeds the worker from the queue, reporting item failures, with capped concurrency", () => {
    const worker = template.findResources("AWS::Lambda::EventSourceMapping", {
      Properties: { FunctionName: { Ref: ids.worker } },
    });
    expect(Object.keys(worker)).toHaveLength(1);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: arnOf(ids.queue),
      FunctionName: { Ref: ids.worker },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: BATCH_WORKER.batchSize,
      ScalingConfig: { MaximumConcurrency: BATCH_WORKER.maxConcurrency },
    });
  });
});

describe("functions", () => {
  it("are the API, the worker, the janitor and the usage rollups, and nothing CDK adds", () => {
    template.resourceCountIs("AWS::Lambda::Function", ALL_FUNCTIONS.length);
    expect(Object.keys(template.findResources("AWS::Lambda::Function")).sort()).toEqual(
      ALL_FUNCTIONS.map(([, id]) => id).sort(),
    );
  });

  it.each(FUNCTIONS)("%s runs Node 22 on arm64 with sluice's resource environment", (_, id) => {
    const fn = properties(id);
    expect(fn.Runtime).toBe("nodejs22.x");
    expect(fn.Architectures).toEqual(["arm64"]);
    // The API's handler is its entry, which imports the bundle (functions/api/entry.ts).
    expect(fn.Handler).toBe(id === ids.api ? "entry.handler" : "index.handler");
    // The functions that call upstreams also name the channel key (see "channel keys").
    const { [RESOURCE_ENV.channelKey]: _channelKey, ...variables } = (
      fn.Environment as { Variables: Json }
    ).Variables;
    expect(variables).toEqual({
      [RESOURCE_ENV.table]: { Ref: ids.table },
      [RESOURCE_ENV.logTable]: { Ref: ids.logTable },
      [RESOURCE_ENV.bucket]: { Ref: ids.bucket },
      [RESOURCE_ENV.queueUrl]: { Ref: ids.queue },
      // Source-mapped stack traces, but for the API: they cost its cold start about a second
      // at 128 MB's CPU share (its map still ships beside the bundle, for traces read offline).
      ...(id === ids.api ? {} : { NODE_OPTIONS: "--enable-source-maps" }),
    });
  });

  it.each(ALL_FUNCTIONS)("%s is bundled locally into minified ESM with a require shim", (_, id) => {
    const code = properties(id).Code as { S3Key: string };
    const assetDir = join(app.outdir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
    const bundle = readFileSync(join(assetDir, "index.mjs"), "utf8");
    expect(bundle.split("\n")[0]).toMatch(/createRequire.*const require = .*\(import\.meta\.url\)/);
    expect(bundle).toMatch(/export\s*\{[^}]*\bhandler\b/);
    // Minified: no indented statements, as formatted source would have.
    expect(bundle).not.toMatch(/\n {2,}(const|let|return|if|function|await)\b/);
    expect(bundle.length / bundle.split("\n").length).toBeGreaterThan(200);
    expect(existsSync(join(assetDir, "index.mjs.map"))).toBe(true);
  });

  it("ships the API's entry beside its bundle, importing it", () => {
    const entry = readFileSync(join(assetOf(ids.api), "entry.mjs"), "utf8");
    expect(entry).toContain('"./index.mjs"');
    expect(entry).toMatch(/export\s*\{[^}]*\bhandler\b/);
    // Its own: none of the bundle inside it.
    expect(entry.length).toBeLessThan(20_000);
  });

  it("ships the console beside the API's bundle, and only there", () => {
    const api = assetOf(ids.api);
    const index = readFileSync(join(api, "console", "index.html"), "utf8");
    const scripts = [...index.matchAll(/src="(assets\/[^"]+\.js)"/g)].map((m) => m[1] as string);
    expect(scripts).toHaveLength(1);
    for (const script of scripts) expect(existsSync(join(api, "console", script))).toBe(true);
    // The API's own code does not carry the console: it reads the files when asked.
    expect(readFileSync(join(api, "index.mjs"), "utf8")).not.toContain("preact");
    expect(existsSync(join(assetOf(ids.worker), "console"))).toBe(false);
  });

  it("ships the tokenizer beside the bundles of the functions that relay calls, not in them", async () => {
    for (const id of [ids.api, ids.worker]) {
      const bundle = readFileSync(join(assetOf(id), "index.mjs"), "utf8");
      // The import stays an import (of the files beside it); no rank of the BPE is inside.
      expect(bundle).toContain("gpt-tokenizer/encodingParams/constants");
      expect(bundle.length).toBeLessThan(2_000_000);
      const tokenizer = join(assetOf(id), "node_modules", "gpt-tokenizer");
      const { O200K_TOKEN_SPLIT_REGEX } = await import(
        join(tokenizer, "encodingParams", "constants.js")
      );
      expect([..."hello world".matchAll(O200K_TOKEN_SPLIT_REGEX)].map(([piece]) => piece)).toEqual([
        "hello",
        " world",
      ]);
      // Each encoding's table of ranks, made from OpenAI's file as gpt-tokenizer ships it.
      for (const encoding of TOKENIZER_ENCODINGS) {
        const shipped = readFileSync(join(tokenizer, "data", `${encoding}.ranks`));
        const made = ByteRanks.fromTiktoken(readFileSync(tiktokenFile(encoding))).toTable();
        expect(shipped.equals(made)).toBe(true);
      }
    }
    expect(existsSync(join(assetOf(ids.janitor), "node_modules"))).toBe(false);
  });

  /**
   * Imports of a lazy dependency a function's code holds but never runs. The janitor reaches
   * the tokenizer's import through shared/batches/finalize.ts, which takes forEachConcurrently
   * from chunk.ts, which runs lines; the janitor runs none (it finalizes), so never estimates.
   */
  const NEVER_RUN: Record<string, string[]> = {
    // Nor does it send mail: services.ts makes a mailer it never calls. Nor does it call
    // Stripe: it finishes paid orders (payments/credit.ts) and expires unpaid ones, which the
    // payment routes' import of payments/stripe.ts reaches but never runs.
    [ids.janitor]: ["gpt-tokenizer", "nodemailer", "stripe"],
    // It sends low-balance notices; the payments' Stripe import comes with services.ts, unrun.
    [ids.rollup]: ["stripe"],
  };

  it.each(ALL_FUNCTIONS)(
    "%s finds beside its bundle every lazy dependency its bundle imports",
    (_, id) => {
      const bundle = readFileSync(join(assetOf(id), "index.mjs"), "utf8");
      for (const side of SIDE_BUNDLES) {
        if (NEVER_RUN[id]?.includes(side.name)) continue;
        const target = join(assetOf(id), "node_modules", side.name);
        for (const [i, specifier] of specifiers(side).entries()) {
          if (!bundle.includes(`"${specifier}"`)) continue;
          expect(existsSync(join(target, "package.json")), `${specifier} beside ${id}`).toBe(true);
          const manifest = JSON.parse(readFileSync(join(target, "package.json"), "utf8"));
          expect(manifest.name).toBe(side.name);
          const file = manifest.exports[side.subpaths[i] as string] as string;
          expect(existsSync(join(target, file))).toBe(true);
        }
      }
    },
  );

  it("gives the API the configured memory and a timeout of at least 5 minutes", () => {
    const api = properties(ids.api);
    expect(api.MemorySize).toBe(API_FUNCTION.memoryMiB);
    expect(api.Timeout).toBe(API_FUNCTION.timeoutSeconds);
    expect(api.Timeout).toBeGreaterThanOrEqual(300);
    expect(properties(ids.worker).MemorySize).toBe(BATCH_WORKER.memoryMiB);
  });
});

describe("janitor", () => {
  it("times out as configured and is not the worker or the API", () => {
    expect(properties(ids.janitor).Timeout).toBe(JANITOR.timeoutSeconds);
    expect(properties(ids.janitor).MemorySize).toBe(JANITOR.memoryMiB);
    expect(new Set([ids.janitor, ids.worker, ids.api]).size).toBe(3);
  });

  it("runs on an EventBridge schedule every JANITOR.scheduleMinutes minutes", () => {
    const minutes: number = JANITOR.scheduleMinutes;
    template.resourceCountIs("AWS::Events::Rule", 1);
    const rule = properties(ids.janitorRule);
    expect(rule.ScheduleExpression).toBe(`rate(${minutes} minute${minutes === 1 ? "" : "s"})`);
    expect(rule.ScheduleExpression).toBe("rate(5 minutes)");
    expect(rule.State).toBe("ENABLED");
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: arnOf(ids.janitor) })]);
  });

  it("lets EventBridge invoke the janitor, from its schedule rule only", () => {
    const fromEvents = template.findResources("AWS::Lambda::Permission", {
      Properties: { Principal: "events.amazonaws.com" },
    });
    expect(Object.values(fromEvents).map((permission) => permission.Properties)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: arnOf(ids.janitor),
        Principal: "events.amazonaws.com",
        SourceArn: arnOf(ids.janitorRule),
      },
    ]);
  });
});

describe("function URL", () => {
  it("streams responses from the API function, unauthenticated, with open CORS", () => {
    template.resourceCountIs("AWS::Lambda::Url", 1);
    expect(properties(ids.url)).toEqual({
      TargetFunctionArn: arnOf(ids.api),
      AuthType: "NONE",
      InvokeMode: "RESPONSE_STREAM",
      Cors: {
        AllowOrigins: ["*"],
        AllowMethods: ["*"],
        // `*` does not cover Authorization in browsers: it is named.
        AllowHeaders: ["authorization", "*"],
        ExposeHeaders: [
          "x-request-id",
          "request-id",
          "server-timing",
          "x-should-retry",
          "retry-after",
          "x-sluice-max-tokens",
        ],
        MaxAge: 3600,
      },
    });
  });

  it("lets anyone invoke the API function through the URL only", () => {
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunctionUrl",
      FunctionName: arnOf(ids.api),
      FunctionUrlAuthType: "NONE",
      Principal: "*",
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: arnOf(ids.api),
      InvokedViaFunctionUrl: true,
      Principal: "*",
    });
  });
});

describe("permissions", () => {
  it("lets the API send to the batch queue but not consume it", () => {
    const api = roleStatements(ids.api);
    expect(allows(api, "sqs:SendMessage", arnOf(ids.queue))).toBe(true);
    for (const action of CONSUME_ACTIONS) expect(allows(api, action), action).toBe(false);
  });

  it("lets the janitor send to the batch queue but not consume it", () => {
    const janitor = roleStatements(ids.janitor);
    expect(allows(janitor, "sqs:SendMessage", arnOf(ids.queue))).toBe(true);
    for (const action of CONSUME_ACTIONS) expect(allows(janitor, action), action).toBe(false);
    // Nothing on the dead-letter queue either.
    expect(allows(janitor, "sqs:SendMessage", arnOf(ids.deadLetterQueue))).toBe(false);
  });

  it("lets the worker consume the batch queue and enqueue follow-up steps", () => {
    const worker = roleStatements(ids.worker);
    for (const action of [...CONSUME_ACTIONS, "sqs:SendMessage"]) {
      expect(allows(worker, action, arnOf(ids.queue)), action).toBe(true);
    }
  });

  it.each(FUNCTIONS)(
    "lets the %s read and write items in the table and query its indexes",
    (_, id) => {
      const statements = roleStatements(id);
      for (const action of TABLE_ITEM_ACTIONS) {
        expect(allows(statements, action, arnOf(ids.table)), action).toBe(true);
        expect(allows(statements, action, arnOf(ids.logTable)), action).toBe(true);
      }
      expect(allows(statements, "dynamodb:Query", under(ids.table, "/index/*"))).toBe(true);
      // Data access only: no table administration.
      expect(allows(statements, "dynamodb:DeleteTable")).toBe(false);
    },
  );

  it("lets the janitor delete files' objects and uploads' parts, and do nothing else in the bucket", () => {
    const statements = roleStatements(ids.janitor);
    for (const prefix of [
      BUCKET_PREFIXES.files,
      BUCKET_PREFIXES.batchOutputs,
      `${BUCKET_PREFIXES.batchWork}uploads/`,
    ]) {
      expect(allows(statements, "s3:DeleteObject", under(ids.bucket, `/${prefix}*`))).toBe(true);
    }
    expect(
      allows(statements, "s3:DeleteObject", under(ids.bucket, `/${BUCKET_PREFIXES.batchWork}*`)),
    ).toBe(false);
    for (const action of ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]) {
      expect(allows(statements, action), action).toBe(false);
    }
  });

  it.each(FUNCTIONS.filter(([name]) => name !== "janitor"))(
    "lets the %s read and write objects under sluice's prefixes only",
    (_, id) => {
      const statements = roleStatements(id);
      for (const suffix of Object.values(BUCKET_PREFIXES).map((prefix) => `/${prefix}*`)) {
        for (const action of OBJECT_ACTIONS) {
          expect(allows(statements, action, under(ids.bucket, suffix)), `${action} ${suffix}`).toBe(
            true,
          );
        }
      }
      // Not on every object in the bucket, and never on every bucket.
      expect(allows(statements, "s3:GetObject", under(ids.bucket, "/*"))).toBe(false);
      expect(allows(statements, "s3:PutObject", under(ids.bucket, "/*"))).toBe(false);
      expect(allows(statements, "s3:PutObjectAcl")).toBe(false);
    },
  );

  it("lets the usage rollups write items, read profiles and accounts and the stream, no more", () => {
    const rollup = roleStatements(ids.rollup);
    // Counters are updated; the site log's digests are put.
    expect(allows(rollup, "dynamodb:UpdateItem", arnOf(ids.table))).toBe(true);
    expect(allows(rollup, "dynamodb:PutItem", arnOf(ids.table))).toBe(true);
    // The low-balance check reads the profiles and accounts of users with a threshold.
    expect(allows(rollup, "dynamodb:GetItem", arnOf(ids.table))).toBe(true);
    expect(allows(rollup, "dynamodb:Query", arnOf(ids.table))).toBe(true);
    for (const action of ["dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:BatchWriteItem"])
      expect(allows(rollup, action), action).toBe(false);
    expect(allows(rollup, "dynamodb:GetRecords")).toBe(true);
    expect(properties(ids.rollup).Environment).toEqual({
      Variables: {
        [RESOURCE_ENV.table]: { Ref: ids.table },
        NODE_OPTIONS: "--enable-source-maps",
        // The console link in a low-balance notice: the function URL without a domain.
        SLUICE_PUBLIC_ORIGIN: { "Fn::GetAtt": [ids.url, "FunctionUrl"] },
      },
    });
  });

  it.each(ALL_FUNCTIONS)("grants the %s no Bedrock access when no model is named", (_, id) => {
    expect(DEFAULT_OPTIONS.bedrockModels).toEqual([]);
    for (const action of BEDROCK_ACTIONS) expect(allows(roleStatements(id), action)).toBe(false);
    expect(JSON.stringify(roleStatements(id))).not.toContain("bedrock");
  });

  it.each(ALL_FUNCTIONS)("grants the %s nothing on every resource", (_, id) => {
    for (const statement of roleStatements(id)) {
      // Listing a table's streams is the one action IAM cannot scope to a resource.
      if (asArray(statement.Action).every((action) => action === "dynamodb:ListStreams")) continue;
      expect(asArray(statement.Resource)).not.toContain("*");
    }
  });
});

describe("outputs", () => {
  it("publishes the function URL, table name, bucket name and queue URL", () => {
    template.hasOutput("FunctionUrl", { Value: { "Fn::GetAtt": [ids.url, "FunctionUrl"] } });
    template.hasOutput("TableName", { Value: { Ref: ids.table } });
    template.hasOutput("LogTableName", { Value: { Ref: ids.logTable } });
    template.hasOutput("BucketName", { Value: { Ref: ids.bucket } });
    template.hasOutput("BatchQueueUrl", { Value: { Ref: ids.queue } });
  });
});

describe("operations", () => {
  it.each(ALL_FUNCTIONS)("has the %s log in JSON, Lambda's own lines (REPORT) too", (_, id) => {
    expect(properties(id).LoggingConfig).toEqual({
      LogFormat: "JSON",
      // SLUICE_LOG_LEVEL's default; never above INFO, so the metric lines (no level) pass.
      ApplicationLogLevel: "INFO",
      SystemLogLevel: "INFO",
      LogGroup: expect.anything(),
    });
  });

  it.each(ALL_FUNCTIONS)("gives the %s a log group of its own that expires", (_, id) => {
    const logGroup = (properties(id).LoggingConfig as Json).LogGroup as Json;
    const [groupId] = logGroup.Ref ? [logGroup.Ref as string] : [];
    expect(groupId, "the function names its log group").toBeDefined();
    const group = template.toJSON().Resources[groupId as string];
    expect(group.Type).toBe("AWS::Logs::LogGroup");
    expect(group.Properties.RetentionInDays).toBe(DEFAULT_OPTIONS.logRetentionDays);
  });

  it("alarms on 5xx, throttles, dead letters, failed settlements, reaped holds, failed janitor work and DynamoDB throttling", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
    const descriptions = alarms.map((alarm) => String(alarm.Properties.AlarmDescription));
    for (const about of [
      /5xx/,
      /throttled/,
      /dead-letter/,
      /settlement failed/,
      /gave back holds/,
      /DynamoDB throttled/,
      /agenda work failed/,
    ]) {
      expect(
        descriptions.some((d) => about.test(d)),
        String(about),
      ).toBe(true);
    }
    // Every alarm notifies the topic.
    const topic = logicalId(stack.operations.topic);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
    // Money alarms come from the functions' own log lines.
    const filters = Object.values(template.findResources("AWS::Logs::MetricFilter"));
    const patterns = filters.map((filter) => String(filter.Properties.FilterPattern));
    expect(patterns).toContain('{ $.message = "after-response task failed" }');
    expect(patterns).toContain('{ $.message = "janitor sweep" }');
    expect(patterns).toContain('{ $.message = "reaping a hold failed" }');
    expect(patterns).toContain('{ $.message = "agenda_work_failed" }');
    // Agenda work is tried again by the next sweep: a failure in two sweeps running alarms.
    const agenda = alarms.find((alarm) =>
      /agenda work failed/.test(String(alarm.Properties.AlarmDescription)),
    );
    expect(agenda?.Properties).toMatchObject({ EvaluationPeriods: 2, DatapointsToAlarm: 2 });
    // No email unless one is given.
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });

  it("keeps the default API memory and leaves concurrency unreserved unless told", () => {
    expect(properties(ids.api).MemorySize).toBe(DEFAULT_OPTIONS.apiMemoryMiB);
    expect(properties(ids.api).ReservedConcurrentExecutions).toBeUndefined();
    template.resourceCountIs("AWS::Lambda::CapacityProvider", 0);
  });
});

describe("deployment options", () => {
  // Variants skip bundling: only their templates' shape is looked at.
  const variant = (context: Record<string, unknown>) => {
    const variantApp = new App({
      context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [], ...context },
    });
    const variantStack = new SluiceStack(variantApp, "Variant");
    return { stack: variantStack, template: Template.fromStack(variantStack) };
  };

  it("sets memory, reserved concurrency, retention, an alarm email and settings from the context", () => {
    const { stack: s, template: t } = variant({
      "sluice:apiMemoryMiB": "256",
      "sluice:apiReservedConcurrency": 200,
      "sluice:logRetentionDays": 90,
      "sluice:alarmEmail": "ops@example.com",
      "sluice:settings": JSON.stringify({
        SLUICE_CACHE_TTL_MS: 5000,
        SLUICE_HOLDS: "on",
        SLUICE_RESPONSE_RETENTION_DAYS: 7,
      }),
    });
    const api = t.toJSON().Resources[s.getLogicalId(s.api.function.node.defaultChild as CfnElement)]
      .Properties as Json;
    expect(api.MemorySize).toBe(256);
    expect(api.ReservedConcurrentExecutions).toBe(200);
    for (const fn of [s.api.function, s.batch.worker, s.janitor.function, s.rollup.function]) {
      const env = (
        t.toJSON().Resources[s.getLogicalId(fn.node.defaultChild as CfnElement)].Properties as Json
      ).Environment as { Variables: Record<string, unknown> };
      expect(env.Variables).toMatchObject({ SLUICE_CACHE_TTL_MS: "5000", SLUICE_HOLDS: "on" });
    }
    t.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
    // Stored responses' objects outlive the responses' retention by a day.
    t.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: "responses/", ExpirationInDays: 8 })]),
      },
    });
    t.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
  });

  it("lets the API, and only it, invoke exactly the Bedrock models and profiles named", () => {
    const named = [
      "anthropic.claude-haiku-4-5-20251001-v1:0",
      "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
      "eu-central-1/global.anthropic.claude-opus-4-5-20251101-v1:0",
      "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3",
    ];
    const variantApp = new App({
      context: {
        ...cdkJson.context,
        "aws:cdk:bundling-stacks": [],
        "sluice:bedrockModels": named.join(","),
      },
    });
    const s = new SluiceStack(variantApp, "BedrockVariant", {
      env: { account: "123456789012", region: "us-west-2" },
    });
    const t = Template.fromStack(s);
    const statementsOf = (fn: IConstruct) => {
      const role = (
        t.toJSON().Resources[s.getLogicalId(fn.node.defaultChild as CfnElement)].Properties as Json
      ).Role as { "Fn::GetAtt": [string, string] };
      const policies = t.findResources("AWS::IAM::Policy", {
        Properties: { Roles: Match.arrayWith([{ Ref: role["Fn::GetAtt"][0] }]) },
      });
      return Object.values(policies).flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
      );
    };
    const bedrock = statementsOf(s.api.function).filter((statement) =>
      asArray(statement.Action).some((action) => action.startsWith("bedrock:")),
    );
    // The partition stays CloudFormation's (aws, aws-cn, aws-us-gov): read as "aws".
    const plain = (arn: unknown): string =>
      typeof arn === "string"
        ? arn
        : ((arn as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1]
            .map((part) => (typeof part === "string" ? part : "aws"))
            .join("") as string);
    expect(bedrock).toHaveLength(1);
    expect(bedrock.map((statement) => statement.Effect)).toEqual(["Allow"]);
    expect(asArray(bedrock[0]?.Action).sort()).toEqual([...BEDROCK_ACTIONS].sort());
    expect(asArray(bedrock[0]?.Resource).map(plain).sort()).toEqual(
      [
        "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
        "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:eu-central-1:123456789012:inference-profile/global.anthropic.claude-opus-4-5-20251101-v1:0",
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-opus-4-5-20251101-v1:0",
        "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/a1b2c3",
      ].sort(),
    );
    for (const fn of [s.batch.worker, s.janitor.function, s.rollup.function])
      expect(JSON.stringify(statementsOf(fn))).not.toContain("bedrock");
    expect(() => variant({ "sluice:bedrockModels": ["anthropic.claude/../*"] })).toThrow(
      /not a Bedrock model id/,
    );
    expect(() => variant({ "sluice:bedrockModels": ["*"] })).toThrow(/not a Bedrock model id/);
  });

  it("sets Lambda's log-level filter from SLUICE_LOG_LEVEL, never above INFO", () => {
    const levels = (level: string) => {
      const { stack: s, template: t } = variant({
        "sluice:settings": { SLUICE_LOG_LEVEL: level },
      });
      return [s.api.function, s.batch.worker, s.janitor.function, s.rollup.function].map((fn) => {
        const props = t.toJSON().Resources[s.getLogicalId(fn.node.defaultChild as CfnElement)]
          .Properties as Json;
        const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
        const config = props.LoggingConfig as Json;
        return [config.LogFormat, config.ApplicationLogLevel, env.SLUICE_LOG_LEVEL];
      });
    };
    // DEBUG lines must pass Lambda's filter; WARN is kept by the functions' own Loggers, the
    // filter staying at INFO so the metric lines pass.
    expect(levels("debug")).toEqual(Array(4).fill(["JSON", "DEBUG", "debug"]));
    expect(levels("WARN")).toEqual(Array(4).fill(["JSON", "INFO", "WARN"]));
    expect(() => levels("LOUD")).toThrow(/SLUICE_LOG_LEVEL must be one of/);
  });

  it("puts the API on managed instances, in public subnets without a NAT gateway", () => {
    const { stack: s, template: t } = variant({
      "sluice:computeMode": "managed-instances",
      "sluice:managedConcurrency": 32,
    });
    t.resourceCountIs("AWS::Lambda::CapacityProvider", 1);
    t.resourceCountIs("AWS::EC2::NatGateway", 0);
    const api = t.toJSON().Resources[s.getLogicalId(s.api.function.node.defaultChild as CfnElement)]
      .Properties as Json;
    expect(api.MemorySize).toBe(MANAGED_API_MEMORY_MIB);
    expect(api.CapacityProviderConfig).toMatchObject({
      LambdaManagedInstancesCapacityProviderConfig: { PerExecutionEnvironmentMaxConcurrency: 32 },
    });
    // The function URL still streams.
    t.hasResourceProperties("AWS::Lambda::Url", { InvokeMode: "RESPONSE_STREAM" });
  });

  it("puts a domain of one's own in front, with caching off and every header passed on", () => {
    const { stack: s, template: t } = variant({
      "sluice:domainName": "api.example.com",
      "sluice:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
      "sluice:settings": { SLUICE_SITE_ORIGINS: "https://console.example.com" },
    });
    t.resourceCountIs("AWS::CloudFront::Distribution", 1);
    const [distribution] = Object.values(t.findResources("AWS::CloudFront::Distribution"));
    const config = distribution?.Properties.DistributionConfig;
    expect(config.Aliases).toEqual(["api.example.com"]);
    const behavior = config.DefaultCacheBehavior;
    // AWS's managed policies: CachingDisabled, AllViewerExceptHostHeader.
    expect(behavior.CachePolicyId).toBe("4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
    expect(behavior.OriginRequestPolicyId).toBe("b689b0a8-53d0-40ab-baf2-68738e2966ac");
    expect(behavior.AllowedMethods).toContain("POST");
    expect(config.Origins[0].CustomOriginConfig.OriginReadTimeout).toBe(60);
    t.hasOutput("CustomDomainTarget", {});
    template.resourceCountIs("AWS::CloudFront::Distribution", 0);

    // The viewer's address: AllViewerExceptHostHeader passes CloudFront-Viewer-Address on, and
    // the function believes it only with the secret that the distribution alone sends.
    t.resourceCountIs("AWS::SecretsManager::Secret", 1);
    const secretId = s.getLogicalId(s.customDomain?.originSecret.node.defaultChild as CfnElement);
    const [header] = config.Origins[0].OriginCustomHeaders;
    expect(header.HeaderName).toBe(ORIGIN_SECRET_HEADER);
    const reference = JSON.stringify(header.HeaderValue);
    expect(reference).toContain("{{resolve:secretsmanager:");
    expect(reference).toContain(secretId);
    const api = t.toJSON().Resources[s.getLogicalId(s.api.function.node.defaultChild as CfnElement)]
      .Properties as Json;
    const env = (api.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(env.SLUICE_ORIGIN_SECRET)).toBe(reference);
    expect(env.SLUICE_SITE_ORIGINS).toBe("https://console.example.com,https://api.example.com");
    // No other function knows the secret; without a domain there is none.
    for (const fn of [s.batch.worker, s.janitor.function, s.rollup.function]) {
      const props = t.toJSON().Resources[s.getLogicalId(fn.node.defaultChild as CfnElement)]
        .Properties as Json;
      expect(JSON.stringify(props.Environment ?? {})).not.toContain("SLUICE_ORIGIN_SECRET");
    }
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    expect(JSON.stringify(template.toJSON())).not.toContain("SLUICE_ORIGIN_SECRET");
  });

  it("refuses settings that are not runtime settings, and bad values", () => {
    expect(() => variant({ "sluice:settings": { SLUICE_TABLE: "other" } })).toThrow(/SLUICE_TABLE/);
    expect(() => variant({ "sluice:settings": { PATH: "/tmp" } })).toThrow(/PATH/);
    expect(() => variant({ "sluice:settings": { SLUICE_ORIGIN_SECRET: "x" } })).toThrow(
      /SLUICE_ORIGIN_SECRET/,
    );
    expect(() => variant({ "sluice:apiMemoryMiB": "lots" })).toThrow(/apiMemoryMiB/);
    expect(() => variant({ "sluice:computeMode": "fargate" })).toThrow(/computeMode/);
    expect(() => variant({ "sluice:alarmEmail": "nobody" })).toThrow(/alarmEmail/);
    expect(() => variant({ "sluice:domainName": "api.example.com" })).toThrow(/together/);
    expect(() =>
      variant({
        "sluice:domainName": "api.example.com",
        "sluice:certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
      }),
    ).toThrow(/us-east-1/);
  });
});

describe("channel keys", () => {
  const key = logicalId(stack.channelKey);

  it("are sealed with a rotated KMS key that outlives the stack", () => {
    const resource = template.toJSON().Resources[key];
    expect(resource.Type).toBe("AWS::KMS::Key");
    expect(resource.Properties.EnableKeyRotation).toBe(true);
    expect(resource.DeletionPolicy).toBe("Retain");
  });

  it("may be opened by the API and the worker only; only the API seals them", () => {
    const onKey = arnOf(key);
    expect(allows(roleStatements(ids.api), "kms:Decrypt", onKey)).toBe(true);
    expect(allows(roleStatements(ids.api), "kms:Encrypt", onKey)).toBe(true);
    expect(allows(roleStatements(ids.worker), "kms:Decrypt", onKey)).toBe(true);
    expect(allows(roleStatements(ids.worker), "kms:Encrypt")).toBe(false);
    for (const id of [ids.janitor, ids.rollup]) {
      for (const statement of roleStatements(id)) {
        expect(asArray(statement.Action).some((action) => action.startsWith("kms:"))).toBe(false);
      }
    }
    for (const id of [ids.api, ids.worker]) {
      const env = (properties(id).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env[RESOURCE_ENV.channelKey]).toEqual(onKey);
    }
  });
});
