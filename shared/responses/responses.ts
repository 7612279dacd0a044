import type { KeyPrincipal } from "../auth/authenticate";
import type { Quote } from "../billing/charge";
import type { Metered } from "../billing/metered";
import { UpstreamRejected } from "../errors";
import { isObject, type JsonObject } from "../http/body";
import { eventStream, json, rawJson } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import type { UpstreamCall } from "../relay/adapters/adapter";
import { adapterFor } from "../relay/adapters/index";
import type { Bridge, BridgeContext } from "../relay/bridges/bridge";
import { inClientTerms } from "../relay/bridges/index";
import { isSluiceReasoning, omittedTools } from "../relay/bridges/responses-to-chat/index";
import { type AnswerSoFar, estimatedAnswer } from "../relay/estimate";
import { spliceTopLevel } from "../relay/json-splice";
import { pathOf } from "../relay/protocol";
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
import {
  answersNoResponses,
  bridgeOptions,
  type ResponsesServing,
  responsesServedBy,
  servedOn,
} from "../relay/responses-serving";
import type { OpenUpstream } from "../relay/upstream";
import type { ChannelRecord } from "../store/channels";
import { drained, readToEnd } from "../stream/drained";
import { BridgedFaceRelay, type Delivered } from "../stream/face-relays";
import { relaySse, type SseRelay, type StreamOutcome } from "../stream/relay-stream";
import { estimateResponsesPrompt } from "./estimate";
import { type ResponsesRequest, readResponsesRequest } from "./request";
import {
  afterKept,
  continuationOf,
  holderUnavailable,
  ResponseKeeper,
  watchedBridge,
  withHistory,
} from "./stored";
import { ResponsesStreamRelay, recordResponsesDelta } from "./stream";

/** POST /v1/responses, plain and streamed. */
export const createResponse = keyRoute("POST", "/v1/responses", (call) =>
  relayResponses(call, readResponsesRequest(call.request)),
);

/**
 * GET /v1/responses with `Upgrade: websocket` is Codex's WebSocket transport (its
 * `supports_websockets`): sluice speaks HTTP only, and 426 at once makes Codex fall back to
 * HTTP after one logged failure (a 404 or 500 makes it retry, a 400 makes it exit). Without
 * the upgrade the path has no GET (OpenAI lists no responses): 404.
 */
export const upgradeResponses = keyRoute("GET", "/v1/responses", async (call) => {
  const websocket = call.request.headers.upgrade?.toLowerCase() === "websocket";
  if (!websocket) {
    return json(404, openAiError("Invalid URL (GET /v1/responses).", "invalid_request_error"));
  }
  return json(
    426,
    openAiError(
      "WebSocket is not supported on /v1/responses here: use HTTP (POST /v1/responses with stream: true).",
      "invalid_request_error",
      "websocket_not_supported",
    ),
  );
});

