import {
  estimateChatPrompt,
  estimateCompletionAnswer,
  estimateCompletionPrompt,
} from "../billing/estimates/chat";
import { chatPromptBound, imageFormulaFor } from "../billing/prompt-bound";
import { fromChatUsage } from "../billing/usage/openai-chat";
import { InvalidRequest } from "../errors";
import { isObject, objectsIn, optionalCount, readJsonObject, requireString } from "../http/body";
import { json, rawJson } from "../http/responses";
import { keyRoute } from "../http/route";
import { isUsage } from "../relay/adapters/openai/usage";
import { consumedWhole, parseJsonObject, readUpstreamBody, relayed } from "../relay/relay";
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
    throw new InvalidRequest("'input' must be a string.", "input");
  const input = typeof body.input === "string" ? body.input : "";
  const requestedChoices = optionalCount(body, "n");
  const n =
    requestedChoices === undefined
      ? undefined
      : Math.min(requestedChoices, call.services.settings.maxChoices);
  const messages = [
    { role: "system", content: instruction },
    { role: "user", content: input },
  ];

  return relayed(
    call,
    {
      model,
      endpoint: "/v1/edits",
      path: "/chat/completions",
      charge: {
        dimension: "tokens",
        maxUse: { inputTokens: chatPromptBound({ messages }, imageFormulaFor(model)) },
        output: { choices: n ?? 1 },
      },
      build: (upstreamModel, channel, quoted) =>
        servesEditsNatively(channel)
          ? {
              path: "/edits",
              json: { ...body, model: upstreamModel, ...(n && { n }) },
            }
          : {
              json: {
                model: upstreamModel,
                messages,
                max_tokens: quoted.outputTokens,
                ...(n && { n }),
                ...(typeof body.temperature === "number" && { temperature: body.temperature }),
                ...(typeof body.top_p === "number" && { top_p: body.top_p }),
              },
            },
    },
    async (upstream) => {
      const bytes = await readUpstreamBody(call, upstream);
      const answer = parseJsonObject(bytes);
      const choices = objectsIn(answer?.choices);
      const native = servesEditsNatively(upstream.channel);
      const texts = choices.map((choice) =>
        native
          ? String(choice.text ?? "")
          : String((isObject(choice.message) && choice.message.content) || ""),
      );
      // The upstream's usage, else an estimate of the request it was sent (a native edit's
      // instruction and input, or the chat they became) and of the texts it answered.
      const meter = async () =>
        fromChatUsage(answer?.usage) ?? {
          ...(native
            ? await estimateCompletionPrompt(
                { prompt: [instruction, input] },
                upstream.upstreamModel,
              )
            : await estimateChatPrompt({ messages }, upstream.upstreamModel)),
          ...(await estimateCompletionAnswer(
            { choices: texts.map((text) => ({ text })) },
            upstream.upstreamModel,
          )),
        };
      if (native) return consumedWhole(rawJson(200, bytes), meter);
      return consumedWhole(
        json(200, {
          object: "edit",
          created:
            typeof answer?.created === "number" ? answer.created : call.services.clock.seconds(),
          choices: texts.map((text, index) => ({ text, index })),
          ...(isUsage(answer?.usage) && {
            usage: {
              prompt_tokens: answer.usage.prompt_tokens,
              completion_tokens: answer.usage.completion_tokens,
              total_tokens: answer.usage.total_tokens,
            },
          }),
        }),
        meter,
      );
    },
  );
});
