import { type Message, msg } from "../messages/codes";
import type { ChannelRecord } from "../store/channels";
import type { ChannelAdapter } from "./adapters/adapter";
import type { Bridge } from "./bridges/bridge";
import { REASONING_SUMMARIES } from "./bridges/chat-to-responses/options";
import { bridgeFor } from "./bridges/index";
import type { Protocol } from "./protocol";
import type { RefusedAnswer } from "./upstream";

/*
 * Which models an `openai` channel serves only on the Responses API (OpenAI's `-pro` and
 * `codex` models answer chat with "This model is only supported in v1/responses"): a chat call
 * for such a (channel, model) goes through the chat → Responses bridge. Known two ways: the
 * channel's config pins them (`responses_only`), or the upstream said so (the refusal is sent
 * again at once through the bridge, and the pair remembered as a `chat` gap by
 * relay/protocol-gaps.ts, shared by every instance and rechecked like the Responses face's).
 */

/**
 * A channel's config key `responses_only`: the models (comma-separated, as clients name them
 * or as the channel's mapping names them upstream; `*` for every model) the channel serves only
 * on /responses.
 */
const RESPONSES_ONLY = "responses_only";

/** A model name in the list: no spaces or commas, as model names are. */
const NAME = /^[^\s,]+$/;

/**
 * What is wrong with a channel config's `responses_only`, or with its `reasoning_summary` (the
 * summary bridged chat calls ask for: chat-to-responses/options.ts), or undefined.
 */
export function responsesOnlyConfigProblem(
  config: Readonly<Record<string, string>>,
): Message | undefined {
  const summary = config.reasoning_summary;
  if (summary !== undefined && !(REASONING_SUMMARIES as readonly string[]).includes(summary))
    return msg("channel_config_not_one_of", {
      key: "reasoning_summary",
      allowed: REASONING_SUMMARIES.join(", "),
      value: summary,
    });
  const value = config[RESPONSES_ONLY];
  if (value === undefined) return undefined;
  const names = value.split(",").map((name) => name.trim());
  const bad = names.find((name) => !NAME.test(name));
  if (bad === undefined) return undefined;
  return msg("channel_models_list_invalid", { key: RESPONSES_ONLY, value: bad });
}

/**
 * How the channel (spoken to by `adapter`) serves a chat call for `model` (`upstreamModel`
 * after its mapping) when the model is Responses-only there (pinned, or `lacksChat`: known or
 * just found so): through the chat → Responses bridge. Undefined otherwise (the channel's own
 * protocols decide), and for a channel with no Responses API.
 */
export function chatServedBy(
  channel: ChannelRecord,
  adapter: ChannelAdapter,
  model: string,
  upstreamModel: string,
  lacksChat: boolean,
): { protocol: Protocol; bridge: Bridge } | undefined {
  if (!adapter.operations.responses) return undefined;
  const pinned = channel.config[RESPONSES_ONLY]?.split(",").map((name) => name.trim()) ?? [];
  const only =
    lacksChat || pinned.includes("*") || pinned.includes(model) || pinned.includes(upstreamModel);
  const bridge = only ? bridgeFor("chat", "responses") : undefined;
  return bridge && { protocol: "responses", bridge };
}

/** The upstream's refusal of a chat call says the model is served only on Responses. */
export function refusedForResponses(answer: RefusedAnswer): boolean {
  return answer.reading.onlyIn === "responses";
}
