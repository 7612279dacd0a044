import { type Clock, systemClock } from "../clock";
import { CHANNEL_HEALTH_PARTITION, channelHealthKey as pairKey } from "./keys";
import { ConditionFailed, type Table } from "./table";

/**
 * How one model on one channel is doing. No item means healthy; an item is written only when
 * the state changes (and a 5xx counts one more failure in a row), never on plain successes.
 *  - `healthy` with `failures` > 0: 5xx or timeouts in a row, below the threshold;
 *  - `cooling`: the upstream said 429; back at `until`;
 *  - `open`: too many failures in a row; at `until` it half-opens and one probe goes through;
 *  - `disabled`: the provider refused the channel's key for this model; an admin re-enables.
 */
export type PairState = "healthy" | "cooling" | "open" | "disabled";

export interface PairHealth {
  channelId: string;
  model: string;
  state: PairState;
  failures: number;
  reason: string | null;
  /** When the state began (ms since the epoch). */
  since: number;
  /** When cooling ends or an open circuit half-opens (ms). */
  until: number | null;
  /** When the probe of a half-open circuit was let through (ms). */
  probeAt: number | null;
}

const STATE = { "#state": "state" };

/** The health items of every (channel, model) pair that is not plainly healthy. */
export class ChannelHealthStore {
  constructor(
    private readonly table: Table,
    private readonly clock: Clock = systemClock,
  ) {}

  async list(): Promise<PairHealth[]> {
    return this.table.queryAll<PairHealth>({
      keyCondition: "pk = :pk",
      values: { ":pk": CHANNEL_HEALTH_PARTITION },
    });
  }

  /** Cools a pair down until `until`, unless its circuit is open or it is disabled. */
  async cool(channelId: string, model: string, until: number, reason: string): Promise<boolean> {
    return this.conditional(
      this.table.update(pairKey(channelId, model), {
        update:
          "SET channelId = :c, model = :m, #state = :cooling, reason = :reason, since = :now, #until = :until, failures = if_not_exists(failures, :zero), probeAt = :null",
        condition: "attribute_not_exists(pk) OR #state IN (:healthy, :cooling)",
        names: { ...STATE, "#until": "until" },
        values: {
          ":c": channelId,
          ":m": model,
          ":cooling": "cooling",
          ":healthy": "healthy",
          ":reason": reason,
          ":now": this.clock.now(),
          ":until": until,
          ":zero": 0,
          ":null": null,
        },
      }),
    );
  }

  /** Counts one more failure in a row; returns the pair as it is now. */
  async addFailure(channelId: string, model: string, reason: string): Promise<PairHealth> {
    const out = await this.table.update<PairHealth>(pairKey(channelId, model), {
      update:
        "SET channelId = :c, model = :m, #state = if_not_exists(#state, :healthy), reason = if_not_exists(reason, :reason), since = if_not_exists(since, :now), #until = if_not_exists(#until, :null), probeAt = if_not_exists(probeAt, :null) ADD failures :one",
      names: { ...STATE, "#until": "until" },
      values: {
        ":c": channelId,
        ":m": model,
        ":healthy": "healthy",
        ":reason": reason,
        ":now": this.clock.now(),
        ":null": null,
        ":one": 1,
      },
      returnValues: "ALL_NEW",
    });
    return out as PairHealth;
  }

  /**
   * Opens the pair's circuit until `until`: from healthy or cooling (the threshold was
   * reached), or again after a failed probe (`reopen`). Keeps `since` of a circuit already open.
   */
  async open(
    channelId: string,
    model: string,
    until: number,
    reason: string,
    reopen = false,
  ): Promise<boolean> {
    return this.conditional(
      this.table.update(pairKey(channelId, model), {
        update: `SET #state = :open, reason = :reason, #until = :until, probeAt = :null, since = ${reopen ? "since" : ":now"}`,
        condition: reopen ? "#state = :open" : "#state IN (:healthy, :cooling)",
        names: { ...STATE, "#until": "until" },
        values: {
          ":open": "open",
          ":reason": reason,
          ":until": until,
          ":null": null,
          ...(reopen
            ? {}
            : { ":now": this.clock.now(), ":healthy": "healthy", ":cooling": "cooling" }),
        },
      }),
    );
  }

  /**
   * Lets one call probe a half-open circuit: true for the one caller (across every instance)
   * that claims it, or when the last probe has had `staleAfterMs` to report and did not.
   */
  async claimProbe(
    channelId: string,
    model: string,
    now: number,
    staleAfterMs: number,
  ): Promise<boolean> {
    return this.conditional(
      this.table.update(pairKey(channelId, model), {
        update: "SET probeAt = :now",
        condition: "#state = :open AND #until <= :now AND (probeAt = :null OR probeAt < :stale)",
        names: { ...STATE, "#until": "until" },
        values: { ":open": "open", ":now": now, ":null": null, ":stale": now - staleAfterMs },
      }),
    );
  }

  /** Gives back a probe claimed at `claimedAt` that never reached the upstream (the call ended first). */
  async releaseProbe(channelId: string, model: string, claimedAt: number): Promise<void> {
    await this.conditional(
      this.table.update(pairKey(channelId, model), {
        update: "SET probeAt = :null",
        condition: "#state = :open AND probeAt = :claimed",
        names: STATE,
        values: { ":open": "open", ":null": null, ":claimed": claimedAt },
      }),
    );
  }

  /** The pair is healthy again (a success): forgets it, unless it is disabled meanwhile. */
  async clear(channelId: string, model: string): Promise<void> {
    await this.conditional(
      this.table.delete(pairKey(channelId, model), {
        condition: "#state <> :disabled",
        names: STATE,
        values: { ":disabled": "disabled" },
      }),
    );
  }

  /** The provider refused the channel's key for this model: off until an admin enables it. */
  async disable(channelId: string, model: string, reason: string): Promise<void> {
    await this.table.put({
      ...pairKey(channelId, model),
      channelId,
      model,
      state: "disabled",
      failures: 0,
      reason,
      since: this.clock.now(),
      until: null,
      probeAt: null,
    } satisfies PairHealth & { pk: string; sk: string });
  }

  /** Forgets every pair of a channel (an admin enabled it, or deleted it). */
  async clearChannel(channelId: string): Promise<void> {
    const pairs = await this.table.queryAll<{ pk: string; sk: string }>({
      keyCondition: "pk = :pk AND begins_with(sk, :prefix)",
      values: { ":pk": CHANNEL_HEALTH_PARTITION, ":prefix": `${channelId}#` },
    });
    await Promise.all(pairs.map(({ pk, sk }) => this.table.delete({ pk, sk })));
  }

  private async conditional(write: Promise<unknown>): Promise<boolean> {
    try {
      await write;
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }
}
