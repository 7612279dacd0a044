import type { KeyPrincipal } from "../auth/authenticate";
import type { Quote } from "../billing/charge";
import type { Metered } from "../billing/metered";
import { UpstreamRejected } from "../errors";
import type { JsonObject } from "../http/body";
import { anthropicRateLimitHeaders } from "../http/rate-limit-headers";
import { eventStream, json, rawJson } from "../http/responses";
import { anthropicRoute, type Call } from "../http/route";
import type { GatewayResponse } from "../http/types";
import type { StreamUsage } from "../relay/adapters/adapter";
import { allowedBetas, filterBetas } from "../relay/adapters/bedrock/index";
import { adapterFor } from "../relay/adapters/index";
import type { Bridge } from "../relay/bridges/bridge";
import { inClientTerms, servingProtocol } from "../relay/bridges/index";
import { cleanSluiceThinking } from "../relay/bridges/signatures";
import { type AnswerSoFar, estimatedAnswer } from "../relay/estimate";
import { spliceTopLevel } from "../relay/json-splice";
import { type Protocol, pathOf } from "../relay/protocol";
import {
  type Consumption,
  consumedWhole,
  learnGenerationRate,
  type Meter,
  parseJsonObject,
  readUpstreamBody,
  relayed,
  streamOptions,
  unconvertibleAnswer,
} from "../relay/relay";
import type { OpenUpstream } from "../relay/upstream";
import type { ChannelRecord } from "../store/channels";
import { BridgedFaceRelay, type Delivered } from "../stream/face-relays";
import { relaySse, type SseRelay, type StreamOutcome } from "../stream/relay-stream";
import { estimateMessagesPrompt, promptSide } from "./estimate";
import { forwardedHeaders, type MessagesRequest, readMessagesRequest, sessionOf } from "./request";
import { MessagesStreamRelay, recordMessagesDelta } from "./stream";

/** POST /v1/messages (Claude Code sends `?beta=true`: the query is not read), plain and streamed. */
export const createMessage = anthropicRoute("POST", "/v1/messages", (call) =>
  relayMessages(call, readMessagesRequest(call.request)),
);

/**
 * A Messages call, billed as a chat call is: held before the upstream is called (the prompt
 * bounded by the body's bytes, the answer by its max_tokens, lowered by splicing when the
 * balance does not cover it, never below an enabled thinking budget), settled from the usage
 * the upstream reports. To an Anthropic-native channel the body and the answer pass through
 * as they are (only `model` spliced when the channel maps it, `max_tokens` when lowered; the
 * thinking blocks sluice signed for a chat channel's reasoning taken out, signatures.ts, and
 * `x-sluice-thinking: dropped` said); to a channel that speaks another protocol, through that
 * pair's bridge.
 */
