import type { ChannelType } from "../../store/channels";
import type { ChannelAdapter } from "./adapter";
import { openaiAdapter } from "./openai";

const adapters: Partial<Record<ChannelType, ChannelAdapter>> = {
  openai: openaiAdapter,
};

export function adapterFor(type: ChannelType): ChannelAdapter {
  const adapter = adapters[type];
  if (!adapter) throw new Error(`no adapter for channel type ${type}`);
  return adapter;
}
