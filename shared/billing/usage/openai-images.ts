/**
 * The usage of OpenAI's token-priced image models (gpt-image-1, -1-mini, -1.5, -2) on
 * /v1/images/generations and /v1/images/edits, and in their streams' `image_generation.completed`
 * / `image_edit.completed` events. DALL·E answers carry no usage: they are priced per image.
 */
import type { Metered } from "../metered";
import { carve, count, fieldOf, metered, objectOf } from "./read";

/**
 * The kinds of an images `usage`, or undefined when it has neither input_tokens nor
 * output_tokens. The prompt: `input_tokens_details.image_tokens` (input images, on edits) are
 * image input and the rest of input_tokens is text. The answer: output_tokens are image
 * output, as OpenAI defines them, except the `output_tokens_details.text_tokens` the newer
 * models report (text output). OpenAI lists cached text and cached image input rates for these
 * models but their usage has no cached-token field, so nothing is read as cached.
 */
export function fromImagesUsage(usage: unknown): Metered | undefined {
  const u = objectOf(usage);
  const input = count(u, "input_tokens");
  const output = count(u, "output_tokens");
  if (input === undefined && output === undefined) return undefined;
  const inputDetails = objectOf(fieldOf(u, "input_tokens_details"));
  const [imageInput, textInput] = carve(input ?? 0, [count(inputDetails, "image_tokens")]);
  const outputDetails = objectOf(fieldOf(u, "output_tokens_details"));
  const [textOutput, imageOutput] = carve(output ?? 0, [count(outputDetails, "text_tokens")]);
  return metered({
    inputTokens: textInput,
    imageInputTokens: imageInput,
    outputTokens: textOutput,
    imageOutputTokens: imageOutput,
  });
}
