import { randomBytes } from "node:crypto";
import { type Clock, systemClock } from "../clock";
import { TABLE } from "../config/resources";
import { StoreUnavailable } from "../errors";
import {
  type Account,
  encodeHold,
  type HoldRecord,
  readAccount,
  readBase,
  readGrant,
  readGrants,
  readHolds,
  referenceId,
} from "./account-codec";
import {
  ACCOUNT,
  type Change,
  changeOutcome,
  changeWrite,
  type GiveOutcome,
  type Held,
  type ItemKind,
  KEY,
  missedWindow,
  nextRound,
  rateFits,
  refusal,
  type Window,
} from "./balance-write";
import { type Bucket, fold } from "./buckets";
import { GroupCommit, type Pending } from "./group-commit";
import { accountKey, apiKeyKey, HOLDS_INDEX, holderOf } from "./keys";
import { type RateGive, type RateTake, windowed, windowOf } from "./rate-windows";
import { ConditionFailed, type Item, type ItemKey, type Table } from "./table";

/**
 * Every write to a balance counter lives here, with the attribute names it uses. The policy
 * (how much to hold, when to settle) is billing/ledger.ts's. The update expression of holds
 * and give-backs is store/balance-write.ts's, how the attributes read store/account-codec.ts's,
 * and the rate windows store/rate-windows.ts's.
 *
 * A user's money is one small item, the account (`USER#<id>` / `ACCOUNT`), apart from the
 * profile so that profile fields never add to a balance write's size:
 *   av  available: what holds may still take (total remaining minus outstanding holds)
 *   uq  used quota, rc billed requests
 *   bf bb bp bu  the free, bonus and paid buckets as they were when uq was bu
 *   g_<ref> / gu_<ref>  a top-up not folded into the buckets yet, and uq when it landed
 *   hn  holds outstanding; h_<id> one record per outstanding hold: "start.units.key.model"
 *   hpk hsk  the holds index (set while the account may hold something, see below)
 * A limited key keeps its own allowance on its item the same way: remainQuota, hq (units
 * held), hn, h_<id> ("start.units"), hpk/hsk.
 * Every key's usedQuota, and an unlimited key's remainQuota counting down, are added up from
 * the usage log by the rollups, through addKeyUsage; ss is the last log line they added.
 *
 * Rate limits are counted by the same writes. A key with limits holds on its item too (units
 * 0 when its quota is unlimited); a user with limits (every user, by default: the operator's
 * concurrency) has their account's hold count the call. With requests or tokens per minute:
 * rw the window (minutes since the epoch), rr the requests begun in it, rt the tokens counted
 * in it (each call's token bound when it is held; its settlement takes back what the call did
 * not use, if the item is still in that window). Calls in flight are a key's holds (hn), and
 * an account's counted holds (cn: a batch line's hold is not counted, and a counted hold's
 * record begins with "+", so that whoever gives it back knows). The take's condition refuses
 * a call over a limit (RateRefused).
 *
 * Every write is idempotent, so a retry after an answer that got lost cannot apply twice:
 * a hold is conditional on its record not existing yet, and writes it; a settlement or a
 * release on the record existing, and removes it; a top-up on its grant not existing yet.
 * When such a condition fails, DynamoDB returns the item as it was (ALL_OLD), which says
 * whether this very write had landed already.
 *
 * Writes to one item go one at a time, the changes that arrive meanwhile together in the next
 * (a group commit, store/group-commit.ts). A queued change's deadline is the write in flight's: if that write met
 * an outage, the changes queued behind it fail with it (NotSent), unsent, rather than each
 * wait for the same outage in turn.
 *
 * The holds index is sparse and keys-only: a hold sets hpk/hsk only if absent (no index
 * write when they are there already), and the janitor, which finds through it the items with
 * holds older than their deadline, moves hsk on to the oldest hold left or removes both once
 * no hold is left.
 */

/** Tests read an account's item by it. */
export { accountKey };

/** A top-up reference is remembered this long after it was folded, to refuse a repeat. */
const REFERENCE_MEMORY_SECONDS = 7 * 86_400;

