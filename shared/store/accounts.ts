import { createHash } from "node:crypto";
import { TABLE } from "../config/resources";
import { StoreUnavailable } from "../errors";
import {
  type Balances,
  BUCKETS,
  type Bucket,
  type BucketBase,
  balancesOf,
  fold,
  type Grant,
} from "./buckets";
import { ConditionFailed, type Item, type ItemKey, type Table } from "./table";

/**
 * Every write to a balance counter lives here, with the attribute names it uses. The policy
 * (how much to hold, when to settle) is billing/ledger.ts's.
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
 * (a group commit). A queued change's deadline is the write in flight's: if that write met
 * an outage, the changes queued behind it fail with it (NotSent), unsent, rather than each
 * wait for the same outage in turn.
 *
 * The holds index is sparse and keys-only: a hold sets hpk/hsk only if absent (no index
 * write when they are there already), and the janitor, which finds through it the items with
 * holds older than their deadline, moves hsk on to the oldest hold left or removes both once
 * no hold is left.
 */

export const accountKey = (userId: string): ItemKey => ({ pk: `USER#${userId}`, sk: "ACCOUNT" });
const keyItem = (keyId: string): ItemKey => ({ pk: `KEY#${keyId}`, sk: "KEY" });

/** Shards of the holds index's partition, so its writes never meet a hot partition. */
const HOLD_SHARDS = 4;
/** A top-up reference is remembered this long after it was folded, to refuse a repeat. */
const REFERENCE_MEMORY_SECONDS = 7 * 86_400;

/** One outstanding hold, as its record says. */
export interface HoldRecord {
  /** From the request id: see holdIdFor. */
  id: string;
  /** Unix milliseconds when it was taken (the call's log line is keyed by it). */
  start: number;
  units: number;
  /** The first 8 characters of the key's id (account records only). */
  keyTag?: string;
  model?: string;
  /** An account's hold counted as a call in flight under the user's limits (cn). */
  counted?: boolean;
}

/** A user's account, as read. */
export interface Account {
  available: number;
  used: number;
  requests: number;
  balances: Balances;
  holds: HoldRecord[];
}

/** A limited key's allowance, as read. */
export interface KeyAllowance {
  remainQuota: number;
  held: number;
  holds: HoldRecord[];
}

/** A hold landed; `available` is the balance left after it. */
export interface Held {
  available: number;
  /** The item's counters after a hold under rate limits. */
  rate?: RateCount;
}

/** Limits a hold is taken under (see billing/rate-limits.ts). */
export interface RateCheck {
  rpm?: number;
  tpm?: number;
  concurrency?: number;
}

/** A hold under rate limits: the limits, and the call's token bound (counted at once). */
export interface RateTake {
  limits: RateCheck;
  tokens: number;
}

/** What a give-back takes back from the counters its take added to. */
export interface RateGive {
  /** The take was an account's counted hold (its call in flight, cn). */
  counted?: boolean;
  /**
   * The window the take counted the call in, and what to add to it there (the usage less
   * the bound; a request taken back): left alone once the item is in a later window.
   */
  window?: { w: number; requests: number; tokens: number };
}

/** An item's counters: the window, its requests begun (this one included) and tokens. */
export interface RateCount {
  window: number;
  requests: number;
  tokens: number;
  /** Its calls in flight. */
  inFlight: number;
}

/** A hold refused by a rate limit; `found` is what the refusing write saw. */
export class RateRefused extends Error {
  constructor(
    readonly dimension: keyof RateCheck,
    readonly found: RateCount,
  ) {
    super(`rate limit: ${dimension}`);
    this.name = "RateRefused";
  }
}

/** A change never sent: it waited behind a write the store did not answer. Nothing of it landed. */
export class NotSent extends StoreUnavailable {
  constructor() {
    super("UpdateItem, queued");
  }
}

