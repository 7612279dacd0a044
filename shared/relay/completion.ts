import type { KeyPrincipal } from "../auth/authenticate";
import type { Quote } from "../billing/charge";
import { completionTokensOf, type Metered } from "../billing/metered";
import { InvalidRequest, UpstreamRejected } from "../errors";
import {
  isObject,
  type JsonObject,
  optionalBoolean,
  optionalCount,
  readJsonObject,
  requireString,
} from "../http/body";
import { eventStream, json, rawJson } from "../http/responses";
import type { Call } from "../http/route";
import type { GatewayResponse } from "../http/types";
import type { ChannelRecord } from "../store/channels";
import { BridgedCompletionRelay } from "../stream/bridged-completion-stream";
import { CompletionStreamRelay } from "../stream/completion-stream";
import { relaySse, type StreamOutcome } from "../stream/relay-stream";
import type { StreamUsage, UpstreamCall } from "./adapters/adapter";
import { adapterFor } from "./adapters/index";
import type { Bridge, BridgeContext } from "./bridges/bridge";
import { bridgeFor, inClientTerms, servingProtocol } from "./bridges/index";
import { chatServedBy, refusedForResponses } from "./chat-serving";
import { type AnswerSoFar, estimatedAnswer } from "./estimate";
import { type Operation, operationOf, type Protocol, pathOf } from "./protocol";
import {
  type Consumption,
  consumedWhole,
  type Meter,
  parseJsonObject,
  readUpstreamBody,
  relayed,
  streamOptions,
  unconvertibleAnswer,
} from "./relay";
import type { OpenUpstream } from "./upstream";

/** What the model reads of a request, bounded from above. */
export interface PromptBound {
  /** At least as many tokens as the model will read: sizes the hold. */
  upper: number;
  /** Output tokens max_tokens does not bound (a prediction the model rejects). */
  unboundedOutput?: number;
}

/** How chat completions and legacy completions differ; everything else they share. */
export interface CompletionApi {
  kind: "chat" | "text";
  endpoint: "/v1/chat/completions" | "/v1/completions";
  path: "/chat/completions" | "/completions";
  prompt(body: JsonObject, model: string): PromptBound;
  /**
   * Estimates for an upstream that reports no usage (billing/estimates/chat.ts), by the
   * tokenizer of `model` (the upstream's): the prompt's kinds, and a whole answer's.
   */
  estimatePrompt(body: JsonObject, model: string): Promise<Metered>;
  estimateAnswer(completion: JsonObject | undefined, model: string): Promise<Metered>;
  /** The field that bounds the answer when the caller sets none (reasoning models differ). */
  limitField(model: string): "max_tokens" | "max_completion_tokens";
  /**
   * The model reasons before it answers, by its name: an answer that ends without usage is
   * billed for its silence as reasoning (relay/estimate.ts), before a call has said so.
   */
  reasoningModel(model: string): boolean;
}

/** Answers above this many tokens exist nowhere: a larger max_tokens is a mistake (400). */
const MAX_TOKENS_LIMIT = 10_000_000;

/**
 * A chat or legacy completion, plain or streamed: `n` capped, usage always requested from
 * streaming upstreams, the answer bounded by the max_tokens the hold covers, the model name
 * reported as the client asked for it, Reduce-Stream honoured, the hold settled from the
 * upstream's usage (as the channel's adapter reads it: every kind) or, lacking it, from
 * sluice's estimate.
 */
