import type { Logger } from "@aws-lambda-powertools/logger";
import type { KeyPrincipal } from "../auth/authenticate";
import { type Clock, systemClock } from "../clock";
import { QuotaExceeded, RateLimited, type RateStanding, StoreUnavailable } from "../errors";
import { msg } from "../messages/codes";
import { type HoldRecord, holdIdFor, referenceId } from "../store/account-codec";
import { type Accounts, NotSent, type TopUp } from "../store/accounts";
import { type Held, NotCovered } from "../store/balance-write";
import type { Bucket } from "../store/buckets";
import { holderOf } from "../store/keys";
import { type RateCount, type RateGive, RateRefused } from "../store/rate-windows";
import type { ItemKey } from "../store/table";
import type { UsageLog, UsageLogEntry } from "../store/usage";
import {
  type CallLimits,
  type RateLimits,
  type RateState,
  rateStanding,
  retryAfterMs,
  windowed,
  windowOf,
} from "./rate-limits";

/** Quota set aside for one call before the upstream is asked. */
export interface Hold {
  id: string;
  userId: string;
  keyId: string;
  /** Units taken from available (and from the key's remain_quota when it is limited). */
  units: number;
  keyLimited: boolean;
  /** Taken under the key's rate limits too (on the key's item, counting the call). */
  keyRated: boolean;
  /** Counted under the user's rate limits (on the account: a counted hold). */
  userRated: boolean;
  /** The call's token bound, counted where tokens per minute are (settlement corrects it). */
  tokens: number;
  /** The minute windows it counted its call in (requests or tokens per minute), per item. */
  windows: { key?: number; user?: number };
  /** What the limits leave after this hold (the rim tells it in x-ratelimit-* headers). */
  rateStanding?: RateStanding;
  /** Unix milliseconds when it was taken; the call's log line is keyed by it. */
  start: number;
}

/** A half of a hold that was not tried (the other was refused first). */
const NOT_TRIED = new Error("not tried");

/** What the call came to, for its log line; the ledger adds who, when and what was held. */
export type Settlement = Omit<UsageLogEntry, "type" | "id" | "time" | "userId" | "held">;

/** How long a balance seen by a hold is trusted over the auth cache's. */
const LAST_SEEN_MS = 10_000;
/** A settlement that meets an outage tries again this many times, waiting longer each time. */
const SETTLE_ATTEMPTS = 6;
/** How many items (accounts, keys) the janitor sweeps at once. */
const REAP_CONCURRENCY = 8;

/**
 * Holds, settlements and top-ups: the policy. The writes themselves, each idempotent, are
 * store/accounts.ts's.
 *
 * The invariants: a hold is taken with its record in one conditional write that cannot take
 * a balance (or a limited key's allowance) below zero however many calls race; it is settled
 * or released exactly once; a settlement first writes the call's log line (once), and only
 * then moves the account, so the lines always add up to the used quota. A call whose process
 * stopped before it settled keeps its hold record: past its deadline the janitor settles it
 * from its log line if the line was written, or releases it and writes a line that says so
 * (reapHolds).
 */
export class QuotaLedger {
  /** Balances the last holds left (0 after a refusal), fresher than the auth cache's. */
  private readonly lastSeen = new Map<string, { units: number; at: number }>();
  /** Units of the holds this instance has asked for and not yet heard back about. */
  private readonly inFlight = new Map<string, number>();
  /** Per rate-limited key and user, the counters as the last hold (or refusal) found them. */
  private readonly rateSeen = new Map<string, RateCount>();

