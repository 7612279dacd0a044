import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { assertAnthropicStream, parseAnthropicSse } from "../fixtures/anthropic-stream";

/**
 * The Anthropic fixture, driven directly by the official SDK (sluice has no /v1/messages yet):
 * it must behave as Anthropic's API documents itself, since the relay's tests will trust it.
 */

const KEY = "sk-ant-demo-test";
const MODEL = "claude-sonnet-4-5";
let upstream: DemoUpstream;
let client: Anthropic;
/** The same client on the original API version, whose rules differ. */
let client2023: Anthropic;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: KEY });
  client = new Anthropic({ apiKey: KEY, baseURL: upstream.origin, maxRetries: 0 });
  client2023 = new Anthropic({
    apiKey: KEY,
    baseURL: upstream.origin,
    maxRetries: 0,
    defaultHeaders: { "anthropic-version": "2023-06-01" },
  });
});

afterAll(() => upstream.close());

const BASH = {
  name: "Bash",
  description: "Runs a shell command.",
  input_schema: {
    type: "object" as const,
    properties: { command: { type: "string" }, description: { type: "string" } },
    required: ["command"],
  },
};

/** A raw POST, for what the SDK would not send. */
function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${upstream.origin}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-api-key": KEY,
      "anthropic-version": "2023-06-01",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A JSON body, read loosely: the tests check it with `expect`. */
// biome-ignore lint/suspicious/noExplicitAny: see above
async function jsonOf(response: Response): Promise<any> {
  return response.json();
}

