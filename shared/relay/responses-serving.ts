import type { ChannelRecord } from "../store/channels";
import type { Bridge } from "./bridges/bridge";
import { bridgeFor } from "./bridges/index";
import type { Protocol } from "./protocol";

/**
 * A channel's config key `responses`: how an `openai` channel serves /v1/responses. `native`
 * (default): the body passes through to the host's own /responses. `bridge`: through the
 * Responses → chat bridge to its /chat/completions, for OpenAI-compatible hosts that have no
 * /responses (DeepSeek, Qwen, GLM).
 */
const RESPONSES_MODES = ["native", "bridge"] as const;

/** What is wrong with a channel config's `responses`, or undefined. */
export function responsesConfigProblem(
  config: Readonly<Record<string, string>>,
): string | undefined {
  const value = config.responses;
  if (value === undefined || (RESPONSES_MODES as readonly string[]).includes(value)) return;
  return `config.responses must be one of ${RESPONSES_MODES.join(", ")}; "${value}" is not.`;
}

/** How a candidate channel serves a Responses call: natively, or through the chat bridge. */
export function responsesServedBy(channel: ChannelRecord): { protocol: Protocol; bridge?: Bridge } {
  if (channel.config.responses !== "bridge") return { protocol: "responses" };
  const bridge = bridgeFor("responses", "chat");
  return bridge ? { protocol: "chat", bridge } : { protocol: "responses" };
}

/**
 * What a bridge reads of the channel: its config (strings), its type and its base URL (the
 * bridge omits `reasoning_content` on hosts that refuse it, messages-to-chat/options.ts).
 */
export function bridgeOptions(channel: ChannelRecord): Record<string, unknown> {
  return { ...channel.config, channel: channel.type, baseUrl: channel.baseUrl };
}
