import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  completionTokensOf,
  INPUT_KINDS,
  type Metered,
  OUTPUT_KINDS,
  promptTokensOf,
} from "../../shared/billing/metered";
import { AnthropicStreamUsage, fromAnthropicUsage } from "../../shared/billing/usage/anthropic";
import {
  fromBedrockInvocationMetrics,
  fromConverseUsage,
} from "../../shared/billing/usage/bedrock";
import { fromSpeechUsage, fromTranscriptionUsage } from "../../shared/billing/usage/openai-audio";
import { fromChatUsage } from "../../shared/billing/usage/openai-chat";
import { fromImagesUsage } from "../../shared/billing/usage/openai-images";
import {
  fromResponsesEvent,
  fromResponsesUsage,
} from "../../shared/billing/usage/openai-responses";
import { MAX_COUNT } from "../../shared/billing/usage/read";

/**
 * One row: a usage payload, where it comes from, and the kinds it is billed by. "verbatim" rows
 * quote the provider's documentation; "illustrative" rows use the documented field names with
 * made-up numbers (as the research notes behind them marked them).
 */
interface Row {
  source: string;
  usage: unknown;
  expected: Metered | undefined;
}

function table(reader: (usage: unknown) => Metered | undefined, rows: Row[]) {
  for (const { source, usage, expected } of rows) {
    it(source, () => {
      expect(reader(usage)).toEqual(expected);
    });
  }
}

