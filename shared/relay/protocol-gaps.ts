import type { Logger } from "@aws-lambda-powertools/logger";
import { TtlCache } from "../cache";
import { type Clock, systemClock } from "../clock";
import type { ProtocolGap, ProtocolGapStore } from "../store/protocol-gaps";
import type { Protocol } from "./protocol";

/**
 * What sluice has found out about which protocols a (channel, model) does not serve: "channel
 * C has no /responses for model M" (its host answered that the path does not exist). Shared by
 * every instance through DynamoDB, written only when it is new (a conditional write: a burst of
 * calls finding the same gap writes it once), and forgotten after `recheckMs`, so a host that
 * adds the path is found again. An admin changing or deleting the channel forgets its gaps.
 *
 * Generic over the protocol: the Responses face learns `responses` gaps (relay/responses-serving.ts)
 * and reaches those pairs through the Responses → chat bridge; any face that falls back to a
 * bridge when its own protocol's path is missing may learn and read its own the same way.
 *
 *   const known = await protocolGaps.known();           // once per call: cached, then sync
 *   known.lacks(channel.id, model, "responses");          // in a plan's build()
 *   await protocolGaps.learn(channel.id, model, "responses", "HTTP 404 on /responses");
 *
 * `model` is the name the client asked for, as channel health keys its pairs.
 */
export class ProtocolGaps {
  private readonly cache: TtlCache<"all", Map<string, ProtocolGap>>;
  /** Gaps this instance is writing now: one write per gap, however many calls find it. */
  private readonly writing = new Map<string, { gap: ProtocolGap; write: Promise<void> }>();

  constructor(
    private readonly store: ProtocolGapStore,
    private readonly settings: { recheckMs: number; cacheTtlMs: number },
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.cache = new TtlCache(settings.cacheTtlMs);
  }

  /** The gaps known now, for sync lookups in one call. */
  async known(): Promise<KnownGaps> {
    const gaps = await this.gaps();
    const now = this.clock.now();
    return {
      lacks: (channelId, model, protocol) =>
        (gaps.get(gapId(channelId, model, protocol))?.until ?? 0) > now,
    };
  }

  /**
   * Remembers that (channel, model) does not serve `protocol`, from now until the recheck. A
   * gap already known and current is not written again.
   */
  async learn(channelId: string, model: string, protocol: Protocol, reason: string): Promise<void> {
    const id = gapId(channelId, model, protocol);
    const gaps = await this.gaps();
    const now = this.clock.now();
    if ((gaps.get(id)?.until ?? 0) > now) return;
    const pending = this.writing.get(id);
    if (pending) return pending.write;
    const gap: ProtocolGap = {
      channelId,
      model,
      protocol,
      reason,
      since: now,
      until: now + this.settings.recheckMs,
    };
    gaps.set(id, gap);
    const write = this.store
      .record(gap)
      .then((wrote) => {
        if (wrote)
          this.log.info("protocol not served", { channel: channelId, model, protocol, reason });
      })
      .finally(() => this.writing.delete(id));
    this.writing.set(id, { gap, write });
    return write;
  }

  /** Every gap as stored now (not cached): for the admin's channel view. */
  current(): Promise<ProtocolGap[]> {
    return this.store.list();
  }

  /** Forgets a channel's gaps: an admin changed or deleted it. */
  async clearChannel(channelId: string): Promise<void> {
    await this.store.clearChannel(channelId);
    this.cache.clear();
  }

  private gaps(): Promise<Map<string, ProtocolGap>> {
    return this.cache.get("all", async () => {
      // A gap this instance is writing may be missing from a list read meanwhile (the cache
      // refreshes after the call that learnt it): the next call would be sent the old way.
      const writing = [...this.writing.entries()];
      const gaps = new Map(
        (await this.store.list()).map((g) => [gapId(g.channelId, g.model, g.protocol), g]),
      );
      for (const [id, { gap }] of writing) if (!gaps.has(id)) gaps.set(id, gap);
      return gaps;
    });
  }
}

/** The gaps known when a call began: sync, for a plan's build(). */
export interface KnownGaps {
  /** Whether (channel, model) is known not to serve `protocol` now. */
  lacks(channelId: string, model: string, protocol: Protocol): boolean;
}

const gapId = (channelId: string, model: string, protocol: string) =>
  `${channelId}#${protocol}#${model}`;
