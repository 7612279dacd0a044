import type { Logger } from "@aws-lambda-powertools/logger";
import { TtlCache } from "../cache";
import { type Clock, systemClock } from "../clock";
import { ModelUnavailable } from "../errors";
import { msg } from "../messages/codes";
import { countEvent } from "../observability";
import type { ChannelHealthStore, PairHealth } from "../store/channel-health";
import type { ChannelRecord, Channels } from "../store/channels";
import type { AdapterContext } from "./adapters/adapter";
import { adapterFor } from "./adapters/index";
import type { ChannelDirectory } from "./channel-directory";
import type { AttemptResult, UpstreamFetch } from "./upstream";

export interface HealthSettings {
  /** 5xx or timeouts in a row that open a (channel, model)'s circuit. */
  failureThreshold: number;
  /** How long an open circuit waits before it lets one probe through. */
  openMs: number;
  /** How long a (channel, model) cools down after a 429 that says not how long. */
  coolMs: number;
  /** The longest cool-down, whatever the upstream's Retry-After says. */
  coolMaxMs: number;
  /** A probe that has not reported after this long is given up, and another goes through. */
  probeStaleMs: number;
  cacheTtlMs: number;
}

/** The channels a call may try now; `probes`: the half-open ones it claimed, and when. */
export interface Usable {
  channels: ChannelRecord[];
  probes: ReadonlyMap<string, number>;
}

const pairId = (channelId: string, model: string) => `${channelId}#${model}`;

/**
 * Health per (channel, model), shared by every instance through DynamoDB and written only
 * when it changes. A 429 cools the pair down for the upstream's Retry-After; 5xx and timeouts
 * in a row open its circuit, which half-opens by itself after a while and lets one probe
 * through, closing on success. A key the provider refuses for every model (its adapter's
 * probe: 401 on /models) disables the whole channel; refused for one model, or an account out
 * of quota, disables that pair only. Batch lines read health but never write it (`readOnly`),
 * so a batch meeting rate limits changes nothing for API callers.
 */
export class ChannelHealth {
  private readonly cache: TtlCache<"all", Map<string, PairHealth>>;

  constructor(
    private readonly store: ChannelHealthStore,
    private readonly channels: Channels,
    private readonly directory: ChannelDirectory,
    private readonly fetch: UpstreamFetch,
    private readonly settings: HealthSettings,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
    private readonly adapterContext: AdapterContext = {},
  ) {
    this.cache = new TtlCache(settings.cacheTtlMs);
  }

  /** The health of every pair that is not plainly healthy, keyed `channel#model`. */
  pairs(): Promise<Map<string, PairHealth>> {
    return this.cache.get(
      "all",
      async () => new Map((await this.store.list()).map((p) => [pairId(p.channelId, p.model), p])),
    );
  }

  /**
   * The candidates that may serve `model` now, in their order. A half-open pair is tried by
   * the one call that claims its probe (never by a batch line). Throws ModelUnavailable
   * ("resting") when none may, with the seconds until the first cools down or half-opens.
   */
  async usable(
    model: string,
    candidates: readonly ChannelRecord[],
    readOnly = false,
  ): Promise<Usable> {
    const pairs = await this.pairs();
    const now = this.clock.now();
    const usable: ChannelRecord[] = [];
    const probes = new Map<string, number>();
    let retryAt: number | undefined;
    const later = (at: number) => {
      retryAt = Math.min(retryAt ?? at, at);
    };
    for (const channel of candidates) {
      const pair = pairs.get(pairId(channel.id, model));
      if (!pair || pair.state === "healthy") usable.push(channel);
      else if (pair.state === "cooling") {
        if ((pair.until ?? 0) <= now) usable.push(channel);
        else later(pair.until ?? now);
      } else if (pair.state === "open") {
        if ((pair.until ?? 0) > now) later(pair.until ?? now);
        else if (
          !readOnly &&
          !((pair.probeAt ?? 0) > now - this.settings.probeStaleMs) &&
          (await this.store.claimProbe(channel.id, model, now, this.settings.probeStaleMs))
        ) {
          pair.probeAt = now;
          probes.set(channel.id, now);
          usable.push(channel);
        } else later(now + this.settings.coolMs); // another call is probing it
      }
    }
    if (usable.length > 0) return { channels: usable, probes };
    const seconds =
      retryAt === undefined ? undefined : Math.max(1, Math.ceil((retryAt - now) / 1000));
    throw new ModelUnavailable(
      model,
      "resting",
      seconds === undefined
        ? msg("model_channels_disabled", { model })
        : msg("model_channels_resting", { model, retry_after_seconds: seconds }),
      seconds,
    );
  }

  /** How long a pair cools down after a 429 whose Retry-After is this (ms), if any. */
  coolDownMs(retryAfterMs: number | undefined): number {
    return Math.min(retryAfterMs ?? this.settings.coolMs, this.settings.coolMaxMs);
  }

