import { chargeContext, holdWhileOpening, meteredFromUsage } from "../billing/charge";
import type { Metered } from "../billing/cost";
import {
  chatPromptText,
  countTokens,
  TOKENS_PER_IMAGE,
  TOKENS_PER_MESSAGE,
  upperTokenEstimate,
} from "../billing/tokens";
import { isObject, type JsonObject, readJsonObject, requireString } from "../http/body";
import { upstreamFailed } from "../http/errors";
import { eventStream, rawJson } from "../http/responses";
import { keyRoute } from "../http/route";
import { channelsForModel, upstreamOptions } from "../relay/route-model";
import { openUpstream } from "../relay/upstream";
import { isUsage } from "../relay/usage";
import { CompletionStreamRelay } from "../stream/completion-stream";
import { relaySse } from "../stream/relay-stream";

/** POST /v1/chat/completions, plain and streamed, held before and settled after. */
export const createChatCompletion = keyRoute("POST", "/v1/chat/completions", async (call) => {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  const stream = body.stream === true;
  const clientWantsUsage =
    stream && isObject(body.stream_options) && body.stream_options.include_usage === true;
  const candidates = await channelsForModel(call, model);
  const prompt = chatPromptText(body);
  const promptTokensAtMost =
    upperTokenEstimate(prompt.text) +
    TOKENS_PER_MESSAGE * (prompt.messages + 1) +
    TOKENS_PER_IMAGE * prompt.images;

  const { charge, upstream } = await holdWhileOpening(
    chargeContext(call),
    {
      model,
      endpoint: "/v1/chat/completions",
      dimension: "tokens",
      maxUse: { promptTokens: promptTokensAtMost, completionTokens: outputLimit(body) },
      choices: choicesOf(body),
      stream,
    },
    () =>
      openUpstream(
        candidates,
        (upstreamModel) => ({
          path: "/chat/completions",
          upstreamModel,
          contentType: "application/json",
          body: JSON.stringify({
            ...body,
            model: upstreamModel,
            // Usage is always requested so that streams can be billed exactly.
            ...(stream && {
              stream_options: {
                ...(isObject(body.stream_options) ? body.stream_options : {}),
                include_usage: true,
              },
            }),
          }),
        }),
        model,
        upstreamOptions(call),
      ),
  );
  const reportModel = upstream.upstreamModel === model ? undefined : model;
  const channelId = upstream.channel.id;
  /** What to bill when the upstream reports no usage: sluice's own count. */
  const countedLocally = (completionText: string): Metered => ({
    promptTokens:
      countTokens(prompt.text) +
      TOKENS_PER_MESSAGE * (prompt.messages + 1) +
      TOKENS_PER_IMAGE * prompt.images,
    completionTokens: countTokens(completionText),
  });

  if (stream) {
    const source = upstream.response.body;
    if (!source) {
      await charge.release(502, channelId);
      throw upstreamFailed();
    }
    const relay = new CompletionStreamRelay(
      { kind: "chat", reportModel, stripUsage: !clientWantsUsage },
      (outcome, r) =>
        call.context.afterResponse(() =>
          charge.settle(r.usage ? meteredFromUsage(r.usage) : countedLocally(r.deliveredText), {
            status: 200,
            outcome,
            channelId,
          }),
        ),
    );
    return eventStream(relaySse(source, relay, upstream.abort));
  }

  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await call.timing.upstream(upstream.response.arrayBuffer()));
  } catch {
    await charge.release(502, channelId);
    throw upstreamFailed();
  }
  const completion = parseCompletion(bytes);
  const metered = isUsage(completion?.usage)
    ? meteredFromUsage(completion.usage)
    : countedLocally(messageText(completion));
  call.context.afterResponse(() =>
    charge.settle(metered, { status: 200, outcome: "completed", channelId }),
  );
  if (!reportModel || !completion) return rawJson(200, bytes);
  completion.model = reportModel;
  return rawJson(200, JSON.stringify(completion));
});

/** The request's cap on output tokens, if it sets one. */
function outputLimit(body: JsonObject): number | undefined {
  const limit = body.max_completion_tokens ?? body.max_tokens;
  return typeof limit === "number" && limit > 0 ? limit * choicesOf(body) : undefined;
}

function choicesOf(body: JsonObject): number {
  return typeof body.n === "number" && body.n > 1 ? body.n : 1;
}

function parseCompletion(bytes: Uint8Array): JsonObject | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function messageText(completion: JsonObject | undefined): string {
  const choices = Array.isArray(completion?.choices) ? (completion.choices as JsonObject[]) : [];
  return choices
    .map((choice) => {
      const message = isObject(choice.message) ? choice.message : {};
      return `${typeof message.content === "string" ? message.content : ""}${
        message.tool_calls ? JSON.stringify(message.tool_calls) : ""
      }`;
    })
    .join("");
}
