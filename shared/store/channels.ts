import { type Clock, systemClock } from "../clock";
import { PlainSecretBox, type SecretBox } from "../crypto/secret-box";
import { CHANNELS_PARTITION, channelKey } from "./keys";
import { ConditionFailed, type Table } from "./table";

export type ChannelType = "openai" | "azure" | "azure-speech" | "anthropic" | "bedrock";
export type ChannelStatus = "enabled" | "disabled";

/** An upstream provider account that sluice relays to. */
export interface ChannelRecord {
  id: string;
  type: ChannelType;
  name: string;
  /** e.g. https://api.openai.com/v1, or an Azure resource endpoint ("" for Bedrock's own). */
  baseUrl: string;
  /** The provider's secret. Never returned in full by the API; sealed in the table. */
  key: string;
  /** Model names clients may ask this channel for. */
  models: string[];
  /** Client model name -> the name the upstream knows (or the Azure deployment). */
  modelMapping: Record<string, string>;
  priority: number;
  weight: number;
  status: ChannelStatus;
  /** Why the channel was disabled, when sluice disabled it itself. */
  disabledReason: string | null;
  /** When it was disabled (ms since the epoch); null while enabled. Older items lack it. */
  disabledAt?: number | null;
  /** Provider-specific settings, e.g. Azure's api-version or a speech region. */
  config: Record<string, string>;
  createdAt: number;
}

/** Tests read a channel's item by it. */
export { channelKey };

/** Channels, with their provider keys sealed by `box` in the table and opened on the way out. */
export class Channels {
  constructor(
    private readonly table: Table,
    private readonly box: SecretBox = new PlainSecretBox(),
    private readonly clock: Clock = systemClock,
  ) {}

  async list(): Promise<ChannelRecord[]> {
    const items = await this.table.queryAll<ChannelRecord>({
      keyCondition: "pk = :pk",
      values: { ":pk": CHANNELS_PARTITION },
    });
    return Promise.all(items.map((item) => this.opened(item)));
  }

  /** Every channel's name by id, its key left sealed (the admin's log names its channels). */
  async names(): Promise<Map<string, string>> {
    const items = await this.table.queryAll<ChannelRecord>({
      keyCondition: "pk = :pk",
      values: { ":pk": CHANNELS_PARTITION },
    });
    return new Map(items.map((item) => [item.id, item.name]));
  }

  async get(id: string): Promise<ChannelRecord | undefined> {
    const item = await this.table.get<ChannelRecord>(channelKey(id), true);
    return item && this.opened(item);
  }

  async put(channel: ChannelRecord): Promise<void> {
    const key = await this.box.seal(channel.key);
    await this.table.put({ ...channelKey(channel.id), ...channel, key });
  }

  private async opened(item: ChannelRecord): Promise<ChannelRecord> {
    return { ...item, key: await this.box.open(item.key ?? "") };
  }

  /** Disables an enabled channel and records why; false if it was not enabled. */
  async disable(id: string, reason: string): Promise<boolean> {
    try {
      await this.table.update(channelKey(id), {
        update: "SET #status = :disabled, disabledReason = :reason, disabledAt = :now",
        condition: "#status = :enabled",
        names: { "#status": "status" },
        values: {
          ":disabled": "disabled",
          ":enabled": "enabled",
          ":reason": reason,
          ":now": this.clock.now(),
        },
      });
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }

  /**
   * Deletes the channel; false when there was none. Whether there was one is read first: a
   * conditional delete's retry, its answer lost, would find none and say so.
   */
  async delete(id: string): Promise<boolean> {
    if (!(await this.table.get(channelKey(id), true))) return false;
    await this.table.delete(channelKey(id));
    return true;
  }
}

export function newChannelRecord(
  fields: Pick<ChannelRecord, "id" | "baseUrl" | "models"> & Partial<ChannelRecord>,
  /** When it is made (unix seconds). */
  now = systemClock.seconds(),
): ChannelRecord {
  return {
    type: "openai",
    name: fields.id,
    key: "",
    modelMapping: {},
    priority: 0,
    weight: 1,
    status: "enabled",
    disabledReason: null,
    disabledAt: null,
    config: {},
    createdAt: now,
    ...fields,
  };
}