/** A change never sent: it waited behind a write the store did not answer. Nothing of it landed. */
export class NotSent extends StoreUnavailable {
  constructor() {
    super("UpdateItem, queued");
  }
}

/** A top-up: `ref` makes it happen once however often it is sent. */
export interface TopUp {
  ref: string;
  bucket: Bucket;
  units: number;
  /** Unix milliseconds. */
  time: number;
}

export class Accounts {
  /** Per item (account or key), the changes waiting for its write in flight. */
  private readonly commits = new GroupCommit<Change, Held | GiveOutcome>({
    nextRound,
    notSent: () => new NotSent(),
  });
  /** Per item, the rate window its last write saw: a hold guesses from it. */
  private readonly windows = new Map<string, number>();
  /** The clock rate windows are counted by (unix ms). */
  readonly rateClock: () => number;
  private readonly clock: Clock;

  constructor(
    private readonly table: Table,
    options: {
      /** The clock rate windows are counted by (a test pins it inside one minute). */
      rateClock?: () => number;
      /** What time it is otherwise (how old a folded top-up's reference is). */
      clock?: Clock;
    } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.rateClock = options.rateClock ?? (() => this.clock.now());
  }

  /** The write that creates an empty account, to go in the transaction creating its user. */
  static create(userId: string): Item {
    return { ...accountKey(userId), av: 0, uq: 0, rc: 0, bf: 0, bb: 0, bp: 0, bu: 0, hn: 0 };
  }

  /** A new API key's counters, to go in the write creating it (store/api-keys.ts). */
  static createKey(remainQuota: number, usedQuota: number): Item {
    return { remainQuota, usedQuota };
  }

  async get(userId: string, consistent = false): Promise<Account | undefined> {
    const item = await this.table.get(accountKey(userId), consistent);
    return item && readAccount(item);
  }

  /**
   * Takes `hold.units` from the account's available balance, with the hold's record; with
   * `rate`, counts the call against the user's limits.
   */
  holdAccount(userId: string, hold: HoldRecord, rate?: RateTake): Promise<Held> {
    return this.submit(accountKey(userId), ACCOUNT, {
      kind: "take",
      hold,
      record: encodeHold(hold, true, rate !== undefined),
      ...(rate ? { rate } : {}),
    }) as Promise<Held>;
  }

  /**
   * Takes `hold.units` from a limited key's remaining quota (0 for a key whose quota is not
   * limited), with the hold's record; with `rate`, counts the call against those limits.
   */
  holdKey(keyId: string, hold: HoldRecord, rate?: RateTake): Promise<Held> {
    return this.submit(apiKeyKey(keyId), KEY, {
      kind: "take",
      hold,
      record: encodeHold(hold, false, false),
      ...(rate ? { rate } : {}),
    }) as Promise<Held>;
  }

  /**
   * Moves a hold to its real cost: the unspent part back to available, the cost to used
   * quota, the call to the request count, the record removed. "gone" when there was no such
   * record (settled already, by this write's earlier attempt or by the janitor).
   */
  settleAccount(
    userId: string,
    hold: Pick<HoldRecord, "id" | "units">,
    cost: number,
    requests: 0 | 1,
    rate: RateGive = {},
  ): Promise<"settled" | "gone"> {
    return this.submit(accountKey(userId), ACCOUNT, {
      kind: "give",
      holdId: hold.id,
      units: hold.units,
      cost,
      requests,
      rate,
    }) as Promise<"settled" | "gone">;
  }

  /** The same for a key's hold (a key counts no cost and no request of its own). */
  settleKey(
    keyId: string,
    hold: Pick<HoldRecord, "id" | "units">,
    cost: number,
    rate: RateGive = {},
  ): Promise<"settled" | "gone"> {
    return this.submit(apiKeyKey(keyId), KEY, {
      kind: "give",
      holdId: hold.id,
      units: hold.units,
      cost,
      requests: 0,
      rate,
    }) as Promise<"settled" | "gone">;
  }

