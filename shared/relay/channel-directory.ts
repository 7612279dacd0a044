import { createHash } from "node:crypto";
import { TtlCache } from "../cache";
import type { ChannelRecord, Channels } from "../store/channels";

/** The enabled channels, indexed by the models they serve; re-read every cache TTL. */
interface ChannelIndex {
  byModel: Map<string, ChannelRecord[]>;
}

export class ChannelDirectory {
  private readonly cache: TtlCache<"all", ChannelIndex>;

  constructor(
    private readonly channels: Channels,
    cacheTtlMs: number,
    private readonly random: () => number = Math.random,
  ) {
    this.cache = new TtlCache(cacheTtlMs);
  }

  /** Every model some enabled channel serves, sorted by name. */
  async models(): Promise<string[]> {
    const index = await this.index();
    return [...index.byModel.keys()].sort();
  }

  /**
   * The channels to try for a model, in order: highest priority first, and within one
   * priority a weighted random order, so traffic spreads by weight and the rest are
   * fail-over candidates. With an `affinity` seed (a conversation's session id) the order is
   * drawn from the seed instead of at random: the same seed gets the same order, so a
   * conversation stays with one upstream account and reads its prompt cache there (a cache
   * read costs a tenth of the input price, a write more than the input), while different
   * conversations still spread by weight.
   */
  async candidates(model: string, affinity?: string): Promise<ChannelRecord[]> {
    const serving = (await this.index()).byModel.get(model);
    if (!serving) return [];
    const ranked = serving.map((channel) => ({
      channel,
      // Efraimidis–Spirakis: sorting by u^(1/w) draws a weighted random permutation.
      draw:
        (affinity === undefined ? this.random() : seeded(affinity, channel.id)) **
        (1 / Math.max(channel.weight, 1e-6)),
    }));
    ranked.sort((a, b) => b.channel.priority - a.channel.priority || b.draw - a.draw);
    return ranked.map((r) => r.channel);
  }

  invalidate(): void {
    this.cache.clear();
  }

  private index(): Promise<ChannelIndex> {
    return this.cache.get("all", async () => {
      const byModel = new Map<string, ChannelRecord[]>();
      for (const channel of await this.channels.list()) {
        if (channel.status !== "enabled") continue;
        for (const model of channel.models) {
          const list = byModel.get(model);
          if (list) list.push(channel);
          else byModel.set(model, [channel]);
        }
      }
      return { byModel };
    });
  }
}

/** A number in (0, 1) drawn from a seed and a channel: the same for the same pair. */
function seeded(seed: string, channelId: string): number {
  const digest = createHash("sha256").update(seed).update("\0").update(channelId).digest();
  return (digest.readUInt32BE(0) + 1) / 2 ** 32;
}
