import type { ChannelAdapter } from "../adapters/adapter";
import type { Operation, Protocol } from "../protocol";
import type { Bridge } from "./bridge";
import { chatToMessages } from "./chat-to-messages/index";

/**
 * The bridges this build has, one line per protocol pair (client's → channel's). A face whose
 * protocol a channel does not speak reaches it through the bridge of the pair, when there is
 * one; without one the channel is no candidate for the call.
 */
const BRIDGES: readonly Bridge[] = [chatToMessages];

/** The bridge from a client's protocol to a channel's; undefined when there is none. */
export function bridgeFor(from: Protocol, to: Protocol): Bridge | undefined {
  return BRIDGES.find((bridge) => bridge.from === from && bridge.to === to);
}

/**
 * How a channel's adapter serves an operation the client speaks in `op`'s own protocol: in
 * that protocol (no bridge), or in another of its protocols through a bridge; undefined when
 * it cannot. The adapter's own protocol for `op` wins, then its protocols in the order it
 * lists its operations.
 */
export function servingProtocol(
  adapter: ChannelAdapter,
  op: Operation,
): { protocol: Protocol; bridge?: Bridge } | undefined {
  const own = adapter.operations[op];
  if (own === op) return { protocol: own };
  for (const protocol of [own, ...Object.values(adapter.operations)]) {
    if (protocol === undefined) continue;
    const bridge = bridgeFor(op, protocol);
    if (bridge) return { protocol, bridge };
  }
  return undefined;
}