  /**
   * Adds a top-up to its bucket. Its grant records the account's usage as it lands, so no
   * read and no retry is needed however many top-ups and charges race (see balancesOf).
   * "duplicate" when the reference was used already; `time` is then the first one's.
   */
  async topUp(
    userId: string,
    topUp: TopUp,
  ): Promise<{ outcome: "applied" | "duplicate"; time: number }> {
    const ref = referenceId(topUp.ref);
    // The attempt tells this top-up's grant from a repeat's written in the same millisecond.
    const attempt = randomBytes(6).toString("base64url").replace(/[-_]/g, "0");
    const grant = `${topUp.bucket}.${topUp.units.toString(36)}.${topUp.time.toString(36)}.${attempt}`;
    try {
      await this.table.update(accountKey(userId), {
        update:
          "SET #g = :grant, #gu = if_not_exists(uq, :zero), av = if_not_exists(av, :zero) + :units",
        condition: "attribute_exists(pk) AND attribute_not_exists(#g)",
        names: { "#g": `g_${ref}`, "#gu": `gu_${ref}` },
        values: { ":grant": grant, ":units": topUp.units, ":zero": 0 },
        explainFailure: true,
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      const value = err.item?.[`g_${ref}`];
      const found = typeof value === "string" ? readGrant(value) : undefined;
      if (!found) throw new AccountMissing(userId);
      // This very grant (or its folded marker), written by an earlier try of this write whose
      // answer was lost, is this top-up's: any other is a repeat's.
      if (found.mark !== readGrant(grant)?.mark) return { outcome: "duplicate", time: found.time };
    }
    await this.foldGrants(userId).catch(() => {
      // Folding only keeps the item small; the next top-up (or read) does it if this one lost a race.
    });
    return { outcome: "applied", time: topUp.time };
  }

  /**
   * Sets a limited key's remaining quota. Holds in flight are taken from it already and give
   * back what they do not spend when they settle: the new allowance is net of them.
   */
  async setKeyAllowance(keyId: string, remainQuota: number): Promise<void> {
    await this.table.update(apiKeyKey(keyId), {
      update: "SET remainQuota = :remain - if_not_exists(hq, :zero)",
      condition: "attribute_exists(pk)",
      values: { ":remain": remainQuota, ":zero": 0 },
    });
  }

  /**
   * Adds usage lines' totals to an API key, for the usage rollups (store/rollups.ts): its
   * used quota and last use and, for a key without a limit of its own (whose allowance no
   * hold moves), its remain_quota counting down. Only lines past the key's watermark `ss`
   * are added: the write is conditional on `ss` being before `lines.first`, and moves it to
   * `lines.last`. ConditionFailed, with the key as it was, when it is not (no item: the key
   * is gone).
   */
  async addKeyUsage(
    keyId: string,
    lines: { first: string; last: string; used: number; countdown: number; accessed: number },
  ): Promise<void> {
    await this.table.update(apiKeyKey(keyId), {
      update:
        "SET ss = :last, accessedTime = :accessed, remainQuota = remainQuota - :countdown ADD usedQuota :used",
      condition: "attribute_exists(pk) AND (attribute_not_exists(ss) OR ss < :first)",
      values: {
        ":first": lines.first,
        ":last": lines.last,
        ":accessed": lines.accessed,
        ":countdown": lines.countdown,
        ":used": lines.used,
      },
      explainFailure: true,
    });
  }

  /** Items (accounts and keys) whose oldest hold began before `before` (unix seconds). */
  async withHoldsBefore(before: number): Promise<ItemKey[]> {
    const found: ItemKey[] = [];
    for (let shard = 0; shard < HOLDS_INDEX.shards; shard++) {
      const items = await this.table.queryAll<ItemKey>({
        index: TABLE.holdsIndex.name,
        keyCondition: "hpk = :pk AND hsk <= :before",
        values: { ":pk": HOLDS_INDEX.partition(shard), ":before": HOLDS_INDEX.sortKey(before) },
      });
      found.push(...items.map(({ pk, sk }) => ({ pk, sk })));
    }
    return found;
  }

  /** An item's outstanding holds, read consistently (the janitor's view). */
  async holdsOf(key: ItemKey): Promise<{ item: Item; holds: HoldRecord[] } | undefined> {
    const item = await this.table.get(key, true);
    return item && { item, holds: readHolds(item) };
  }

  /**
   * Settles a hold found on `key` (an account or a key), for the janitor: its call's slot is
   * given back; its window is over, and keeps what it counted.
   */
  settleFound(key: ItemKey, hold: HoldRecord, cost: number, requests: 0 | 1) {
    const holder = holderOf(key);
    return "userId" in holder
      ? this.settleAccount(holder.userId, hold, cost, requests, { counted: hold.counted })
      : // A key's record holds 0 when its quota is not limited (held for its rate limits only).
        this.settleKey(holder.keyId, hold, Math.min(cost, hold.units));
  }

  /**
   * After the janitor's sweep of an item: points the holds index at its oldest hold left,
   * or takes it out of the index when none is left (unless a hold landed meanwhile).
   */
  async reindex(key: ItemKey): Promise<void> {
    const item = await this.table.get(key, true);
    if (!item) return;
    const oldest = Math.min(...readHolds(item).map((hold) => hold.start));
    try {
      await this.table.update(
        key,
        Number.isFinite(oldest)
          ? {
              update: "SET hsk = :hsk",
              condition: "attribute_exists(hpk)",
              values: { ":hsk": HOLDS_INDEX.sortKey(oldest / 1000) },
            }
          : {
              update: "REMOVE hpk, hsk",
              condition: "attribute_not_exists(hn) OR hn = :zero",
              values: { ":zero": 0 },
            },
      );
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
    }
  }

  /**
   * Every hold and give-back goes through here: one write per item at a time, the changes
   * that arrive meanwhile together in the next (store/group-commit.ts).
   */
  private submit(item: ItemKey, kind: ItemKind, change: Change): Promise<Held | GiveOutcome> {
    return this.commits.submit(`${item.pk}|${item.sk}`, change, (round) =>
      round.length === 1
        ? this.alone(item, kind, round[0] as Pending<Change, Held | GiveOutcome>)
        : this.together(item, kind, round),
    );
  }

  /**
   * Several changes as one write. Should DynamoDB refuse it for any reason but an outage (a
   * failed condition, or one change it would not take), each goes again on its own, so that
   * one change cannot fail its neighbours. Resolves true when the store did not answer.
   */
  private async together(
    item: ItemKey,
    kind: ItemKind,
    batch: Pending<Change, Held | GiveOutcome>[],
  ): Promise<boolean> {
    const id = `${item.pk}|${item.sk}`;
    const changes = batch.map((pending) => pending.change);
    const alone = async () =>
      (await Promise.all(batch.map((pending) => this.alone(item, kind, pending)))).some(Boolean);
    // More calls than a limit allows at once: only writes of their own tell which may go.
    if (!rateFits(changes)) return alone();
    const window = this.guessWindow(id);
    try {
      const out = await this.table.update<Record<string, number>>(
        item,
        changeWrite(kind, item.pk, changes, window),
      );
      this.learnWindow(id, out);
      for (const { change, resolve } of batch) resolve(changeOutcome(kind, change, out, window));
      return false;
    } catch (err) {
      if (err instanceof StoreUnavailable) {
        for (const { reject } of batch) reject(err);
        return true;
      }
      // Which one failed, and why, only a write of its own can tell (a balance short for all
      // of them, a retry that had landed, a record the janitor released).
      return alone();
    }
  }

  /**
   * One change as one write; a failed condition says whether it had landed already, and
   * what refused it. A take whose guess of the item's rate window was wrong (another instance
   * began a new minute, or this one's is over) is tried again with the window the item has;
   * a give-back whose call's window is no longer the item's, without giving back to it.
   * Resolves true when the store did not answer.
   */
  private async alone(
    item: ItemKey,
    kind: ItemKind,
    pending: Pending<Change, Held | GiveOutcome>,
  ): Promise<boolean> {
    const { resolve, reject } = pending;
    let { change } = pending;
    const id = `${item.pk}|${item.sk}`;
    for (let attempt = 1; ; attempt++) {
      const window = this.guessWindow(id);
      try {
        const out = await this.table.update<Record<string, number>>(item, {
          ...changeWrite(kind, item.pk, [change], window),
          explainFailure: true,
        });
        this.learnWindow(id, out);
        resolve(changeOutcome(kind, change, out, window));
        return false;
      } catch (err) {
        if (!(err instanceof ConditionFailed)) {
          reject(err);
          return err instanceof StoreUnavailable;
        }
        const old = err.item;
        if (change.kind === "give") {
          // Its record is there: what failed was the window, which moved on meanwhile.
          if (change.rate.window && old?.[`h_${change.holdId}`] !== undefined && attempt < 3) {
            this.learnWindow(id, old as Record<string, number>);
            change = { ...change, rate: { ...change.rate, window: undefined } };
            continue;
          }
          resolve("gone");
          return false;
        }
        // Our own earlier attempt landed and its answer was lost: the hold is in place. Only
        // this very record says so; any other under the id is not this take's.
        if (old?.[`h_${change.hold.id}`] === change.record) {
          resolve(changeOutcome(kind, change, old as Record<string, number>, window));
          return false;
        }
        if (change.rate && old) {
          this.learnWindow(id, old as Record<string, number>);
          if (attempt < 3 && windowed(change.rate.limits) && missedWindow(window, old.rw)) continue;
        }
        reject(refusal(kind, change, old, window));
        return false;
      }
    }
  }

  /** The window an item's next write counts in: a new one, unless the item is in it already. */
  private guessWindow(id: string): Window {
    const now = windowOf(this.rateClock());
    const seen = this.windows.get(id);
    return seen !== undefined && seen >= now ? { w: seen, fresh: false } : { w: now, fresh: true };
  }

  private learnWindow(id: string, item: Record<string, number> | undefined): void {
    if (typeof item?.rw !== "number") return;
    if (this.windows.size >= 10_000) this.windows.clear();
    this.windows.set(id, item.rw);
  }

  /**
   * Folds the grants into the buckets, so the item does not grow with every top-up. Lands
   * only if nothing else folded meanwhile; grants that land meanwhile stay for the next.
   * Folded references are kept as a marker for a week, so a repeat is still refused.
   */
  private async foldGrants(userId: string): Promise<void> {
    const item = await this.table.get(accountKey(userId), true);
    if (!item) return;
    const grants = readGrants(item);
    const live = [...grants.entries()].filter(([, grant]) => grant.live);
    if (live.length === 0) return;
    const base = readBase(item);
    const next = fold(
      base,
      live.map(([, grant]) => grant),
    );
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ":f": next.free,
      ":b": next.bonus,
      ":p": next.paid,
      ":u": next.usedAt,
      ":oldU": base.usedAt,
    };
    const sets = ["bf = :f", "bb = :b", "bp = :p", "bu = :u"];
    const removes: string[] = [];
    const conditions = ["bu = :oldU"];
    const nowSeconds = this.clock.seconds();
    let i = 0;
    for (const [ref, grant] of grants) {
      names[`#g${i}`] = `g_${ref}`;
      if (grant.live) {
        names[`#gu${i}`] = `gu_${ref}`;
        values[`:x${i}`] = grant.mark;
        sets.push(`#g${i} = :x${i}`);
        removes.push(`#gu${i}`);
        conditions.push(`attribute_exists(#gu${i})`);
      } else if (grant.time / 1000 < nowSeconds - REFERENCE_MEMORY_SECONDS) {
        removes.push(`#g${i}`);
      } else {
        delete names[`#g${i}`];
      }
      i++;
    }
    await this.table.update(accountKey(userId), {
      update: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
      condition: conditions.join(" AND "),
      names,
      values,
    });
  }
}

/** The user's account is gone (a top-up for a user that does not exist). */
export class AccountMissing extends Error {
  constructor(readonly userId: string) {
    super(`no account for user ${userId}`);
    this.name = "AccountMissing";
  }
}
