import type { Logger } from "@aws-lambda-powertools/logger";
import { AttemptGuard } from "./auth/attempt-guard";
import { Authenticator } from "./auth/authenticate";
import { CredentialTags } from "./auth/tags";
import { QuotaLedger } from "./billing/ledger";
import { PricingCatalog } from "./billing/pricing";
import { type Clock, systemClock } from "./clock";
import { loadSettings, type Settings } from "./config/settings";
import type { SecretBox } from "./crypto/secret-box";
import { RefusalLines } from "./http/refusal-lines";
import { type Mailer, mailerFrom } from "./mail/mailer";
import { createLogger } from "./observability";
import type { JobQueue } from "./queue/queue";
import type { AdapterContext } from "./relay/adapters/adapter";
import { ChannelDirectory } from "./relay/channel-directory";
import { ChannelHealth } from "./relay/channel-health";
import { GenerationRates } from "./relay/generation-rates";
import { ProtocolGaps } from "./relay/protocol-gaps";
import { fetchUpstream, type UpstreamFetch } from "./relay/upstream";
import { SITE_SECTIONS, type SiteSections } from "./site/registry";
import { Accounts } from "./store/accounts";
import { ApiKeys } from "./store/api-keys";
import { AttemptCounters } from "./store/attempts";
import { Batches } from "./store/batches";
import type { Blobs } from "./store/blobs";
import { ChannelHealthStore } from "./store/channel-health";
import { Channels } from "./store/channels";
import { Checkins } from "./store/checkins";
import { Emails } from "./store/emails";
import { Files } from "./store/file-records";
import { Identities } from "./store/identities";
import { Invitations } from "./store/invitations";
import { Orders } from "./store/orders";
import { ProtocolGapStore } from "./store/protocol-gaps";
import { Redemptions } from "./store/redemptions";
import { ResetTokens } from "./store/reset-tokens";
import { Rollups } from "./store/rollups";
import { Schedule } from "./store/schedule";
import { Sessions } from "./store/sessions";
import { SiteContentStore } from "./store/site-content";
import { SiteLog } from "./store/site-log";
import { SiteLogoStore } from "./store/site-logo";
import { SiteOptionsStore } from "./store/site-options";
import { StoredResponses } from "./store/stored-responses";
import type { Table } from "./store/table";
import { loadTagSecret } from "./store/tag-secret";
import { Uploads } from "./store/uploads";
import { UsageLog } from "./store/usage";
import { Users } from "./store/users";
import { Verifications } from "./store/verifications";
import type { ConsoleFiles } from "./web/console-files";

/**
 * The long-lived parts of sluice, created once per process (per Lambda instance) and shared
 * by every request: stores, caches and the upstream HTTP client.
 */
export interface Services {
  settings: Settings;
  /** The function's Logger: every line the core writes goes through it. */
  log: Logger;
  /** What time it is, wherever time decides what happens (the system's, or a test's). */
  clock: Clock;
  table: Table;
  /** The usage log's own table (its stream feeds the rollups). */
  logTable: Table;
  users: Users;
  /** Every balance counter: holds, settlements, top-ups, key allowances. */
  accounts: Accounts;
  apiKeys: ApiKeys;
  channels: Channels;
  channelDirectory: ChannelDirectory;
  channelHealth: ChannelHealth;
  /** Which protocols a (channel, model) was found not to serve (relay/protocol-gaps.ts). */
  protocolGaps: ProtocolGaps;
  /** How fast each (channel, model) generates, learned by this instance (README, Hang-ups). */
  generationRates: GenerationRates;
  auth: Authenticator;
  /** Issues keys, access tokens and sessions with a check tag, and checks it. */
  tags: CredentialTags;
  sessions: Sessions;
  /** Counts sign-ins, registrations and redemptions before they are tried. */
  attempts: AttemptGuard;
  /** The counters themselves, for the admin's list of locks. */
  attemptCounters: AttemptCounters;
  /** The site's settings, section by section (shared/site/registry.ts). */
  siteOptions: SiteOptionsStore<SiteSections>;
  siteLogo: SiteLogoStore;
  siteContent: SiteContentStore;
  redemptions: Redemptions;
  // Payments (stream c-pay): orders bought online.
  orders: Orders;
  /** The console's built files (absent where the console is not served). */
  consoleFiles?: ConsoleFiles;
  pricing: PricingCatalog;
  ledger: QuotaLedger;
  usage: UsageLog;
  // stream a-layout: refused calls, counted per key and minute (http/refusal-lines.ts)
  refusalLines: RefusalLines;
  /** Daily rollups and keys' usage counters, added up from the log. */
  rollups: Rollups;
  siteLog: SiteLog;
  /** Bytes of files and batch working data (S3). */
  blobs: Blobs;
  /** The batch queue (SQS). */
  queue: JobQueue;
  files: Files;
  /** Responses API responses kept for GET, input_items and previous_response_id. */
  storedResponses: StoredResponses;
  uploads: Uploads;
  batches: Batches;
  schedule: Schedule;
  /** Upstream HTTP, which says when a request was written (functions: node:http). */
  fetch: UpstreamFetch;
  /** What channel adapters need of the process: the function role's AWS credentials (Bedrock). */
  adapterContext: AdapterContext;
  // stream E (growth): daily check-ins and invitations
  checkins: Checkins;
  invitations: Invitations;
  // stream D (sign-in)
  /** Outside sign-ins linked to users (GitHub, LinuxDO, OIDC). */
  identities: Identities;
  /** Verified e-mail addresses, each reserved for its user. */
  emails: Emails;
  // Stream e-mail (issue 22 E): verification codes, password resets, notices.
  /** Sends the site's mail (SES, SMTP, or none: settings.mail). */
  mailer: Mailer;
  /** E-mail verification codes. */
  verifications: Verifications;
  /** Password reset tokens. */
  resetTokens: ResetTokens;
}