function openAiError(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

/**
 * A Responses call to a Responses-native channel, billed as a chat call is: held before the
 * upstream is called (the prompt bounded by the body's bytes, the answer by max_output_tokens
 * or the model's longest answer), settled from the usage the upstream reports (the Response's,
 * or a stream's final event's: reasoning and cached tokens priced by their kinds). The body
 * passes through as the client sent it: only `model` is spliced when the channel maps it, and
 * `max_output_tokens` when less is held than the client asked (or, when it asked for no limit,
 * than the model's longest answer by its price, which an unknown one has not). The answer passes through byte for byte, but
 * the model's name when mapped; sluice's own reasoning items are taken out of the input first
 * (OpenAI refuses them). An openai channel whose host has no /responses (known, found out by
 * this call's 404, or configured `responses: bridge`) is reached through the Responses → chat
 * bridge instead (relay/responses-serving.ts, relay/protocol-gaps.ts).
 */
async function relayResponses(
  call: Call<KeyPrincipal>,
  asked: ResponsesRequest,
): Promise<GatewayResponse> {
  // previous_response_id: the caller's own stored response or a 404, before any hold (stored.ts).
  const continuation = await continuationOf(call, asked.body);
  const keeper = new ResponseKeeper(call, asked.body, continuation);
  // A bridged chain is sent whole: its earlier turns rebuilt before this call's input.
  const request = continuation?.history
    ? rebuilt(asked, withHistory(asked.body, continuation.history))
    : asked;
  const { body, model, maxOutputTokens, stream } = request;
  // A background response goes on whether or not the client waits: sluice reads it to its end.
  const background = body.background === true;
  const rates = call.services.generationRates;
  const answerEstimate: AnswerEstimate = (where, quoted, answer) =>
    estimatedAnswer(answer, {
      name: where.upstreamModel,
      rate: rates.of(where.channel.id, where.upstreamModel),
      reasoningModel: false,
      cap: quoted.outputTokens,
    });
  const cacheKey = body.prompt_cache_key;
  /** The bridge of the channel last sent the call: an upstream's refusal comes from it. */
  let lastBridge: Bridge | undefined;
  const bridgeContext = (channel: ChannelRecord): BridgeContext => ({
    model,
    options: bridgeOptions(channel),
    // The client's own request: the Response says what it asked (its previous_response_id).
    request: asked.body,
    responseId: keeper.bridgedId,
  });
  /**
   * The body for a Responses-native channel: as the client sent it, but without the reasoning
   * items sluice minted for a chat channel's reasoning (OpenAI refuses their content), once.
   */
  let native: Uint8Array | undefined;
  const nativeRaw = (): Uint8Array => {
    if (native) return native;
    const input = Array.isArray(body.input) ? body.input : undefined;
    const kept = input?.filter((item) => !isSluiceReasoning(item));
    native =
      input && kept && kept.length < input.length
        ? spliceTopLevel(request.raw, { set: { input: kept } }, true)
        : request.raw;
    return native;
  };
  /** The body for one channel, served natively or through the bridge. */
  const buildFor = (
    upstreamModel: string,
    channel: ChannelRecord,
    quoted: Quote,
    served: ResponsesServing,
  ): Partial<UpstreamCall> => {
    lastBridge = served.bridge;
    const held = quoted.outputTokens;
    // Without a limit of the client's, the model's own longest answer bounds the upstream:
    // a limit is added only when less is held than that (a small balance, or a model whose
    // price names no longest answer and was held the site's default).
    const longest = (quoted.prices.get(upstreamModel) ?? quoted.price).defaultMaxTokens;
    const lower =
      held !== undefined &&
      (maxOutputTokens === undefined
        ? longest === undefined || held < longest
        : held < maxOutputTokens);
    if (served.bridge) {
      const converted = served.bridge.request(
        { ...body, ...(lower && { max_output_tokens: held }) },
        bridgeContext(channel),
      );
      return { path: pathOf(served.protocol), json: { ...converted, model: upstreamModel } };
    }
    const set = {
      ...(upstreamModel !== model && { model: upstreamModel }),
      ...(lower && { max_output_tokens: held }),
      // Its usage comes only at its end: streamed to sluice, which answers the client at once.
      ...(background && !stream && { stream: true }),
    };
    const history = nativeRaw();
    const raw = Object.keys(set).length === 0 ? history : spliceTopLevel(history, { set }, true);
    return { raw };
  };
  // What is known of the channels without /responses (relay/protocol-gaps.ts), and what this
  // call finds out: the channels whose /responses said it does not exist, and how.
  const known = await call.services.protocolGaps.known();
  const foundWithout = new Map<string, string>();
  try {
    const response = await relayed(
      call,
      {
        model,
        endpoint: "/v1/responses",
        path: pathOf("responses"),
        // Codex names the conversation in prompt_cache_key: one conversation, one upstream account.
        affinity: typeof cacheKey === "string" ? cacheKey : undefined,
        // A native previous response is held by its channel alone.
        ...(continuation &&
          !continuation.history && {
            pinned: {
              channelId: continuation.record.channelId,
              unavailable: () => holderUnavailable(continuation.record),
            },
          }),
        charge: {
          dimension: "tokens",
          // One token per byte bounds text; base64 images cost far fewer tokens than bytes.
          maxUse: { inputTokens: request.raw.length },
          output: { requested: maxOutputTokens, choices: 1 },
          stream: stream || background,
        },
        build: (upstreamModel, channel, quoted) =>
          buildFor(upstreamModel, channel, quoted, responsesServedBy(channel, model, known)),
        // A host found without /responses on this call: the same call through the bridge, at once.
        resend: (channel, sent, answer, quoted) => {
          if (sent.path !== pathOf("responses")) return undefined;
          if (!answersNoResponses(channel, answer.status, answer.text)) return undefined;
          const served = servedOn(pathOf("chat"));
          if (!served.bridge) return undefined;
          foundWithout.set(channel.id, `HTTP ${answer.status} on /responses`);
          const call = {
            ...sent,
            raw: undefined,
            ...buildFor(sent.upstreamModel, channel, quoted, served),
          };
          return {
            call,
            why: "no /responses on the host: sent through the Responses → chat bridge",
          };
        },
        estimate: async (late, quoted) => ({
          ...(await estimateResponsesPrompt(body, late.upstreamModel)),
          ...(await answerEstimate(late, quoted, {
            text: "",
            reasoningText: "",
            silentMs: late.silentMs,
            unstreamed: !stream,
          })),
        }),
      },
      async (upstream, quoted) => {
        const served = servedOn(upstream.call?.path);
        const found = foundWithout.get(upstream.channel.id);
        // Remembered once the bridge has answered: the host serves the model, but not on /responses.
        if (found && served.bridge)
          call.context.afterResponse(() =>
            call.services.protocolGaps.learn(upstream.channel.id, model, "responses", found),
          );
        const bridged = served.bridge && {
          bridge: served.bridge,
          context: bridgeContext(upstream.channel),
        };
        const consumed =
          stream || background
            ? await consumeStream(call, request, upstream, quoted, answerEstimate, bridged, keeper)
            : await consumeWhole(call, request, upstream, quoted, answerEstimate, bridged, keeper);
        // The hosted tools a chat channel cannot run were left out: said, never silently.
        const omitted = bridged ? omittedTools(body) : [];
        if (omitted.length > 0)
          consumed.response.headers["x-sluice-tools-omitted"] = omitted.join(",");
        return consumed;
      },
    );
    return response;
  } catch (err) {
    throw inClientTerms(err, lastBridge, true);
  }
}

/** A request whose body the face rewrote (a bridged chain's history): sent as new JSON. */
function rebuilt(request: ResponsesRequest, body: ResponsesRequest["body"]): ResponsesRequest {
  return { ...request, body, raw: new TextEncoder().encode(JSON.stringify(body)) };
}

/** A call to a chat channel through the Responses → chat bridge. */
type Bridged = { bridge: Bridge; context: BridgeContext } | undefined;

type AnswerEstimate = (
  where: Pick<OpenUpstream, "channel" | "upstreamModel">,
  quoted: Quote,
  answer: AnswerSoFar,
) => Promise<Metered>;

async function consumeWhole(
  call: Call<KeyPrincipal>,
  request: ResponsesRequest,
  upstream: OpenUpstream,
  quoted: Quote,
  answerEstimate: AnswerEstimate,
  bridged: Bridged,
  keeper: ResponseKeeper,
): Promise<Consumption> {
  const { model, body } = request;
  const reader = adapterFor(upstream.channel.type).usage(bridged ? "chat" : "responses");
  const bytes = await readUpstreamBody(call, upstream);
  const answer = parseJsonObject(bytes);
  if (bridged && !answer) throw unconvertibleAnswer();
  const usage = reader?.answer(answer);
  if (usage) learnGenerationRate(call, upstream, usage, performance.now() - upstream.sentAt);
  const meter = async () =>
    usage ?? {
      ...(await estimateResponsesPrompt(body, upstream.upstreamModel)),
      ...(await answerEstimate(upstream, quoted, {
        text: JSON.stringify(answer?.output ?? answer?.choices ?? ""),
        reasoningText: "",
        silentMs: 0,
      })),
    };
  const converted = bridged && answer && bridged.bridge.answer(answer, bridged.context);
  if (converted) keeper.bridged(upstream, converted);
  else keeper.native(upstream, answer);
  await keeper.pending; // kept before the client can ask for it
  const response = converted
    ? json(200, converted)
    : upstream.upstreamModel === model || typeof answer?.model !== "string"
      ? rawJson(200, bytes)
      : rawJson(200, spliceTopLevel(bytes, { set: { model } }));
  return consumedWhole(response, meter);
}

/**
 * A streamed call, or a `background` one (native only: the bridge refuses it). A background
 * response is read to its end whoever waits (stream/drained.ts): the client may leave, and one
 * that did not ask for a stream is answered at once with the Response as `response.created`
 * showed it (queued), while sluice reads the rest for its usage; either is billed from the final
 * event, or, past the function's time, by estimate.
 */
async function consumeStream(
  call: Call<KeyPrincipal>,
  request: ResponsesRequest,
  upstream: OpenUpstream,
  quoted: Quote,
  answerEstimate: AnswerEstimate,
  bridged: Bridged,
  keeper: ResponseKeeper,
): Promise<Consumption> {
  const { model, body } = request;
  const background = body.background === true;
  let created!: (response: JsonObject) => void;
  const began = new Promise<JsonObject>((resolve) => {
    created = resolve;
  });
  const adapter = adapterFor(upstream.channel.type);
  const source = upstream.response.body;
  if (!source) throw new UpstreamRejected("unreachable", "The upstream sent no stream.");
  let end!: (value: { outcome: StreamOutcome; meter: Meter }) => void;
  const ended = new Promise<{ outcome: StreamOutcome; meter: Meter }>((resolve) => {
    end = resolve;
  });
  /**
   * What the stream reported (a Responses stream's final event; a bridged chat stream's usage
   * chunk, read by the bridge); a stream without it is estimated: its prompt by the tokenizer,
   * its answer as delivered, capped by the hold.
   */
  const closed =
    (reported: () => Metered | undefined, delivered: Delivered) => (outcome: StreamOutcome) => {
      const usage = reported();
      const began = delivered.firstTokenAt;
      if (outcome === "completed" && usage && began !== undefined)
        learnGenerationRate(call, upstream, usage, performance.now() - began);
      end({
        outcome,
        meter: async () =>
          usage ?? {
            ...(await estimateResponsesPrompt(body, upstream.upstreamModel)),
            ...(await answerEstimate(upstream, quoted, {
              text: delivered.text,
              reasoningText: "",
              silentMs: (delivered.firstTokenAt ?? performance.now()) - upstream.sentAt,
            })),
          },
      });
    };
  let relay: SseRelay;
  if (bridged) {
    const converter = watchedBridge(bridged.bridge.stream(bridged.context), (response) =>
      keeper.bridged(upstream, response),
    );
    const delivered: Delivered = { text: "", firstTokenAt: undefined };
    relay = new BridgedFaceRelay(
      converter,
      delivered,
      recordResponsesDelta,
      closed(() => converter.metered(), delivered),
    );
  } else {
    const usage = adapter.usage("responses")?.stream();
    const delivered: Delivered = { text: "", firstTokenAt: undefined };
    relay = new ResponsesStreamRelay(
      {
        reportModel: upstream.upstreamModel === model ? undefined : model,
        usage,
        delivered,
        watch: (event) => {
          keeper.watch(upstream, event);
          if (event.type === "response.created" && isObject(event.response))
            created(event.response);
        },
      },
      closed(() => usage?.metered(), delivered),
    );
  }
  const protocol = bridged ? "chat" : "responses";
  const relayed = afterKept(
    relaySse(source, relay, upstream.abort, streamOptions(call, upstream, model, protocol)),
    keeper,
  );
  if (!background) return { response: eventStream(relayed), ended };
  if (request.stream) return { response: eventStream(drained(relayed).client), ended };
  void readToEnd(relayed).catch((err: unknown) =>
    call.services.log.warn("background response not read to its end", { error: String(err) }),
  );
  const queued = await Promise.race([began, ended.then(() => undefined)]);
  if (!queued)
    throw new UpstreamRejected("unreachable", "The upstream ended the response before it began.");
  await keeper.pending; // kept before the client can poll or cancel it
  return { response: json(200, { ...queued, model }), ended };
}
