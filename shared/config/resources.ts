/**
 * The one definition of sluice's AWS resources. The CDK constructs and the local stack
 * (infra/local) both read these, so the two can never drift apart.
 */

export const TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "ttl",
  /** Lists a user's keys, batches and users: keys only, so balance writes never touch it. */
  gsi1: { name: "gsi1", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  /**
   * Sparse: accounts and keys with holds that may be unsettled, by when the oldest began, so
   * the janitor finds holds past their deadline without scanning (store/accounts.ts).
   */
  holdsIndex: { name: "holds", partitionKey: "hpk", sortKey: "hsk" },
} as const;

/**
 * The usage log: one line per call and per top-up, each written once and expired by TTL. A
 * table of its own, so that its stream, which the usage rollups read, carries log lines only
 * (every write to a table with a stream makes a stream record; locally DynamoDB Local pays
 * for each of them).
 */
export const LOG_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "ttl",
  /** Each new line as written. */
  stream: "NEW_IMAGE",
} as const;

/** Object key prefixes in the files bucket; each has its own lifecycle rule. */
export const BUCKET_PREFIXES = {
  /** Files uploaded through /v1/files and /v1/uploads. */
  files: "files/",
  /** Batch output and error files. */
  batchOutputs: "batch-outputs/",
  /** Batch working data: upload parts, chunk plans and chunk results. */
  batchWork: "work/",
  /** Stored Responses API responses too large for their DynamoDB item (store/stored-responses.ts). */
  responses: "responses/",
} as const;

/**
 * Lifecycle expiry per prefix, in days. S3 counts whole days, rounded up to the next midnight
 * UTC, and 1 is the shortest it allows. The API enforces the real retentions (hours) through
 * expires_at; the rules only clean up after. Batch working data must outlive a batch's 24 h
 * window and the finalize that follows it (it rereads the chunk plans): a day, measured from
 * a plan written just before midnight, can end before that, so it gets two.
 */
export const LIFECYCLE_EXPIRATION_DAYS: Record<
  Exclude<keyof typeof BUCKET_PREFIXES, "responses">,
  number
> = {
  files: 1,
  batchOutputs: 1,
  batchWork: 2,
};

/**
 * Stored responses' objects expire a day after the responses (SLUICE_RESPONSE_RETENTION_DAYS,
 * read by the stack from its settings): the API hides them from their expiry, the rule only
 * cleans up after.
 */
export const responsesLifecycleDays = (retentionDays: number) => retentionDays + 1;
export const ABORT_INCOMPLETE_MULTIPART_DAYS = 1;

/** The API function URL's CORS: open, for browser clients (sluice checks its own keys). */
export const FUNCTION_URL_CORS = {
  allowOrigins: "*",
  allowMethods: "*",
  /**
   * `*` does not cover Authorization in browsers (the Fetch standard keeps it out), so it is
   * named: browser-based chat clients send their key in it.
   */
  allowHeaders: ["authorization", "*"],
  /** Headers the OpenAI and Anthropic SDKs read in browsers (`request-id`: Anthropic's). */
  exposeHeaders: [
    "x-request-id",
    "request-id",
    "server-timing",
    "x-should-retry",
    "retry-after",
    "x-sluice-max-tokens",
  ],
  maxAgeSeconds: 3600,
} as const;

/**
 * The header in which the CloudFront distribution of a domain of one's own sends its secret
 * (SLUICE_ORIGIN_SECRET): with it, the function believes CloudFront-Viewer-Address.
 */
export const ORIGIN_SECRET_HEADER = "x-sluice-origin-verify";

export const BATCH_WORKER = {
  timeoutSeconds: 300,
  /** Lines run concurrently within a chunk; memory also buys CPU on Lambda. */
  memoryMiB: 512,
  /** The event source's cap on concurrent workers: the global throttle for batch traffic. */
  maxConcurrency: 10,
  /** SQS messages handed to one worker invocation. */
  batchSize: 1,
} as const;

export const BATCH_QUEUE = {
  /** AWS asks for at least 6 x the function timeout when a Lambda consumes the queue. */
  visibilityTimeoutSeconds: BATCH_WORKER.timeoutSeconds * 6,
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: 5,
  retentionDays: 4,
  deadLetterRetentionDays: 14,
} as const;

/** The Lambda that adds usage log lines up into rollups, fed by the table's stream. */
export const USAGE_ROLLUP = {
  timeoutSeconds: 60,
  memoryMiB: 256,
  /** Lines per invocation at most, and how long the stream gathers them: one write per counter per batch. */
  batchSize: 1_000,
  maxBatchingWindowSeconds: 10,
  /** Lambda event filter: new usage log lines, not their expiry (infra/local mirrors it by hand). */
  filter: { eventName: ["INSERT"] },
} as const;

export const JANITOR = {
  /** How often the janitor sweeps for expired batches and files. */
  scheduleMinutes: 5,
  timeoutSeconds: 300,
  /** Finalizing an expired batch holds its results in memory. */
  memoryMiB: 512,
} as const;

export const API_FUNCTION = {
  /** Long enough for slow streamed completions. */
  timeoutSeconds: 900,
  memoryMiB: 128,
} as const;

/** Names the local stack gives its resources; on AWS CloudFormation names them. */
export const LOCAL_RESOURCE_NAMES = {
  table: "sluice",
  logTable: "sluice-log",
  bucket: "sluice-files",
  queue: "sluice-batch",
  deadLetterQueue: "sluice-batch-dlq",
} as const;

/** Environment variables through which the functions learn their resources. */
export const RESOURCE_ENV = {
  table: "SLUICE_TABLE",
  logTable: "SLUICE_LOG_TABLE",
  bucket: "SLUICE_BUCKET",
  queueUrl: "SLUICE_BATCH_QUEUE_URL",
  /** The KMS key that seals channels' provider keys (AWS; none locally: kept as given). */
  channelKey: "SLUICE_CHANNEL_KEY_ID",
  /** Local only: endpoints of the emulators. */
  dynamoEndpoint: "SLUICE_DYNAMODB_ENDPOINT",
  awsEndpoint: "SLUICE_AWS_ENDPOINT",
} as const;