describe("fromChatUsage: OpenAI chat and legacy completions, and compatible hosts", () => {
  table(fromChatUsage, [
    {
      // Verbatim: the chat completion object in OpenAI's API reference
      // (platform.openai.com/docs/api-reference/chat/object).
      source: "OpenAI API reference, chat completion object",
      usage: {
        prompt_tokens: 19,
        completion_tokens: 10,
        total_tokens: 29,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      expected: { inputTokens: 19, outputTokens: 10 },
    },
    {
      // Verbatim: OpenAI's prompt caching guide, the usage of a request with a cache hit
      // (platform.openai.com/docs/guides/prompt-caching).
      source: "OpenAI prompt caching guide: cached_tokens are part of prompt_tokens",
      usage: {
        prompt_tokens: 2006,
        completion_tokens: 300,
        total_tokens: 2306,
        prompt_tokens_details: { cached_tokens: 1920 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      expected: { inputTokens: 86, cachedInputTokens: 1920, outputTokens: 300 },
    },
    {
      // Illustrative: every CompletionUsage field of openai-node 7b7d6ca7
      // (src/resources/completions.ts), usage-shapes.md §1.
      source: "openai-node CompletionUsage, reasoning and a cache hit",
      usage: {
        prompt_tokens: 1117,
        completion_tokens: 946,
        total_tokens: 2063,
        prompt_tokens_details: {
          cached_tokens: 1024,
          audio_tokens: 0,
          image_tokens: 0,
          text_tokens: 93,
          cache_write_tokens: 0,
        },
        completion_tokens_details: {
          reasoning_tokens: 832,
          audio_tokens: 0,
          text_tokens: 114,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      expected: {
        inputTokens: 93,
        cachedInputTokens: 1024,
        outputTokens: 114,
        reasoningTokens: 832,
      },
    },
    {
      // Illustrative: gpt-4o-audio-preview / gpt-audio, audio in and out (usage-shapes.md §4,
      // "Chat audio": audio_tokens in both details, the rest is text).
      source: "OpenAI chat audio: audio_tokens in and out",
      usage: {
        prompt_tokens: 120,
        completion_tokens: 600,
        total_tokens: 720,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 100 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 550 },
      },
      expected: {
        inputTokens: 20,
        audioInputTokens: 100,
        outputTokens: 50,
        audioOutputTokens: 550,
      },
    },
    {
      // Illustrative: Predicted Outputs. openai-node: rejected_prediction_tokens "are still
      // counted in the total completion tokens for purposes of billing".
      source: "OpenAI Predicted Outputs: accepted and rejected tokens are billed as output",
      usage: {
        prompt_tokens: 500,
        completion_tokens: 200,
        total_tokens: 700,
        completion_tokens_details: {
          reasoning_tokens: 0,
          accepted_prediction_tokens: 120,
          rejected_prediction_tokens: 30,
        },
      },
      expected: { inputTokens: 500, outputTokens: 200 },
    },
    {
      // Illustrative: image input reported by openai-node's prompt_tokens_details.image_tokens.
      source: "OpenAI chat vision: image_tokens in prompt_tokens_details",
      usage: {
        prompt_tokens: 900,
        completion_tokens: 20,
        total_tokens: 920,
        prompt_tokens_details: { cached_tokens: 0, image_tokens: 765, text_tokens: 135 },
      },
      expected: { inputTokens: 135, imageInputTokens: 765, outputTokens: 20 },
    },
    {
      // Illustrative: cache_write_tokens is "the unadjusted number of prompt tokens written to
      // cache"; new-api's code notes cached_tokens + cache_write_tokens can exceed
      // prompt_tokens (usage-shapes.md §1). Writes come out of what the reads leave.
      source: "OpenAI cache_write_tokens, unadjusted: clamped so the kinds sum to prompt_tokens",
      usage: {
        prompt_tokens: 2000,
        completion_tokens: 10,
        total_tokens: 2010,
        prompt_tokens_details: { cached_tokens: 1536, cache_write_tokens: 1000 },
      },
      expected: { cachedInputTokens: 1536, cacheWriteTokens: 464, outputTokens: 10 },
    },
    {
      // Verbatim: docs.x.ai/developers/advanced-api-usage/prompt-caching/usage-and-pricing,
      // Chat Completions (text_tokens there include the cached ones).
      source: "xAI prompt caching, chat completions",
      usage: {
        prompt_tokens: 125,
        completion_tokens: 48,
        total_tokens: 173,
        prompt_tokens_details: {
          text_tokens: 125,
          audio_tokens: 0,
          image_tokens: 0,
          cached_tokens: 98,
        },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      expected: { inputTokens: 27, cachedInputTokens: 98, outputTokens: 48 },
    },
    {
      // Verbatim: docs.cloud.google.com/vertex-ai/generative-ai/docs/partner-models/grok/
      // capabilities/reasoning: "The reasoning token count is outputted in the reasoning_tokens
      // field, separated from the completion_tokens" (total = 663 + 50 + 124).
      source: "xAI Grok reasoning (Vertex AI docs): reasoning reported apart from completion",
      usage: {
        completion_tokens: 50,
        completion_tokens_details: {
          accepted_prediction_tokens: 0,
          audio_tokens: 0,
          reasoning_tokens: 124,
          rejected_prediction_tokens: 0,
        },
        cost_in_usd_ticks: 0,
        num_sources_used: 0,
        prompt_tokens: 663,
        prompt_tokens_details: {
          audio_tokens: 0,
          cached_tokens: 654,
          image_tokens: 0,
          text_tokens: 663,
        },
        total_tokens: 837,
      },
      expected: {
        inputTokens: 9,
        cachedInputTokens: 654,
        outputTokens: 50,
        reasoningTokens: 124,
      },
    },
    {
      // Verbatim: infron.ai/docs/billing-apis/usage-and-cost/get-cost-and-usage-details-streaming,
      // an OpenRouter-style gateway's last chunk for x-ai/grok-4.1-fast-reasoning: here the
      // total (163 + 241) says reasoning is inside completion_tokens.
      source: "gateway with cache_write_tokens and reasoning inside completion_tokens",
      usage: {
        completion_tokens: 241,
        completion_tokens_details: { audio_tokens: 0, image_tokens: 0, reasoning_tokens: 204 },
        prompt_tokens: 163,
        prompt_tokens_details: {
          audio_tokens: 0,
          cache_write_tokens: 0,
          cached_tokens: 162,
          video_tokens: 0,
        },
        total_tokens: 404,
      },
      expected: {
        inputTokens: 1,
        cachedInputTokens: 162,
        outputTokens: 37,
        reasoningTokens: 204,
      },
    },
    {
      // Illustrative: DeepSeek (deepseek-sdk 0.7.0 docs: "prompt_tokens ... equals
      // prompt_cache_hit_tokens + prompt_cache_miss_tokens", cached_tokens "same as
      // prompt_cache_hit_tokens"), usage-shapes.md §7.
      source: "DeepSeek: prompt_cache_hit_tokens / prompt_cache_miss_tokens, reasoning",
      usage: {
        prompt_tokens: 1200,
        completion_tokens: 800,
        total_tokens: 2000,
        prompt_cache_hit_tokens: 1024,
        prompt_cache_miss_tokens: 176,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 640 },
      },
      expected: {
        inputTokens: 176,
        cachedInputTokens: 1024,
        outputTokens: 160,
        reasoningTokens: 640,
      },
    },
    {
      // Illustrative: DeepSeek's own fields only (Stigg's metering docs: "DeepSeek reports its
      // cache usage in its own fields ... rather than OpenAI's cached_tokens").
      source: "DeepSeek without prompt_tokens_details",
      usage: {
        prompt_tokens: 1064,
        completion_tokens: 12,
        total_tokens: 1076,
        prompt_cache_hit_tokens: 1024,
        prompt_cache_miss_tokens: 40,
      },
      expected: { inputTokens: 40, cachedInputTokens: 1024, outputTokens: 12 },
    },
    {
      // Verbatim: nexusflow.hk/docs/api/cache, qwen3.5-flash with an explicit cache, first
      // answer (the cache created: Alibaba Model Studio bills it at 125%, valid 5 minutes).
      source: "Qwen explicit cache, created: prompt_tokens_details.cache_creation_input_tokens",
      usage: {
        prompt_tokens: 18628,
        completion_tokens: 344,
        total_tokens: 18972,
        prompt_tokens_details: {
          text_tokens: 18628,
          cache_creation_input_tokens: 18613,
          cache_type: "ephemeral",
          cached_tokens: 0,
        },
      },
      expected: { inputTokens: 15, cacheWriteTokens: 18613, outputTokens: 344 },
    },
    {
      // Verbatim: the same page, second answer (the cache hit).
      source: "Qwen explicit cache, hit",
      usage: {
        prompt_tokens: 18628,
        completion_tokens: 445,
        total_tokens: 19073,
        prompt_tokens_details: {
          text_tokens: 18628,
          cache_creation_input_tokens: 0,
          cache_type: "ephemeral",
          cached_tokens: 18613,
        },
      },
      expected: { inputTokens: 15, cachedInputTokens: 18613, outputTokens: 445 },
    },
    {
      // Illustrative: Moonshot's moonshot-v1 context caching reports cached_tokens at the top
      // of usage (openclaw commit 4637b90, "cached_tokens (top-level) for moonshot-v1 explicit
      // caching API"; Kimi K2 uses prompt_tokens_details.cached_tokens).
      source: "Moonshot: cached_tokens at the top level",
      usage: {
        prompt_tokens: 2000,
        completion_tokens: 100,
        total_tokens: 2100,
        cached_tokens: 1800,
      },
      expected: { inputTokens: 200, cachedInputTokens: 1800, outputTokens: 100 },
    },
    {
      // Verbatim: the embedding list in OpenAI's API reference (embeddings share the reader).
      source: "OpenAI API reference, embeddings: prompt_tokens only",
      usage: { prompt_tokens: 8, total_tokens: 8 },
      expected: { inputTokens: 8 },
    },
  ]);

  describe("hostile and malformed input", () => {
    table(fromChatUsage, [
      { source: "not an object", usage: "12 tokens", expected: undefined },
      { source: "null", usage: null, expected: undefined },
      { source: "an array", usage: [19, 10], expected: undefined },
      { source: "no totals", usage: { total_tokens: 29 }, expected: undefined },
      {
        source: "Anthropic's names are not this shape",
        usage: { input_tokens: 5, output_tokens: 3 },
        expected: undefined,
      },
      {
        source: "a negative count is 0",
        usage: { prompt_tokens: -5, completion_tokens: 10 },
        expected: { outputTokens: 10 },
      },
      {
        source: "quoted integers are read",
        usage: {
          prompt_tokens: "120",
          completion_tokens: "30",
          prompt_tokens_details: { cached_tokens: "100" },
        },
        expected: { inputTokens: 20, cachedInputTokens: 100, outputTokens: 30 },
      },
      {
        source: "other strings, NaN and infinities are no count",
        usage: {
          prompt_tokens: 100,
          completion_tokens: "1e9",
          prompt_tokens_details: { cached_tokens: Number.NaN, audio_tokens: "lots" },
          completion_tokens_details: { reasoning_tokens: Number.POSITIVE_INFINITY },
        },
        expected: { inputTokens: 100 },
      },
      {
        source: "a fraction rounds up",
        usage: { prompt_tokens: 10.2, completion_tokens: 0.5 },
        expected: { inputTokens: 11, outputTokens: 1 },
      },
      {
        source: "a huge count is capped",
        usage: { prompt_tokens: 1e300, completion_tokens: 0 },
        expected: { inputTokens: MAX_COUNT },
      },
      {
        source: "more cached tokens than prompt tokens: all of the prompt is cached",
        usage: {
          prompt_tokens: 100,
          completion_tokens: 1,
          prompt_tokens_details: { cached_tokens: 500 },
        },
        expected: { cachedInputTokens: 100, outputTokens: 1 },
      },
      {
        source: "null and scalar details are no details",
        usage: {
          prompt_tokens: 10,
          completion_tokens: 2,
          prompt_tokens_details: null,
          completion_tokens_details: 7,
        },
        expected: { inputTokens: 10, outputTokens: 2 },
      },
      {
        source: "audio and image claiming more than the prompt are cut to it",
        usage: {
          prompt_tokens: 100,
          completion_tokens: 0,
          prompt_tokens_details: { audio_tokens: 80, image_tokens: 80 },
        },
        expected: { audioInputTokens: 80, imageInputTokens: 20 },
      },
      {
        source: "a cache larger than the text holds audio too",
        usage: {
          prompt_tokens: 100,
          completion_tokens: 0,
          prompt_tokens_details: { audio_tokens: 60, cached_tokens: 70 },
        },
        expected: { cachedInputTokens: 40, audioInputTokens: 30, cachedAudioInputTokens: 30 },
      },
      {
        source: "reasoning larger than completion_tokens cannot be part of it",
        usage: {
          prompt_tokens: 10,
          completion_tokens: 10,
          completion_tokens_details: { reasoning_tokens: 50 },
        },
        expected: { inputTokens: 10, outputTokens: 10, reasoningTokens: 50 },
      },
      {
        source: "inherited names are not read",
        usage: Object.assign(Object.create({ prompt_tokens: 1000 }), { completion_tokens: 3 }),
        expected: { outputTokens: 3 },
      },
    ]);
  });
});

describe("fromResponsesUsage: the Responses API", () => {
  table(fromResponsesUsage, [
    {
      // Illustrative: openai-node ResponseUsage (src/resources/responses/responses.ts),
      // usage-shapes.md §2.
      source: "openai-node ResponseUsage, reasoning and a cache hit",
      usage: {
        input_tokens: 5000,
        input_tokens_details: { cached_tokens: 4096, cache_write_tokens: 0 },
        output_tokens: 1200,
        output_tokens_details: { reasoning_tokens: 900 },
        total_tokens: 6200,
      },
      expected: {
        inputTokens: 904,
        cachedInputTokens: 4096,
        outputTokens: 300,
        reasoningTokens: 900,
      },
    },
    {
      // Verbatim: docs.x.ai prompt caching, Responses API.
      source: "xAI prompt caching, Responses API",
      usage: {
        input_tokens: 125,
        output_tokens: 48,
        total_tokens: 173,
        input_tokens_details: { cached_tokens: 98 },
        output_tokens_details: { reasoning_tokens: 0 },
      },
      expected: { inputTokens: 27, cachedInputTokens: 98, outputTokens: 48 },
    },
    {
      // Verbatim: api-doc.omniedu.com/436023028e0, a GLM-4.7 response through a Responses
      // endpoint (reasoning inside output_tokens: 6 + 153 = 159).
      source: "GLM through a Responses endpoint",
      usage: {
        input_tokens: 6,
        output_tokens: 153,
        total_tokens: 159,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 112 },
      },
      expected: { inputTokens: 6, outputTokens: 41, reasoningTokens: 112 },
    },
    {
      // Illustrative: input_tokens_details.cache_write_tokens (Azure AI Projects'
      // InputTokensDetailsResource documents it beside cached_tokens), unadjusted like chat's.
      source: "Responses cache_write_tokens, clamped to what the reads leave",
      usage: {
        input_tokens: 3000,
        input_tokens_details: { cached_tokens: 1024, cache_write_tokens: 2500 },
        output_tokens: 10,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 3010,
      },
      expected: { cachedInputTokens: 1024, cacheWriteTokens: 1976, outputTokens: 10 },
    },
    { source: "chat's names are not this shape", usage: { prompt_tokens: 3 }, expected: undefined },
    {
      source: "missing details",
      usage: { input_tokens: 12, output_tokens: 4 },
      expected: { inputTokens: 12, outputTokens: 4 },
    },
  ]);

  const usage = {
    input_tokens: 5000,
    input_tokens_details: { cached_tokens: 4096 },
    output_tokens: 1200,
    output_tokens_details: { reasoning_tokens: 900 },
    total_tokens: 6200,
  };
  const read = fromResponsesUsage(usage);
  it("finds the usage in a stream's final events and in a whole response", () => {
    for (const type of ["response.completed", "response.incomplete", "response.failed"]) {
      const event = { type, sequence_number: 9, response: { object: "response", usage } };
      expect(fromResponsesEvent(event)).toEqual(read);
    }
    expect(fromResponsesEvent({ id: "resp_1", object: "response", usage })).toEqual(read);
  });
  it("reads nothing from other events or a response without usage yet", () => {
    const created = { type: "response.created", response: { object: "response", usage: null } };
    expect(fromResponsesEvent(created)).toBeUndefined();
    const inProgress = { type: "response.in_progress", response: { object: "response", usage } };
    expect(fromResponsesEvent(inProgress)).toBeUndefined();
    expect(fromResponsesEvent({ type: "response.output_text.delta", delta: "hi" })).toBeUndefined();
    expect(fromResponsesEvent({ type: "response.completed", response: "done" })).toBeUndefined();
  });
});

describe("fromImagesUsage: gpt-image-*", () => {
  table(fromImagesUsage, [
    {
      // Verbatim: the image generation response in OpenAI's API reference.
      source: "OpenAI API reference, images response",
      usage: {
        total_tokens: 100,
        input_tokens: 50,
        output_tokens: 50,
        input_tokens_details: { text_tokens: 10, image_tokens: 40 },
      },
      expected: { inputTokens: 10, imageInputTokens: 40, imageOutputTokens: 50 },
    },
    {
      // Illustrative: with openai-node's newer output_tokens_details (usage-shapes.md §3).
      source: "openai-node images usage with output_tokens_details",
      usage: {
        input_tokens: 50,
        input_tokens_details: { text_tokens: 10, image_tokens: 40 },
        output_tokens: 4160,
        output_tokens_details: { image_tokens: 4160, text_tokens: 0 },
        total_tokens: 4210,
      },
      expected: { inputTokens: 10, imageInputTokens: 40, imageOutputTokens: 4160 },
    },
    {
      // Illustrative: gpt-image-1.5 and -2 price text output apart (list-prices.md).
      source: "text output beside the image output",
      usage: {
        input_tokens: 20,
        input_tokens_details: { text_tokens: 20, image_tokens: 0 },
        output_tokens: 4200,
        output_tokens_details: { image_tokens: 4160, text_tokens: 40 },
        total_tokens: 4220,
      },
      expected: { inputTokens: 20, outputTokens: 40, imageOutputTokens: 4160 },
    },
    {
      source: "no details: input is the text prompt, output is the image",
      usage: { input_tokens: 30, output_tokens: 1056, total_tokens: 1086 },
      expected: { inputTokens: 30, imageOutputTokens: 1056 },
    },
    {
      source: "image tokens claiming more than the input are cut to it",
      usage: { input_tokens: 50, output_tokens: 1, input_tokens_details: { image_tokens: 80 } },
      expected: { imageInputTokens: 50, imageOutputTokens: 1 },
    },
    { source: "DALL·E answers have no usage", usage: undefined, expected: undefined },
    {
      source: "details alone are not a usage",
      usage: { input_tokens_details: {} },
      expected: undefined,
    },
  ]);
});

describe("fromTranscriptionUsage: transcriptions", () => {
  table(fromTranscriptionUsage, [
    {
      // Verbatim: the transcription object (json) in OpenAI's API reference, gpt-4o-transcribe.
      source: "OpenAI API reference, token usage",
      usage: {
        type: "tokens",
        input_tokens: 14,
        input_token_details: { text_tokens: 0, audio_tokens: 14 },
        output_tokens: 45,
        total_tokens: 59,
      },
      expected: { audioInputTokens: 14, outputTokens: 45 },
    },
    {
      // Illustrative: a request with a `prompt`: its text is text_tokens, billed at the text rate.
      source: "a prompt's tokens are text input",
      usage: {
        type: "tokens",
        input_tokens: 40,
        input_token_details: { text_tokens: 26, audio_tokens: 14 },
        output_tokens: 45,
        total_tokens: 85,
      },
      expected: { inputTokens: 26, audioInputTokens: 14, outputTokens: 45 },
    },
    {
      // input_token_details is optional in openai-node: what a transcription reads is audio.
      source: "without details, input is audio",
      usage: { type: "tokens", input_tokens: 20, output_tokens: 5, total_tokens: 25 },
      expected: { audioInputTokens: 20, outputTokens: 5 },
    },
    {
      // Illustrative: whisper-1's duration usage (openai-node Transcription.Duration).
      source: "whisper-1 duration usage",
      usage: { type: "duration", seconds: 9 },
      expected: { sttSeconds: 9 },
    },
    {
      source: "a fraction of a second is billed as a whole second",
      usage: { type: "duration", seconds: 9.2 },
      expected: { sttSeconds: 10 },
    },
    { source: "duration without type", usage: { seconds: 3 }, expected: { sttSeconds: 3 } },
    {
      source: "tokens without type",
      usage: { input_tokens: 7, output_tokens: 2 },
      expected: { audioInputTokens: 7, outputTokens: 2 },
    },
    { source: "duration without seconds", usage: { type: "duration" }, expected: undefined },
    {
      source: "an unknown type",
      usage: { type: "characters", input_tokens: 5 },
      expected: undefined,
    },
    { source: "negative seconds are none", usage: { type: "duration", seconds: -4 }, expected: {} },
  ]);
});

describe("fromSpeechUsage: gpt-4o-mini-tts", () => {
  table(fromSpeechUsage, [
    {
      // Illustrative: OpenAPI SpeechAudioDoneEvent.usage (usage-shapes.md §4), the last event
      // of stream_format "sse".
      source: "speech.audio.done usage: text in, audio out",
      usage: { input_tokens: 14, output_tokens: 101, total_tokens: 115 },
      expected: { inputTokens: 14, audioOutputTokens: 101 },
    },
    { source: "raw audio answers have no usage", usage: undefined, expected: undefined },
  ]);
});

describe("fromAnthropicUsage: the Messages API", () => {
  table(fromAnthropicUsage, [
    {
      // Verbatim: the Message example in Anthropic's Messages API reference.
      source: "Anthropic API reference, message usage",
      usage: { input_tokens: 2095, output_tokens: 503 },
      expected: { inputTokens: 2095, outputTokens: 503 },
    },
    {
      // Illustrative: anthropic-sdk-typescript Usage (usage-shapes.md §5): input_tokens excludes
      // the cache; server_tool_use is billed per request and is no token kind.
      source: "anthropic-sdk Usage: a 5-minute cache write",
      usage: {
        input_tokens: 21,
        cache_creation_input_tokens: 188086,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 188086, ephemeral_1h_input_tokens: 0 },
        output_tokens: 393,
        output_tokens_details: { thinking_tokens: 310 },
        server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 },
        service_tier: "standard",
        inference_geo: "global",
      },
      expected: { inputTokens: 21, cacheWriteTokens: 188086, outputTokens: 393 },
    },
    {
      // Illustrative: Anthropic's prompt caching guide, 1-hour cache duration: the write split
      // by TTL in cache_creation.
      source: "a read, and writes for 5 minutes and for an hour",
      usage: {
        input_tokens: 50,
        cache_read_input_tokens: 1800,
        cache_creation_input_tokens: 556,
        cache_creation: { ephemeral_5m_input_tokens: 456, ephemeral_1h_input_tokens: 100 },
        output_tokens: 503,
      },
      expected: {
        inputTokens: 50,
        cachedInputTokens: 1800,
        cacheWriteTokens: 456,
        cacheWrite1hTokens: 100,
        outputTokens: 503,
      },
    },
    {
      source: "without cache_creation (older answers), every write is a 5-minute one",
      usage: { input_tokens: 9, cache_creation_input_tokens: 248, output_tokens: 1 },
      expected: { inputTokens: 9, cacheWriteTokens: 248, outputTokens: 1 },
    },
    {
      source: "nullable fields as null (anthropic-sdk types them number | null)",
      usage: {
        input_tokens: 30,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        cache_creation: null,
        output_tokens: 10,
      },
      expected: { inputTokens: 30, outputTokens: 10 },
    },
    {
      source: "the split without its total",
      usage: {
        input_tokens: 1,
        cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 20 },
        output_tokens: 1,
      },
      expected: { inputTokens: 1, cacheWriteTokens: 10, cacheWrite1hTokens: 20, outputTokens: 1 },
    },
    {
      source: "a split claiming more than the total is cut to it",
      usage: {
        input_tokens: 1,
        cache_creation_input_tokens: 100,
        cache_creation: { ephemeral_1h_input_tokens: 150 },
        output_tokens: 1,
      },
      expected: { inputTokens: 1, cacheWrite1hTokens: 100, outputTokens: 1 },
    },
    {
      source: "OpenAI's names are not this shape",
      usage: { prompt_tokens: 3 },
      expected: undefined,
    },
  ]);
});

