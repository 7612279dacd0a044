import type { ItemKey } from "./table";

/**
 * The catalogue of sluice's items: every key, every index entry and every TTL rule, so one
 * page says what the tables hold. The store modules build their keys here and nowhere else.
 *
 * The table (TABLE in config/resources.ts), pk / sk:
 *   USER#<id> / PROFILE          a user's profile (store/users.ts); gsi1 USERS / <id>
 *   USER#<id> / ACCOUNT          their money (store/accounts.ts); holds index while it holds
 *   USER#<id> / FILE_USAGE       their stored files, counted (store/file-records.ts)
 *   USERNAME#<lower> / USERNAME  reserves a username
 *   ACCESS#<hash> / ACCESS       finds an access token's user (and the token's name)
 *   IDENTITY#<provider>#<subject> / IDENTITY  finds the user an outside sign-in is linked to
 *   USER#<id> / IDENTITY#<provider>  the user's linked identity of that provider (for display)
 *   EMAIL#<lower> / EMAIL        reserves a verified e-mail address for its user
 *   KEY#<hash> / KEY             an API key and its allowance (store/api-keys.ts, accounts.ts);
 *                                gsi1 USER#<id>#KEYS / <created>#<id>; holds index while it holds
 *   SESSION#<hash> / SESSION     a console session; TTL at its expiry
 *   CHANNEL / <id>               a channel (store/channels.ts)
 *   CHANNEL_HEALTH / <channel>#<model>  a channel's health for a model
 *   PROTOCOL_GAP / <channel>#<protocol>#<model>  a protocol a channel was found not to serve
 *                                for a model (relay/protocol-gaps.ts); TTL when it is tried again
 *   REDEEM#<id> / REDEEM         a redemption code; gsi1 REDEEM / <created>#<id>
 *   ATTEMPTS#<id> / ATTEMPTS     an attempt counter; gsi1 ATTEMPTS#FULL / <until>#<id> at its
 *                                limit; TTL a minute past its window
 *   BATCH#<id> / BATCH           a batch; gsi1 USER#<id>#BATCHES / <created>#<id>; TTL once final
 *   BATCH#<id> / CHUNK#<n>       one chunk of it; TTL with its results
 *   BATCH#<id> / RESULT#<n>#<line>  one finished line
 *   FILE#<id> / FILE             a file's record; gsi1 USER#<id>#FILES / <created>#<id>
 *   UPLOAD#<id> / UPLOAD, PART#<id>  an upload in parts and its parts
 *   RESPONSE#<id> / RESPONSE     a stored Responses API response (store/stored-responses.ts);
 *                                gsi1 USER#<id>#RESPONSES / <created>#<id>; TTL after expiry
 *   SCHEDULE / <due>#<kind>#<id> the janitor's agenda (store/schedule.ts)
 *   USER#<id>#ORDERS / <orderId> a payment order (store/orders.ts); gsi1 ORDERS#<yyyy-mm> /
 *                                <created>#<ref>
 *   STRIPE_PI#<pi> / LINK        finds the order a Stripe PaymentIntent paid (refunds, disputes)
 *   PAYEVENT#<provider>#<id> / EVENT  a provider's event, once applied; TTL 35 days
 *   CONFIG / SITE, SITE_SECRETS, PRICING, CREDENTIAL_TAGS  the site's options (plain, and
 *                                sealed secrets), the price list, the check-tag secret
 *   CONFIG / LOGO, CONTENT#<lang>  the site's logo, its Markdown pages per language
 *   LOG#<date> / <sequence>      the whole site's usage log, one digest per stream batch
 *   EMAIL#<lower> / EMAIL        claims a verified e-mail address for one user (store/emails.ts)
 *   VERIFY#<sha256(lower)> / VERIFY  an e-mail verification code, hashed (store/verifications.ts);
 *                                TTL after its expiry
 *   RESET#<sha256(token)> / RESET  a password reset token, hashed (store/reset-tokens.ts); TTL
 *                                after its expiry
 *   USER#<id>#DAY / <date>#<model>  daily usage rollups
 *   (stream E, growth)
 *   USER#<id>#CHECKIN / <date>   a daily check-in, claimed then credited (store/checkins.ts);
 *                                TTL 400 days
 *   USER#<id>#INVITES / <yyyy-mm>, TOTAL  an inviter's rewards that month (the cap), and
 *                                their sign-ups, paid invitees and units earned (store/invitations.ts)
 *   INVITE#<code> / INVITE       finds an invitation code's user
 * The usage log's own table (LOG_TABLE):
 *   USER#<id>#LOG / <ISO time>#<id>  one line per call or top-up; TTL after the retention
 */

