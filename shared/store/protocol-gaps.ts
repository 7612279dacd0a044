import { PROTOCOL_GAP_PARTITION, protocolGapKey, TTL } from "./keys";
import { ConditionFailed, type Table } from "./table";

/**
 * A (channel, model) found not to serve a protocol: its host answered that the protocol's path
 * does not exist (relay/protocol-gaps.ts). Kept until `until` (ms), then tried again; DynamoDB's
 * TTL drops the item some time after.
 */
export interface ProtocolGap {
  channelId: string;
  model: string;
  /** The protocol (relay/protocol.ts) the channel does not serve for the model. */
  protocol: string;
  /** What the host answered, for the admin. */
  reason: string;
  since: number;
  until: number;
}

/** The protocol gaps of every channel, in one partition (read whole, like channel health). */
export class ProtocolGapStore {
  constructor(private readonly table: Table) {}

  list(): Promise<ProtocolGap[]> {
    return this.table.queryAll<ProtocolGap>({
      keyCondition: "pk = :pk",
      values: { ":pk": PROTOCOL_GAP_PARTITION },
    });
  }

  /**
   * Records a gap unless one is recorded that is still current at `gap.since`: true when this
   * call wrote it. Many calls learning the same gap at once write it once.
   */
  async record(gap: ProtocolGap): Promise<boolean> {
    try {
      await this.table.put(
        {
          ...protocolGapKey(gap.channelId, gap.protocol, gap.model),
          ...gap,
          ttl: TTL.protocolGap(gap.until),
        },
        {
          condition: "attribute_not_exists(pk) OR #until <= :now",
          names: { "#until": "until" },
          values: { ":now": gap.since },
        },
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }

  /** Forgets every gap of a channel (an admin changed or deleted it). */
  async clearChannel(channelId: string): Promise<void> {
    const gaps = await this.table.queryAll<{ pk: string; sk: string }>({
      keyCondition: "pk = :pk AND begins_with(sk, :prefix)",
      values: { ":pk": PROTOCOL_GAP_PARTITION, ":prefix": `${channelId}#` },
    });
    await Promise.all(gaps.map(({ pk, sk }) => this.table.delete({ pk, sk })));
  }
}