describe("AnthropicStreamUsage: a Messages stream", () => {
  const gather = (events: unknown[]) => {
    const usage = new AnthropicStreamUsage();
    for (const event of events) usage.read(event);
    return usage;
  };

  it("takes the input from message_start and the output from message_delta (Anthropic's streaming docs)", () => {
    // Verbatim: the basic streaming example in Anthropic's "Streaming Messages" guide.
    const start = {
      type: "message_start",
      message: {
        id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
        type: "message",
        role: "assistant",
        content: [],
        model: "claude-opus-4-6",
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 25, output_tokens: 1 },
      },
    };
    const usage = gather([
      start,
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "ping" },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } },
      { type: "content_block_stop", index: 0 },
    ]);
    expect(usage.final).toBe(false);
    expect(usage.metered()).toEqual({ inputTokens: 25, outputTokens: 1 });
    usage.read({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 15 },
    });
    usage.read({ type: "message_stop" });
    expect(usage.final).toBe(true);
    expect(usage.metered()).toEqual({ inputTokens: 25, outputTokens: 15 });
  });

  it("keeps the latest of cumulative totals and never adds them (several deltas with server tools)", () => {
    // Illustrative: usage-shapes.md §5; MessageDeltaUsage fields are "the cumulative number
    // of ..." and may repeat the input side.
    const usage = gather([
      {
        type: "message_start",
        message: {
          usage: {
            input_tokens: 21,
            cache_creation_input_tokens: 188086,
            cache_read_input_tokens: 0,
            cache_creation: { ephemeral_5m_input_tokens: 88086, ephemeral_1h_input_tokens: 100000 },
            output_tokens: 1,
            service_tier: "standard",
          },
        },
      },
      {
        type: "message_delta",
        delta: { stop_reason: null },
        usage: {
          input_tokens: 21,
          cache_creation_input_tokens: 188086,
          cache_read_input_tokens: 0,
          output_tokens: 120,
          server_tool_use: { web_search_requests: 1 },
        },
      },
      {
        type: "message_delta",
        delta: { stop_reason: "end_turn" },
        usage: {
          input_tokens: 2400,
          output_tokens: 393,
          server_tool_use: { web_search_requests: 1 },
        },
      },
    ]);
    expect(usage.metered()).toEqual({
      inputTokens: 2400,
      cacheWriteTokens: 88086,
      cacheWrite1hTokens: 100000,
      outputTokens: 393,
    });
  });

  it("replaces nothing with a null or unreadable field", () => {
    const usage = gather([
      { type: "message_start", message: { usage: { input_tokens: 40, output_tokens: 2 } } },
      {
        type: "message_delta",
        usage: { input_tokens: null, cache_read_input_tokens: null, output_tokens: 12 },
      },
      { type: "message_delta", usage: { output_tokens: "many", cache_creation: [1, 2] } },
    ]);
    expect(usage.metered()).toEqual({ inputTokens: 40, outputTokens: 12 });
  });

  it("reports nothing before any event carries usage", () => {
    const usage = gather([{ type: "ping" }, "garbage", null, { type: "message_delta" }]);
    expect(usage.metered()).toBeUndefined();
    expect(usage.final).toBe(false);
  });
});