export function createServices(options: {
  table: Table;
  logTable: Table;
  consoleFiles?: ConsoleFiles;
  blobs: Blobs;
  queue: JobQueue;
  settings?: Settings;
  fetch?: UpstreamFetch;
  /** Seals channels' provider keys and the site's Turnstile secret in the table (KMS on AWS). */
  secretBox?: SecretBox;
  /** The clock rate limits' minute windows follow (a test pins it inside one minute). */
  rateClock?: () => number;
  /** The function's Logger; one at the settings' level, writing to stdout, when absent. */
  log?: Logger;
  /** What time it is everywhere else (the system's clock unless given). */
  clock?: Clock;
  /** What channel adapters need of the process (on AWS: the role's credentials). */
  adapterContext?: AdapterContext;
  /** How mail goes out; as the settings say when absent (shared/mail/mailer.ts). */
  mailer?: Mailer;
}): Services {
  const settings = options.settings ?? loadSettings();
  const log = options.log ?? createLogger({ level: settings.log.level });
  const { table } = options;
  const clock = options.clock ?? systemClock;
  const users = new Users(table, clock);
  const accounts = new Accounts(table, { rateClock: options.rateClock, clock });
  const schedule = new Schedule(table);
  const usage = new UsageLog(options.logTable, settings.logRetentionDays);
  const apiKeys = new ApiKeys(table, accounts, clock);
  const tags = new CredentialTags(() => loadTagSecret(table), settings.acceptLegacyCredentials);
  const sessions = new Sessions(table, () => tags.issue("session"), clock);
  const channels = new Channels(table, options.secretBox, clock);
  const channelDirectory = new ChannelDirectory(channels, settings.cacheTtlMs);
  const attemptCounters = new AttemptCounters(table);
  const fetch = options.fetch ?? fetchUpstream();
  const adapterContext = options.adapterContext ?? {};
  return {
    settings,
    log,
    clock,
    table,
    logTable: options.logTable,
    users,
    accounts,
    apiKeys,
    channels,
    channelDirectory,
    channelHealth: new ChannelHealth(
      new ChannelHealthStore(table, clock),
      channels,
      channelDirectory,
      fetch,
      { ...settings.channelHealth, cacheTtlMs: settings.cacheTtlMs },
      log,
      clock,
      adapterContext,
    ),
    protocolGaps: new ProtocolGaps(
      new ProtocolGapStore(table),
      { recheckMs: settings.protocolRecheckMs, cacheTtlMs: settings.cacheTtlMs },
      log,
      clock,
    ),
    generationRates: new GenerationRates(settings.defaultTokensPerSecond),
    auth: new Authenticator(apiKeys, users, sessions, tags, settings.cacheTtlMs, clock),
    tags,
    sessions,
    attempts: new AttemptGuard(attemptCounters, settings.attempts, settings.cacheTtlMs, clock),
    attemptCounters,
    siteOptions: new SiteOptionsStore(
      table,
      SITE_SECTIONS,
      settings,
      settings.cacheTtlMs,
      options.secretBox,
    ),
    siteLogo: new SiteLogoStore(table, settings.cacheTtlMs),
    siteContent: new SiteContentStore(table, settings.cacheTtlMs),
    redemptions: new Redemptions(table),
    // Payments (stream c-pay).
    orders: new Orders(table),
    consoleFiles: options.consoleFiles,
    pricing: new PricingCatalog(table, settings.cacheTtlMs),
    ledger: new QuotaLedger(accounts, usage, log, clock),
    usage,
    // stream a-layout
    refusalLines: new RefusalLines(usage, () => clock.now()),
    rollups: new Rollups(table, log, accounts),
    siteLog: new SiteLog(table, settings.logRetentionDays, clock),
    blobs: options.blobs,
    queue: options.queue,
    files: new Files(table),
    storedResponses: new StoredResponses(table, options.blobs),
    uploads: new Uploads(table),
    batches: new Batches(table),
    schedule,
    fetch,
    adapterContext,
    // stream E (growth)
    checkins: new Checkins(table, schedule),
    invitations: new Invitations(table),
    // stream D (sign-in)
    identities: new Identities(table),
    emails: new Emails(table),
    // Stream e-mail (issue 22 E)
    mailer: options.mailer ?? mailerFrom(settings.mail),
    verifications: new Verifications(table, clock),
    resetTokens: new ResetTokens(table, clock),
  };
}

/**
 * Loads what every call reads before its first byte and no call owns — the credential secret,
 * the channels, their health, the protocol gaps and the prices — into the caches, at once and
 * side by side, for a cold instance to do before its first call (functions/api/handler.ts).
 * On Lambda this is the init phase, which runs at a full CPU whatever the memory size
 * (README, Cost); the first call then reads only its key, its user and its hold. Waits at most
 * `waitMs`: what is still loading then goes on in the background and the first call joins it
 * (the caches load once). A failure is logged, and left for the first call to meet again.
 */
export async function primeServices(services: Services, waitMs: number): Promise<void> {
  const loads = Promise.allSettled([
    services.tags.load(),
    services.channelDirectory.models(),
    services.channelHealth.pairs(),
    services.protocolGaps.known(),
    services.pricing.get(),
  ]).then((results) => {
    for (const result of results) {
      if (result.status === "fulfilled") continue;
      const { reason } = result;
      services.log.warn("a read at initialisation failed; the first call makes it again", {
        error: reason instanceof Error ? reason.message : String(reason),
      });
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([loads, waited]);
  clearTimeout(timer);
}
