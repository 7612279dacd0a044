import type { ChannelRecord, ChannelType } from "../../store/channels";
import type { ChannelAdapter } from "./adapter";
import { anthropicAdapter } from "./anthropic";
import { azureAdapter } from "./azure";
import { azureSpeechAdapter } from "./azure-speech";
import { openaiAdapter } from "./openai";

const adapters: Record<ChannelType, ChannelAdapter> = {
  openai: openaiAdapter,
  azure: azureAdapter,
  "azure-speech": azureSpeechAdapter,
  anthropic: anthropicAdapter,
};

/** The channel types this build can relay to. */
export function supportedChannelTypes(): ChannelType[] {
  return Object.keys(adapters) as ChannelType[];
}

export function adapterFor(type: ChannelType): ChannelAdapter {
  return adapters[type];
}

/**
 * The name a channel knows a client's model by: the channel's mapping, or else the
 * provider's own naming. Any name but the client's is reported back as the client's.
 */
export function upstreamModelFor(channel: ChannelRecord, model: string): string {
  return (
    channel.modelMapping[model] ?? adapterFor(channel.type).defaultUpstreamModel?.(model) ?? model
  );
}

/**
 * The model a channel serves a client's model as, by its mapping (the model itself when the
 * channel maps it to none): whose price bills the call (billing/cost.ts: priceFor). A
 * provider's own naming (an Azure deployment) is the same model.
 */
export function servedModel(channel: ChannelRecord, model: string): string {
  return channel.modelMapping[model] ?? model;
}
