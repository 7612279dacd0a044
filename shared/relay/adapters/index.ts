import type { ChannelType } from "../../store/channels";
import type { ChannelAdapter } from "./adapter";
import { azureAdapter } from "./azure";
import { azureSpeechAdapter } from "./azure-speech";
import { openaiAdapter } from "./openai";

const adapters: Record<ChannelType, ChannelAdapter> = {
  openai: openaiAdapter,
  azure: azureAdapter,
  "azure-speech": azureSpeechAdapter,
};

/** The channel types this build can relay to. */
export function supportedChannelTypes(): ChannelType[] {
  return Object.keys(adapters) as ChannelType[];
}

export function adapterFor(type: ChannelType): ChannelAdapter {
  return adapters[type];
}