/** The hold's condition failed: the balance (or allowance) left was `available`. */
export class NotCovered extends Error {
  constructor(readonly available: number) {
    super("not covered");
    this.name = "NotCovered";
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
  private readonly writers = new Map<string, Writer>();
  /** Per item, the rate window its last write saw: a hold guesses from it. */
  private readonly windows = new Map<string, number>();
  /** The clock rate windows are counted by. */
  readonly clock: () => number;

  constructor(
    private readonly table: Table,
    options: {
      /** The clock rate windows are counted by (a test pins it inside one minute). */
      clock?: () => number;
    } = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** The write that creates an empty account, to go in the transaction creating its user. */
  static create(userId: string): Item {
    return { ...accountKey(userId), av: 0, uq: 0, rc: 0, bf: 0, bb: 0, bp: 0, bu: 0, hn: 0 };
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
    return this.submit(keyItem(keyId), KEY, {
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
    return this.submit(keyItem(keyId), KEY, {
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
    const grant = `${topUp.bucket}.${topUp.units.toString(36)}.${topUp.time.toString(36)}`;
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
      const found = err.item?.[`g_${ref}`];
      if (typeof found !== "string") throw new AccountMissing(userId);
      // This very grant (or its folded marker, which keeps its time), written by an earlier
      // attempt whose answer was lost, is this top-up's: any other is a repeat's.
      if (found !== grant && found !== `x.${topUp.time.toString(36)}`) {
        return { outcome: "duplicate", time: Number.parseInt(found.split(".").at(-1) ?? "0", 36) };
      }
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
    await this.table.update(keyItem(keyId), {
      update: "SET remainQuota = :remain - if_not_exists(hq, :zero)",
      condition: "attribute_exists(pk)",
      values: { ":remain": remainQuota, ":zero": 0 },
    });
  }

  /** Items (accounts and keys) whose oldest hold began before `before` (unix seconds). */
  async withHoldsBefore(before: number): Promise<ItemKey[]> {
    const found: ItemKey[] = [];
    for (let shard = 0; shard < HOLD_SHARDS; shard++) {
      const items = await this.table.queryAll<ItemKey>({
        index: TABLE.holdsIndex.name,
        keyCondition: "hpk = :pk AND hsk <= :before",
        values: { ":pk": `HOLDS#${shard}`, ":before": pad(before) },
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
    return key.sk === "ACCOUNT"
      ? this.settleAccount(key.pk.slice("USER#".length), hold, cost, requests, {
          counted: hold.counted,
        })
      : // A key's record holds 0 when its quota is not limited (held for its rate limits only).
        this.settleKey(key.pk.slice("KEY#".length), hold, Math.min(cost, hold.units));
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
              values: { ":hsk": pad(oldest / 1000) },
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
   * Every hold and give-back goes through here. One write per item is in flight at a time;
   * changes that arrive meanwhile wait, and go out together as one write when it is back (a
   * group commit): a busy account costs one write per round trip, not one per call, and a
   * quiet one waits for nothing. A write that meets an outage fails what waits behind it.
   */
  private submit(item: ItemKey, kind: ItemKind, change: Change): Promise<Held | GiveOutcome> {
    const id = `${item.pk}|${item.sk}`;
    return new Promise((resolve, reject) => {
      const writer = this.writers.get(id) ?? { queue: [], busy: false };
      this.writers.set(id, writer);
      writer.queue.push({ change, resolve, reject });
      if (!writer.busy) void this.drain(id, item, kind, writer);
    });
  }

  private async drain(id: string, item: ItemKey, kind: ItemKind, writer: Writer): Promise<void> {
    writer.busy = true;
    while (writer.queue.length > 0) {
      const batch = nextRound(writer);
      const outage =
        batch.length === 1
          ? await this.alone(item, kind, batch[0] as Pending)
          : await this.together(item, kind, batch);
      if (outage) {
        // The store did not answer the write they waited for: sending them into the same
        // outage would hold each for another write's attempts (a frozen DynamoDB, for as
        // long as it stays frozen). They fail with it, within its bound.
        for (const pending of writer.queue) pending.reject(new NotSent());
        writer.queue = [];
      }
    }
    writer.busy = false;
    this.writers.delete(id);
  }

  /**
   * Several changes as one write. Should DynamoDB refuse it for any reason but an outage (a
   * failed condition, or one change it would not take), each goes again on its own, so that
   * one change cannot fail its neighbours. Resolves true when the store did not answer.
   */
  private async together(item: ItemKey, kind: ItemKind, batch: Pending[]): Promise<boolean> {
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
  private async alone(item: ItemKey, kind: ItemKind, pending: Pending): Promise<boolean> {
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
    const now = windowOf(this.clock());
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
    const nowSeconds = Math.floor(Date.now() / 1000);
    let i = 0;
    for (const [ref, grant] of grants) {
      names[`#g${i}`] = `g_${ref}`;
      if (grant.live) {
        names[`#gu${i}`] = `gu_${ref}`;
        values[`:x${i}`] = `x.${grant.time.toString(36)}`;
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

/** Holds and give-backs of one item at most in one write (DynamoDB caps an expression's size). */
const MAX_COMBINED = 25;
/** Rate limits are counted in windows of a minute (billing/rate-limits.ts reads them). */
export const RATE_WINDOW_MS = 60_000;

/** The window a time falls in (minutes since the epoch). */
export function windowOf(ms: number): number {
  return Math.floor(ms / RATE_WINDOW_MS);
}

/** The rate window a write counts in; `fresh`: it begins it (the item is in an older one). */
interface Window {
  w: number;
  fresh: boolean;
}

/** Which counter an item's holds draw on, and what else a give-back moves. */
interface ItemKind {
  counter: "av" | "remainQuota";
  /** Accounts count the cost and the request; keys keep a running total of their holds. */
  account: boolean;
  /** What counts its calls in flight: a key's holds, an account's counted holds. */
  inFlight: "hn" | "cn";
}
const ACCOUNT: ItemKind = { counter: "av", account: true, inFlight: "cn" };
const KEY: ItemKind = { counter: "remainQuota", account: false, inFlight: "hn" };

/** A hold taken, or one given back (settled at `cost`, or released at 0). */
type Change =
  | { kind: "take"; hold: HoldRecord; record: string; rate?: RateTake }
  | {
      kind: "give";
      holdId: string;
      units: number;
      cost: number;
      requests: 0 | 1;
      rate: RateGive;
    };
type GiveOutcome = "settled" | "gone";
interface Pending {
  change: Change;
  resolve(outcome: Held | GiveOutcome): void;
  reject(err: unknown): void;
}
interface Writer {
  queue: Pending[];
  busy: boolean;
}

/**
 * Takes from the queue the changes for the next write: at most MAX_COMBINED, and never two
 * on one hold (DynamoDB refuses an expression that names an attribute twice). The others
 * wait, in order, for the next round.
 */
function nextRound(writer: Writer): Pending[] {
  const round: Pending[] = [];
  const later: Pending[] = [];
  const holds = new Set<string>();
  for (const pending of writer.queue) {
    const { change } = pending;
    const hold = change.kind === "take" ? change.hold.id : change.holdId;
    if (round.length < MAX_COMBINED && !holds.has(hold)) {
      holds.add(hold);
      round.push(pending);
    } else {
      later.push(pending);
    }
  }
  writer.queue = later;
  return round;
}

/**
 * The write for some changes to one item: the counter moves by what the gives return less
 * what the takes take, on condition that it covers the takes and that each take's record is
 * new and each give's record is there; records are written and removed; an account adds the
 * costs and billed requests, a key its running total of holds; the holds index is set if
 * absent; and the rate counters move (rateParts). One change or many, the same expression.
 */
function changeWrite(kind: ItemKind, pk: string, changes: Change[], window: Window) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  const conditions: string[] = [];
  const takes = changes.filter((change) => change.kind === "take");
  const gives = changes.filter((change) => change.kind === "give");
  for (const [i, change] of changes.entries()) {
    names[`#h${i}`] = `h_${change.kind === "take" ? change.hold.id : change.holdId}`;
    if (change.kind === "take") {
      values[`:r${i}`] = change.record;
      sets.push(`#h${i} = :r${i}`);
      conditions.push(`attribute_not_exists(#h${i})`);
    } else {
      removes.push(`#h${i}`);
      conditions.push(`attribute_exists(#h${i})`);
    }
  }
  const taken = sum(takes, (take) => take.hold.units);
  const given = sum(gives, (give) => give.units);
  const delta = sum(gives, (give) => give.units - give.cost) - taken;
  // A key held for its rate limits only (its quota not limited) leaves its counter alone.
  const counted = kind.account || delta !== 0 || taken > 0;
  if (counted) {
    names["#c"] = kind.counter;
    values[":delta"] = delta;
    sets.unshift("#c = #c + :delta");
  }
  if (takes.length > 0) {
    if (kind.account || taken > 0) {
      values[":need"] = taken;
      conditions.unshift("#c >= :need");
    }
    values[":hpk"] = `HOLDS#${shardOf(pk)}`;
    values[":hsk"] = pad(Math.min(...takes.map((take) => take.hold.start)) / 1000);
    sets.push("hpk = if_not_exists(hpk, :hpk)", "hsk = if_not_exists(hsk, :hsk)");
  }
  values[":held"] = takes.length - gives.length;
  const adds = ["hn :held"];
  if (kind.account) {
    adds.push("uq :cost", "rc :requests");
    values[":cost"] = sum(gives, (give) => give.cost);
    values[":requests"] = sum(gives, (give) => give.requests);
  } else {
    // A key keeps a running total of its holds, so that a new allowance can be net of them.
    adds.push("hq :holding");
    values[":holding"] = taken - given;
  }
  rateParts(kind, takes, gives, window, { names, values, sets, conditions, adds });
  const clauses = [
    sets.length ? `SET ${sets.join(", ")}` : "",
    removes.length ? `REMOVE ${removes.join(", ")}` : "",
    `ADD ${adds.join(", ")}`,
  ];
  return {
    update: clauses.filter(Boolean).join(" "),
    condition: conditions.join(" AND "),
    names,
    values,
    returnValues: "UPDATED_NEW" as const,
  };
}

type TakeChange = Extract<Change, { kind: "take" }>;
type GiveChange = Extract<Change, { kind: "give" }>;
type RatedTake = TakeChange & { rate: RateTake };

const sum = <T>(items: T[], of: (item: T) => number) =>
  items.reduce((total, item) => total + of(item), 0);

/**
 * An item's rate counters in a write. Calls in flight: takes under a concurrency limit
 * leave room for themselves (a key's holds, hn, or an account's counted ones, cn). Requests
 * and tokens per minute: takes begin the window (`fresh`) or add to it, on condition that
 * the window is the one guessed and that its requests and tokens leave room (tokens: the
 * count is under the limit before the last take of the write); gives take back from it what
 * their calls did not use, on condition that the item is still in their window (else their
 * window is over, and they leave it alone).
 */
function rateParts(
  kind: ItemKind,
  takes: TakeChange[],
  gives: GiveChange[],
  window: Window,
  parts: {
    names: Record<string, string>;
    values: Record<string, unknown>;
    sets: string[];
    conditions: string[];
    adds: string[];
  },
): void {
  const { names, values, sets, conditions, adds } = parts;
  const rated = takes.filter((take): take is RatedTake => take.rate !== undefined);
  const { rpm, tpm, concurrency } = strictest(rated);
  const calls = kind.account
    ? rated.length - gives.filter((give) => give.rate.counted).length
    : takes.length - gives.length;
  if (kind.account && (rated.length > 0 || calls !== 0)) {
    names["#cn"] = "cn";
    values[":calls"] = calls;
    adds.push("#cn :calls");
  }
  if (concurrency) {
    const inFlight = kind.account ? "#cn" : "hn";
    values[":inFlight"] = concurrency - calls;
    conditions.push(`(attribute_not_exists(${inFlight}) OR ${inFlight} <= :inFlight)`);
  }

  const counting = rated.filter((take) => windowed(take.rate.limits));
  const back = gives.filter(
    (give) =>
      give.rate.window?.w === window.w &&
      (give.rate.window.requests !== 0 || give.rate.window.tokens !== 0) &&
      // A take that begins the window finds it older than theirs: nothing to give back to.
      !(window.fresh && counting.length > 0),
  );
  if (counting.length === 0 && back.length === 0) return;
  Object.assign(names, { "#rw": "rw", "#rr": "rr", "#rt": "rt" });
  values[":w"] = window.w;
  values[":rn"] = counting.length + sum(back, (give) => give.rate.window?.requests ?? 0);
  values[":tk"] =
    sum(counting, (take) => take.rate.tokens) + sum(back, (give) => give.rate.window?.tokens ?? 0);
  if (counting.length === 0) {
    adds.push("#rr :rn", "#rt :tk");
    conditions.push("#rw = :w");
  } else if (window.fresh) {
    sets.push("#rw = :w", "#rr = :rn", "#rt = :tk");
    conditions.push("(attribute_not_exists(#rw) OR #rw < :w)");
  } else {
    sets.push("#rr = #rr + :rn", "#rt = #rt + :tk");
    conditions.push("#rw = :w");
    if (rpm) {
      values[":rpmLeft"] = rpm - counting.length;
      conditions.push("#rr <= :rpmLeft");
    }
    if (tpm) {
      values[":tpmLeft"] = tpm - othersTokens(counting);
      conditions.push("#rt < :tpmLeft");
    }
  }
}

/** Whether limits count requests or tokens in minute windows (not only calls at once). */
export function windowed(limits: RateCheck | undefined): boolean {
  return !!(limits?.rpm || limits?.tpm);
}

/** The tokens of all takes but the largest: what the count must leave room for before it. */
function othersTokens(takes: RatedTake[]): number {
  const tokens = takes.map((take) => take.rate.tokens);
  return sum(tokens, (n) => n) - Math.max(0, ...tokens);
}

/** The lowest of each limit the takes are under (they are one item's: normally all alike). */
function strictest(takes: RatedTake[]): RateCheck {
  const limits: RateCheck = {};
  for (const dimension of ["rpm", "tpm", "concurrency"] as const) {
    const set = takes.flatMap((take) => take.rate.limits[dimension] ?? []);
    if (set.length > 0) limits[dimension] = Math.min(...set);
  }
  return limits;
}

/**
 * Whether changes may go as one write: not more calls than the item's limits allow at
 * once, nor more tokens than a minute's limit could let in one after the other.
 */
function rateFits(changes: Change[]): boolean {
  const rated = changes.filter(
    (change): change is RatedTake => change.kind === "take" && change.rate !== undefined,
  );
  if (rated.length === 0) return true;
  const { rpm, tpm, concurrency } = strictest(rated);
  const counting = rated.filter((take) => windowed(take.rate.limits));
  return (
    rated.length <= (concurrency ?? Number.POSITIVE_INFINITY) &&
    counting.length <= (rpm ?? Number.POSITIVE_INFINITY) &&
    (!tpm || othersTokens(counting) < tpm)
  );
}

/** A take's result (the counter left, and a rated item's counters), or a give's. */
function changeOutcome(
  kind: ItemKind,
  change: Change,
  item: Record<string, number> | undefined,
  window: Window,
): Held | GiveOutcome {
  if (change.kind === "give") return "settled";
  const held: Held = { available: num(item?.[kind.counter]) };
  if (change.rate) held.rate = { ...countOf(kind, item), window: window.w };
  return held;
}

function countOf(kind: ItemKind, item: Record<string, unknown> | undefined): RateCount {
  return {
    window: num(item?.rw),
    requests: num(item?.rr),
    tokens: num(item?.rt),
    inFlight: num(item?.[kind.inFlight]),
  };
}

/** Whether a take failed because the item's window was not the one it guessed. */
function missedWindow(window: Window, stored: unknown): boolean {
  if (typeof stored !== "number") return !window.fresh;
  return window.fresh ? stored >= window.w : stored !== window.w;
}

/** Why a take's condition failed, from the item as it was: its balance, or a rate limit. */
function refusal(kind: ItemKind, change: TakeChange, old: Item | undefined, window: Window) {
  const available = num(old?.[kind.counter]);
  if (!old || !change.rate || (change.hold.units > 0 && available < change.hold.units))
    return new NotCovered(available);
  const found = countOf(kind, old);
  const { rpm, tpm, concurrency } = change.rate.limits;
  if (concurrency && found.inFlight >= concurrency) return new RateRefused("concurrency", found);
  if (found.window === window.w && rpm && found.requests >= rpm)
    return new RateRefused("rpm", found);
  if (found.window === window.w && tpm && found.tokens >= tpm) return new RateRefused("tpm", found);
  return new NotCovered(available);
}

/**
 * The hold id a request's `attempt` at a hold gets: 16 characters of its id (64 bits or more
 * of randomness), and from the second attempt on its number, so that no attempt can mistake
 * an earlier one's record (which may have landed unanswered) for its own.
 */
export function holdIdFor(requestId: string, attempt = 1): string {
  const id = requestId.replace(/^req_/, "").replaceAll("-", "").slice(0, 16);
  return attempt === 1 ? id : `${id}-${attempt}`;
}

export function readAccount(item: Item): Account {
  const used = num(item.uq);
  const grants = [...readGrants(item).values()].filter((grant) => grant.live);
  return {
    available: num(item.av),
    used,
    requests: num(item.rc),
    balances: balancesOf(readBase(item), grants, used),
    holds: readHolds(item),
  };
}

export function readKeyAllowance(item: Item): KeyAllowance {
  return { remainQuota: num(item.remainQuota), held: num(item.hq), holds: readHolds(item) };
}

function readBase(item: Item): BucketBase {
  return { free: num(item.bf), bonus: num(item.bb), paid: num(item.bp), usedAt: num(item.bu) };
}

function readGrants(item: Item): Map<string, Grant & { live: boolean }> {
  const grants = new Map<string, Grant & { live: boolean }>();
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith("g_") || typeof value !== "string") continue;
    const ref = name.slice(2);
    const [bucket = "", units = "0", time = "0"] = value.split(".");
    if (bucket === "x") {
      grants.set(ref, {
        bucket: "paid",
        units: 0,
        at: 0,
        time: Number.parseInt(units, 36),
        live: false,
      });
    } else if ((BUCKETS as readonly string[]).includes(bucket)) {
      grants.set(ref, {
        bucket: bucket as Bucket,
        units: Number.parseInt(units, 36),
        at: num(item[`gu_${ref}`]),
        time: Number.parseInt(time, 36),
        live: true,
      });
    }
  }
  return grants;
}

function readHolds(item: Item): HoldRecord[] {
  const holds: HoldRecord[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith("h_") || typeof value !== "string") continue;
    const counted = value.startsWith(COUNTED);
    const [start = "0", units = "0", keyTag, ...model] = value
      .slice(counted ? COUNTED.length : 0)
      .split(".");
    holds.push({
      id: name.slice(2),
      start: Number.parseInt(start, 36),
      units: Number.parseInt(units, 36),
      ...(keyTag ? { keyTag } : {}),
      ...(model.length ? { model: model.join(".") } : {}),
      ...(counted ? { counted } : {}),
    });
  }
  return holds;
}

/**
 * Marks an account's counted hold. A sign to parseInt, so a record read by a version that
 * knows no marker still reads right.
 */
const COUNTED = "+";

/** A hold's record: a few dozen bytes, since every in-flight hold adds it to a write's size. */
function encodeHold(hold: HoldRecord, withCall: boolean, counted: boolean): string {
  const head = `${counted ? COUNTED : ""}${hold.start.toString(36)}.${hold.units.toString(36)}`;
  return withCall ? `${head}.${hold.keyTag ?? ""}.${(hold.model ?? "").slice(0, 40)}` : head;
}

/** A short, fixed-length name for a caller's reference (which may be long or odd). */
export function referenceId(ref: string): string {
  return createHash("sha256").update(ref).digest("base64url").slice(0, 16);
}

function shardOf(pk: string): number {
  return (createHash("sha256").update(pk).digest()[0] ?? 0) % HOLD_SHARDS;
}

function pad(seconds: number): string {
  return String(Math.max(0, Math.floor(seconds))).padStart(12, "0");
}

function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}