  constructor(
    private readonly accounts: Accounts,
    private readonly usage: UsageLog,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Takes `units` from the user's available balance and, for a limited key, from its
   * remain_quota, each with the hold's record; under rate limits, each counts the call
   * against its own (the key's on its item, the user's on the account). Both writes run at
   * once; if either fails the other is given back. They go out once `startAfter` settles
   * (the upstream request is sent first). Throws QuotaExceeded with the balance the refusing
   * write saw, or RateLimited. A request that tries again (for less) says which `attempt`
   * this is: each has a hold id of its own.
   */
  async hold(
    { key, user }: KeyPrincipal,
    call: {
      requestId: string;
      units: number;
      model: string;
      attempt?: number;
      /** The call's rate limits, if any. */
      limits?: Pick<CallLimits, "key" | "user">;
      /** The call's token bound (prompt bound + most output), for tokens per minute. */
      tokens?: number;
    },
    startAfter?: Promise<void>,
  ): Promise<Hold> {
    const { units, limits } = call;
    const tokens = call.tokens ?? 0;
    // A negative or fractional hold would credit the balance; callers validate, this guards.
    if (!Number.isSafeInteger(units) || units < 0) throw new Error(`Invalid hold: ${units} units`);
    const hold: Hold = {
      id: holdIdFor(call.requestId, call.attempt),
      userId: user.id,
      keyId: key.id,
      units,
      keyLimited: !key.unlimitedQuota,
      keyRated: limits?.key !== undefined,
      userRated: limits?.user !== undefined,
      tokens,
      windows: {},
      start: this.clock.now(),
    };
    const onKeyItem = hold.keyLimited || hold.keyRated;
    const ids = [`user:${user.id}`, ...(hold.keyLimited ? [`key:${key.id}`] : [])];
    // Counted as in flight from the call on, even while it waits to start (`startAfter`): a
    // burst decided in one turn of the event loop must see the holds before it.
    for (const id of ids) this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + units);
    await startAfter;
    const record: HoldRecord = {
      id: hold.id,
      start: hold.start,
      units,
      keyTag: key.id.slice(0, 8),
      model: call.model,
    };
    const rated = (of: RateLimits | undefined) => of && { limits: of, tokens };
    const takeUser = () => this.accounts.holdAccount(user.id, record, rated(limits?.user));
    const takeKey = () =>
      onKeyItem
        ? this.accounts.holdKey(key.id, { ...record, ...keyHalf(hold) }, rated(limits?.key))
        : Promise.resolve(undefined);
    let onUser: PromiseSettledResult<Held>;
    let onKey: PromiseSettledResult<Held | undefined>;
    if (limits?.key && this.atLimit(`key:${key.id}`, limits.key)) {
      // This key was at its limit here: its half goes first, and a refusal touches nothing else.
      [onKey] = await Promise.allSettled([takeKey()]);
      [onUser] = await Promise.allSettled([
        onKey.status === "fulfilled" ? takeUser() : Promise.reject(NOT_TRIED),
      ]);
    } else if (limits?.user && this.atLimit(`user:${user.id}`, limits.user)) {
      // The same for a user at theirs.
      [onUser] = await Promise.allSettled([takeUser()]);
      [onKey] = await Promise.allSettled([
        onUser.status === "fulfilled" ? takeKey() : Promise.reject(NOT_TRIED),
      ]);
    } else {
      [onUser, onKey] = await Promise.allSettled([takeUser(), takeKey()]);
    }
    for (const id of ids) {
      const left = (this.inFlight.get(id) ?? 0) - units;
      if (left > 0) this.inFlight.set(id, left);
      else this.inFlight.delete(id);
    }
    this.see(`user:${user.id}`, onUser);
    if (hold.keyLimited) this.see(`key:${key.id}`, onKey);
    if (limits?.key) this.seeRate(`key:${key.id}`, onKey);
    if (limits?.user) this.seeRate(`user:${user.id}`, onUser);
    if (onUser.status === "fulfilled" && onKey.status === "fulfilled") {
      const states: RateState[] = [];
      const counted = (scope: "key" | "user", of: RateLimits | undefined, held?: Held) => {
        if (!of || !held?.rate || !windowed(of)) return;
        hold.windows[scope] = held.rate.window;
        states.push({ limits: of, ...held.rate });
      };
      counted("key", limits?.key, onKey.value);
      counted("user", limits?.user, onUser.value);
      if (states.length > 0) hold.rateStanding = rateStanding(states, this.accounts.rateClock());
      return hold;
    }

    // Give back each half that landed or may have: all but a refusal and a change never sent
    // (a take whose answers were all lost may have landed; a give-back of one that did not
    // finds no record, and does nothing). A half that counted the call in a window takes it
    // back there. When the store answered neither half, a give-back would only wait for it
    // too: the call fails at once. What stays held, the janitor releases past the deadline.
    const refused = (half: PromiseSettledResult<unknown>) =>
      half.status === "rejected" &&
      (half.reason instanceof NotCovered ||
        half.reason instanceof RateRefused ||
        half.reason === NOT_TRIED);
    const landedNothing = (half: PromiseSettledResult<unknown>) =>
      refused(half) || (half.status === "rejected" && half.reason instanceof NotSent);
    const takeBack = (
      half: PromiseSettledResult<Held | undefined>,
      of: RateLimits | undefined,
      counted: boolean,
    ): RateGive => {
      const window =
        half.status === "fulfilled" && windowed(of) ? half.value?.rate?.window : undefined;
      return {
        counted,
        ...(window !== undefined ? { window: { w: window, requests: -1, tokens: -tokens } } : {}),
      };
    };
    const halves = onKeyItem ? [onUser, onKey] : [onUser];
    if (halves.some((half) => half.status === "fulfilled" || refused(half))) {
      await Promise.allSettled([
        landedNothing(onUser)
          ? undefined
          : this.accounts.settleAccount(
              user.id,
              hold,
              0,
              0,
              takeBack(onUser, limits?.user, hold.userRated),
            ),
        onKeyItem && !landedNothing(onKey)
          ? this.accounts.settleKey(
              key.id,
              { id: hold.id, ...keyHalf(hold) },
              0,
              takeBack(onKey, limits?.key, false),
            )
          : undefined,
      ]);
    }
    const failure = [onUser, onKey]
      .flatMap((half) =>
        half.status === "rejected" && half.reason !== NOT_TRIED ? [half.reason] : [],
      )
      .at(0);
    if (failure instanceof RateRefused) {
      const now = this.accounts.rateClock();
      if (onKey.status === "rejected" && onKey.reason === failure && limits?.key)
        throw rateLimited(failure, limits.key, "key", key.masked, now);
      if (limits?.user) throw rateLimited(failure, limits.user, "user", undefined, now);
    }
    if (!(failure instanceof NotCovered)) throw failure;
    throw onUser.status === "rejected" && onUser.reason === failure
      ? new QuotaExceeded("user", undefined, failure.available)
      : new QuotaExceeded("key", key.masked, failure.available);
  }

