import type { KeyPrincipal } from "../auth/authenticate";
import { modelNotFound } from "../http/errors";
import type { Call } from "../http/route";
import type { ChannelRecord } from "../store/channels";
import type { UpstreamOptions } from "./upstream";

/** The channels that may serve `model` for this key, in the order to try them; 404 if none. */
export async function channelsForModel(
  call: Call<KeyPrincipal>,
  model: string,
): Promise<ChannelRecord[]> {
  if (!keyAllowsModel(call.principal, model)) throw modelNotFound(model);
  const candidates = await call.services.channelDirectory.candidates(model);
  if (candidates.length === 0) throw modelNotFound(model);
  return candidates;
}

export function keyAllowsModel({ key }: KeyPrincipal, model: string): boolean {
  return key.models === null || key.models.length === 0 || key.models.includes(model);
}

export function upstreamOptions(call: Call<KeyPrincipal>): UpstreamOptions {
  return {
    fetch: call.services.fetch,
    timeoutMs: call.services.settings.upstreamTimeoutMs,
    timing: call.timing,
  };
}
