import { type HoldRecord, num, shardOf } from "./account-codec";
import type { Pending } from "./group-commit";
import { HOLDS_INDEX } from "./keys";
import {
  type RateCheck,
  type RateCount,
  type RateGive,
  RateRefused,
  type RateTake,
  windowed,
} from "./rate-windows";
import type { Item } from "./table";

/**
 * The one update expression every hold and give-back of an item is written with (alone or
 * several together, see store/group-commit.ts), and how its outcome and its failures read.
 */

/** A hold landed; `available` is the balance left after it. */
export interface Held {
  available: number;
  /** The item's counters after a hold under rate limits. */
  rate?: RateCount;
}

/** The hold's condition failed: the balance (or allowance) left was `available`. */
export class NotCovered extends Error {
  constructor(readonly available: number) {
    super("not covered");
    this.name = "NotCovered";
  }
}

/** Holds and give-backs of one item at most in one write (DynamoDB caps an expression's size). */
const MAX_COMBINED = 25;

/** The rate window a write counts in; `fresh`: it begins it (the item is in an older one). */
export interface Window {
  w: number;
  fresh: boolean;
}

/** Which counter an item's holds draw on, and what else a give-back moves. */
export interface ItemKind {
  counter: "av" | "remainQuota";
  /** Accounts count the cost and the request; keys keep a running total of their holds. */
  account: boolean;
  /** What counts its calls in flight: a key's holds, an account's counted holds. */
  inFlight: "hn" | "cn";
}
export const ACCOUNT: ItemKind = { counter: "av", account: true, inFlight: "cn" };
export const KEY: ItemKind = { counter: "remainQuota", account: false, inFlight: "hn" };

/** A hold taken, or one given back (settled at `cost`, or released at 0). */
export type Change =
  | { kind: "take"; hold: HoldRecord; record: string; rate?: RateTake }
  | {
      kind: "give";
      holdId: string;
      units: number;
      cost: number;
      requests: 0 | 1;
      rate: RateGive;
    };
export type GiveOutcome = "settled" | "gone";

/**
 * Takes from the queue the changes for the next write: at most MAX_COMBINED, and never two
 * on one hold (DynamoDB refuses an expression that names an attribute twice). The others
 * wait, in order, for the next round.
 */
export function nextRound(
  queue: Pending<Change, Held | GiveOutcome>[],
): [Pending<Change, Held | GiveOutcome>[], Pending<Change, Held | GiveOutcome>[]] {
  const round: Pending<Change, Held | GiveOutcome>[] = [];
  const later: Pending<Change, Held | GiveOutcome>[] = [];
  const holds = new Set<string>();
  for (const pending of queue) {
    const { change } = pending;
    const hold = change.kind === "take" ? change.hold.id : change.holdId;
    if (round.length < MAX_COMBINED && !holds.has(hold)) {
      holds.add(hold);
      round.push(pending);
    } else {
      later.push(pending);
    }
  }
  return [round, later];
}

/**
 * The write for some changes to one item: the counter moves by what the gives return less
 * what the takes take, on condition that it covers the takes and that each take's record is
 * new and each give's record is there; records are written and removed; an account adds the
 * costs and billed requests, a key its running total of holds; the holds index is set if
 * absent; and the rate counters move (rateParts). One change or many, the same expression.
 */
export function changeWrite(kind: ItemKind, pk: string, changes: Change[], window: Window) {
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
    values[":hpk"] = HOLDS_INDEX.partition(shardOf(pk));
    values[":hsk"] = HOLDS_INDEX.sortKey(Math.min(...takes.map((take) => take.hold.start)) / 1000);
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
export function rateFits(changes: Change[]): boolean {
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
export function changeOutcome(
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
export function missedWindow(window: Window, stored: unknown): boolean {
  if (typeof stored !== "number") return !window.fresh;
  return window.fresh ? stored >= window.w : stored !== window.w;
}

/** Why a take's condition failed, from the item as it was: its balance, or a rate limit. */
export function refusal(kind: ItemKind, change: TakeChange, old: Item | undefined, window: Window) {
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
