import { demoTokens, unixNow } from "./common";
import { type Call, jsonBody, sendError, sendJson } from "./http";

interface EditRequest {
  model: string;
  input: string;
  instruction: string;
}

/** POST /v1/edits, the retired edits API that some OpenAI-compatible channels still serve. */
export async function edits(call: Call): Promise<void> {
  const { res, fault } = call;
  const request = jsonBody<EditRequest>(call);
  if (typeof request.instruction !== "string" || request.instruction === "") {
    return sendError(res, 400, "'instruction' is a required property.", null, "instruction");
  }
  const input = typeof request.input === "string" ? request.input : "";
  const text = fault.reply ?? `${input} (edited: ${request.instruction})`;
  const promptTokens = demoTokens(input).length + demoTokens(request.instruction).length;
  const completionTokens = demoTokens(text).length;
  sendJson(res, 200, {
    object: "edit",
    created: unixNow(),
    choices: [{ text, index: 0 }],
    ...(fault.omitUsage
      ? {}
      : {
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          },
        }),
  });
}