async function rejection(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Anthropic.APIError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

/** `words` distinct words: long enough to cache once past 1,024 tokens. */
function words(n: number, tag: string): string {
  return Array.from({ length: n }, (_, i) => `${tag}${i}`).join(" ");
}

describe("POST /v1/messages", () => {
  it("answers a plain call with Anthropic's Message and a usage that count_tokens agrees with", async () => {
    const params = {
      model: MODEL,
      max_tokens: 200,
      messages: [{ role: "user" as const, content: "Hello there" }],
    };
    const message = await client.messages.create(params);
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      model: MODEL,
      content: [{ type: "text", text: "This is sluice's demo upstream. You said: Hello there" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        service_tier: "standard",
      },
    });
    expect(message.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
    const { input_tokens } = await client.messages.countTokens({
      model: MODEL,
      messages: params.messages,
    });
    expect(message.usage.input_tokens).toBe(input_tokens);
    expect(input_tokens).toBeGreaterThan(3);
    expect(message.usage.output_tokens).toBeGreaterThan(5);
  });

  it("takes the key as x-api-key or Bearer (x-api-key first), and refuses a wrong or missing one", async () => {
    const body = { model: MODEL, max_tokens: 50, messages: [{ role: "user", content: "hi" }] };
    // SDK 1.x sends the key as Bearer.
    expect(
      (await client.messages.create({ ...body, messages: [{ role: "user", content: "hi" }] })).type,
    ).toBe("message");
    expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect((await post("/v1/messages", body)).status).toBe(200);
    expect(
      (await post("/v1/messages", body, { "x-api-key": "", authorization: `Bearer ${KEY}` }))
        .status,
    ).toBe(200);
    const wrong = await post("/v1/messages", body, {
      "x-api-key": "sk-wrong",
      authorization: `Bearer ${KEY}`,
    });
    expect(wrong.status).toBe(401);
    expect(await jsonOf(wrong)).toMatchObject({
      type: "error",
      error: { type: "authentication_error", message: "invalid x-api-key" },
      request_id: expect.stringMatching(/^req_/),
    });
    const missing = await post("/v1/messages", body, { "x-api-key": "" });
    expect(missing.status).toBe(401);
    expect((await jsonOf(missing)).error.message).toBe("x-api-key header is required");
    const sdk = new Anthropic({ apiKey: "sk-wrong", baseURL: upstream.origin, maxRetries: 0 });
    expect(
      await rejection(
        sdk.messages.create({ ...body, messages: [{ role: "user", content: "hi" }] }),
      ),
    ).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it("requires anthropic-version, and knows 2023-06-01 and 2026-10-21 only", async () => {
    const body = { model: MODEL, max_tokens: 50, messages: [{ role: "user", content: "hi" }] };
    const none = await fetch(`${upstream.origin}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": KEY },
      body: JSON.stringify(body),
    });
    expect(none.status).toBe(400);
    expect((await jsonOf(none)).error).toEqual({
      type: "invalid_request_error",
      message: "anthropic-version: header is required",
    });
    expect((await post("/v1/messages", body, { "anthropic-version": "2024-01-01" })).status).toBe(
      400,
    );
    expect((await post("/v1/messages", body, { "anthropic-version": "2026-10-21" })).status).toBe(
      200,
    );
  });

  it("records the bytes it received, and counts requests", async () => {
    const before = upstream.requests.length;
    const raw =
      '{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"n=12345678901234567890 \\u00e9 1.0"}]}';
    expect((await post("/v1/messages", raw)).status).toBe(200);
    expect(upstream.requests.length).toBe(before + 1);
    expect(upstream.requests.at(-1)?.raw.toString("utf8")).toBe(raw);
  });

  it("validates as Anthropic does", async () => {
    const cases: [Record<string, unknown>, number, string, RegExp | string][] = [
      [
        { max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
        400,
        "invalid_request_error",
        "model: Field required",
      ],
      [
        { model: "claude-nope", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
        404,
        "not_found_error",
        "model: claude-nope",
      ],
      [
        { model: MODEL, messages: [{ role: "user", content: "hi" }] },
        400,
        "invalid_request_error",
        "max_tokens: Field required",
      ],
      [
        { model: MODEL, max_tokens: 0, messages: [{ role: "user", content: "hi" }] },
        400,
        "invalid_request_error",
        /max_tokens/,
      ],
      [
        { model: MODEL, max_tokens: 10, messages: [] },
        400,
        "invalid_request_error",
        /at least one message/,
      ],
      [
        {
          model: MODEL,
          max_tokens: 10,
          messages: [{ role: "user", content: [{ type: "text", text: "" }] }],
        },
        400,
        "invalid_request_error",
        "messages: text content blocks must be non-empty",
      ],
      [
        { model: MODEL, max_tokens: 10, messages: [{ role: "user", content: "   " }] },
        400,
        "invalid_request_error",
        "messages: text content blocks must contain non-whitespace text",
      ],
      [
        {
          model: MODEL,
          max_tokens: 10,
          system: [{ type: "text", text: "" }],
          messages: [{ role: "user", content: "hi" }],
        },
        400,
        "invalid_request_error",
        "system: text content blocks must be non-empty",
      ],
      [
        {
          model: MODEL,
          max_tokens: 10,
          messages: [
            { role: "system", content: "be brief" },
            { role: "user", content: "hi" },
          ],
        },
        400,
        "invalid_request_error",
        "messages.0.role: Input should be 'user' or 'assistant'",
      ],
      [
        {
          model: MODEL,
          max_tokens: 10,
          messages: [
            { role: "user", content: "hi" },
            {
              role: "assistant",
              content: [{ type: "tool_use", id: "functions.Bash:0", name: "Bash", input: {} }],
            },
            {
              role: "user",
              content: [{ type: "tool_result", tool_use_id: "functions.Bash:0", content: "x" }],
            },
          ],
        },
        400,
        "invalid_request_error",
        "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
      ],
      [
        {
          model: MODEL,
          max_tokens: 10,
          stream: "yes",
          messages: [{ role: "user", content: "hi" }],
        },
        400,
        "invalid_request_error",
        "stream: Input should be a valid boolean",
      ],
    ];
    for (const [body, status, type, message] of cases) {
      const response = await post("/v1/messages", body);
      const error = (await jsonOf(response)).error;
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(error.type).toBe(type);
      expect(error.message).toMatch(message);
    }
    expect((await post("/v1/messages", "{not json")).status).toBe(400);
  });

  it("accepts system turns inside messages with the per-turn-control beta, as Claude Code sends them", async () => {
    const body = {
      model: MODEL,
      max_tokens: 50,
      messages: [
        { role: "user", content: "hi" },
        {
          role: "system",
          content: [{ type: "text", text: "# Environment" }],
          output_config: { effort: "medium" },
        },
      ],
    };
    expect((await post("/v1/messages", body)).status).toBe(400);
    const beta = "claude-code-20250219,per-turn-control-2026-07-01";
    expect((await post("/v1/messages", body, { "anthropic-beta": beta })).status).toBe(200);
  });

  it("stops at max_tokens and at a stop sequence", async () => {
    const cut = await client.messages.create({
      model: MODEL,
      max_tokens: 4,
      messages: [{ role: "user", content: "Hello there" }],
    });
    expect(cut.stop_reason).toBe("max_tokens");
    expect(cut.usage.output_tokens).toBe(4);
    expect((cut.content[0] as Anthropic.TextBlock).text.length).toBeLessThan(
      "This is sluice's demo upstream".length,
    );
    const stopped = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      stop_sequences: ["demo"],
      messages: [{ role: "user", content: "Hello there" }],
    });
    expect(stopped).toMatchObject({
      stop_reason: "stop_sequence",
      stop_sequence: "demo",
      content: [{ type: "text", text: "This is sluice's " }],
    });
  });
});

describe("streaming", () => {
  it("streams the documented event sequence, which the SDK assembles into the same Message", async () => {
    const response = await post("/v1/messages", {
      model: MODEL,
      max_tokens: 200,
      stream: true,
      messages: [{ role: "user", content: "Stream this" }],
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseAnthropicSse(await response.text());
    const streamed = assertAnthropicStream(events);
    expect(events.map((e) => e.event).slice(0, 3)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
    ]);
    expect(events.slice(-2).map((e) => e.event)).toEqual(["message_delta", "message_stop"]);
    expect(streamed.content).toEqual([
      { type: "text", text: "This is sluice's demo upstream. You said: Stream this" },
    ]);
    expect(streamed.message.usage).toMatchObject({
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      service_tier: "standard",
    });
    expect(streamed.usage.output_tokens).toBeGreaterThan(1);

    const final = await client.messages
      .stream({
        model: MODEL,
        max_tokens: 200,
        messages: [{ role: "user", content: "Stream this" }],
      })
      .finalMessage();
    expect(final.content).toEqual(streamed.content);
    expect(final.usage.input_tokens).toBe(streamed.usage.input_tokens);
  });

  it("streams a tool_use with input_json_delta fragments, and answers the tool_result turn", async () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "USE_BASH please" }];
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 500,
      tools: [BASH],
      messages,
    });
    const first = await stream.finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const tool = first.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    expect(tool).toMatchObject({ name: "Bash", input: { command: "echo hello-from-tool" } });
    expect(tool.id).toMatch(/^toolu_01/);

    const next = await client.messages.create({
      model: MODEL,
      max_tokens: 500,
      tools: [BASH],
      messages: [
        ...messages,
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: tool.id, content: "hello-from-tool\n" }],
        },
      ],
    });
    expect(next.content).toEqual([{ type: "text", text: "tool done: hello-from-tool" }]);

    // The result must come in the very next message, first.
    const lost = await rejection(
      client.messages.create({
        model: MODEL,
        max_tokens: 500,
        tools: [BASH],
        messages: [
          ...messages,
          { role: "assistant", content: first.content },
          { role: "user", content: "go on" },
        ],
      }),
    );
    expect(lost).toBeInstanceOf(Anthropic.BadRequestError);
    expect(lost.message).toContain(
      `\`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${tool.id}`,
    );
    const late = await rejection(
      client.messages.create({
        model: MODEL,
        max_tokens: 500,
        tools: [BASH],
        messages: [
          ...messages,
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [
              { type: "text", text: "here:" },
              { type: "tool_result", tool_use_id: tool.id, content: "x" },
            ],
          },
        ],
      }),
    );
    expect(late.message).toContain("must come before any other content");
  });

  it("streams parallel tool calls as two blocks whose fragments each parse", async () => {
    const response = await post("/v1/messages", {
      model: MODEL,
      max_tokens: 500,
      stream: true,
      tools: [BASH],
      messages: [{ role: "user", content: "PARALLEL please" }],
    });
    const streamed = assertAnthropicStream(parseAnthropicSse(await response.text()));
    expect(streamed.stopReason).toBe("tool_use");
    expect(streamed.content.map((b) => b.type)).toEqual(["text", "tool_use", "tool_use"]);
    expect(streamed.content.slice(1).map((b) => b.input)).toEqual([
      { command: "echo one", description: "Echo 1" },
      { command: "echo 'twó 😀'", description: "Echo 2" },
    ]);
  });

  it("streams a signed thinking block first, whose signature it accepts back and nothing else", async () => {
    const tools = [BASH];
    const thinking = { type: "enabled" as const, budget_tokens: 1024 };
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "THINK and USE_BASH" }];
    const first = await client.messages
      .stream({ model: MODEL, max_tokens: 2000, thinking, tools, messages })
      .finalMessage();
    expect(first.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
    const block = first.content[0] as Anthropic.ThinkingBlock;
    expect(block.thinking).toMatch(/think/);
    expect(block.signature).toMatch(/^[A-Za-z0-9+/]{70,}={0,2}$/);
    const tool = first.content[2] as Anthropic.ToolUseBlock;
    const turn = (content: Anthropic.ContentBlockParam[]) =>
      client.messages.create({
        model: MODEL,
        max_tokens: 2000,
        thinking,
        tools,
        messages: [
          ...messages,
          { role: "assistant", content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: tool.id, content: "ok" }] },
        ],
      });
    expect((await turn(first.content)).content.at(-1)).toEqual({
      type: "text",
      text: "tool done: ok",
    });
    // Anthropic accepts an edited thinking text, but not a lost, empty, forged or cut signature.
    expect((await turn([{ ...block, thinking: "edited" }, ...first.content.slice(1)])).type).toBe(
      "message",
    );
    for (const signature of ["", "c2x1aWNlMS5mb3JnZWQ=", block.signature.slice(0, -8), "AAAA"]) {
      const forged = await rejection(turn([{ ...block, signature }, ...first.content.slice(1)]));
      expect(forged, signature).toBeInstanceOf(Anthropic.BadRequestError);
      expect(forged.message).toContain(
        "messages.1.content.0: Invalid `signature` in `thinking` block",
      );
    }
    // Without the thinking block, an `enabled` conversation ending in tool results is refused.
    const dropped = await rejection(turn(first.content.slice(1)));
    expect(dropped.message).toContain(
      "Expected `thinking` or `redacted_thinking`, but found `text`",
    );
    // A signature from another fixture (another organisation's secret) is not this one's.
    const other = await startDemoUpstream({ apiKey: KEY });
    try {
      const foreign = await new Anthropic({
        apiKey: KEY,
        baseURL: other.origin,
        maxRetries: 0,
      }).messages.create({
        model: MODEL,
        max_tokens: 2000,
        thinking,
        tools,
        messages,
      });
      const refused = await rejection(
        turn([foreign.content[0] as Anthropic.ThinkingBlock, ...first.content.slice(1)]),
      );
      expect(refused.message).toContain("Invalid `signature`");
    } finally {
      await other.close();
    }
  });

  it("sends the signature alone with display: omitted, as Claude Code asks", async () => {
    const response = await post("/v1/messages", {
      model: MODEL,
      max_tokens: 2000,
      stream: true,
      thinking: { type: "adaptive", display: "omitted" },
      messages: [{ role: "user", content: "THINK" }],
    });
    const events = parseAnthropicSse(await response.text());
    const streamed = assertAnthropicStream(events);
    expect(streamed.content[0]).toMatchObject({
      type: "thinking",
      thinking: "",
      signature: expect.any(String),
    });
    expect(
      events.some(
        (e) => (e.data.delta as { type?: string } | undefined)?.type === "thinking_delta",
      ),
    ).toBe(false);
    // The thinking still counts as output.
    const plain = await client.messages.create({
      model: MODEL,
      max_tokens: 2000,
      messages: [{ role: "user", content: "THINK" }],
    });
    expect(streamed.usage.output_tokens as number).toBeGreaterThan(plain.usage.output_tokens);
  });

  it("refuses sampling parameters the API version does not allow", async () => {
    const params = {
      model: MODEL,
      max_tokens: 2000,
      messages: [{ role: "user" as const, content: "hi" }],
    };
    // 2026-10-21 (SDK 1.x's default) removed them, even at their defaults.
    const gone = await rejection(
      client.messages.create({
        ...params,
        temperature: 1,
      } as Anthropic.MessageCreateParamsNonStreaming),
    );
    expect(gone.message).toContain("temperature: Extra inputs are not permitted");
    // 2023-06-01: only 1 with thinking.
    expect(
      (
        await client2023.messages.create({
          ...params,
          temperature: 0.2,
        } as Anthropic.MessageCreateParamsNonStreaming)
      ).type,
    ).toBe("message");
    const hot = await rejection(
      client2023.messages.create({
        ...params,
        temperature: 0.2,
        thinking: { type: "enabled", budget_tokens: 1024 },
      } as Anthropic.MessageCreateParamsNonStreaming),
    );
    expect(hot.message).toContain("`temperature` may only be set to 1 when thinking is enabled");
    const budget = await rejection(
      client.messages.create({ ...params, thinking: { type: "enabled", budget_tokens: 2000 } }),
    );
    expect(budget.message).toContain("`max_tokens` must be greater than `thinking.budget_tokens`");
  });
});