describe("Bedrock", () => {
  describe("fromBedrockInvocationMetrics", () => {
    // Illustrative: the last chunk of InvokeModelWithResponseStream (usage-shapes.md §6);
    // inputTokenCount excludes the cache counts.
    const metrics = {
      inputTokenCount: 100,
      outputTokenCount: 50,
      invocationLatency: 5000,
      firstByteLatency: 200,
      cacheReadInputTokenCount: 80,
      cacheWriteInputTokenCount: 20,
    };
    table(fromBedrockInvocationMetrics, [
      {
        source: "invocation metrics with cache counts",
        usage: metrics,
        expected: {
          inputTokens: 100,
          cachedInputTokens: 80,
          cacheWriteTokens: 20,
          outputTokens: 50,
        },
      },
      {
        source: "the message_stop event that carries them",
        usage: { type: "message_stop", "amazon-bedrock-invocationMetrics": metrics },
        expected: {
          inputTokens: 100,
          cachedInputTokens: 80,
          cacheWriteTokens: 20,
          outputTokens: 50,
        },
      },
      {
        // Verbatim shape of older models' metrics (usage-shapes.md §6).
        source: "older models' four fields",
        usage: {
          inputTokenCount: 846,
          outputTokenCount: 39,
          invocationLatency: 880,
          firstByteLatency: 402,
        },
        expected: { inputTokens: 846, outputTokens: 39 },
      },
      {
        source: "a message_stop without metrics",
        usage: { type: "message_stop" },
        expected: undefined,
      },
    ]);
  });

  describe("fromConverseUsage", () => {
    table(fromConverseUsage, [
      {
        // Illustrative: AWS TokenUsage (docs.aws.amazon.com/bedrock/latest/APIReference/
        // API_runtime_TokenUsage.html); inputTokens excludes the cache (LiteLLM's Converse
        // transformation adds the cache counts to it).
        source: "Converse usage with a cache write",
        usage: {
          inputTokens: 4,
          outputTokens: 97,
          totalTokens: 1141,
          cacheReadInputTokens: 0,
          cacheWriteInputTokens: 1040,
        },
        expected: { inputTokens: 4, cacheWriteTokens: 1040, outputTokens: 97 },
      },
      {
        // Illustrative: cacheDetails, "Sorted by TTL duration (1h before 5m)" (AWS CacheDetail).
        source: "Converse usage with writes split by TTL",
        usage: {
          inputTokens: 4,
          outputTokens: 97,
          totalTokens: 2141,
          cacheReadInputTokens: 1000,
          cacheWriteInputTokens: 1040,
          cacheDetails: [
            { ttl: "1h", inputTokens: 1000 },
            { ttl: "5m", inputTokens: 40 },
          ],
        },
        expected: {
          inputTokens: 4,
          cachedInputTokens: 1000,
          cacheWriteTokens: 40,
          cacheWrite1hTokens: 1000,
          outputTokens: 97,
        },
      },
      {
        source: "cacheDetails without cacheWriteInputTokens",
        usage: {
          inputTokens: 1,
          outputTokens: 1,
          cacheDetails: [{ ttl: "1h", inputTokens: 7 }, { ttl: "5m", inputTokens: 3 }, "junk"],
        },
        expected: { inputTokens: 1, cacheWriteTokens: 3, cacheWrite1hTokens: 7, outputTokens: 1 },
      },
      {
        source: "cacheDetails not a list",
        usage: { inputTokens: 1, cacheDetails: {} },
        expected: { inputTokens: 1 },
      },
    ]);
  });
});