export async function relayCompletion(
  call: Call<KeyPrincipal>,
  api: CompletionApi,
): Promise<GatewayResponse> {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  // The fields that change what a call costs are checked, not guessed at.
  const stream = optionalBoolean(body, "stream") ?? false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options))
      throw new InvalidRequest(
        "Invalid type for 'stream_options': expected an object.",
        "stream_options",
        "invalid_type",
      );
  }
  for (const field of ["n", "best_of"]) optionalCount(body, field);
  const [maxTokens, maxCompletionTokens] = ["max_tokens", "max_completion_tokens"].map((field) =>
    optionalCount(body, field, 1, MAX_TOKENS_LIMIT),
  );
  capChoices(body, call.services.settings.maxChoices);
  const clientWantsUsage =
    stream && isObject(body.stream_options) && body.stream_options.include_usage === true;
  const reduce = stream && call.request.headers["reduce-stream"]?.toLowerCase() === "true";
  const prompt = api.prompt(body, model);
  const choices = choicesOf(body);
  /**
   * The answer's bound as the upstream gets it: every limit the caller sent, at most what is
   * held (an upstream may read either field: each must keep within the hold), or the model's
   * own field when the caller sent none.
   */
  const limits = (outputTokens: number | undefined): JsonObject => {
    if (outputTokens === undefined) return {};
    if (maxTokens === undefined && maxCompletionTokens === undefined)
      return { [api.limitField(model)]: outputTokens };
    return {
      ...(maxTokens !== undefined && { max_tokens: Math.min(maxTokens, outputTokens) }),
      ...(maxCompletionTokens !== undefined && {
        max_completion_tokens: Math.min(maxCompletionTokens, outputTokens),
      }),
    };
  };

  const op: Operation = api.kind === "chat" ? "chat" : "completion";
  /**
   * What a bridge knows of the call on `channel`: the client's model (answers name it), the
   * channel's options, its type, the channel's name for the model, and the answer's bound as
   * held. The usage chunk is always
   * written; the chat relay removes it again unless the client asked (as for chat upstreams).
   */
  const bridgeContext = (
    channel: ChannelRecord,
    call: { upstreamModel?: string; outputTokens?: number } = {},
  ): BridgeContext => ({
    model,
    options: {
      ...channel.config,
      channel: channel.type,
      upstreamModel: call.upstreamModel,
      maxTokens: call.outputTokens,
      includeUsage: true,
    },
  });
  /** The bridge of the channel last sent the call: an upstream's refusal comes from it. */
  let lastBridge: Bridge | undefined;

  const rates = call.services.generationRates;
  /** The answer's tokens estimated from what the upstream sent and how long it was silent. */
  const answerEstimate = (
    where: { channel: { id: string }; upstreamModel: string },
    quoted: Quote,
    answer: AnswerSoFar,
  ) =>
    estimatedAnswer(answer, {
      name: where.upstreamModel,
      rate: rates.of(where.channel.id, where.upstreamModel),
      reasoningModel: api.reasoningModel(where.upstreamModel),
      cap: quoted.outputTokens === undefined ? undefined : quoted.outputTokens * choices,
    });

  // Which (channel, model) pairs serve chat only on Responses, as known when the call began,
  // and those this call finds out (their refusal is sent again at once through the bridge).
  const known = op === "chat" ? await call.services.protocolGaps.known() : undefined;
  const foundWithoutChat = new Set<string>();
  const lacksChat = (channel: ChannelRecord) =>
    foundWithoutChat.has(channel.id) || known?.lacks(channel.id, model, "chat") === true;
  const build = (
    upstreamModel: string,
    channel: ChannelRecord,
    quoted: Quote,
  ): Omit<UpstreamCall, "path" | "model" | "upstreamModel"> & { path?: string } => {
    const served = servedBy(channel, op, model, upstreamModel, lacksChat(channel));
    lastBridge = served.bridge;
    if (served.bridge) {
      const converted = served.bridge.request(
        body,
        bridgeContext(channel, { upstreamModel, outputTokens: quoted.outputTokens }),
      );
      return {
        path: pathOf(served.protocol),
        json: { ...converted, model: upstreamModel },
        ...(served.bridge.headers && { headers: { ...served.bridge.headers } }),
      };
    }
    return {
      json: {
        ...body,
        model: upstreamModel,
        ...limits(quoted.outputTokens),
        // Usage is always requested so that streams can be billed exactly.
        ...(stream && {
          stream_options: {
            ...(isObject(body.stream_options) ? body.stream_options : {}),
            include_usage: true,
          },
        }),
      },
    };
  };

  return relayed(
    call,
    {
      model,
      endpoint: api.endpoint,
      path: api.path,
      // Chat calls reach channels that speak Messages too, through the chat → Messages bridge.
      bridged: api.kind === "chat",
      charge: {
        dimension: "tokens",
        maxUse: { inputTokens: prompt.upper },
        output: {
          requested: maxCompletionTokens ?? maxTokens,
          choices,
          unbounded: prompt.unboundedOutput,
        },
        stream,
      },
      build,
      // A model the upstream serves only on Responses (nothing was processed): the same call
      // through the chat → Responses bridge, at once; remembered once that answers.
      resend: (channel, sent, answer, quoted) => {
        if (op !== "chat" || sent.path !== pathOf("chat") || !refusedForResponses(answer))
          return undefined;
        const adapter = adapterFor(channel.type);
        if (!chatServedBy(channel, adapter, model, sent.upstreamModel, true)) return undefined;
        foundWithoutChat.add(channel.id);
        // The refusal says so in words: remembered now, even if the bridge cannot carry this call.
        const learning = call.services.protocolGaps
          .learn(channel.id, model, "chat", "only supported in v1/responses")
          .catch((err: unknown) =>
            call.services.log.warn("protocol gap not recorded", { error: String(err) }),
          );
        call.context.afterResponse(() => learning);
        return {
          call: { ...sent, raw: undefined, ...build(sent.upstreamModel, channel, quoted) },
          why: "the model is served only on /responses: sent through the chat → Responses bridge",
        };
      },
      // The answer did not begin in time and could not be had: the prompt, and what the
      // upstream generated unseen meanwhile.
      estimate: async (late, quoted) => ({
        ...(await api.estimatePrompt(body, late.upstreamModel)),
        ...(await answerEstimate(late, quoted, {
          text: "",
          reasoningText: "",
          silentMs: late.silentMs,
          unstreamed: !stream,
        })),
      }),
    },
    async (upstream, quoted): Promise<Consumption> => {
      const reportModel = upstream.upstreamModel === model ? undefined : model;
      const upstreamModel = upstream.upstreamModel;
      // How the channel speaks the operation (channelsForModel kept only channels serving it).
      const adapter = adapterFor(upstream.channel.type);
      const { protocol, bridge } = sentIn(upstream, op, model, lacksChat(upstream.channel));
      const reader = adapter.usage(protocol);
      /** The estimate, with the answer's: only what the upstream did not report is estimated. */
      const estimated = async (answer: Promise<Metered>): Promise<Metered> => ({
        ...(await api.estimatePrompt(body, upstreamModel)),
        ...(await answer),
      });
      // How fast the (channel, model) generates, from an answer whose usage came.
      const learn = (usage: Metered, tokens: number, ms: number) =>
        rates.learn(upstream.channel.id, upstream.upstreamModel, {
          tokens,
          ms,
          reasons: (usage.reasoningTokens ?? 0) > 0,
        });
      if (stream) {
        const source = upstream.response.body;
        if (!source) throw new UpstreamRejected("unreachable", "The upstream sent no stream.");
        let end!: (value: { outcome: StreamOutcome; meter: Meter }) => void;
        const ended = new Promise<{ outcome: StreamOutcome; meter: Meter }>((resolve) => {
          end = resolve;
        });
        const converter = bridge?.stream(bridgeContext(upstream.channel));
        // A bridged stream is billed from the bridge's reading of the channel's own events.
        const streamUsage: StreamUsage | undefined = converter
          ? { read: () => {}, metered: () => converter.metered() }
          : reader?.stream();
        const streamRelay = new CompletionStreamRelay(
          {
            kind: api.kind,
            reportModel,
            stripUsage: !clientWantsUsage,
            reduce,
            usage: streamUsage,
          },
          (outcome, r) => {
            const endedAt = performance.now();
            const usage = streamUsage?.metered();
            const firstTokenAt = r.firstTokenAt ?? endedAt;
            if (usage && outcome === "completed") {
              // The silence before the first token is what an estimate bills by this rate.
              const reasoning = usage.reasoningTokens ?? 0;
              if (reasoning > 0) learn(usage, reasoning, firstTokenAt - upstream.sentAt);
              else learn(usage, completionTokensOf(usage), endedAt - firstTokenAt);
            }
            end({
              outcome,
              // Without usage: the prompt counted, the answer as far as it went, and the
              // model's silence before it (reasoning) at its rate.
              meter: () =>
                usage ??
                estimated(
                  answerEstimate(upstream, quoted, {
                    text: r.deliveredText,
                    reasoningText: r.deliveredReasoning,
                    silentMs: firstTokenAt - upstream.sentAt,
                  }),
                ),
            });
          },
        );
        return {
          response: eventStream(
            relaySse(
              source,
              converter ? new BridgedCompletionRelay(converter, streamRelay) : streamRelay,
              upstream.abort,
              streamOptions(call, upstream, model, protocol),
            ),
          ),
          ended,
        };
      }
      const bytes = await readUpstreamBody(call, upstream);
      const answer = parseJsonObject(bytes);
      if (bridge && !answer) throw unconvertibleAnswer();
      const usage = reader?.answer(answer);
      const completion =
        bridge && answer ? bridge.answer(answer, bridgeContext(upstream.channel)) : answer;
      if (usage) learn(usage, completionTokensOf(usage), performance.now() - upstream.sentAt);
      const meter = () => usage ?? estimated(api.estimateAnswer(completion, upstreamModel));
      if (bridge && completion) return consumedWhole(json(200, completion), meter);
      if (!reportModel || !completion) return consumedWhole(rawJson(200, bytes), meter);
      completion.model = reportModel;
      return consumedWhole(rawJson(200, JSON.stringify(completion)), meter);
    },
  ).catch((err: unknown) => {
    throw inClientTerms(err, lastBridge);
  });
}

