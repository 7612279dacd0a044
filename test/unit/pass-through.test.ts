/**
 * OpenAI and Azure OpenAI channels pass the upstream's chat answer to the client byte for byte,
 * whole and streamed (the whole API in-process, test/fixtures/core.ts): nothing is parsed and
 * written again unless it must change, so numbers JSON.parse would round (a seed beyond 2^53,
 * `1.0`), escapes, spacing, key order, comments and CRLF line ends all survive, and the usage
 * is still read for the bill.
 */
import { describe, expect, it } from "vitest";
import type { ChannelType } from "../../shared/store/channels";
import { inProcessApi } from "../fixtures/core";

const encoder = new TextEncoder();
const MODEL = "gpt-4o-mini";

/** A chat completion as a provider might write it, in ways re-serialising would not keep. */
const WHOLE =
  '{ "id":"chatcmpl-7","object":"chat.completion","created":1,"model":"gpt-4o-mini",\n' +
  '  "system_fingerprint":"fp_\\u0041","seed":18446744073709551615,"temperature":1.0,\n' +
  '  "choices":[{"index":0,"message":{"role":"assistant","content":"h\\u00e9 \\ud83d\\ude00 \\"q\\""},' +
  '"logprobs":null,"finish_reason":"stop"}],\n' +
  '  "usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0}} }';

const chunk = (body: string) => `data: ${body}\r\n\r\n`;
/** A stream with comments, CRLF, an `id:` field, a multi-line event and numbers to round. */
const EVENTS = [
  ": keep-alive\r\n\r\n",
  chunk(
    '{"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","seed":18446744073709551615,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}',
  ),
  `id: 2\r\n${chunk('{"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"h\\u00e9"},"logprobs":{"content":[{"logprob":-0.0}]},"finish_reason":null}]}')}`,
  'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini",\r\ndata: "choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\r\n\r\n',
  chunk(
    '{"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}',
  ),
  "data: [DONE]\r\n\r\n",
];

describe.each<ChannelType>(["openai", "azure"])("a chat answer from an %s channel", (type) => {
  const api = (answer: { json?: string; events?: string[] }) =>
    inProcessApi(
      [MODEL],
      () =>
        answer.events
          ? { events: answer.events }
          : { bytes: encoder.encode(answer.json), type: "application/json" },
      undefined,
      { type, key: "sk-upstream" },
    );

  it("reaches the client byte for byte, and is billed from its usage", async () => {
    const sluice = api({ json: WHOLE });
    const response = await sluice.call("/v1/chat/completions", {
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(200);
    expect(response.text).toBe(WHOLE);
    expect(sluice.logLines[0]).toMatchObject({ inputTokens: 9, outputTokens: 4 });
  });

  it("streams to the client byte for byte when it asked for usage, and is billed from it", async () => {
    const sluice = api({ events: EVENTS });
    const response = await sluice.call("/v1/chat/completions", {
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(200);
    expect(response.text).toBe(EVENTS.join(""));
    expect(sluice.logLines[0]).toMatchObject({ inputTokens: 9, outputTokens: 2 });
  });
});