const pad12 = (n: number) => String(n).padStart(12, "0");
const pad6 = (n: number) => String(n).padStart(6, "0");

/** An index sort key that lists items oldest first by their creation (unix seconds). */
export const byCreation = (createdAt: number, id: string) => `${pad12(createdAt)}#${id}`;

// Users and their money.
export const userPartition = (userId: string) => `USER#${userId}`;
/** The sort keys of a user's partition's items. */
export const USER_ITEMS = { profile: "PROFILE", account: "ACCOUNT", fileUsage: "FILE_USAGE" };
export const userKey = (userId: string): ItemKey => ({
  pk: userPartition(userId),
  sk: USER_ITEMS.profile,
});
export const accountKey = (userId: string): ItemKey => ({
  pk: userPartition(userId),
  sk: USER_ITEMS.account,
});
export const fileUsageKey = (userId: string): ItemKey => ({
  pk: userPartition(userId),
  sk: USER_ITEMS.fileUsage,
});
export const usernameKey = (username: string): ItemKey => ({
  pk: `USERNAME#${username.toLowerCase()}`,
  sk: "USERNAME",
});
export const accessTokenKey = (hash: string): ItemKey => ({ pk: `ACCESS#${hash}`, sk: "ACCESS" });
// stream D (sign-in): store/identities.ts, store/emails.ts
export const identityKey = (provider: string, subject: string): ItemKey => ({
  pk: `IDENTITY#${provider}#${subject}`,
  sk: "IDENTITY",
});
export const IDENTITY_OF_USER = "IDENTITY#";
export const userIdentityKey = (userId: string, provider: string): ItemKey => ({
  pk: userPartition(userId),
  sk: `${IDENTITY_OF_USER}${provider}`,
});
export const emailKey = (address: string): ItemKey => ({
  pk: `EMAIL#${address.trim().toLowerCase()}`,
  sk: "EMAIL",
});
export const sessionKey = (hash: string): ItemKey => ({ pk: `SESSION#${hash}`, sk: "SESSION" });

/** An API key's item, by the SHA-256 of its secret (which is also its id). */
export const apiKeyKey = (id: string): ItemKey => ({ pk: `KEY#${id}`, sk: "KEY" });

/** Whose money an item with holds is: a user's account, or an API key's allowance. */
export function holderOf(key: ItemKey): { userId: string } | { keyId: string } {
  return key.sk === USER_ITEMS.account
    ? { userId: key.pk.slice(userPartition("").length) }
    : { keyId: key.pk.slice("KEY#".length) };
}

// Channels.
export const CHANNELS_PARTITION = "CHANNEL";
export const channelKey = (id: string): ItemKey => ({ pk: CHANNELS_PARTITION, sk: id });
export const CHANNEL_HEALTH_PARTITION = "CHANNEL_HEALTH";
export const channelHealthKey = (channelId: string, model: string): ItemKey => ({
  pk: CHANNEL_HEALTH_PARTITION,
  sk: `${channelId}#${model}`,
});

export const PROTOCOL_GAP_PARTITION = "PROTOCOL_GAP";
export const protocolGapKey = (channelId: string, protocol: string, model: string): ItemKey => ({
  pk: PROTOCOL_GAP_PARTITION,
  sk: `${channelId}#${protocol}#${model}`,
});

// Credit and guards.
export const redemptionKey = (id: string): ItemKey => ({ pk: `REDEEM#${id}`, sk: "REDEEM" });
export const ATTEMPTS_PREFIX = "ATTEMPTS#";
export const attemptCounterKey = (id: string): ItemKey => ({
  pk: `${ATTEMPTS_PREFIX}${id}`,
  sk: "ATTEMPTS",
});

