import type { ChannelType } from "../../store/channels";
import type { ChannelAdapter } from "./adapter";
import { openaiAdapter } from "./openai";

const adapters: Partial<Record<ChannelType, ChannelAdapter>> = {
  openai: openaiAdapter,
};

/** The channel types this build can relay to. */
export function supportedChannelTypes(): ChannelType[] {
  return Object.keys(adapters) as ChannelType[];
}

export function adapterFor(type: ChannelType): ChannelAdapter {
  const adapter = adapters[type];
  if (!adapter) throw new Error(`no adapter for channel type ${type}`);
  return adapter;
}
