import { meteredFromUsage } from "../billing/charge";
import { countTokens, TOKENS_PER_MESSAGE, upperTokenEstimate } from "../billing/tokens";
import { isObject, objectsIn, optionalCount, readJsonObject, requireString } from "../http/body";
import { badRequest } from "../http/errors";
import { json, rawJson } from "../http/responses";
import { keyRoute } from "../http/route";
import { parseJsonObject, readUpstreamBody, relay, settleAfterResponse } from "../relay/relay";
import { isUsage } from "../relay/usage";
import type { ChannelRecord } from "../store/channels";

/** Channels whose provider still has /v1/edits say so with config `edits: "native"`. */
function servesEditsNatively(channel: ChannelRecord): boolean {
  return channel.config.edits === "native";
}

/**
 * POST /v1/edits (seed 002). OpenAI retired the endpoint, so for channels that do not serve
 * it natively the edit becomes a chat completion — the instruction as the system message,
 * the input as the user's — and the answer is given back in the edits shape.
 */
export const createEdit = keyRoute("POST", "/v1/edits", async (call) => {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  const instruction = requireString(body, "instruction");
  if (body.input !== undefined && typeof body.input !== "string")
    throw badRequest("'input' must be a string.", "input");
  const input = typeof body.input === "string" ? body.input : "";
  const requestedChoices = optionalCount(body, "n");
  const n =
    requestedChoices === undefined
      ? undefined
      : Math.min(requestedChoices, call.services.settings.maxChoices);
  const promptText = `${instruction}\n${input}`;

  const { charge, upstream } = await relay(call, {
    model,
    endpoint: "/v1/edits",
    path: "/chat/completions",
    charge: {
      dimension: "tokens",
      maxUse: { promptTokens: upperTokenEstimate(promptText) + 3 * TOKENS_PER_MESSAGE },
      choices: n ?? 1,
    },
    build: (upstreamModel, channel) =>
      servesEditsNatively(channel)
        ? { path: "/edits", json: { ...body, model: upstreamModel, ...(n && { n }) } }
        : {
            json: {
              model: upstreamModel,
              messages: [
                { role: "system", content: instruction },
                { role: "user", content: input },
              ],
              ...(n && { n }),
              ...(typeof body.temperature === "number" && { temperature: body.temperature }),
              ...(typeof body.top_p === "number" && { top_p: body.top_p }),
            },
          },
  });
  const bytes = await readUpstreamBody(call, upstream, charge);
  const answer = parseJsonObject(bytes);
  const choices = objectsIn(answer?.choices);
  const native = servesEditsNatively(upstream.channel);
  const texts = choices.map((choice) =>
    native
      ? String(choice.text ?? "")
      : String((isObject(choice.message) && choice.message.content) || ""),
  );
  settleAfterResponse(
    call,
    charge,
    () =>
      isUsage(answer?.usage)
        ? meteredFromUsage(answer.usage)
        : {
            promptTokens: countTokens(promptText) + 3 * TOKENS_PER_MESSAGE,
            completionTokens: countTokens(texts.join("")),
          },
    upstream.channel.id,
  );
  if (native) return rawJson(200, bytes);
  return json(200, {
    object: "edit",
    created: typeof answer?.created === "number" ? answer.created : Math.floor(Date.now() / 1000),
    choices: texts.map((text, index) => ({ text, index })),
    ...(isUsage(answer?.usage) && {
      usage: {
        prompt_tokens: answer.usage.prompt_tokens,
        completion_tokens: answer.usage.completion_tokens,
        total_tokens: answer.usage.total_tokens,
      },
    }),
  });
});
