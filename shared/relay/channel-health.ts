import type { ChannelRecord, Channels } from "../store/channels";
import type { ChannelDirectory } from "./channel-directory";
import type { AttemptResult } from "./upstream";

/**
 * Disables channels that keep failing: after `threshold` failures in a row, or at once when
 * the provider rejects sluice's credentials or says the account is out of quota. The reason
 * is recorded on the channel; an admin tests it and enables it again.
 */
export class ChannelHealth {
  /** Channels this instance has seen fail since their last success, so a success knows to reset. */
  private readonly failing = new Set<string>();

  constructor(
    private readonly channels: Channels,
    private readonly directory: ChannelDirectory,
    private readonly threshold: number,
  ) {}

  /** Records an attempt's outcome. Successes cost a write only after failures. */
  async record(channel: ChannelRecord, result: AttemptResult): Promise<void> {
    if (result.ok) {
      if (channel.failureCount > 0 || this.failing.has(channel.id)) {
        this.failing.delete(channel.id);
        await this.channels.resetFailures(channel.id);
      }
      return;
    }
    this.failing.add(channel.id);
    if (result.kind === "auth" || result.kind === "quota") {
      const why =
        result.kind === "auth"
          ? "the provider rejected the channel's key"
          : "the provider's account is out of quota";
      return this.disable(channel, `${why} (${result.detail})`);
    }
    const failures = await this.channels.recordFailure(channel.id);
    if (failures !== undefined && this.threshold > 0 && failures >= this.threshold) {
      await this.disable(channel, `${failures} failures in a row, the last: ${result.detail}`);
    }
  }

  private async disable(channel: ChannelRecord, reason: string): Promise<void> {
    if (await this.channels.disable(channel.id, reason)) {
      console.warn(
        JSON.stringify({ level: "warn", msg: "channel disabled", channel: channel.id, reason }),
      );
    }
    this.directory.invalidate();
  }
}