/** A seeded generator, so a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number) => Math.floor(next() * below);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}

/** Every field name the readers read, and a few a hostile object might use. */
const NAMES = [
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "prompt_tokens_details",
  "completion_tokens_details",
  "cached_tokens",
  "audio_tokens",
  "image_tokens",
  "text_tokens",
  "cache_write_tokens",
  "cache_creation_input_tokens",
  "reasoning_tokens",
  "prompt_cache_hit_tokens",
  "prompt_cache_miss_tokens",
  "input_tokens",
  "output_tokens",
  "input_tokens_details",
  "output_tokens_details",
  "input_token_details",
  "type",
  "seconds",
  "cache_read_input_tokens",
  "cache_creation",
  "ephemeral_5m_input_tokens",
  "ephemeral_1h_input_tokens",
  "message",
  "usage",
  "response",
  "object",
  "inputTokenCount",
  "outputTokenCount",
  "cacheReadInputTokenCount",
  "cacheWriteInputTokenCount",
  "amazon-bedrock-invocationMetrics",
  "inputTokens",
  "outputTokens",
  "cacheReadInputTokens",
  "cacheWriteInputTokens",
  "cacheDetails",
  "ttl",
  "__proto__",
  "constructor",
  "toString",
];
const TYPES = [
  "tokens",
  "duration",
  "message_start",
  "message_delta",
  "response.completed",
  "response",
  "1h",
  "5m",
];