async function relayMessages(
  call: Call<KeyPrincipal>,
  request: MessagesRequest,
): Promise<GatewayResponse> {
  const { body, model, maxTokens, stream } = request;
  const headers = forwardedHeaders(call.request);
  const rates = call.services.generationRates;
  /** The bridge of the channel last sent the call: an upstream's refusal comes from it. */
  let lastBridge: Bridge | undefined;
  /** The history without sluice's thinking blocks, for an Anthropic-native channel (once). */
  let cleaned: { raw: Uint8Array; thinkingDropped: boolean } | undefined;
  const nativeBody = () => {
    if (cleaned) return cleaned;
    const history = cleanSluiceThinking(body);
    cleaned = history
      ? { raw: new TextEncoder().encode(JSON.stringify(history.body)), thinkingDropped: true }
      : { raw: request.raw, thinkingDropped: false };
    return cleaned;
  };
  /** Whether the channel last sent the call got a history with sluice's thinking removed. */
  let droppedThinking = false;
  const answerEstimate = (
    where: { channel: ChannelRecord; upstreamModel: string },
    quoted: Quote,
    answer: AnswerSoFar,
  ) =>
    estimatedAnswer(answer, {
      name: where.upstreamModel,
      rate: rates.of(where.channel.id, where.upstreamModel),
      reasoningModel: false,
      cap: quoted.outputTokens,
    });
  try {
    const response = await relayed(
      call,
      {
        model,
        endpoint: "/v1/messages",
        path: pathOf("messages"),
        bridged: true,
        affinity: sessionOf(call.request, body),
        rateLimitHeaders: anthropicRateLimitHeaders,
        charge: {
          dimension: "tokens",
          // One token per byte bounds text; base64 images cost far fewer tokens than bytes.
          maxUse: { inputTokens: request.raw.length },
          output: {
            requested: maxTokens,
            choices: 1,
            minimum: request.thinkingBudget === undefined ? undefined : request.thinkingBudget + 1,
          },
          stream,
        },
        build: (upstreamModel, channel, quoted) => {
          const served = servedBy(channel);
          const outputTokens = Math.min(quoted.outputTokens ?? maxTokens, maxTokens);
          lastBridge = served.bridge;
          droppedThinking = false;
          if (!served.bridge) {
            // Anthropic refuses the signatures sluice minted for a chat upstream's reasoning.
            const native = nativeBody();
            droppedThinking = native.thinkingDropped;
            const set: JsonObject = {
              ...(upstreamModel !== model && { model: upstreamModel }),
              ...(outputTokens < maxTokens && { max_tokens: outputTokens }),
            };
            const raw =
              Object.keys(set).length === 0
                ? native.raw
                : spliceTopLevel(native.raw, { set }, true);
            return { raw, headers };
          }
          const converted = served.bridge.request(
            { ...body, max_tokens: outputTokens },
            { model, options: bridgeOptions(channel) },
          );
          return {
            path: pathOf(served.protocol),
            json: { ...converted, model: upstreamModel },
            headers,
          };
        },
        estimate: async (late, quoted) => ({
          ...(await estimateMessagesPrompt(body, late.upstreamModel)),
          ...(await answerEstimate(late, quoted, {
            text: "",
            reasoningText: "",
            silentMs: late.silentMs,
            unstreamed: !stream,
          })),
        }),
      },
      async (upstream, quoted) =>
        stream
          ? consumeStream(call, request, upstream, quoted, answerEstimate)
          : consumeWhole(call, request, upstream, quoted, answerEstimate),
    );
    if (droppedThinking) response.headers["x-sluice-thinking"] = "dropped";
    return response;
  } catch (err) {
    throw inClientTerms(err, lastBridge);
  }
}

/** How a candidate channel serves Messages (relay.ts kept only channels that can). */
function servedBy(channel: ChannelRecord): { protocol: Protocol; bridge?: Bridge } {
  return servingProtocol(adapterFor(channel.type), "messages") ?? { protocol: "messages" };
}

/**
 * What a bridge reads of the channel: its config (strings), its type and its base URL (the
 * Messages → chat bridge omits `reasoning_content` on hosts that refuse it, options.ts).
 */
function bridgeOptions(channel: ChannelRecord): Record<string, unknown> {
  return { ...channel.config, channel: channel.type, baseUrl: channel.baseUrl };
}

type AnswerEstimate = (
  where: { channel: ChannelRecord; upstreamModel: string },
  quoted: Quote,
  answer: AnswerSoFar,
) => Promise<Metered>;

function readerFor(upstream: OpenUpstream) {
  const adapter = adapterFor(upstream.channel.type);
  const served = servingProtocol(adapter, "messages") ?? { protocol: "messages" as const };
  return { adapter, ...served, reader: adapter.usage(served.protocol) };
}

async function consumeWhole(
  call: Call<KeyPrincipal>,
  request: MessagesRequest,
  upstream: OpenUpstream,
  quoted: Quote,
  answerEstimate: AnswerEstimate,
): Promise<Consumption> {
  const { model, body } = request;
  const { bridge, reader } = readerFor(upstream);
  const bytes = await readUpstreamBody(call, upstream);
  const answer = parseJsonObject(bytes);
  if (bridge && !answer) throw unconvertibleAnswer();
  const usage = reader?.answer(answer);
  // How fast the (channel, model) generates: what a late answer's estimate bills by.
  if (usage) learnGenerationRate(call, upstream, usage, performance.now() - upstream.sentAt);
  const meter = async () =>
    usage ?? {
      ...(await estimateMessagesPrompt(body, upstream.upstreamModel)),
      ...(await answerEstimate(upstream, quoted, {
        text: JSON.stringify(answer?.content ?? answer?.choices ?? ""),
        reasoningText: "",
        silentMs: 0,
      })),
    };
  const response =
    bridge && answer
      ? json(200, bridge.answer(answer, { model, options: bridgeOptions(upstream.channel) }))
      : upstream.upstreamModel === model || typeof answer?.model !== "string"
        ? rawJson(200, bytes)
        : rawJson(200, spliceTopLevel(bytes, { set: { model } }));
  Object.assign(response.headers, betasDropped(call, upstream));
  return consumedWhole(response, meter);
}