  /**
   * Whether a key or user (`id`) was at a limit when this instance last saw it: out of
   * requests or tokens this minute, or with all its calls in flight (less those settled here
   * since).
   */
  private atLimit(id: string, limits: RateLimits): boolean {
    const seen = this.rateSeen.get(id);
    if (!seen) return false;
    if (limits.concurrency !== undefined && seen.inFlight >= limits.concurrency) return true;
    if (seen.window !== windowOf(this.accounts.rateClock())) return false;
    return (
      (limits.rpm !== undefined && seen.requests >= limits.rpm) ||
      (limits.tpm !== undefined && seen.tokens >= limits.tpm)
    );
  }

  private seeRate(id: string, outcome: PromiseSettledResult<Held | undefined>): void {
    if (this.rateSeen.size >= 10_000) this.rateSeen.clear();
    if (outcome.status === "fulfilled" && outcome.value?.rate)
      this.rateSeen.set(id, outcome.value.rate);
    if (outcome.status === "rejected" && outcome.reason instanceof RateRefused)
      this.rateSeen.set(id, outcome.reason.found);
  }

  /**
   * The most a call may still hold, judged by the balances the principal was loaded with,
   * what the latest holds on this instance left and the holds it still has in flight. Only
   * a guess (the hold decides): it lowers an answer's max_tokens to what the balance covers,
   * and decides whether the upstream call may start before the hold has succeeded.
   */
  spendable({ key, user }: KeyPrincipal): number {
    const left = (id: string, cached: number) => {
      const seen = this.lastSeen.get(id);
      const known = seen && this.clock.now() - seen.at < LAST_SEEN_MS ? seen.units : cached;
      return known - (this.inFlight.get(id) ?? 0);
    };
    const onUser = left(`user:${user.id}`, user.account.available);
    return key.unlimitedQuota ? onUser : Math.min(onUser, left(`key:${key.id}`, key.remainQuota));
  }

  /**
   * Whether a hold of `units` will very likely succeed. Once a hold has been refused, or a
   * burst of calls has spoken for the balance, calls hold first, and a caller without quota
   * costs no upstream call.
   */
  likelyCovers(principal: KeyPrincipal, units: number, limits?: CallLimits): boolean {
    if (limits?.key && this.atLimit(`key:${principal.key.id}`, limits.key)) return false;
    if (limits?.user && this.atLimit(`user:${principal.user.id}`, limits.user)) return false;
    return this.spendable(principal) >= units * 2;
  }

  private see(id: string, outcome: PromiseSettledResult<{ available: number } | undefined>): void {
    if (this.lastSeen.size >= 10_000) this.lastSeen.clear();
    if (outcome.status === "rejected") {
      if (outcome.reason instanceof NotCovered)
        this.lastSeen.set(id, { units: outcome.reason.available, at: this.clock.now() });
      return;
    }
    if (outcome.value)
      this.lastSeen.set(id, { units: outcome.value.available, at: this.clock.now() });
  }