/** Hostile JSON-ish values: negative, fractional, huge, NaN, quoted, nested, wrong types. */
function hostileValue(r: ReturnType<typeof random>, depth: number): unknown {
  switch (r.int(depth > 3 ? 6 : 9)) {
    case 0:
      return r.pick([
        -1,
        -0,
        0,
        0.5,
        1,
        7,
        1024,
        2 ** 31,
        1e21,
        1e300,
        -1e300,
        Number.MAX_VALUE,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ]);
    case 1:
      return r.int(100_000) - 10;
    case 2:
      return r.pick(["12", "-3", "1e5", "0x10", "", " 4", "99999999999999999999", "NaN", ...TYPES]);
    case 3:
      return r.pick([null, true, false, undefined]);
    case 4:
      return r.next() * 10_000;
    case 5:
      return r.pick(TYPES);
    case 6:
    case 7: {
      const object: Record<string, unknown> = {};
      for (let i = r.int(8); i > 0; i--) {
        Object.defineProperty(object, r.pick(NAMES), {
          value: hostileValue(r, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
    default:
      return Array.from({ length: r.int(4) }, () => hostileValue(r, depth + 1));
  }
}

const READERS: [string, (value: unknown) => Metered | undefined][] = [
  ["fromChatUsage", fromChatUsage],
  ["fromResponsesUsage", fromResponsesUsage],
  ["fromResponsesEvent", fromResponsesEvent],
  ["fromImagesUsage", fromImagesUsage],
  ["fromTranscriptionUsage", fromTranscriptionUsage],
  ["fromSpeechUsage", fromSpeechUsage],
  ["fromAnthropicUsage", fromAnthropicUsage],
  ["fromBedrockInvocationMetrics", fromBedrockInvocationMetrics],
  ["fromConverseUsage", fromConverseUsage],
  [
    "AnthropicStreamUsage",
    (value) => {
      const usage = new AnthropicStreamUsage();
      for (const event of Array.isArray(value) ? value : [value]) usage.read(event);
      return usage.metered();
    },
  ],
];

const COUNT_KEYS = new Set<string>([
  ...INPUT_KINDS,
  ...OUTPUT_KINDS,
  "calls",
  "ttsCharacters",
  "sttSeconds",
]);

function expectSound(metered: Metered | undefined) {
  if (metered === undefined) return;
  for (const [kind, value] of Object.entries(metered)) {
    expect(COUNT_KEYS.has(kind), kind).toBe(true);
    expect(Number.isSafeInteger(value), `${kind}: ${value}`).toBe(true);
    expect(value, kind).toBeGreaterThan(0);
  }
  expect(Number.isFinite(promptTokensOf(metered))).toBe(true);
  expect(Number.isFinite(completionTokensOf(metered))).toBe(true);
}

describe("hostile input", () => {
  /** Usage-like objects: a random handful of known names with hostile values, some nested. */
  /** The fields each shape is recognised by, so most values reach a reader's arithmetic. */
  const SHAPES = [
    ["prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"],
    ["input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"],
    ["input_tokens", "cache_creation_input_tokens", "cache_creation", "output_tokens"],
    ["type", "seconds", "input_token_details"],
    ["inputTokenCount", "outputTokenCount", "cacheWriteInputTokenCount"],
    ["inputTokens", "cacheWriteInputTokens", "cacheDetails"],
  ];
  function hostileUsage(r: ReturnType<typeof random>): unknown {
    if (r.next() < 0.3) return hostileValue(r, 0);
    const usage = hostileValue(r, 3);
    const object = usage && typeof usage === "object" && !Array.isArray(usage) ? usage : {};
    for (const name of r.pick(SHAPES)) {
      if (r.next() < 0.8) {
        (object as Record<string, unknown>)[name] =
          r.next() < 0.6 ? r.int(1_000_000) - 100 : hostileValue(r, 2);
      }
    }
    return object;
  }

  it("never makes a reader throw, nor report a negative, fractional, NaN or unsafe count", () => {
    const r = random(19);
    let readable = 0;
    for (let i = 0; i < 600; i++) {
      const value = hostileUsage(r);
      for (const [name, reader] of READERS) {
        let metered: Metered | undefined;
        expect(
          () => {
            metered = reader(value);
          },
          `${name}(${String(JSON.stringify(value))})`,
        ).not.toThrow();
        expectSound(metered);
        if (metered && Object.keys(metered).length > 0) readable++;
      }
    }
    // The generator reaches the readers' shapes, not only their "not this shape" exits.
    expect(readable).toBeGreaterThan(500);
  });

  it("reads JSON as it arrives: an own __proto__ field is data, not a prototype", () => {
    const parsed = JSON.parse(
      '{"__proto__": {"prompt_tokens": 1000}, "completion_tokens": 3, "prompt_tokens_details": {"__proto__": {"cached_tokens": 5}}}',
    );
    expect(fromChatUsage(parsed)).toEqual({ outputTokens: 3 });
  });
});

describe("invariants on well-formed payloads", () => {
  const r = random(2024);
  const upTo = (n: number) => r.int(n + 1);
  const maybe = <T>(value: T) => (r.next() < 0.8 ? value : undefined);

  it("OpenAI chat: the prompt kinds sum to prompt_tokens, the answer kinds to completion_tokens, and no cached token is billed as uncached", () => {
    for (let i = 0; i < 500; i++) {
      const prompt = r.pick([0, 1, 1024, upTo(200_000)]);
      const audio = upTo(prompt);
      const image = upTo(prompt - audio);
      const cached = upTo(prompt);
      // Unadjusted, so it may overlap the cached tokens (or claim more than is left).
      const cacheWrite = upTo(prompt);
      const completion = r.pick([0, 1, upTo(100_000)]);
      const reasoning = upTo(completion);
      const audioOut = upTo(completion - reasoning);
      const usage = {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: r.next() < 0.5 ? prompt + completion : undefined,
        prompt_tokens_details: maybe({
          cached_tokens: maybe(cached),
          audio_tokens: maybe(audio),
          image_tokens: maybe(image),
          text_tokens: prompt - audio - image,
          cache_write_tokens: maybe(cacheWrite),
        }),
        completion_tokens_details: maybe({
          reasoning_tokens: maybe(reasoning),
          audio_tokens: maybe(audioOut),
          accepted_prediction_tokens: maybe(upTo(completion)),
          rejected_prediction_tokens: maybe(upTo(completion)),
        }),
      };
      const metered = fromChatUsage(JSON.parse(JSON.stringify(usage))) as Metered;
      const label = JSON.stringify(usage);
      expect(promptTokensOf(metered), label).toBe(prompt);
      expect(completionTokensOf(metered), label).toBe(completion);
      const cachedReported = usage.prompt_tokens_details?.cached_tokens ?? 0;
      const cachedRead =
        (metered.cachedInputTokens ?? 0) +
        (metered.cachedAudioInputTokens ?? 0) +
        (metered.cachedImageInputTokens ?? 0);
      expect(cachedRead, label).toBe(cachedReported);
      expect(metered.reasoningTokens ?? 0, label).toBe(
        usage.completion_tokens_details?.reasoning_tokens ?? 0,
      );
    }
  });

  it("Responses: the kinds sum to input_tokens and output_tokens", () => {
    for (let i = 0; i < 300; i++) {
      const input = upTo(300_000);
      const output = upTo(100_000);
      const usage = {
        input_tokens: input,
        input_tokens_details: {
          cached_tokens: upTo(input),
          cache_write_tokens: maybe(upTo(input)),
        },
        output_tokens: output,
        output_tokens_details: { reasoning_tokens: upTo(output) },
        total_tokens: input + output,
      };
      const metered = fromResponsesUsage(usage) as Metered;
      expect(promptTokensOf(metered)).toBe(input);
      expect(completionTokensOf(metered)).toBe(output);
      expect(metered.cachedInputTokens ?? 0).toBe(usage.input_tokens_details.cached_tokens);
    }
  });

  it("Anthropic: the prompt is input + cache reads + cache writes, and the 1-hour writes are kept apart", () => {
    for (let i = 0; i < 300; i++) {
      const [input, read, fiveMinutes, anHour, output] = [
        upTo(50_000),
        upTo(200_000),
        upTo(100_000),
        upTo(100_000),
        upTo(64_000),
      ];
      const usage = {
        input_tokens: input,
        cache_read_input_tokens: maybe(read),
        cache_creation_input_tokens: fiveMinutes + anHour,
        cache_creation: maybe({
          ephemeral_5m_input_tokens: fiveMinutes,
          ephemeral_1h_input_tokens: anHour,
        }),
        output_tokens: output,
      };
      const metered = fromAnthropicUsage(usage) as Metered;
      const cacheRead = usage.cache_read_input_tokens ?? 0;
      expect(promptTokensOf(metered)).toBe(input + cacheRead + fiveMinutes + anHour);
      expect(completionTokensOf(metered)).toBe(output);
      expect(metered.cachedInputTokens ?? 0).toBe(cacheRead);
      expect(metered.cacheWrite1hTokens ?? 0).toBe(usage.cache_creation ? anHour : 0);
    }
  });

  it("Bedrock: the prompt is input + cache reads + cache writes, in both shapes", () => {
    for (let i = 0; i < 200; i++) {
      const [input, read, write, output] = [upTo(50_000), upTo(50_000), upTo(50_000), upTo(9_000)];
      const fromMetrics = fromBedrockInvocationMetrics({
        inputTokenCount: input,
        outputTokenCount: output,
        cacheReadInputTokenCount: read,
        cacheWriteInputTokenCount: write,
      }) as Metered;
      const fromConverse = fromConverseUsage({
        inputTokens: input,
        outputTokens: output,
        totalTokens: input + output + read + write,
        cacheReadInputTokens: read,
        cacheWriteInputTokens: write,
      }) as Metered;
      for (const metered of [fromMetrics, fromConverse]) {
        expect(promptTokensOf(metered)).toBe(input + read + write);
        expect(completionTokensOf(metered)).toBe(output);
      }
    }
  });
});

describe("the readers' folder", () => {
  it("imports nothing but billing/metered.ts and its own files (pure functions, no I/O)", () => {
    const folder = join(__dirname, "../../shared/billing/usage");
    const files = readdirSync(folder).filter((file) => file.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = readFileSync(join(folder, file), "utf8");
      const imports = [...source.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
      for (const specifier of imports) {
        expect(
          specifier === "../metered" || /^\.\/[\w-]+$/.test(specifier ?? ""),
          `${file}: ${specifier}`,
        ).toBe(true);
      }
    }
  });
});
