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
   * fail-over candidates.
   */
  async candidates(model: string): Promise<ChannelRecord[]> {
    const serving = (await this.index()).byModel.get(model);
    if (!serving) return [];
    const ranked = serving.map((channel) => ({
      channel,
      // Efraimidis–Spirakis: sorting by u^(1/w) draws a weighted random permutation.
      draw: this.random() ** (1 / Math.max(channel.weight, 1e-6)),
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