  /** Records what an attempt at (channel, model) came to; writes only when that changes something. */
  async record(
    channel: ChannelRecord,
    model: string,
    result: AttemptResult,
    probe: boolean,
  ): Promise<void> {
    const pairs = await this.pairs();
    const id = pairId(channel.id, model);
    const pair = pairs.get(id);
    const now = this.clock.now();
    if (result.ok) {
      if (pair && pair.state !== "disabled") {
        pairs.delete(id);
        await this.store.clear(channel.id, model);
      }
      return;
    }
    const { detail } = result;
    switch (result.kind) {
      case "rate_limited": {
        const until = now + this.coolDownMs(result.retryAfterMs);
        if (probe) {
          // Not a failure, but no success either: the circuit stays open as long as a cool-down.
          const reason = `the probe was rate limited (${detail})`;
          if (await this.store.open(channel.id, model, until, reason, true)) {
            pairs.set(id, {
              ...(pair ?? this.fresh(channel.id, model)),
              state: "open",
              reason,
              until,
            });
          }
          return;
        }
        // Cooling already, to about the same time: nothing to write.
        if (pair?.state === "cooling" && (pair.until ?? 0) >= until - 1_000) return;
        const reason = `rate limited by the provider (${detail})`;
        if (await this.store.cool(channel.id, model, until, reason)) {
          const failures = pair?.failures ?? 0;
          pairs.set(id, {
            ...this.fresh(channel.id, model),
            failures,
            state: "cooling",
            reason,
            until,
          });
        }
        return;
      }
      case "failure": {
        const until = now + this.settings.openMs;
        if (probe) {
          const reason = `the probe failed: ${detail}`;
          if (await this.store.open(channel.id, model, until, reason, true)) {
            pairs.set(id, {
              ...(pair ?? this.fresh(channel.id, model)),
              state: "open",
              reason,
              until,
            });
          }
          return;
        }
        const counted = await this.store.addFailure(channel.id, model, detail);
        pairs.set(id, counted);
        const threshold = this.settings.failureThreshold;
        if (threshold <= 0 || counted.failures < threshold) return;
        if (counted.state !== "healthy" && counted.state !== "cooling") return;
        const reason = `${counted.failures} failures in a row, the last: ${detail}`;
        if (await this.store.open(channel.id, model, until, reason)) {
          pairs.set(id, { ...counted, state: "open", reason, since: now, until, probeAt: null });
          this.changed("circuit opened", channel.id, reason, model);
        }
        return;
      }
      case "quota":
        return this.disablePair(
          channel,
          model,
          `the provider's account is out of quota (${detail})`,
        );
      case "auth": {
        const refused = await this.keyRefused(channel);
        if (refused) {
          return this.disableChannel(
            channel,
            `the provider rejected the channel's key for every model (${detail}; ${refused})`,
          );
        }
        return this.disablePair(
          channel,
          model,
          `the provider refused the channel's key for this model (${detail})`,
        );
      }
    }
  }

  /**
   * Whether the provider refuses the channel's key outright: its adapter's probe (OpenAI's
   * GET /models) answers what the adapter reads as a refused key (401 or 403). Says how, e.g.
   * "401 on /models"; undefined when the key is taken, the probe fails, or the provider has no
   * key-wide probe (Azure: its key is one per resource, and a 403 may be about one deployment).
   */
  private async keyRefused(channel: ChannelRecord): Promise<string | undefined> {
    const adapter = adapterFor(channel.type);
    const probe = adapter.probe(channel, this.adapterContext);
    if (!probe) return undefined;
    try {
      const response = await this.fetch(probe.url, {
        method: probe.method,
        headers: probe.headers,
        body: probe.body,
        signal: AbortSignal.timeout(Math.min(this.settings.probeStaleMs, 10_000)),
      });
      const text = await response.text().catch(() => "");
      if (response.ok || adapter.error(response.status, response.headers, text).kind !== "auth")
        return undefined;
      return `${response.status} on ${below(channel.baseUrl, probe.url)}`;
    } catch {
      return undefined; // unreachable says nothing about the key
    }
  }

  /** A pair as it is when nothing is known against it, from now. */
  private fresh(channelId: string, model: string): PairHealth {
    return {
      channelId,
      model,
      state: "healthy",
      failures: 0,
      reason: null,
      since: this.clock.now(),
      until: null,
      probeAt: null,
    };
  }

  private async disablePair(channel: ChannelRecord, model: string, reason: string): Promise<void> {
    await this.store.disable(channel.id, model, reason);
    (await this.pairs()).set(pairId(channel.id, model), {
      ...this.fresh(channel.id, model),
      state: "disabled",
      reason,
    });
    this.changed("channel disabled for a model", channel.id, reason, model);
  }

  private async disableChannel(channel: ChannelRecord, reason: string): Promise<void> {
    if (await this.channels.disable(channel.id, reason))
      this.changed("channel disabled", channel.id, reason);
    this.directory.invalidate();
  }

  /**
   * Gives back the probe of a half-open pair that this call claimed but never reported on
   * (the hold was refused, the client left): else no probe could go through until it is stale.
   */
  async releaseProbe(channelId: string, model: string, claimedAt: number): Promise<void> {
    await this.store.releaseProbe(channelId, model, claimedAt);
    const pair = (await this.pairs()).get(pairId(channelId, model));
    if (pair?.probeAt === claimedAt) pair.probeAt = null;
  }

  /** Every pair's health as stored now (not cached): for the admin's channel view. */
  current(): Promise<PairHealth[]> {
    return this.store.list();
  }

  /** Forgets a channel's pairs: an admin enabled it (or deleted it). */
  async clearChannel(channelId: string): Promise<void> {
    await this.store.clearChannel(channelId);
    this.cache.clear();
  }

  /** A change of a channel's (or a model's on it) state: logged, and counted. */
  private changed(message: string, channel: string, reason: string, model?: string): void {
    this.log.warn(message, { channel, model, reason });
    countEvent("ChannelStateChanges", 1, { channel });
  }
}

/** `url` as a path below the channel's base URL ("/models"); whole when it is not below it. */
function below(baseUrl: string, url: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return url.startsWith(`${base}/`) ? url.slice(base.length) : url;
}