/**
 * How a channel serves the operation: a chat call for a model it serves only on Responses
 * through the chat → Responses bridge (chat-serving.ts), else in its own protocol or through
 * the bridge of a pair (relay.ts kept only channels that can).
 */
function servedBy(
  channel: ChannelRecord,
  op: Operation,
  model: string,
  upstreamModel: string,
  lacksChat: boolean,
): { protocol: Protocol; bridge?: Bridge } {
  const adapter = adapterFor(channel.type);
  const responsesOnly =
    op === "chat" ? chatServedBy(channel, adapter, model, upstreamModel, lacksChat) : undefined;
  if (responsesOnly) return responsesOnly;
  return servingProtocol(adapter, op) ?? { protocol: adapter.operations[op] ?? op };
}

/**
 * The protocol the call that opened `upstream` was sent in (its path says it; a call sent again
 * through a bridge changed it), with its bridge; without the call, the one servedBy builds.
 */
function sentIn(
  upstream: OpenUpstream,
  op: Operation,
  model: string,
  lacksChat: boolean,
): { protocol: Protocol; bridge?: Bridge } {
  const protocol = upstream.call && operationOf(upstream.call.path);
  if (protocol === undefined)
    return servedBy(upstream.channel, op, model, upstream.upstreamModel, lacksChat);
  const bridge = protocol === op ? undefined : bridgeFor(op, protocol);
  return bridge ? { protocol, bridge } : { protocol };
}

/** `n` above the configured maximum is capped to it (seed 002: "no more than 1"). */
function capChoices(body: JsonObject, max: number): void {
  if (typeof body.n === "number" && body.n > max) body.n = max;
}

function choicesOf(body: JsonObject): number {
  const n = typeof body.n === "number" && body.n > 1 ? body.n : 1;
  const bestOf = typeof body.best_of === "number" && body.best_of > n ? body.best_of : n;
  return bestOf;
}