describe("prompt caching", () => {
  const system = (tag: string, ttl?: "5m" | "1h") => [
    {
      type: "text" as const,
      text: words(1500, tag),
      cache_control: { type: "ephemeral" as const, ...(ttl && { ttl }) },
    },
  ];

  it("writes a prefix once, reads it after, and keeps cached tokens out of input_tokens", async () => {
    const messages = [{ role: "user" as const, content: "first question" }];
    const counted = (
      await client.messages.countTokens({ model: MODEL, system: system("a", "1h"), messages })
    ).input_tokens;
    const first = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: system("a", "1h"),
      messages,
    });
    const prefix = first.usage.cache_creation?.ephemeral_1h_input_tokens as number;
    expect(prefix).toBeGreaterThan(1024);
    expect(first.usage).toMatchObject({
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: prefix,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: prefix },
    });
    expect(first.usage.input_tokens + prefix).toBe(counted);

    const again = [{ role: "user" as const, content: "second, longer question about it" }];
    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: system("a", "1h"),
      messages: again,
    });
    const total = (
      await client.messages.countTokens({
        model: MODEL,
        system: system("a", "1h"),
        messages: again,
      })
    ).input_tokens;
    expect(second.usage).toMatchObject({
      cache_read_input_tokens: prefix,
      cache_creation_input_tokens: 0,
    });
    expect(second.usage.input_tokens).toBe(total - prefix);
    // Another model has its own cache.
    const other = await client.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 50,
      system: system("a", "1h"),
      messages,
    });
    expect(other.usage.cache_read_input_tokens).toBe(0);
  });

  it("splits writes by TTL and reads the previous turn's breakpoint from a later one", async () => {
    const convo = (turns: number): Anthropic.MessageParam[] =>
      Array.from({ length: turns }, (_, i) => [
        {
          role: "user" as const,
          content: [
            {
              type: "text" as const,
              text: `${words(300, `q${i}x`)}`,
              ...(i === turns - 1 && { cache_control: { type: "ephemeral" as const } }),
            },
          ],
        },
        { role: "assistant" as const, content: `answer ${i}` },
      ])
        .flat()
        .slice(0, -1);
    const first = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: system("b", "1h"),
      messages: convo(1),
    });
    const hour = first.usage.cache_creation?.ephemeral_1h_input_tokens as number;
    const five = first.usage.cache_creation?.ephemeral_5m_input_tokens as number;
    expect(hour).toBeGreaterThan(1024);
    expect(five).toBeGreaterThan(100);
    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: system("b", "1h"),
      messages: convo(2),
    });
    // The earlier turn's breakpoint is read, the new part written at 5 minutes.
    expect(second.usage.cache_read_input_tokens).toBe(hour + five);
    expect(second.usage.cache_creation).toEqual({
      ephemeral_5m_input_tokens: second.usage.cache_creation_input_tokens,
      ephemeral_1h_input_tokens: 0,
    });
    expect(second.usage.cache_creation_input_tokens).toBeGreaterThan(300);
  });

  it("does not cache a prefix under 1,024 tokens, and refuses malformed breakpoints", async () => {
    const short = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: [{ type: "text", text: "short", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "hi" }],
    });
    expect(short.usage.cache_creation_input_tokens).toBe(0);
    const block = (ttl: string) => ({
      type: "text",
      text: "x",
      cache_control: { type: "ephemeral", ttl },
    });
    const cases: [unknown[], string][] = [
      [[block("2h")], "system.0.cache_control.ephemeral.ttl: Input should be '5m' or '1h'"],
      [
        [block("5m"), block("1h")],
        "system.1.cache_control: a cache_control block with ttl '1h' must not come after one with ttl '5m'",
      ],
      [
        [block("1h"), block("1h"), block("5m"), block("5m"), block("5m")],
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
      ],
    ];
    for (const [system, message] of cases) {
      const response = await post("/v1/messages", {
        model: MODEL,
        max_tokens: 10,
        system,
        messages: [{ role: "user", content: "hi" }],
      });
      expect(response.status).toBe(400);
      expect((await jsonOf(response)).error.message).toBe(message);
    }
  });
});

