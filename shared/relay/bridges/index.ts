import { UpstreamRejected } from "../../errors";
import type { ChannelAdapter } from "../adapters/adapter";
import type { Operation, Protocol } from "../protocol";
import type { Bridge } from "./bridge";
import { BRIDGES } from "./registry";

/*
 * A face whose protocol a channel does not speak reaches it through the bridge of the pair
 * (registry.ts), when there is one; without one the channel is no candidate for the call.
 */

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

/**
 * A refusal of the request itself is the last channel's (it is never sent to another): through
 * a bridge, in the client's protocol's terms. `keepFields` carries the upstream's `code` and
 * `param` on (the Responses face shows them); other errors pass as they are.
 */
export function inClientTerms(
  err: unknown,
  bridge: Bridge | undefined,
  keepFields = false,
): unknown {
  if (!bridge || !(err instanceof UpstreamRejected) || err.kind !== "client_error") return err;
  const { status = 400, type, code = null, param = null } = err.details;
  const face = bridge.error(status, { message: err.message, type: type ?? undefined, code, param });
  return new UpstreamRejected("client_error", face.message, {
    status: face.status,
    type: face.type,
    ...(keepFields && { code, param }),
  });
}