// Batches.
export const batchPartition = (id: string) => `BATCH#${id}`;
export const batchKey = (id: string): ItemKey => ({ pk: batchPartition(id), sk: "BATCH" });
export const CHUNK_PREFIX = "CHUNK#";
export const chunkKey = (batchId: string, index: number): ItemKey => ({
  pk: batchPartition(batchId),
  sk: `${CHUNK_PREFIX}${pad6(index)}`,
});
export const RESULT_PREFIX = "RESULT#";
/** The sort key prefix of one chunk's results. */
export const chunkResultsPrefix = (chunk: number) => `${RESULT_PREFIX}${pad6(chunk)}#`;
export const resultKey = (batchId: string, chunk: number, line: number): ItemKey => ({
  pk: batchPartition(batchId),
  sk: `${chunkResultsPrefix(chunk)}${pad6(line)}`,
});

// Files and uploads.
export const fileKey = (id: string): ItemKey => ({ pk: `FILE#${id}`, sk: "FILE" });
export const uploadPartition = (id: string) => `UPLOAD#${id}`;
export const uploadKey = (id: string): ItemKey => ({ pk: uploadPartition(id), sk: "UPLOAD" });
export const PART_PREFIX = "PART#";
export const uploadPartKey = (uploadId: string, partId: string): ItemKey => ({
  pk: uploadPartition(uploadId),
  sk: `${PART_PREFIX}${partId}`,
});

// Stored Responses API responses, by their `resp_` id (the upstream's, or the bridge's).
export const storedResponseKey = (id: string): ItemKey => ({
  pk: `RESPONSE#${id}`,
  sk: "RESPONSE",
});

// The janitor's agenda.
export const SCHEDULE_PARTITION = "SCHEDULE";
export const scheduleSortKey = (work: { due: number; kind: string; id: string }) =>
  `${pad12(work.due)}#${work.kind}#${work.id}`;
/** The sort key after every entry due by `now` (unix seconds). */
export const scheduleDueBy = (now: number) => `${pad12(now)}~`;

// Payments (stream c-pay): orders, the PaymentIntent links, the events applied.
export const orderKey = (userId: string, orderId: string): ItemKey => ({
  pk: `${userPartition(userId)}#ORDERS`,
  sk: orderId,
});
export const ordersByMonth = (month: string) => `ORDERS#${month}`;
export const stripeIntentKey = (paymentIntent: string): ItemKey => ({
  pk: `STRIPE_PI#${paymentIntent}`,
  sk: "LINK",
});
export const paymentEventKey = (provider: string, eventId: string): ItemKey => ({
  pk: `PAYEVENT#${provider}#${eventId}`,
  sk: "EVENT",
});

// Stream e-mail (issue 22 E): verification codes, reset tokens (addresses: emailKey, above).
export const verificationKey = (emailHash: string): ItemKey => ({
  pk: `VERIFY#${emailHash}`,
  sk: "VERIFY",
});
export const resetTokenKey = (tokenHash: string): ItemKey => ({
  pk: `RESET#${tokenHash}`,
  sk: "RESET",
});

// The site's settings (store/site-options.ts): plain values, and the sealed secrets apart.
export const SITE_OPTIONS_KEY: ItemKey = { pk: "CONFIG", sk: "SITE" };
export const SITE_SECRETS_KEY: ItemKey = { pk: "CONFIG", sk: "SITE_SECRETS" };
/** The site's logo (store/site-logo.ts); its Markdown pages per language (store/site-content.ts). */
export const SITE_LOGO_KEY: ItemKey = { pk: "CONFIG", sk: "LOGO" };
export const siteContentKey = (lang: string): ItemKey => ({ pk: "CONFIG", sk: `CONTENT#${lang}` });
/** The price list (billing/pricing.ts). */
export const PRICING_KEY: ItemKey = { pk: "CONFIG", sk: "PRICING" };
export const TAG_SECRET_KEY: ItemKey = { pk: "CONFIG", sk: "CREDENTIAL_TAGS" };

// Growth (stream E): check-ins and invitations, each in a partition of its own (never
// USER#<id>, which every profile read reads whole).
export const checkinPartition = (userId: string) => `USER#${userId}#CHECKIN`;
export const checkinKey = (userId: string, date: string): ItemKey => ({
  pk: checkinPartition(userId),
  sk: date,
});
export const inviteCounterKey = (userId: string, period: string): ItemKey => ({
  pk: `USER#${userId}#INVITES`,
  sk: period,
});
export const inviteCodeKey = (code: string): ItemKey => ({ pk: `INVITE#${code}`, sk: "INVITE" });