describe("faults", () => {
  const params = {
    model: MODEL,
    max_tokens: 100,
    messages: [{ role: "user" as const, content: "hi" }],
  };

  it("answers queued statuses in Anthropic's envelope, which the SDK turns into its error classes", async () => {
    upstream.enqueue({ status: 529 });
    const overloaded = await rejection(client.messages.create(params));
    expect(overloaded).toBeInstanceOf(Anthropic.OverloadedError);
    expect(overloaded.error).toMatchObject({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
    });

    upstream.enqueue({ status: 429 });
    const limited = await rejection(client.messages.create(params));
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.headers?.get("retry-after")).toBe("7");
    expect(limited.headers?.get("anthropic-ratelimit-tokens-remaining")).toBe("0");
    expect(limited.headers?.get("anthropic-ratelimit-requests-reset")).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );

    upstream.enqueue({
      status: 400,
      errorType: "invalid_request_error",
      message: "prompt is too long: 210000 tokens > 200000 maximum",
    });
    expect((await rejection(client.messages.create(params))).message).toContain(
      "prompt is too long",
    );

    const asked = await rejection(
      client.messages.create({
        ...params,
        messages: [{ role: "user", content: "please fail with 529" }],
      }),
    );
    expect(asked).toBeInstanceOf(Anthropic.OverloadedError);
  });

  it("ends a stream with an error event mid-way, or cuts it after message_start", async () => {
    upstream.enqueue({ errorAfterChunks: 4 });
    const response = await post("/v1/messages", { ...params, stream: true });
    const events = parseAnthropicSse(await response.text());
    expect(assertAnthropicStream(events).error).toEqual({
      type: "overloaded_error",
      message: "Overloaded",
    });
    expect(events).toHaveLength(5);

    upstream.enqueue({ errorAfterChunks: 3 });
    const sdk = await rejection(client.messages.stream(params).finalMessage());
    expect(sdk.error).toMatchObject({ type: "error", error: { type: "overloaded_error" } });

    upstream.enqueue({ cutAfterChunks: 1 });
    const cut = await fetch(`${upstream.origin}/v1/messages`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-api-key": KEY,
        "anthropic-version": "2023-06-01",
      },
      body: JSON.stringify({ ...params, stream: true }),
    });
    const reader = cut.body?.getReader();
    let text = "";
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = (await reader?.read()) ?? { done: true };
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      })(),
    ).rejects.toThrow();
    expect(parseAnthropicSse(text).map((e) => e.event)).toEqual(["message_start"]);

    const scripted = await post("/v1/messages", {
      ...params,
      stream: true,
      messages: [{ role: "user", content: "please fail mid-stream" }],
    });
    expect(assertAnthropicStream(parseAnthropicSse(await scripted.text())).error?.type).toBe(
      "overloaded_error",
    );
  });
});

