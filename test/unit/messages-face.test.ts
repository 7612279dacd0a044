/**
 * The Anthropic face's own parts: its error mapping (docs/design §2.5), its rate-limit headers,
 * the session a call belongs to, the pass-through stream relay, the hold's floor for a thinking
 * budget, and the bridge seam (a channel that speaks chat serves a Messages call through the
 * registered bridge: here a test-only one, standing in for bridges/messages-to-chat/).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forwardedHeaders, sessionOf } from "../../shared/anthropic/request";
import { MessagesStreamRelay } from "../../shared/anthropic/stream";
import { AnthropicStreamUsage } from "../../shared/billing/usage/anthropic";
import {
  InvalidRequest,
  ModelUnavailable,
  QuotaExceeded,
  RateLimited,
  StoreUnavailable,
  Unauthenticated,
  UpstreamRejected,
} from "../../shared/errors";
import { toAnthropicError } from "../../shared/http/error-mapping";
import { anthropicRateLimitHeaders } from "../../shared/http/rate-limit-headers";
import type { GatewayRequest } from "../../shared/http/types";
import type { Bridge } from "../../shared/relay/bridges/bridge";
import { BRIDGES } from "../../shared/relay/bridges/registry";
import { SseParser } from "../../shared/stream/sse";
import { assertAnthropicStream, parseAnthropicSse } from "../fixtures/anthropic-stream";
import { inProcessApi } from "../fixtures/core";

/** A test-only messages→chat bridge: text in, text out; enough to drive the seam. */
const testBridge = ((): Bridge => {
  const bridge: Bridge = {
    from: "messages",
    to: "chat",
    request: (body) => ({
      messages: (body.messages as { role: string; content: string }[]).map((m) => ({
        role: m.role,
        content: m.content,
      })),
      max_tokens: body.max_tokens,
      ...(body.stream === true && { stream: true }),
    }),
    answer: (body, context) => {
      const choice = (body.choices as { message: { content: string } }[])[0];
      return {
        id: "msg_bridged",
        type: "message",
        role: "assistant",
        model: context.model,
        content: [{ type: "text", text: choice?.message.content }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      };
    },
    stream: (context) => {
      let text = "";
      let started = false;
      const event = (type: string, data: Record<string, unknown>) =>
        `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      return {
        push(events) {
          let out = "";
          for (const e of events) {
            if (!e.data || e.data === "[DONE]") continue;
            const chunk = JSON.parse(e.data);
            const delta = chunk.choices?.[0]?.delta?.content;
            if (typeof delta !== "string") continue;
            if (!started) {
              started = true;
              out += event("message_start", {
                message: {
                  id: "msg_b",
                  type: "message",
                  role: "assistant",
                  content: [],
                  model: context.model,
                  stop_reason: null,
                  stop_sequence: null,
                  usage: { input_tokens: 0, output_tokens: 0 },
                },
              });
              out += event("content_block_start", {
                index: 0,
                content_block: { type: "text", text: "" },
              });
            }
            text += delta;
            out += event("content_block_delta", {
              index: 0,
              delta: { type: "text_delta", text: delta },
            });
          }
          return out;
        },
        end: () => ({
          text:
            event("content_block_stop", { index: 0 }) +
            event("message_delta", {
              delta: { stop_reason: "end_turn", stop_sequence: null },
              usage: { output_tokens: text.length },
            }) +
            event("message_stop", {}),
          complete: true,
        }),
        broken: (message) => event("error", { error: { type: "overloaded_error", message } }),
        metered: () => ({ inputTokens: 7, outputTokens: 3 }),
      };
    },
    // A status of its own (422 → 400), so a test sees the face used it.
    error: (status, fields) => ({
      status: status === 422 ? 400 : status,
      type: "invalid_request_error",
      message: `bridged: ${fields.message ?? ""}`,
    }),
  };
  return bridge;
})();

/**
 * The registry holds only `bridges` for one describe's tests, the build's own bridges put back
 * after (test files share modules).
 */
function withRegistry(bridges: Bridge[]): void {
  const registry = BRIDGES as Bridge[];
  let built: Bridge[] = [];
  beforeAll(() => {
    built = registry.splice(0, registry.length, ...bridges);
  });
  afterAll(() => {
    registry.splice(0, registry.length, ...built);
  });
}

describe("the Messages face's errors (toAnthropicError)", () => {
  const standing = { requests: { limit: 10, remaining: 0, resetMs: 30_000 } };
  const rows: [string, unknown, number, string][] = [
    ["a balance too low", new QuotaExceeded("user"), 400, "invalid_request_error"],
    ["a wrong key", new Unauthenticated("no", "invalid_api_key"), 401, "authentication_error"],
    ["a model not priced", new ModelUnavailable("m", "not_priced", "x"), 403, "permission_error"],
    ["an unknown model", new ModelUnavailable("m", "unknown", "x"), 404, "not_found_error"],
    [
      "a model not on the path",
      new ModelUnavailable("m", "not_on_path", "x"),
      404,
      "not_found_error",
    ],
    [
      "sluice's rate limit",
      new RateLimited("rpm", "key", "slow", 2500, standing),
      429,
      "rate_limit_error",
    ],
    ["no channel now", new ModelUnavailable("m", "resting", "x", 5), 529, "overloaded_error"],
    [
      "upstream overloaded",
      new UpstreamRejected("rate_limited", "x", { retryAfter: "3" }),
      529,
      "overloaded_error",
    ],
    ["upstream unreachable", new UpstreamRejected("unreachable", "x"), 529, "overloaded_error"],
    [
      "sluice's channel key refused",
      new UpstreamRejected("auth", "x", { status: 401 }),
      529,
      "overloaded_error",
    ],
    ["the upstream late", new UpstreamRejected("timeout", "x"), 504, "timeout_error"],
    ["the data store down", new StoreUnavailable("GetItem"), 500, "api_error"],
  ];
  it.each(rows)("%s", (_, err, status, type) => {
    expect(toAnthropicError(err)).toMatchObject({ status, type });
  });

  it("keeps the upstream's own type and status for a refusal of the request, and translates a foreign type", () => {
    const own = new UpstreamRejected("client_error", "too big", {
      status: 413,
      type: "request_too_large",
    });
    expect(toAnthropicError(own)).toMatchObject({
      status: 413,
      type: "request_too_large",
      message: "too big",
    });
    const openai = new UpstreamRejected("client_error", "bad", {
      status: 422,
      type: "invalid_value",
    });
    expect(toAnthropicError(openai)).toMatchObject({ status: 422, type: "invalid_request_error" });
  });

  it("says what Claude Code acts on: retry-after and x-should-retry, and the limits' own headers", () => {
    expect(toAnthropicError(new QuotaExceeded("user"))?.headers["x-should-retry"]).toBe("false");
    expect(toAnthropicError(new QuotaExceeded("user"))?.message).toMatch(
      /^Your credit balance is too low/,
    );
    const limited = toAnthropicError(new RateLimited("rpm", "key", "slow", 2500, standing));
    expect(limited?.headers).toMatchObject({
      "retry-after": "3",
      "anthropic-ratelimit-requests-limit": "10",
      "anthropic-ratelimit-requests-remaining": "0",
      "x-ratelimit-limit-requests": "10",
    });
    const resting = toAnthropicError(new ModelUnavailable("m", "resting", "x", 5));
    expect(resting?.headers).toMatchObject({ "retry-after": "5", "x-should-retry": "true" });
    const closed = toAnthropicError(new ModelUnavailable("m", "resting", "x"));
    expect(closed?.headers["x-should-retry"]).toBe("false");
  });
});

describe("anthropic-ratelimit-* headers", () => {
  it("tell the reset as an RFC 3339 time, for each limit that is set", () => {
    const now = Date.parse("2026-12-06T06:00:00.250Z");
    const headers = anthropicRateLimitHeaders(
      { tokens: { limit: 1000, remaining: 400, resetMs: 12_500 } },
      now,
    );
    expect(headers).toEqual({
      "anthropic-ratelimit-tokens-limit": "1000",
      "anthropic-ratelimit-tokens-remaining": "400",
      "anthropic-ratelimit-tokens-reset": "2026-12-06T06:00:13Z",
    });
    expect(anthropicRateLimitHeaders(undefined)).toEqual({});
  });
});

describe("the session a Messages call belongs to", () => {
  const request = (headers: Record<string, string> = {}) =>
    ({ headers }) as unknown as GatewayRequest;
  it("is Claude Code's session header, else metadata.user_id's session, in either form", () => {
    expect(sessionOf(request({ "x-claude-code-session-id": "s-1" }), {})).toBe("s-1");
    const old = { metadata: { user_id: "user_ab12_account_cd34_session_9f8e-7d6c" } };
    expect(sessionOf(request(), old)).toBe("9f8e-7d6c");
    const json = { metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "s-2" }) } };
    expect(sessionOf(request(), json)).toBe("s-2");
    expect(sessionOf(request(), { metadata: { user_id: "someone" } })).toBeUndefined();
    expect(sessionOf(request(), {})).toBeUndefined();
  });
});

describe("the client's headers a Messages call carries on", () => {
  const request = (headers: Record<string, string>) => ({ headers }) as unknown as GatewayRequest;
  it("are anthropic-version and anthropic-beta, and a value HTTP cannot carry is the client's 400", () => {
    expect(
      forwardedHeaders(
        request({ "anthropic-beta": "a,b", "anthropic-version": "2023-06-01", x: "y" }),
      ),
    ).toEqual({ "anthropic-beta": "a,b", "anthropic-version": "2023-06-01" });
    // Past U+00FF, or a control character: no channel could be sent it (each would count as
    // unreachable), so the call is refused before any is tried, in Anthropic's envelope.
    for (const value of ["fine-\u20ac", "a\u0001b", "x\r\ny: 1"]) {
      let thrown: unknown;
      try {
        forwardedHeaders(request({ "anthropic-beta": value }));
      } catch (err) {
        thrown = err;
      }
      expect(thrown, value).toBeInstanceOf(InvalidRequest);
      expect(toAnthropicError(thrown)).toMatchObject({
        status: 400,
        type: "invalid_request_error",
      });
    }
    // Latin-1 past ASCII goes on, as HTTP carries it.
    expect(forwardedHeaders(request({ "anthropic-beta": "caf\u00e9" }))).toEqual({
      "anthropic-beta": "caf\u00e9",
    });
  });
});

function events(text: string) {
  const parser = new SseParser();
  return [...parser.push(new TextEncoder().encode(text)), ...parser.end()];
}

const START =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-upstream-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":30,"output_tokens":1, "service_tier":"standard"}}}\n\n';
const BODY = [
  'event: ping\ndata: {"type": "ping"}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi 1.0 \\u00e9"}}\n\n',
  'event: some_future_event\ndata: {"type":"some_future_event","x":1.50}\n\n',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
];

describe("MessagesStreamRelay (pass-through)", () => {
  it("passes every event byte for byte, unknown ones included, and reads the usage as it passes", () => {
    const usage = new AnthropicStreamUsage();
    const relay = new MessagesStreamRelay({ usage }, () => {});
    const out = relay.onEvents(events(START + BODY.join("")));
    expect(out).toBe(START + BODY.join(""));
    expect(relay.onUpstreamEnd()).toEqual({ text: "", complete: true });
    expect(usage.metered()).toEqual({ inputTokens: 12, cachedInputTokens: 30, outputTokens: 5 });
  });

  it("splices the client's model name into message_start alone, keeping every other byte", () => {
    const relay = new MessagesStreamRelay({ reportModel: "claude-alias" }, () => {});
    const out = relay.onEvents(events(START + BODY.join("")));
    expect(out).toBe(START.replace("claude-upstream-x", "claude-alias") + BODY.join(""));
    assertAnthropicStream(parseAnthropicSse(out));
  });

  it("is incomplete without message_stop, and adds no second error after the upstream's own", () => {
    const cut = new MessagesStreamRelay({}, () => {});
    cut.onEvents(events(START + (BODY[1] as string)));
    expect(cut.onUpstreamEnd().complete).toBe(false);
    expect(cut.onBroken("gone")).toContain('"type":"overloaded_error"');
    expect(cut.delivered.text).toBe("");
    const failed = new MessagesStreamRelay({}, () => {});
    failed.onEvents(
      events(
        `${START}${BODY[2]}event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`,
      ),
    );
    expect(failed.onUpstreamEnd().complete).toBe(false);
    expect(failed.onBroken("gone")).toBe("");
    expect(failed.delivered.text).toBe("Hi 1.0 é");
  });
});

describe("the bridge seam: a chat channel serves a Messages call through the registered bridge", () => {
  withRegistry([testBridge]);
  const model = "gpt-4o-mini";
  it("sends the bridge's request as JSON with the upstream's model, and answers with the bridge's message", async () => {
    const api = inProcessApi([model], () => ({
      json: {
        id: "chatcmpl-1",
        object: "chat.completion",
        model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "bridged hi" },
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
      },
    }));
    const response = await api.call("/v1/messages", {
      model,
      max_tokens: 20,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({
      type: "message",
      model,
      content: [{ type: "text", text: "bridged hi" }],
    });
    const sent = api.upstreamRequests.at(-1);
    expect(sent?.url).toMatch(/\/chat\/completions$/);
    expect(JSON.parse(sent?.body ?? "{}")).toEqual({
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 20,
      model,
    });
    // Billed from the chat upstream's usage, as its adapter reads it.
    expect(api.logLines.at(-1)).toMatchObject({ promptTokens: 9, completionTokens: 2 });
  });

  it("answers an upstream's refusal in the client's terms, as the bridge translates it", async () => {
    const api = inProcessApi([model], () => ({
      status: 422,
      json: {
        error: { message: "bad 'messages'", type: "invalid_value", param: null, code: null },
      },
    }));
    const response = await api.call("/v1/messages", {
      model,
      max_tokens: 20,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: "bridged: bad 'messages'" },
    });
  });

  it("runs the bridge's stream inside the relay, billed from what the bridge metered", async () => {
    const chunk = (content: string) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", model, choices: [{ index: 0, delta: { content } }] })}\n\n`;
    const api = inProcessApi([model], () => ({
      events: [chunk("Hel"), chunk("lo"), "data: [DONE]\n\n"],
    }));
    const response = await api.call("/v1/messages", {
      model,
      max_tokens: 20,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(200);
    const streamed = assertAnthropicStream(parseAnthropicSse(response.text));
    expect(streamed.content).toEqual([{ type: "text", text: "Hello" }]);
    expect(api.logLines.at(-1)).toMatchObject({ promptTokens: 7, completionTokens: 3 });
  });
});

describe("without a bridge for the pair", () => {
  withRegistry([]);
  it("a channel that speaks only chat is no candidate for a Messages call: 404 not_found_error, no upstream call", async () => {
    const api = inProcessApi(["gpt-4o-mini"], () => ({ json: {} }));
    const response = await api.call("/v1/messages", {
      model: "gpt-4o-mini",
      max_tokens: 20,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text)).toMatchObject({
      type: "error",
      error: { type: "not_found_error" },
    });
    expect(response.headers["request-id"]).toBe("req_core");
    expect(api.upstreamRequests).toEqual([]);
  });
});
