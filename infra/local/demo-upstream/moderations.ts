import { demoId } from "./common";
import { type Call, jsonBody, sendError, sendJson } from "./http";

interface ModerationRequest {
  model: string;
  input: unknown;
}

/** The categories omni-moderation reports. */
const CATEGORIES = [
  "harassment",
  "harassment/threatening",
  "hate",
  "hate/threatening",
  "illicit",
  "illicit/violent",
  "self-harm",
  "self-harm/intent",
  "self-harm/instructions",
  "sexual",
  "sexual/minors",
  "violence",
  "violence/graphic",
];

/** POST /v1/moderations: one result per input; "kill" (and kills, killing…) is violence. */
export async function moderations(call: Call): Promise<void> {
  const { res } = call;
  const request = jsonBody<ModerationRequest>(call);
  const inputs = typeof request.input === "string" ? [request.input] : request.input;
  if (
    !Array.isArray(inputs) ||
    inputs.length === 0 ||
    !inputs.every((i) => typeof i === "string")
  ) {
    return sendError(res, 400, "'input' must be a string or an array of strings.", null, "input");
  }
  sendJson(res, 200, {
    id: demoId("modr"),
    model: request.model ?? "omni-moderation-latest",
    results: inputs.map((input: string) => {
      const violent = /\bkill/i.test(input);
      const flagged = (category: string) => category === "violence" && violent;
      return {
        flagged: violent,
        categories: Object.fromEntries(CATEGORIES.map((c) => [c, flagged(c)])),
        category_scores: Object.fromEntries(CATEGORIES.map((c) => [c, flagged(c) ? 0.9 : 0.0001])),
      };
    }),
  });
}
