import type { KeyPrincipal } from "../auth/authenticate";
import { ApiError } from "../http/errors";
import { apiKeyKey } from "../store/api-keys";
import { ConditionFailed, type Table } from "../store/table";
import { dailyKey, logItem, type UsageLogEntry } from "../store/usage";
import { userKey } from "../store/users";

/** Quota set aside for one call before the upstream is asked. */
export interface Hold {
  userId: string;
  keyId: string;
  /** Units taken from `available` (and from the key's remain_quota when it is limited). */
  units: number;
  keyLimited: boolean;
}

/** How long a balance seen by a hold is trusted over the auth cache's. */
const LAST_SEEN_MS = 10_000;

/** Keys' accessed_time is written at most this often. */
const ACCESSED_TIME_RESOLUTION_MS = 60_000;

/**
 * Holds and settlements. A hold is a conditional update that cannot take a balance below
 * zero however many calls race for it; settlement moves the hold to the real cost and writes
 * the usage log and daily rollup, each write independent of the others (the user item is
 * hot, and transactions on hot items conflict).
 */
export class QuotaLedger {
  private readonly accessedWritten = new Map<string, number>();
  /** Balances the last holds left (0 after a refusal), fresher than the auth cache's. */
  private readonly lastSeen = new Map<string, { units: number; at: number }>();
  /** Units of the holds this instance has asked for and not yet heard back about. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly table: Table,
    private readonly logRetentionDays: number,
  ) {}

  /**
   * Takes `units` from the user's available balance and, for a limited key, from its
   * remain_quota. Both updates run at once; if either fails the other is given back. They
   * go out once `startAfter` settles (the upstream request is sent first).
   */
  async hold(
    { key, user }: KeyPrincipal,
    units: number,
    startAfter?: Promise<void>,
  ): Promise<Hold> {
    // A negative or fractional hold would credit the balance; callers validate, this guards.
    if (!Number.isSafeInteger(units) || units < 0) throw new Error(`Invalid hold: ${units} units`);
    const hold: Hold = { userId: user.id, keyId: key.id, units, keyLimited: !key.unlimitedQuota };
    if (units === 0) return hold;
    const ids = [`user:${user.id}`, ...(hold.keyLimited ? [`key:${key.id}`] : [])];
    // Counted as in flight from the call on, even while it waits to start (`startAfter`): a
    // burst decided in one turn of the event loop must see the holds before it.
    for (const id of ids) this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + units);
    await startAfter;
    const [onUser, onKey] = await Promise.allSettled([
      this.table.update<{ available: number }>(userKey(user.id), {
        update: "SET available = available - :units",
        condition: "available >= :units",
        values: { ":units": units },
        returnValues: "UPDATED_NEW",
      }),
      hold.keyLimited
        ? this.table.update<{ remainQuota: number }>(apiKeyKey(key.id), {
            update:
              "SET remainQuota = remainQuota - :units, heldQuota = if_not_exists(heldQuota, :zero) + :units",
            condition: "remainQuota >= :units",
            values: { ":units": units, ":zero": 0 },
            returnValues: "UPDATED_NEW",
          })
        : Promise.resolve(undefined),
    ]);
    for (const id of ids) {
      const left = (this.inFlight.get(id) ?? 0) - units;
      if (left > 0) this.inFlight.set(id, left);
      else this.inFlight.delete(id);
    }
    this.see(`user:${user.id}`, onUser, (value) => value?.available);
    if (hold.keyLimited) this.see(`key:${key.id}`, onKey, (value) => value?.remainQuota);
    if (onUser.status === "fulfilled" && onKey.status === "fulfilled") return hold;