describe("count_tokens and models", () => {
  it("counts system, tools and messages", async () => {
    const messages = [{ role: "user" as const, content: "hi" }];
    const bare = (await client.messages.countTokens({ model: MODEL, messages })).input_tokens;
    const withSystem = (
      await client.messages.countTokens({ model: MODEL, system: "You are terse.", messages })
    ).input_tokens;
    const withTools = (await client.messages.countTokens({ model: MODEL, tools: [BASH], messages }))
      .input_tokens;
    expect(withSystem).toBeGreaterThan(bare);
    expect(withTools).toBeGreaterThan(bare + 10);
    const unknown = await rejection(
      client.messages.countTokens({ model: "claude-nope", messages }),
    );
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("lists models in Anthropic's shape, page by page, and retrieves one", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list({ limit: 2 })) {
      expect(model).toMatchObject({
        type: "model",
        display_name: expect.stringMatching(/^Claude /),
        created_at: expect.any(String),
      });
      ids.push(model.id);
    }
    expect(ids).toEqual([
      "claude-opus-5-5",
      "claude-sonnet-5-5",
      "claude-haiku-5-5",
      "claude-opus-4-5",
      "claude-sonnet-4-5",
      "claude-haiku-4-5",
    ]);
    const page = await client.models.list({ limit: 2, after_id: "claude-sonnet-5-5" });
    expect(page.data.map((m) => m.id)).toEqual(["claude-haiku-5-5", "claude-opus-4-5"]);
    expect(page.has_more).toBe(true);
    expect((await client.models.retrieve("claude-opus-4-5")).display_name).toBe("Claude Opus 4.5");
    expect(await rejection(client.models.retrieve("gpt-4o"))).toBeInstanceOf(
      Anthropic.NotFoundError,
    );
    // Without the version header, GET /v1/models stays OpenAI's.
    const openai = await fetch(`${upstream.origin}/v1/models`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect((await jsonOf(openai)).object).toBe("list");
  });
});
