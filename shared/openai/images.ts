import { InvalidRequest } from "../errors";
import { readJsonObject, requireString } from "../http/body";
import { keyRoute } from "../http/route";
import { relayJson } from "../relay/relay";

/** POST /v1/images/generations: url or b64_json answers, priced per image by size and quality. */
export const createImage = keyRoute("POST", "/v1/images/generations", async (call) => {
  const body = readJsonObject(call.request);
  requireString(body, "prompt");
  const model = typeof body.model === "string" && body.model ? body.model : "dall-e-2";
  const n = body.n ?? 1;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 10) {
    throw new InvalidRequest("'n' must be a whole number from 1 to 10.", "n");
  }
  const size = typeof body.size === "string" && body.size !== "auto" ? body.size : "1024x1024";
  const quality = typeof body.quality === "string" ? body.quality : "standard";
  return relayJson(call, {
    model,
    endpoint: "/v1/images/generations",
    path: "/images/generations",
    charge: { dimension: "image", maxUse: { images: { count: n, size, quality } } },
    build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    // Billed for the images that came back.
    meter: (answer) => ({
      images: { count: Array.isArray(answer?.data) ? answer.data.length : 0, size, quality },
    }),
  });
});