// Usage: the log (its own table), the site's digest of it, and the daily rollups.
export const logPartition = (userId: string) => `USER#${userId}#LOG`;
/** A line's key: its time, then its id, so the log reads in time order. */
export const logKey = (userId: string, time: number, id: string): ItemKey => ({
  pk: logPartition(userId),
  sk: `${new Date(time).toISOString()}#${id}`,
});
export const siteLogPartition = (date: string) => `LOG#${date}`;
export const dailyPartition = (userId: string) => `USER#${userId}#DAY`;
export const dailyKey = (userId: string, date: string, model: string): ItemKey => ({
  pk: dailyPartition(userId),
  sk: `${date}#${model}`,
});

/**
 * gsi1 (keys only): who lists what. A user's keys, batches, files and stored responses by
 * creation; every user; every redemption code; the attempt counters at their limit, by when
 * their window ends.
 */
export const INDEX = {
  userKeys: (userId: string) => `USER#${userId}#KEYS`,
  userBatches: (userId: string) => `USER#${userId}#BATCHES`,
  userFiles: (userId: string) => `USER#${userId}#FILES`,
  userResponses: (userId: string) => `USER#${userId}#RESPONSES`,
  users: "USERS",
  redemptions: "REDEEM",
  fullAttempts: "ATTEMPTS#FULL",
  /** A counter's place in the full list: when its window ends (unix ms), then its id. */
  fullAttemptsSortKey: (until: number, id: string) => `${String(until).padStart(15, "0")}#${id}`,
  /** The full-list sort key before every counter whose window ends after `now`. */
  fullAttemptsAfter: (now: number) => String(now).padStart(15, "0"),
} as const;

/**
 * The holds index (sparse, keys only): accounts and keys with holds, sharded, by when their
 * oldest hold began (unix seconds), for the janitor (store/accounts.ts).
 */
export const HOLDS_INDEX = {
  shards: 4,
  partition: (shard: number) => `HOLDS#${shard}`,
  sortKey: (seconds: number) => String(Math.max(0, Math.floor(seconds))).padStart(12, "0"),
} as const;

const DAY_SECONDS = 86_400;

/**
 * When DynamoDB's TTL drops each kind of item (unix seconds), from the domain's own times.
 * The API hides an item from the moment it expires; the grace only keeps the table from
 * dropping it under a reader's feet.
 */
export const TTL = {
  /** Files, uploads and their parts, stored responses: a day after they expire. */
  afterExpiry: (expiresAt: number) => expiresAt + DAY_SECONDS,
  /** A final batch, its chunks and its line results: a day after they are retained until. */
  afterRetention: (retainUntil: number) => retainUntil + DAY_SECONDS,
  /** A protocol gap (`until` in unix ms): when the protocol is tried again on the channel. */
  protocolGap: (untilMs: number) => Math.ceil(untilMs / 1000),
  /** A session: when it expires. */
  session: (expiresAt: number) => expiresAt,
  /** An attempt counter: a minute past the moment (unix ms) it stops mattering. */
  attempts: (untilMs: number) => Math.ceil(untilMs / 1000) + 60,
  /** A usage log line (`time` in unix ms): its retention after the call. */
  usageLine: (time: number, retentionDays: number) =>
    Math.floor(time / 1000) + retentionDays * DAY_SECONDS,
  /** A check-in, or an inviter's month of rewards (stream E): 400 days after it began (unix seconds). */
  checkin: (at: number) => at + 400 * DAY_SECONDS,
  /** A day of the site's log (YYYY-MM-DD): its retention after the day ends. */
  siteLogDay: (date: string, retentionDays: number) =>
    Math.floor(Date.parse(date) / 1000) + (retentionDays + 1) * DAY_SECONDS,
  /** A provider's event, applied at `at` (unix s): past the provider's retries (Stripe: 3 days). */
  paymentEvent: (at: number) => at + 35 * DAY_SECONDS,
} as const;
