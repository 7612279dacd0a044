/**
 * OpenAI's `CompletionUsage`: the usage of chat completions and legacy completions (and of
 * embeddings, which report prompt_tokens only), and the variants OpenAI-compatible hosts send
 * in its place. `prompt_tokens` INCLUDES the cached, cache-written, audio and image tokens its
 * details list; `completion_tokens` INCLUDES reasoning, audio and predicted-output tokens.
 */
import type { Metered } from "../metered";
import {
  carve,
  count,
  type Fields,
  fieldOf,
  largest,
  metered,
  objectOf,
  reasoningApart,
  sum,
} from "./read";

/**
 * The kinds of a `CompletionUsage`, or undefined when `usage` has neither prompt_tokens nor
 * completion_tokens. The kinds always add up to the totals the upstream reported (so the
 * invariant promptTokensOf = prompt_tokens holds); a detail that claims more than its total is
 * cut down to what is left of it.
 *
 * The prompt: `prompt_tokens_details.audio_tokens` and `image_tokens` first, the rest is text.
 * Cache reads are the largest of `prompt_tokens_details.cached_tokens`, DeepSeek's
 * `prompt_cache_hit_tokens` and Moonshot's top-level `cached_tokens` (one count, spelled three
 * ways), taken from the text first, then from the audio, then from the images (OpenAI does not
 * say which a cached prefix holds). Cache writes (OpenAI's `cache_write_tokens`, which it calls
 * "unadjusted" and which can overlap the reads; Qwen's `cache_creation_input_tokens`, 5-minute
 * writes) come out of the text left after the reads. What remains is uncached text input.
 * DeepSeek without prompt_tokens: the prompt is hit + miss.
 *
 * The answer: `completion_tokens_details.reasoning_tokens`, then `audio_tokens`; the rest is
 * text output, which includes accepted and rejected prediction tokens (OpenAI bills rejected
 * ones as output, so they need no kind of their own). When the usage reports reasoning apart
 * from completion_tokens (xAI; see reasoningApart), reasoning is added to the answer instead.
 * `text_tokens` details are never read: they are what is left, and hosts disagree on whether
 * they include cached tokens.
 */
export function fromChatUsage(usage: unknown): Metered | undefined {
  const u = objectOf(usage);
  const promptTotal = count(u, "prompt_tokens");
  const completion = count(u, "completion_tokens");
  if (promptTotal === undefined && completion === undefined) return undefined;
  const prompt =
    promptTotal ?? sum(count(u, "prompt_cache_hit_tokens"), count(u, "prompt_cache_miss_tokens"));
  return metered({
    ...promptKinds(u, prompt),
    ...answerKinds(u, prompt, completion ?? 0),
  });
}

function promptKinds(u: Fields | undefined, prompt: number): Metered {
  const details = objectOf(fieldOf(u, "prompt_tokens_details"));
  const [audio, image, text] = carve(prompt, [
    count(details, "audio_tokens"),
    count(details, "image_tokens"),
  ]);
  const cached = Math.min(
    largest(
      count(details, "cached_tokens"),
      count(u, "prompt_cache_hit_tokens"),
      count(u, "cached_tokens"),
    ) ?? 0,
    prompt,
  );
  const [cachedText, textLeft] = carve(text, [cached]);
  const [cachedAudio, cachedImage] = carve(cached - cachedText, [audio, image]);
  const [written, uncached] = carve(textLeft, [
    largest(count(details, "cache_write_tokens"), count(details, "cache_creation_input_tokens")),
  ]);
  return {
    inputTokens: uncached,
    cachedInputTokens: cachedText,
    cacheWriteTokens: written,
    audioInputTokens: audio - cachedAudio,
    cachedAudioInputTokens: cachedAudio,
    imageInputTokens: image - cachedImage,
    cachedImageInputTokens: cachedImage,
  };
}

function answerKinds(u: Fields | undefined, prompt: number, completion: number): Metered {
  const details = objectOf(fieldOf(u, "completion_tokens_details"));
  const reasoning = count(details, "reasoning_tokens") ?? 0;
  const audio = count(details, "audio_tokens");
  if (reasoningApart(prompt, completion, reasoning, count(u, "total_tokens"))) {
    const [audioOutput, text] = carve(completion, [audio]);
    return { outputTokens: text, reasoningTokens: reasoning, audioOutputTokens: audioOutput };
  }
  const [reasoned, audioOutput, text] = carve(completion, [reasoning, audio]);
  return { outputTokens: text, reasoningTokens: reasoned, audioOutputTokens: audioOutput };
}
