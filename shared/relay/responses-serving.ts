import { type Message, msg } from "../messages/codes";
import type { ChannelRecord } from "../store/channels";
import { saysNoSuchPath } from "./adapters/openai/errors";
import type { Bridge } from "./bridges/bridge";
import { bridgeFor } from "./bridges/index";
import { type Protocol, pathOf } from "./protocol";
import type { KnownGaps } from "./protocol-gaps";

/**
 * A channel's config key `responses`: how an `openai` channel serves /v1/responses.
 * - `auto` (default): natively, unless its host has been found to have no /responses for the
 *   model (relay/protocol-gaps.ts): then through the Responses → chat bridge to its
 *   /chat/completions. The first call finds out: a 404 or 405 that says the path does not
 *   exist (adapters/openai/errors.ts saysNoSuchPath) is sent again at once, through the
 *   bridge, and the gap remembered once that answers.
 * - `native`: always the host's own /responses; a 404 goes to the client.
 * - `bridge`: always through the bridge (DeepSeek, Qwen, GLM…): /responses is never called.
 * Other channel types serve Responses natively (Azure OpenAI) or not at all.
 */
const RESPONSES_MODES = ["auto", "native", "bridge"] as const;
type ResponsesMode = (typeof RESPONSES_MODES)[number];

/** What is wrong with a channel config's `responses`, or undefined. */
export function responsesConfigProblem(
  config: Readonly<Record<string, string>>,
): Message | undefined {
  const value = config.responses;
  if (value === undefined || (RESPONSES_MODES as readonly string[]).includes(value)) return;
  return msg("channel_config_not_one_of", {
    key: "responses",
    allowed: RESPONSES_MODES.join(", "),
    value,
  });
}

function responsesMode(channel: ChannelRecord): ResponsesMode {
  if (channel.type !== "openai") return "native";
  const value = channel.config.responses;
  return value === "native" || value === "bridge" ? value : "auto";
}

/** How a call is sent to a channel: in the Responses protocol, or through a bridge to another. */
export interface ResponsesServing {
  protocol: Protocol;
  bridge?: Bridge;
}

const NATIVE: ResponsesServing = { protocol: "responses" };

/** Through the Responses → chat bridge. */
function bridged(): ResponsesServing {
  const bridge = bridgeFor("responses", "chat");
  return bridge ? { protocol: "chat", bridge } : NATIVE;
}

/**
 * How a candidate channel serves a Responses call for `model` (the client's name), given the
 * gaps known when the call began.
 */
export function responsesServedBy(
  channel: ChannelRecord,
  model: string,
  known: KnownGaps,
): ResponsesServing {
  const mode = responsesMode(channel);
  if (mode === "bridge") return bridged();
  if (mode === "auto" && known.lacks(channel.id, model, "responses")) return bridged();
  return NATIVE;
}

/**
 * Whether the channel's answer to a native call says it has no /responses, and the call may be
 * sent again at once through the bridge: only a channel left to `auto`, and only an answer that
 * says the path does not exist (nothing was processed, nothing billed).
 */
export function answersNoResponses(channel: ChannelRecord, status: number, text: string): boolean {
  return responsesMode(channel) === "auto" && saysNoSuchPath(status, text);
}

/** The bridge a call sent on `path` went through, if it was sent through one. */
export function servedOn(path: string | undefined): ResponsesServing {
  return path === pathOf("chat") ? bridged() : NATIVE;
}

/**
 * What a bridge reads of the channel: its config (strings), its type and its base URL (the
 * bridge omits `reasoning_content` on hosts that refuse it, messages-to-chat/options.ts).
 */
export function bridgeOptions(channel: ChannelRecord): Record<string, unknown> {
  return { ...channel.config, channel: channel.type, baseUrl: channel.baseUrl };
}
