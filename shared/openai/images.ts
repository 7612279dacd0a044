import { gptImageOutputTokens } from "../billing/estimates/images";
import type { Metered } from "../billing/metered";
import type { ModelPrice } from "../billing/pricing";
import { billsTokens } from "../billing/rates";
import { countTokens } from "../billing/tokens";
import { fromImagesUsage } from "../billing/usage/openai-images";
import { InvalidRequest } from "../errors";
import { readJsonObject, requireString } from "../http/body";
import { keyRoute } from "../http/route";
import { relayJson } from "../relay/relay";

/**
 * POST /v1/images/generations: url or b64_json answers. A model priced by tokens (gpt-image-1
 * and kin) is billed from the answer's `usage` (text and image input, image output tokens);
 * one priced per image (DALL·E) by the images that came back, at the size and quality the
 * answer says, else the request asked. `auto` (gpt-image's default for both) is the dearest the
 * model may choose: the hold takes it, and so does a bill that nothing narrows down (a
 * gpt-image answer says the size and quality it chose). A model
 * priced by tokens whose answer has no usage is billed an estimate: the prompt's tokens, and
 * each image's output tokens by OpenAI's table for its quality and size.
 */
export const createImage = keyRoute("POST", "/v1/images/generations", async (call) => {
  const body = readJsonObject(call.request);
  const prompt = requireString(body, "prompt");
  const model = typeof body.model === "string" && body.model ? body.model : "dall-e-2";
  const n = body.n ?? 1;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 10) {
    throw new InvalidRequest("'n' must be a whole number from 1 to 10.", "n");
  }
  const { size, quality } = requestedImage(model, body);
  return relayJson(call, {
    model,
    endpoint: "/v1/images/generations",
    path: "/images/generations",
    charge: {
      dimension: "image",
      // Per image, or by tokens: the prompt's bytes bound its tokens (prompt-bound.ts).
      maxUse: {
        images: { count: n, size, quality },
        inputTokens: Buffer.byteLength(prompt),
        imageOutputTokens: n * gptImageOutputTokens(quality, size),
      },
    },
    build: (upstreamModel) => ({ json: { ...body, model: upstreamModel } }),
    meter: async (answer, { price }, upstreamModel): Promise<Metered> => {
      const count = Array.isArray(answer?.data) ? answer.data.length : 0;
      const made = madeImage(answer, { size, quality }, price);
      const usage = billsTokens(price) ? fromImagesUsage(answer?.usage) : undefined;
      if (usage) return usage;
      if (price.image || !billsTokens(price)) return { images: { count, ...made } };
      const text = await countTokens(prompt, upstreamModel);
      const output = count * gptImageOutputTokens(made.quality, made.size);
      return {
        ...(text > 0 && { inputTokens: text }),
        ...(output > 0 && { imageOutputTokens: output }),
      };
    },
  });
});

/**
 * The size and quality the model made: what the answer says (gpt-image answers do), where the
 * price can bill it, else what the request asked (which the hold priced). A quality the price
 * lists for none of the sizes it may be is not believed.
 */
function madeImage(
  answer: Record<string, unknown> | undefined,
  requested: { size: string; quality: string },
  price: ModelPrice,
): { size: string; quality: string } {
  const said = (field: string) =>
    typeof answer?.[field] === "string" ? (answer[field] as string) : undefined;
  const table = price.image;
  const saidSize = said("size");
  const size = saidSize && (!table || table[saidSize]) ? saidSize : requested.size;
  const saidQuality = said("quality");
  const sizes = !table
    ? []
    : size === "auto"
      ? Object.values(table)
      : [table[size] ?? table.default];
  const listed = !table || sizes.some((qualities) => saidQuality && qualities?.[saidQuality]);
  return { size, quality: saidQuality && listed ? saidQuality : requested.quality };
}

/**
 * The size and quality a request asks for. Unset, they are the model's documented defaults:
 * gpt-image's `auto` (told by the client's model name: gpt-image-*, chatgpt-image-*), else
 * DALL·E's 1024×1024 and standard (what sluice always assumed for other image models).
 */
function requestedImage(
  model: string,
  body: Record<string, unknown>,
): { size: string; quality: string } {
  const auto = /^(gpt-image|chatgpt-image)/.test(model);
  const asked = (field: string) =>
    typeof body[field] === "string" && body[field] ? (body[field] as string) : undefined;
  return {
    size: asked("size") ?? (auto ? "auto" : "1024x1024"),
    quality: asked("quality") ?? (auto ? "auto" : "standard"),
  };
}
