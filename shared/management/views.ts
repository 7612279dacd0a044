import { unitsToDollars } from "../billing/units";
import { systemClock } from "../clock";
import type { ApiKeyRecord, ApiKeyStatus } from "../store/api-keys";
import type { PairHealth } from "../store/channel-health";
import type { ChannelRecord } from "../store/channels";
import type { ProtocolGap } from "../store/protocol-gaps";
import type { UserRecord } from "../store/users";

/** The API's names: `cachedInputTokens` → `cached_input_tokens`, `cacheWrite1h` → `cache_write_1h`. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/([a-z])(\d)/g, "$1_$2");
}

/** How the API shows a user. Quota figures are units; `_dollar` twins are USD. */
export function userView(user: UserRecord) {
  const { balances, used, requests } = user.account;
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    email: user.email ?? null,
    // Stream e-mail (issue 22 E).
    email_verified: user.emailVerified === true,
    lang: user.lang ?? null,
    low_balance_alert_usd:
      user.lowBalanceAlertUnits === undefined ? null : unitsToDollars(user.lowBalanceAlertUnits),
    role: user.role,
    group: user.group,
    status: user.status,
    created_at: user.createdAt,
    free_quota: balances.free,
    bonus_quota: balances.bonus,
    paid_quota: balances.paid,
    total_quota: balances.total,
    total_quota_dollar: unitsToDollars(balances.total),
    used_quota: used,
    used_quota_dollar: unitsToDollars(used),
    request_count: requests,
    has_password: user.passwordHash !== undefined,
    // The site's trial credit offered at sign-up: `pending` until it passes the site's check.
    trial_quota: user.trial?.units ?? 0,
    trial_state: user.trial?.state ?? null,
    rate_limits: user.rateLimits ?? {},
    deleted_at: user.deletedAt ?? null,
  };
}

/** A key as it is now: an enabled key past its expiry shows as expired, a limited one at zero as exhausted. */
export function keyStatus(key: ApiKeyRecord, nowSeconds = systemClock.seconds()): ApiKeyStatus {
  if (key.status !== "enabled") return key.status;
  if (key.expiredTime !== -1 && key.expiredTime <= nowSeconds) return "expired";
  if (!key.unlimitedQuota && key.remainQuota <= 0) return "exhausted";
  return key.status;
}

/** How the API shows a key: masked, except in the one answer that creates it. */
export function tokenView(key: ApiKeyRecord, secret?: string) {
  return {
    id: key.id,
    name: key.name,
    key: secret ?? key.masked,
    status: keyStatus(key),
    created_time: key.createdTime,
    accessed_time: key.accessedTime,
    expired_time: key.expiredTime,
    remain_quota: key.remainQuota,
    unlimited_quota: key.unlimitedQuota,
    used_quota: key.usedQuota,
    models: key.models,
    rate_limits: key.rateLimits ?? {},
  };
}

/**
 * `keys_to_review`: the user's keys made since their password was last set, masked. Whoever
 * ends an intruder's access (a password change, a reset, a revocation) checks them: an
 * intruder who held a session may have made some, and keys are not deleted (apps use them).
 */
export function keysToReview(user: UserRecord, keys: readonly ApiKeyRecord[]) {
  const since = user.passwordChangedAt ?? user.createdAt;
  return keys.filter((key) => key.createdTime >= since).map((key) => tokenView(key));
}

/** Channel secrets are never returned in full. `pairs`: the health of its models, if known. */
export function channelView(
  channel: ChannelRecord,
  pairs: readonly PairHealth[] = [],
  gaps: readonly ProtocolGap[] = [],
) {
  return {
    id: channel.id,
    type: channel.type,
    name: channel.name,
    base_url: channel.baseUrl,
    key: maskChannelSecret(channel.key),
    models: channel.models,
    model_mapping: channel.modelMapping,
    priority: channel.priority,
    weight: channel.weight,
    status: channel.status,
    disabled_reason: channel.disabledReason,
    disabled_at: seconds(channel.disabledAt),
    health: channelHealthView(channel, pairs),
    protocol_gaps: protocolGapsView(channel, gaps),
    config: channel.config,
    created_at: channel.createdAt,
  };
}

/**
 * The protocols the channel was found not to serve for a model (relay/protocol-gaps.ts), e.g.
 * `{model, protocol: "responses", reason: "HTTP 404 on /responses", since, until}`: reached
 * through a bridge until `until`. Times in seconds since the epoch; expired ones are left out.
 */
function protocolGapsView(channel: ChannelRecord, gaps: readonly ProtocolGap[]) {
  const now = systemClock.now();
  return gaps
    .filter((gap) => gap.channelId === channel.id && gap.until > now)
    .map(({ model, protocol, reason, since, until }) => ({
      model,
      protocol,
      reason,
      since: seconds(since),
      until: seconds(until),
    }));
}

/**
 * The channel's state, why and since when, and its models' that are not plainly healthy:
 * `cooling` (after 429s, until `until`), `open` (failing; half-opens at `until`), `half_open`
 * (one probe goes through), `disabled` (the key is refused for it), or `healthy` with
 * `failures` in a row below the threshold. Times in seconds since the epoch.
 */
function channelHealthView(channel: ChannelRecord, pairs: readonly PairHealth[]) {
  const now = systemClock.now();
  const models: Record<string, unknown> = {};
  for (const pair of pairs) {
    if (pair.channelId !== channel.id) continue;
    const over = pair.until !== null && pair.until <= now;
    const state =
      pair.state === "open" && over
        ? "half_open"
        : pair.state === "cooling" && over
          ? "healthy"
          : pair.state;
    models[pair.model] = {
      state,
      reason: pair.reason,
      since: seconds(pair.since),
      until: seconds(pair.until),
      failures: pair.failures,
    };
  }
  const resting = Object.values(models).some((m) => (m as { state: string }).state !== "healthy");
  if (channel.status === "disabled") {
    return {
      state: "disabled",
      reason: channel.disabledReason ?? "disabled by an administrator",
      since: seconds(channel.disabledAt),
      models,
    };
  }
  return {
    state: resting ? "degraded" : "healthy",
    reason: resting ? "some models are cooling down, failing or disabled (see models)" : null,
    since: null,
    models,
  };
}

const seconds = (ms: number | null | undefined) => (ms == null ? null : Math.ceil(ms / 1000));

export function maskChannelSecret(secret: string): string {
  if (!secret) return "";
  // Seven characters shown are at most a third of the secret; a shorter one shows none.
  if (secret.length < 21) return "…";
  return `${secret.slice(0, 3)}…${secret.slice(-4)}`;
}
