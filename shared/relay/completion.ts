import type { KeyPrincipal } from "../auth/authenticate";
import { meteredFromUsage } from "../billing/charge";
import type { Metered } from "../billing/cost";
import {
  countTokens,
  TOKENS_PER_IMAGE,
  TOKENS_PER_MESSAGE,
  upperTokenEstimate,
} from "../billing/tokens";
import {
  isObject,
  type JsonObject,
  optionalCount,
  readJsonObject,
  requireString,
} from "../http/body";
import { upstreamFailed } from "../http/errors";
import { eventStream, rawJson } from "../http/responses";
import type { Call } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { CompletionStreamRelay } from "../stream/completion-stream";
import { relaySse } from "../stream/relay-stream";
import { parseJsonObject, readUpstreamBody, relay, settleAfterResponse } from "./relay";
import { isUsage } from "./usage";

/** What the model reads of a request: its text, tokens given as ids, and how many parts. */
export interface PromptParts {
  text: string;
  /** Prompts given as token ids are counted exactly. */
  tokens: number;
  /** Messages (chat) or prompts (completions), each with a little format overhead. */
  parts: number;
  images: number;
}

/** How chat completions and legacy completions differ; everything else they share. */
export interface CompletionApi {
  kind: "chat" | "text";
  endpoint: "/v1/chat/completions" | "/v1/completions";
  path: "/chat/completions" | "/completions";
  prompt(body: JsonObject): PromptParts;
  /** The generated text of a non-streamed answer (for counting when usage is missing). */
  answerText(completion: JsonObject | undefined): string;
}

/**
 * A chat or legacy completion, plain or streamed: `n` capped, usage always requested from
 * streaming upstreams, the model name reported as the client asked for it, Reduce-Stream
 * honoured, the hold settled from the upstream's usage or, lacking it, from sluice's count.
 */
export async function relayCompletion(
  call: Call<KeyPrincipal>,
  api: CompletionApi,
): Promise<GatewayResponse> {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  for (const field of ["n", "best_of", "max_tokens", "max_completion_tokens"])
    optionalCount(body, field);
  capChoices(body, call.services.settings.maxChoices);
  const stream = body.stream === true;
  const clientWantsUsage =
    stream && isObject(body.stream_options) && body.stream_options.include_usage === true;
  const reduce = stream && call.request.headers["reduce-stream"]?.toLowerCase() === "true";
  const prompt = api.prompt(body);
  const overhead =
    TOKENS_PER_MESSAGE * (prompt.parts + 1) + TOKENS_PER_IMAGE * prompt.images + prompt.tokens;

  const { charge, upstream } = await relay(call, {
    model,
    endpoint: api.endpoint,
    path: api.path,
    charge: {
      dimension: "tokens",
      maxUse: {
        promptTokens: upperTokenEstimate(prompt.text) + overhead,
        completionTokens: outputLimit(body),
      },
      choices: choicesOf(body),
      stream,
    },
    build: (upstreamModel) => ({
      json: {
        ...body,
        model: upstreamModel,
        // Usage is always requested so that streams can be billed exactly.
        ...(stream && {
          stream_options: {
            ...(isObject(body.stream_options) ? body.stream_options : {}),
            include_usage: true,
          },
        }),
      },
    }),
  });
  const reportModel = upstream.upstreamModel === model ? undefined : model;
  const channelId = upstream.channel.id;
  const countedLocally = (answer: string): Metered => ({
    promptTokens: countTokens(prompt.text) + overhead,
    completionTokens: countTokens(answer),
  });

  if (stream) {
    const source = upstream.response.body;
    if (!source) {
      await charge.release(502, channelId);
      throw upstreamFailed();
    }
    const streamRelay = new CompletionStreamRelay(
      { kind: api.kind, reportModel, stripUsage: !clientWantsUsage, reduce },
      (outcome, r) =>
        settleAfterResponse(
          call,
          charge,
          () => (r.usage ? meteredFromUsage(r.usage) : countedLocally(r.deliveredText)),
          channelId,
          outcome,
        ),
    );
    return eventStream(
      relaySse(
        source,
        streamRelay,
        upstream.abort,
        call.services.settings.upstreamIdleTimeoutMs,
        call.request.signal,
      ),
    );
  }

  const bytes = await readUpstreamBody(call, upstream, charge);
  const completion = parseJsonObject(bytes);
  settleAfterResponse(
    call,
    charge,
    () =>
      isUsage(completion?.usage)
        ? meteredFromUsage(completion.usage)
        : countedLocally(api.answerText(completion)),
    channelId,
  );
  if (!reportModel || !completion) return rawJson(200, bytes);
  completion.model = reportModel;
  return rawJson(200, JSON.stringify(completion));
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

/** The request's cap on output tokens (for all choices), if it sets one. */
function outputLimit(body: JsonObject): number | undefined {
  const limit = body.max_completion_tokens ?? body.max_tokens;
  return typeof limit === "number" && limit > 0 ? limit * choicesOf(body) : undefined;
}