    // Give back whichever half succeeded.
    await Promise.all([
      onUser.status === "fulfilled" ? this.refundUser(hold) : undefined,
      onKey.status === "fulfilled" && hold.keyLimited ? this.refundKey(hold) : undefined,
    ]);
    const failure =
      onUser.status === "rejected" ? onUser.reason : (onKey as PromiseRejectedResult).reason;
    if (!(failure instanceof ConditionFailed)) throw failure;
    throw onUser.status === "rejected" ? insufficientBalance() : insufficientKeyQuota(key.masked);
  }

  /**
   * Whether a hold of `units` will very likely succeed, judged by the balances the principal
   * was loaded with, what the latest holds on this instance left and the holds it still has
   * in flight. Only a guess: it decides whether the upstream call may start before the hold
   * has succeeded. Once a hold has been refused, or a burst of calls has spoken for the
   * balance, calls hold first, and a caller without quota costs no upstream call.
   */
  likelyCovers({ key, user }: KeyPrincipal, units: number): boolean {
    const covers = (id: string, cached: number) => {
      const seen = this.lastSeen.get(id);
      const known = seen && Date.now() - seen.at < LAST_SEEN_MS ? seen.units : cached;
      return known - (this.inFlight.get(id) ?? 0) >= units * 2;
    };
    return (
      covers(`user:${user.id}`, user.available) &&
      (key.unlimitedQuota || covers(`key:${key.id}`, key.remainQuota))
    );
  }

  private see<T>(
    id: string,
    outcome: PromiseSettledResult<T>,
    balance: (value: T) => number | undefined,
  ): void {
    if (this.lastSeen.size >= 10_000) this.lastSeen.clear();
    if (outcome.status === "rejected") {
      if (outcome.reason instanceof ConditionFailed)
        this.lastSeen.set(id, { units: 0, at: Date.now() });
      return;
    }
    const units = balance(outcome.value);
    if (typeof units === "number") this.lastSeen.set(id, { units, at: Date.now() });
  }

  /**
   * Moves a hold to the real cost: the difference goes back to `available`, the cost to
   * used_quota, and the call to the usage log and the day's rollup.
   */
  async settle(hold: Hold, cost: number, entry: UsageLogEntry): Promise<void> {
    const refund = hold.units - cost;
    const billed = entry.outcome !== "failed";
    const now = entry.time;
    const writeAccessed =
      now - (this.accessedWritten.get(hold.keyId) ?? 0) >= ACCESSED_TIME_RESOLUTION_MS;
    if (writeAccessed) this.accessedWritten.set(hold.keyId, now);

    const keyUpdate = this.table.update<{ remainQuota: number; unlimitedQuota: boolean }>(
      apiKeyKey(hold.keyId),
      {
        update: [
          hold.keyLimited
            ? "SET remainQuota = remainQuota + :refund, heldQuota = if_not_exists(heldQuota, :zero) - :held"
            : "SET remainQuota = remainQuota - :cost",
          writeAccessed ? ", accessedTime = :now" : "",
          " ADD usedQuota :cost",
        ].join(""),
        condition: "attribute_exists(pk)",
        values: {
          ...(hold.keyLimited ? { ":refund": refund, ":held": hold.units, ":zero": 0 } : {}),
          ":cost": cost,
          ...(writeAccessed ? { ":now": Math.floor(now / 1000) } : {}),
        },
        returnValues: "UPDATED_NEW",
      },
    );
    const writes: Promise<unknown>[] = [
      this.table.update(userKey(hold.userId), {
        update: "SET available = available + :refund ADD usedQuota :cost, requestCount :count",
        values: { ":refund": refund, ":cost": cost, ":count": billed ? 1 : 0 },
      }),
      keyUpdate.catch((err) => {
        // The key was deleted mid-call: the user is still charged.
        if (!(err instanceof ConditionFailed)) throw err;
      }),
      this.table.put(logItem(hold.userId, entry, this.logRetentionDays)),
    ];
    if (billed && entry.model) {
      writes.push(
        this.table.update(dailyKey(hold.userId, now, entry.model), {
          update:
            "ADD requests :one, promptTokens :prompt, completionTokens :completion, quota :cost",
          values: {
            ":one": 1,
            ":prompt": entry.promptTokens,
            ":completion": entry.completionTokens,
            ":cost": cost,
          },
        }),
      );
    }
    await Promise.all(writes);

    // A limited key that reached zero is marked exhausted, once.
    const key = await keyUpdate.catch(() => undefined);
    if (hold.keyLimited && key && key.remainQuota <= 0) {
      await this.table
        .update(apiKeyKey(hold.keyId), {
          update: "SET #status = :exhausted",
          condition: "#status = :enabled AND remainQuota <= :zero AND unlimitedQuota = :false",
          names: { "#status": "status" },
          values: { ":exhausted": "exhausted", ":enabled": "enabled", ":zero": 0, ":false": false },
        })
        .catch((err) => {
          if (!(err instanceof ConditionFailed)) throw err;
        });
    }
  }

  private refundUser(hold: Hold) {
    return this.table.update(userKey(hold.userId), {
      update: "SET available = available + :units",
      values: { ":units": hold.units },
    });
  }

  private refundKey(hold: Hold) {
    return this.table.update(apiKeyKey(hold.keyId), {
      update: "SET remainQuota = remainQuota + :units, heldQuota = heldQuota - :units",
      values: { ":units": hold.units },
    });
  }
}

export function insufficientBalance(): ApiError {
  return new ApiError(
    429,
    "You exceeded your current quota, please check your plan and billing details. Your sluice balance does not cover the most this request can cost (its prompt plus max_tokens).",
    "insufficient_quota",
    "insufficient_quota",
    null,
    { "x-should-retry": "false" },
  );
}

function insufficientKeyQuota(masked: string): ApiError {
  return new ApiError(
    429,
    `You exceeded your current quota: the API key ${masked} has less remaining quota than the most this request can cost. Raise the key's limit or lower max_tokens.`,
    "insufficient_quota",
    "insufficient_quota",
    null,
    { "x-should-retry": "false" },
  );
}
