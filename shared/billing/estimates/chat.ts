/**
 * What a chat or legacy completion consumed, estimated for an upstream that reports no usage
 * (or a call that ended before it): the prompt as OpenAI's cookbook "How to count tokens with
 * tiktoken" counts it (§6 num_tokens_from_messages: 3 tokens a message, the tokens of each of
 * its string fields, 1 more for a name, and 3 that prime the reply; §7 for function
 * definitions, tools.ts), images by their model's image-token rule (images.ts), audio by the
 * audio rule (audio.ts); the answer by the tokens of what the model wrote.
 */
import type { Metered } from "../metered";
import { imageFormulaFor } from "../prompt-bound";
import { encodingFor, type TokenCounter, tokenCounterFor } from "../tokens";
import {
  audioInputTokens,
  audioOutputTokens,
  callerAudioSeconds,
  upstreamAudioSeconds,
} from "./audio";
import { imageSizeOfUrl, imageTokens, UNSEEN_IMAGE } from "./images";
import { type Fields, isRecord, recordsIn, textOf } from "./json";
import { toolTokens } from "./tools";

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

/** The prompt of a chat request, by kind: text (with the format's overheads), images, audio. */
export async function estimateChatPrompt(body: Fields, model: string): Promise<Metered> {
  const count = await tokenCounterFor(model);
  const tokens = { text: REPLY_PRIMING, image: 0, audio: 0 };
  tokens.text += toolTokens(body.tools ?? body.functions, encodingFor(model), count);
  for (const message of recordsIn(body.messages)) {
    tokens.text += TOKENS_PER_MESSAGE;
    for (const [field, value] of Object.entries(message)) {
      if (field === "content") content(value, model, count, tokens);
      else if (typeof value === "string") {
        tokens.text += count(value);
        if (field === "name") tokens.text += TOKENS_PER_NAME;
      } else if (field === "tool_calls") tokens.text += toolCallTokens(value, count);
      else if (field === "function_call")
        tokens.text += toolCallTokens([{ function: value }], count);
    }
  }
  return nonZero({
    inputTokens: tokens.text,
    imageInputTokens: tokens.image,
    audioInputTokens: tokens.audio,
  });
}

function content(
  value: unknown,
  model: string,
  count: TokenCounter,
  tokens: { text: number; image: number; audio: number },
): void {
  if (typeof value === "string") {
    tokens.text += count(value);
    return;
  }
  for (const part of Array.isArray(value) ? value : []) {
    if (typeof part === "string") tokens.text += count(part);
    if (!isRecord(part)) continue;
    switch (part.type) {
      case "text":
      case "input_text":
        tokens.text += count(textOf(part.text));
        break;
      case "refusal":
        tokens.text += count(textOf(part.refusal));
        break;
      case "image_url":
      case "input_image": {
        // Chat's {image_url: {url, detail}}, or the Responses form {image_url: "<url>", detail}.
        const image = isRecord(part.image_url)
          ? part.image_url
          : { url: part.image_url, detail: part.detail };
        const size = imageSizeOfUrl(image.url) ?? UNSEEN_IMAGE;
        tokens.image += imageTokens(imageFormulaFor(model), size, image.detail);
        break;
      }
      case "input_audio": {
        const audio = isRecord(part.input_audio) ? part.input_audio : part;
        if (typeof audio.data === "string")
          tokens.audio += audioInputTokens(callerAudioSeconds(Buffer.from(audio.data, "base64")));
        break;
      }
      case "file":
      case "input_file": {
        // A file's text, when it is text; a PDF's pages or a file known by id cannot be read
        // here: they count by their name only (see the README).
        const file = isRecord(part.file) ? part.file : part;
        tokens.text += count(textOf(file.filename));
        if (
          typeof file.file_data === "string" &&
          !file.file_data.startsWith("data:application/pdf")
        )
          tokens.text += count(Buffer.from(file.file_data, "base64").toString("utf8"));
        break;
      }
      default:
        tokens.text += count(JSON.stringify(part));
    }
  }
}

/** A tool call as the model wrote it: its function's name and its arguments. */
function toolCallTokens(calls: unknown, count: TokenCounter): number {
  let n = 0;
  for (const call of recordsIn(calls)) {
    const fn = isRecord(call.function) ? call.function : call;
    n += count(textOf(fn.name)) + count(textOf(fn.arguments ?? fn.input));
  }
  return n;
}

/**
 * The answer of a non-streamed chat completion, every choice: its text (content, refusal, the
 * transcript of spoken audio), its tool calls, and its reasoning where a host returns it as text
 * (`reasoning_content`, `reasoning`); spoken audio by its length.
 */
export async function estimateChatAnswer(
  completion: Fields | undefined,
  model: string,
): Promise<Metered> {
  const count = await tokenCounterFor(model);
  let output = 0;
  let reasoning = 0;
  let audio = 0;
  for (const choice of recordsIn(completion?.choices)) {
    const message = isRecord(choice.message) ? choice.message : {};
    for (const field of ["content", "refusal"]) {
      if (typeof message[field] === "string") output += count(message[field] as string);
    }
    output += toolCallTokens(message.tool_calls, count);
    if (isRecord(message.function_call))
      output += toolCallTokens([{ function: message.function_call }], count);
    reasoning += count(textOf(message.reasoning_content ?? message.reasoning));
    if (isRecord(message.audio)) {
      output += count(textOf(message.audio.transcript));
      if (typeof message.audio.data === "string") {
        const seconds = upstreamAudioSeconds(Buffer.from(message.audio.data, "base64"));
        audio += audioOutputTokens(seconds ?? 0);
      }
    }
  }
  return nonZero({ outputTokens: output, reasoningTokens: reasoning, audioOutputTokens: audio });
}

/**
 * The prompt of a legacy completion: its prompt(s) (strings, or token ids counted as they
 * are) and suffix. The legacy API adds no format around them.
 */
export async function estimateCompletionPrompt(body: Fields, model: string): Promise<Metered> {
  const count = await tokenCounterFor(model);
  return nonZero({ inputTokens: inputTokens(body.prompt, count) + count(textOf(body.suffix)) });
}

/** The answer of a legacy completion: every choice's text. */
export async function estimateCompletionAnswer(
  completion: Fields | undefined,
  model: string,
): Promise<Metered> {
  const count = await tokenCounterFor(model);
  let output = 0;
  for (const choice of recordsIn(completion?.choices)) output += count(textOf(choice.text));
  return nonZero({ outputTokens: output });
}

/**
 * Tokens of an embeddings or moderation input: a string, strings, token ids or lists of them
 * (counted as they are), or moderation's parts (their text; an image part is not counted).
 */
export async function estimateInput(input: unknown, model: string): Promise<Metered> {
  return nonZero({ inputTokens: inputTokens(input, await tokenCounterFor(model)) });
}

function inputTokens(input: unknown, count: TokenCounter): number {
  if (typeof input === "string") return count(input);
  if (typeof input === "number") return 1;
  if (!Array.isArray(input)) return isRecord(input) ? count(textOf(input.text)) : 0;
  if (input.every((item) => typeof item === "number")) return input.length;
  return input.reduce((sum: number, item) => sum + inputTokens(item, count), 0);
}

/** Only the kinds that were used. */
function nonZero(kinds: Metered): Metered {
  return Object.fromEntries(
    Object.entries(kinds).filter(([, n]) => typeof n === "number" && n > 0),
  ) as Metered;
}
