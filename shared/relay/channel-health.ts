import type { ChannelRecord, Channels } from "../store/channels";
import type { ChannelDirectory } from "./channel-directory";
import type { AttemptResult } from "./upstream";

/**
 * Disables channels that keep failing: after `threshold` failures in a row, or at once when
 * the provider rejects sluice's credentials or says the account is out of quota. The reason
 * is recorded on the channel; an admin tests it and enables it again.
 */
export class ChannelHealth {
  constructor(
    private readonly channels: Channels,
    private readonly directory: ChannelDirectory,
    private readonly threshold: number,
  ) {}

  /**
   * Records an attempt's outcome. Successes cost a write only after failures. `channel` is
   * the directory's cached record: its count is kept current here, so the first success
   * after failures resets them and the ones after it write nothing.
   */
  async record(channel: ChannelRecord, result: AttemptResult): Promise<void> {
    if (result.ok) {
      if (channel.failureCount > 0) {
        channel.failureCount = 0;
        await this.channels.resetFailures(channel.id);
      }
      return;
    }
    if (result.kind === "auth" || result.kind === "quota") {
      const why =
        result.kind === "auth"
          ? "the provider rejected the channel's key"
          : "the provider's account is out of quota";
      return this.disable(channel, `${why} (${result.detail})`);
    }
    const failures = await this.channels.recordFailure(channel.id);
    channel.failureCount = failures ?? channel.failureCount + 1;
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
