import { Authenticator } from "./auth/authenticate";
import { QuotaLedger } from "./billing/ledger";
import { PricingCatalog } from "./billing/pricing";
import { loadSettings, type Settings } from "./config/settings";
import type { JobQueue } from "./queue/queue";
import { ChannelDirectory } from "./relay/channel-directory";
import { ChannelHealth } from "./relay/channel-health";
import type { UpstreamFetch } from "./relay/upstream";
import { ApiKeys } from "./store/api-keys";
import { Batches } from "./store/batches";
import type { Blobs } from "./store/blobs";
import { Channels } from "./store/channels";
import { Files } from "./store/files";
import { Schedule } from "./store/schedule";
import type { Table } from "./store/table";
import { Uploads } from "./store/uploads";
import { UsageLog } from "./store/usage";
import { Users } from "./store/users";

/**
 * The long-lived parts of sluice, created once per process (per Lambda instance) and shared
 * by every request: stores, caches and the upstream HTTP client.
 */
export interface Services {
  settings: Settings;
  table: Table;
  users: Users;
  apiKeys: ApiKeys;
  channels: Channels;
  channelDirectory: ChannelDirectory;
  channelHealth: ChannelHealth;
  auth: Authenticator;
  pricing: PricingCatalog;
  ledger: QuotaLedger;
  usage: UsageLog;
  /** Bytes of files and batch working data (S3). */
  blobs: Blobs;
  /** The batch queue (SQS). */
  queue: JobQueue;
  files: Files;
  uploads: Uploads;
  batches: Batches;
  schedule: Schedule;
  /** Upstream HTTP; Node's fetch keeps connections alive across requests. */
  fetch: UpstreamFetch;
}

export function createServices(options: {
  table: Table;
  blobs: Blobs;
  queue: JobQueue;
  settings?: Settings;
  fetch?: UpstreamFetch;
}): Services {
  const settings = options.settings ?? loadSettings();
  const { table } = options;
  const users = new Users(table);
  const apiKeys = new ApiKeys(table);
  const channels = new Channels(table);
  const channelDirectory = new ChannelDirectory(channels, settings.cacheTtlMs);
  return {
    settings,
    table,
    users,
    apiKeys,
    channels,
    channelDirectory,
    channelHealth: new ChannelHealth(channels, channelDirectory, settings.channelFailureThreshold),
    auth: new Authenticator(apiKeys, users, settings.cacheTtlMs),
    pricing: new PricingCatalog(table, settings.cacheTtlMs),
    ledger: new QuotaLedger(table, settings.logRetentionDays),
    usage: new UsageLog(table, settings.logRetentionDays),
    blobs: options.blobs,
    queue: options.queue,
    files: new Files(table),
    uploads: new Uploads(table),
    batches: new Batches(table),
    schedule: new Schedule(table),
    fetch: options.fetch ?? globalThis.fetch,
  };
}