  /**
   * Moves a hold to the real cost (`settlement.quota`, at most the hold): writes the call's
   * log line, then gives the unspent part back to the account and the key. Each step is
   * idempotent, so an outage is met by trying again; if it outlasts the attempts, the
   * janitor finishes the job from the log line (or, without one, releases the hold).
   */
  async settle(hold: Hold, settlement: Settlement): Promise<void> {
    const line: UsageLogEntry = {
      type: "consume",
      id: hold.id,
      time: hold.start,
      userId: hold.userId,
      held: hold.units,
      ...settlement,
    };
    await retrying(async () => {
      const stored = await this.usage.put(line);
      if (stored.outcome === "unsettled") {
        // The janitor released this hold already (the call outlived its deadline) and logged
        // the call as unsettled: nothing to move, and a call served for free to tell of.
        this.log.warn("settled after the janitor released the hold: the call goes unbilled", {
          holdId: hold.id,
          userId: hold.userId,
          requestId: settlement.requestId,
          quota: settlement.quota,
        });
        return;
      }
      await this.apply(
        hold,
        stored.quota,
        stored.requests,
        stored.promptTokens + stored.completionTokens,
      );
    });
  }

  /**
   * Gives a whole hold back without a log line: the call never happened for the client (its
   * other half was refused, or a batch line ran twice and this run's result was not kept).
   */
  async release(hold: Hold): Promise<void> {
    await retrying(() => this.apply(hold, 0, 0));
  }

  /**
   * Moves the account and, for a limited key, the key, as a stored line says; under rate
   * limits, the call's slot is given back and the window it counted in gets its real
   * `tokens` instead of their bound. Both halves are done with before a failure goes on to
   * be retried, so a retry never meets its own write still in flight.
   */
  private async apply(hold: Hold, cost: number, requests: 0 | 1, tokens = 0): Promise<void> {
    const inWindow = (w: number | undefined): RateGive =>
      w === undefined ? {} : { window: { w, requests: 0, tokens: tokens - hold.tokens } };
    const [onUser, onKey] = await Promise.allSettled([
      this.accounts.settleAccount(hold.userId, hold, cost, requests, {
        counted: hold.userRated,
        ...inWindow(hold.windows.user),
      }),
      hold.keyLimited || hold.keyRated
        ? this.accounts.settleKey(
            hold.keyId,
            { id: hold.id, ...keyHalf(hold) },
            hold.keyLimited ? cost : 0,
            inWindow(hold.windows.key),
          )
        : undefined,
    ]);
    const seeSettled = (id: string, half: typeof onKey, w: number | undefined) => {
      const seen = this.rateSeen.get(id);
      if (!seen || half.status !== "fulfilled" || half.value !== "settled") return;
      if (w === seen.window) seen.tokens += tokens - hold.tokens;
      seen.inFlight--;
    };
    if (hold.keyRated) seeSettled(`key:${hold.keyId}`, onKey, hold.windows.key);
    if (hold.userRated) seeSettled(`user:${hold.userId}`, onUser, hold.windows.user);
    // What this instance last saw of the balance gets the unspent part back too.
    if (onUser.status === "fulfilled" && onUser.value === "settled")
      this.giveBack(`user:${hold.userId}`, hold.units - cost);
    if (hold.keyLimited && onKey.status === "fulfilled" && onKey.value === "settled")
      this.giveBack(`key:${hold.keyId}`, hold.units - cost);
    for (const half of [onUser, onKey]) if (half.status === "rejected") throw half.reason;
  }

  private giveBack(id: string, units: number): void {
    const seen = this.lastSeen.get(id);
    if (seen) seen.units += units;
  }

  /**
   * Adds quota to a bucket, once per `reference`, with a line in the user's log. Returns
   * "duplicate" when the reference was used before (nothing is added again).
   */
  async topUp(
    userId: string,
    topUp: { reference: string; bucket: Bucket; units: number; by: string; requestId: string },
  ): Promise<"applied" | "duplicate"> {
    const grant: TopUp = {
      ref: topUp.reference,
      bucket: topUp.bucket,
      units: topUp.units,
      time: this.clock.now(),
    };
    const { outcome, time } = await this.accounts.topUp(userId, grant);
    // What this instance last saw of the balance (a refusal, maybe) has the top-up too.
    if (outcome === "applied") this.giveBack(`user:${userId}`, topUp.units);
    // Written (again, harmlessly) on a duplicate too: the first may have stopped before it.
    await this.usage.put({
      type: "topup",
      id: `t${referenceId(topUp.reference)}`,
      time,
      userId,
      requestId: topUp.requestId,
      promptTokens: 0,
      completionTokens: 0,
      quota: topUp.units,
      requests: 0,
      bucket: topUp.bucket,
      by: topUp.by,
      reference: topUp.reference,
    });
    return outcome;
  }