/**
 * `x-sluice-betas-dropped`: the client's betas that did not reach a Bedrock channel, kept out
 * by its allow-list (betas.ts) or by the resend after Bedrock refused one, so that a client
 * missing a feature can see why; nothing for other channels.
 */
function betasDropped(call: Call<KeyPrincipal>, upstream: OpenUpstream): Record<string, string> {
  const { channel } = upstream;
  if (channel.type !== "bedrock") return {};
  const asked = filterBetas(call.request.headers["anthropic-beta"], []).dropped;
  const sentHeader = upstream.call?.headers?.["anthropic-beta"];
  const { kept } = filterBetas(sentHeader, allowedBetas(channel.config));
  const dropped = asked.filter((beta) => !kept.includes(beta));
  return dropped.length > 0 ? { "x-sluice-betas-dropped": dropped.join(",") } : {};
}

function consumeStream(
  call: Call<KeyPrincipal>,
  request: MessagesRequest,
  upstream: OpenUpstream,
  quoted: Quote,
  answerEstimate: AnswerEstimate,
): Consumption {
  const { model, body } = request;
  const { protocol, bridge, reader } = readerFor(upstream);
  const source = upstream.response.body;
  if (!source) throw new UpstreamRejected("unreachable", "The upstream sent no stream.");
  let end!: (value: { outcome: StreamOutcome; meter: Meter }) => void;
  const ended = new Promise<{ outcome: StreamOutcome; meter: Meter }>((resolve) => {
    end = resolve;
  });
  /**
   * The usage the upstream reported; what it did not report by the end (a client that left,
   * an upstream that broke off) is estimated: the prompt is exact once message_start came,
   * the answer is what was delivered, counted, capped by the hold.
   */
  const meterOf =
    (usage: StreamUsage | undefined, delivered: () => { text: string; at?: number }) =>
    async (): Promise<Metered> => {
      const reported = usage?.metered();
      // A Messages stream's output is final only once message_delta came.
      const complete = usage?.final !== false;
      if (reported && complete) return reported;
      const { text, at } = delivered();
      const answer = await answerEstimate(upstream, quoted, {
        text,
        reasoningText: "",
        silentMs: (at ?? performance.now()) - upstream.sentAt,
      });
      const prompt = reported
        ? promptSide(reported)
        : await estimateMessagesPrompt(body, upstream.upstreamModel);
      return { ...prompt, ...answer };
    };
  let relay: SseRelay;
  if (bridge) {
    const converter = bridge.stream({
      model,
      options: bridgeOptions(upstream.channel),
    });
    const delivered: Delivered = { text: "", firstTokenAt: undefined };
    relay = new BridgedFaceRelay(converter, delivered, recordMessagesDelta, (outcome) =>
      end({
        outcome,
        meter: async () =>
          converter.metered() ??
          (await meterOf(undefined, () => ({
            text: delivered.text,
            at: delivered.firstTokenAt,
          }))()),
      }),
    );
  } else {
    const usage = reader?.stream();
    const passed: MessagesStreamRelay = new MessagesStreamRelay(
      {
        reportModel: upstream.upstreamModel === model ? undefined : model,
        usage,
        stopped: () => call.request.signal?.aborted === true,
      },
      (outcome) => {
        const reported = usage?.metered();
        const began = passed.delivered.firstTokenAt;
        if (outcome === "completed" && reported && began !== undefined)
          learnGenerationRate(call, upstream, reported, performance.now() - began);
        end({
          outcome,
          meter: meterOf(usage, () => ({
            text: passed.delivered.text,
            at: passed.delivered.firstTokenAt,
          })),
        });
      },
    );
    relay = passed;
  }
  const response = eventStream(
    relaySse(source, relay, upstream.abort, streamOptions(call, upstream, model, protocol)),
  );
  Object.assign(response.headers, betasDropped(call, upstream));
  return { response, ended };
}