  /**
   * The janitor's part: every hold older than `deadlineSeconds` is a call whose process
   * stopped before it settled (a Lambda timeout or out-of-memory kill, a crash, an outage
   * that outlasted the settlement's attempts). Settles it as its log line says, or releases
   * it with a line that marks the call as unsettled. Returns how many it settled and released,
   * and how many holds (or items) it could not reap this time: it logs each and goes on.
   */
  async reapHolds(
    nowSeconds: number,
    deadlineSeconds: number,
  ): Promise<{ settled: number; released: number; failed: number }> {
    const report = { settled: 0, released: 0, failed: 0 };
    const cutoff = (nowSeconds - deadlineSeconds) * 1000;
    const items = await this.accounts.withHoldsBefore(nowSeconds - deadlineSeconds);
    // A few items at once; a failure is logged and counted, and the next sweep tries again.
    const failed = (key: ItemKey, holdId: string | undefined, err: unknown) => {
      report.failed++;
      this.log.error("reaping a hold failed", {
        item: key.pk,
        holdId,
        error: err instanceof Error ? err.message : String(err),
      });
    };
    let next = 0;
    const sweep = async () => {
      while (next < items.length) {
        const key = items[next++] as ItemKey;
        try {
          const found = await this.accounts.holdsOf(key);
          if (!found) continue;
          for (const record of found.holds.filter((hold) => hold.start <= cutoff)) {
            await this.reap(key, found.item, record).then(
              (outcome) => report[outcome]++,
              (err) => failed(key, record.id, err),
            );
          }
          await this.accounts.reindex(key);
        } catch (err) {
          failed(key, undefined, err);
        }
      }
    };
    await Promise.all(Array.from({ length: REAP_CONCURRENCY }, sweep));
    return report;
  }

  private async reap(
    key: ItemKey,
    item: Record<string, unknown>,
    record: HoldRecord,
  ): Promise<"settled" | "released"> {
    const holder = holderOf(key);
    const onAccount = "userId" in holder;
    const userId = onAccount ? holder.userId : String(item.userId);
    const time = record.start;
    let line = await this.usage.get(userId, time, record.id);
    // Only the account's hold writes the line: a key's hold is the same call's, and a key
    // whose line is not there yet gives back everything, as the account's release will.
    if (!line && onAccount) {
      line = await this.usage.put({
        type: "consume",
        id: record.id,
        time,
        userId,
        requestId: `req_${record.id}…`,
        keyId: record.keyTag ? `${record.keyTag}…` : undefined,
        model: record.model,
        promptTokens: 0,
        completionTokens: 0,
        quota: 0,
        requests: 0,
        held: record.units,
        outcome: "unsettled",
      });
    }
    const cost = line?.quota ?? 0;
    await this.accounts.settleFound(key, record, cost, line?.requests ?? 0);
    return line && line.outcome !== "unsettled" ? "settled" : "released";
  }
}

/** What a hold takes on its key's item: its units when the key's quota is limited, else 0. */
function keyHalf(hold: Hold): { units: number } {
  return { units: hold.keyLimited ? hold.units : 0 };
}

/**
 * A key's or user's rate limit refused a call (`scope`, and `on` in words): the error, what
 * the limits left and how long to wait.
 */
function rateLimited(
  refused: RateRefused,
  limits: RateLimits,
  scope: RateLimited["scope"],
  key: string | undefined,
  now: number,
): RateLimited {
  const current = refused.found.window >= windowOf(now);
  const state: RateState = current
    ? { limits, ...refused.found }
    : { limits, window: windowOf(now), requests: 0, tokens: 0 };
  const { dimension } = refused;
  const wait = retryAfterMs({ dimension, state }, now);
  const on = { on: scope, ...(key === undefined ? {} : { key }), retry_after_ms: wait };
  const message =
    dimension === "concurrency"
      ? msg("rate_limit_concurrency", { ...on, limit: limits.concurrency ?? 0 })
      : dimension === "rpm"
        ? msg("rate_limit_rpm", { ...on, limit: limits.rpm ?? 0, used: state.requests })
        : msg("rate_limit_tpm", { ...on, limit: limits.tpm ?? 0, used: state.tokens });
  return new RateLimited(dimension, scope, message, wait, rateStanding(state, now));
}

/** Runs an idempotent step again while the store is unavailable, waiting longer each time. */
async function retrying(step: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof StoreUnavailable) || attempt >= SETTLE_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt * Math.random()));
    }
  }
}
