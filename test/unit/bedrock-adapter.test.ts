/**
 * The bedrock channel adapter against the Bedrock demo upstream (infra/local/demo-upstream/
 * bedrock.ts), which checks SigV4 by signing again with the AWS SDK's own signer, refuses what
 * Bedrock refuses, and frames its stream with the AWS SDK's event-stream codec.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BEDROCK_DEMO_API_KEY,
  BEDROCK_DEMO_CREDENTIALS,
  type DemoUpstream,
  startDemoUpstream,
} from "../../infra/local/demo-upstream";
import type { AwsCredentials } from "../../shared/aws/sigv4";
import { completionTokensOf, promptTokensOf } from "../../shared/billing/metered";
import { Timing } from "../../shared/http/timing";
import { renderEn } from "../../shared/messages/render";
import type {
  AdapterContext,
  UpstreamCall,
  UpstreamHttpRequest,
} from "../../shared/relay/adapters/adapter";
import {
  bedrockAdapter,
  bedrockCountTokensRequest,
  countTokensAnswer,
} from "../../shared/relay/adapters/bedrock";
import { filterBetas } from "../../shared/relay/adapters/bedrock/betas";
import { bedrockConfigProblem } from "../../shared/relay/adapters/bedrock/config";
import { countTokensModel } from "../../shared/relay/adapters/bedrock/count-tokens";
import { type AttemptResult, fetchUpstream, openUpstream } from "../../shared/relay/upstream";
import { type ChannelRecord, newChannelRecord } from "../../shared/store/channels";
import type { SseEvent } from "../../shared/stream/sse";
import { assertAnthropicStream, parseAnthropicSse } from "../fixtures/anthropic-stream";

const REGION = "eu-central-1";
const BASE_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const PROFILE_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const SESSION = {
  accessKeyId: "ASIASLUICEDEMO000001",
  secretAccessKey: "sluice/demo/session/secret/000000000000",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//token==",
};
const role = (credentials: AwsCredentials = BEDROCK_DEMO_CREDENTIALS): AdapterContext => ({
  awsCredentials: () => credentials,
});
const forged = role({ ...BEDROCK_DEMO_CREDENTIALS, secretAccessKey: "not/the/secret/at/all/0000" });
const encoder = new TextEncoder();

let upstream: DemoUpstream;

beforeAll(async () => {
  upstream = await startDemoUpstream({
    bedrock: { region: REGION, credentials: [BEDROCK_DEMO_CREDENTIALS, SESSION] },
  });
});

afterAll(() => upstream.close());

function channel(fields: Partial<ChannelRecord> = {}): ChannelRecord {
  return newChannelRecord({
    id: "bedrock-test",
    type: "bedrock",
    baseUrl: upstream.origin,
    models: ["claude-sonnet-4-5"],
    modelMapping: { "claude-sonnet-4-5": PROFILE_ID },
    config: { region: REGION },
    ...fields,
  });
}

/** A Messages call as the face makes it: the client's bytes and the headers it carries on. */
function messagesCall(
  body: string,
  headers: Record<string, string> = {},
  upstreamModel = PROFILE_ID,
): UpstreamCall {
  return {
    path: "/messages",
    model: "claude-sonnet-4-5",
    upstreamModel,
    raw: encoder.encode(body),
    headers,
  };
}

const simple = (fields = "") =>
  `{"model":"claude-sonnet-4-5","max_tokens":300,"messages":[{"role":"user","content":"Hello Bedrock"}]${fields}}`;

function send(http: UpstreamHttpRequest): Promise<Response> {
  return fetch(http.url, { method: http.method, headers: http.headers, body: http.body });
}

/** The adapter's decode of a streamed answer, whatever the chunk boundaries. */
async function decoded(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const batch of bedrockAdapter.decode(
    response.body as AsyncIterable<Uint8Array>,
    "messages",
  ))
    events.push(...batch);
  return events;
}

describe("the bedrock adapter's request", () => {
  it("signs with the role's credentials (with and without a session token) as AWS's signer checks them", async () => {
    for (const context of [role(), role(SESSION)]) {
      const http = bedrockAdapter.request(channel(), messagesCall(simple()), context);
      expect(http.url).toBe(`${upstream.origin}/model/${encodeURIComponent(PROFILE_ID)}/invoke`);
      expect(http.url).toContain("%3A0/invoke");
      const response = await send(http);
      expect(response.status, await response.clone().text()).toBe(200);
      const message = (await response.json()) as { content: unknown[] };
      expect(message.content).toEqual([
        { type: "text", text: "This is sluice's demo upstream. You said: Hello Bedrock" },
      ]);
    }
  });

  it("reads a wrong secret's 403 as a refused key, worth another channel", async () => {
    const response = await send(bedrockAdapter.request(channel(), messagesCall(simple()), forged));
    expect(response.status).toBe(403);
    const reading = bedrockAdapter.error(response.status, response.headers, await response.text());
    expect(reading).toMatchObject({ kind: "auth", retryable: true });
    expect(reading.detail).toContain("InvalidSignatureException");
  });

  it("tells signed from forged in a parallel burst, each read as what it is", async () => {
    const calls = Array.from({ length: 24 }, (_, i) => i % 3 === 0);
    const readings = await Promise.all(
      calls.map(async (bad) => {
        const response = await send(
          bedrockAdapter.request(channel(), messagesCall(simple()), bad ? forged : role()),
        );
        const text = await response.text();
        return response.ok
          ? "ok"
          : bedrockAdapter.error(response.status, response.headers, text).kind;
      }),
    );
    expect(readings).toEqual(calls.map((bad) => (bad ? "auth" : "ok")));
  });

  it("sends a Bedrock API key as Bearer, and signs nothing then", async () => {
    const http = bedrockAdapter.request(
      channel({ key: BEDROCK_DEMO_API_KEY }),
      messagesCall(simple()),
    );
    expect(http.headers.authorization).toBe(`Bearer ${BEDROCK_DEMO_API_KEY}`);
    expect(http.headers["x-amz-date"]).toBeUndefined();
    expect((await send(http)).status).toBe(200);
  });

  it("goes to the region's endpoint when the channel names no base URL", () => {
    const http = bedrockAdapter.request(channel({ baseUrl: "" }), messagesCall(simple()), role());
    expect(http.url).toBe(
      `https://bedrock-runtime.${REGION}.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke`,
    );
    expect(http.headers.authorization).toContain(`/${REGION}/bedrock/aws4_request`);
  });

  it("removes model and stream, adds Bedrock's version, and keeps every other byte", async () => {
    // Big integers, 1.0, escapes, odd spacing and key order: what JSON.parse+stringify rewrites.
    const client =
      '{ "model" : "claude-sonnet-4-5",\n  "max_tokens": 300, "stream":false,\n' +
      '  "metadata": {"n": 12345678901234567890, "f": 1.0, "s": "caf\\u00e9 \\/"},\n' +
      '  "messages": [ {"role":"user","content":"Hello Bedrock"} ]\n}';
    const before = upstream.requests.length;
    const response = await send(bedrockAdapter.request(channel(), messagesCall(client), role()));
    expect(response.status, await response.text()).toBe(200);
    const sent = upstream.requests[before]?.raw.toString("utf8");
    // Each kept member keeps the whitespace before it (json-splice.ts).
    expect(sent).toBe(
      '{\n  "max_tokens": 300,\n' +
        '  "metadata": {"n": 12345678901234567890, "f": 1.0, "s": "caf\\u00e9 \\/"},\n' +
        '  "messages": [ {"role":"user","content":"Hello Bedrock"} ],"anthropic_version":"bedrock-2023-05-31"\n}',
    );
  });

  it("moves the betas the channel allows into anthropic_beta, and drops the rest", async () => {
    const header =
      "interleaved-thinking-2025-05-14, advanced-tool-use-2025-11-20,mcp-servers-2025-12-04";
    const before = upstream.requests.length;
    const response = await send(
      bedrockAdapter.request(
        channel(),
        messagesCall(simple(), { "anthropic-beta": header }),
        role(),
      ),
    );
    expect(response.status, await response.text()).toBe(200);
    const body = upstream.requests[before]?.body as Record<string, unknown>;
    expect(body.anthropic_beta).toEqual(["interleaved-thinking-2025-05-14"]);

    expect(filterBetas(header, ["computer-use-*"]).kept).toEqual([]);
    expect(filterBetas("computer-use-2025-01-24,x", ["computer-use-*"])).toEqual({
      kept: ["computer-use-2025-01-24"],
      dropped: ["x"],
    });
    const none = bedrockAdapter.request(
      channel({ config: { region: REGION, betas: "none" } }),
      messagesCall(simple(), { "anthropic-beta": header }),
      role(),
    );
    expect(new TextDecoder().decode(none.body as Uint8Array)).not.toContain("anthropic_beta");
  });

  it("takes Claude Code's billing-header system block out, which Bedrock refuses", async () => {
    const system =
      ',"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1; cch=ab12;"},{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}]';
    const before = upstream.requests.length;
    const response = await send(
      bedrockAdapter.request(channel(), messagesCall(simple(system)), role()),
    );
    expect(response.status, await response.text()).toBe(200);
    expect((upstream.requests[before]?.body as { system?: unknown } | undefined)?.system).toEqual([
      { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
    ]);
    // Without the block, the system member keeps its bytes.
    const plain = ',"system":[ {"type":"text","text":"Be brief."} ]';
    const http = bedrockAdapter.request(channel(), messagesCall(simple(plain)), role());
    expect(new TextDecoder().decode(http.body as Uint8Array)).toContain(plain);
  });
});

describe("the bedrock adapter's stream", () => {
  const streamed = (fields = "", context = role()) =>
    send(
      bedrockAdapter.request(channel(), messagesCall(simple(`,"stream":true${fields}`)), context),
    );

  it("decodes the event-stream frames into well-formed Anthropic events, and reads their usage", async () => {
    const response = await streamed();
    expect(response.headers.get("content-type")).toBe("application/vnd.amazon.eventstream");
    const events = await decoded(response);
    const parsed = parseAnthropicSse(events.map((event) => event.raw).join(""));
    const message = assertAnthropicStream(parsed);
    expect(message.content).toEqual([
      { type: "text", text: "This is sluice's demo upstream. You said: Hello Bedrock" },
    ]);
    // Each event's data is the chunk's JSON as Bedrock sent it (metrics on the last included).
    expect(JSON.parse(events.at(-1)?.data ?? "{}")).toHaveProperty(
      "amazon-bedrock-invocationMetrics",
    );
    const usage = bedrockAdapter.usage("messages")?.stream();
    for (const event of events) usage?.read(JSON.parse(event.data ?? "null"));
    const metered = usage?.metered() ?? {};
    expect(promptTokensOf(metered)).toBe(message.usage.input_tokens);
    expect(completionTokensOf(metered)).toBe(message.usage.output_tokens);
  });

  it("falls back on Bedrock's invocation metrics when the events carry no usage", () => {
    const usage = bedrockAdapter.usage("messages")?.stream();
    usage?.read({ type: "content_block_stop", index: 0 });
    usage?.read({
      type: "message_stop",
      "amazon-bedrock-invocationMetrics": { inputTokenCount: 11, outputTokenCount: 4 },
    });
    expect(promptTokensOf(usage?.metered() ?? {})).toBe(11);
    expect(completionTokensOf(usage?.metered() ?? {})).toBe(4);
  });

  it("says its output count is a placeholder until message_delta or the metrics came (a cut stream is billed as delivered)", () => {
    const usage = bedrockAdapter.usage("messages")?.stream();
    usage?.read({
      type: "message_start",
      message: { usage: { input_tokens: 20, output_tokens: 1 } },
    });
    expect(usage?.final).toBe(false);
    expect(promptTokensOf(usage?.metered() ?? {})).toBe(20);
    // message_delta without usage, then the metrics: final, by the metrics.
    usage?.read({ type: "message_delta", delta: { stop_reason: "end_turn" } });
    usage?.read({
      type: "message_stop",
      "amazon-bedrock-invocationMetrics": { inputTokenCount: 20, outputTokenCount: 9 },
    });
    expect(usage?.final).toBe(true);
    expect(completionTokensOf(usage?.metered() ?? {})).toBe(9);
    const whole = bedrockAdapter.usage("messages")?.stream();
    whole?.read({
      type: "message_start",
      message: { usage: { input_tokens: 20, output_tokens: 1 } },
    });
    whole?.read({ type: "message_delta", usage: { output_tokens: 7 } });
    expect(whole?.final).toBe(true);
    expect(completionTokensOf(whole?.metered() ?? {})).toBe(7);
  });

  it("turns an exception frame into Anthropic's error event, and ends the stream there", async () => {
    const cases = [
      ["throttlingException", "overloaded_error"],
      ["modelStreamErrorException", "overloaded_error"],
      ["validationException", "invalid_request_error"],
    ] as const;
    for (const [errorType, anthropicType] of cases) {
      upstream.enqueue({ errorAfterChunks: 3, errorType, message: `refused: ${errorType}` });
      const events = await decoded(await streamed());
      expect(events).toHaveLength(4);
      const parsed = parseAnthropicSse(events.map((event) => event.raw).join(""));
      const message = assertAnthropicStream(parsed);
      expect(message.error, errorType).toMatchObject({
        type: anthropicType,
        message: expect.stringContaining(`refused: ${errorType}`),
      });
    }
  });

  it("refuses a frame whose checksum fails, never skipping it", async () => {
    const bytes = new Uint8Array(await (await streamed()).arrayBuffer());
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
    const events = bedrockAdapter.decode(
      (async function* () {
        yield bytes;
      })(),
      "messages",
    );
    await expect(
      (async () => {
        for await (const _ of events);
      })(),
    ).rejects.toThrow();
  });
});

describe("the bedrock adapter's error readings (x-amzn-ErrorType, not the status alone)", () => {
  const read = (status: number, type: string | undefined, message: string) =>
    bedrockAdapter.error(
      status,
      new Headers(type ? { "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/` } : {}),
      JSON.stringify({ message }),
    );

  it("reads each of AWS's exceptions as it means", () => {
    const table: [number, string, string, Record<string, unknown>][] = [
      [429, "ThrottlingException", "slow down", { kind: "rate_limited", retryable: true }],
      [429, "ModelNotReadyException", "not ready", { kind: "rate_limited", overloaded: true }],
      [503, "ServiceUnavailableException", "later", { kind: "rate_limited", overloaded: true }],
      [500, "InternalServerException", "oops", { kind: "failure", retryable: false }],
      [408, "ModelTimeoutException", "slow", { kind: "failure", retryable: false }],
      [424, "ModelErrorException", "model", { kind: "failure", retryable: false }],
      [400, "ServiceQuotaExceededException", "quota", { kind: "rate_limited", outOfQuota: true }],
      [403, "AccessDeniedException", "no", { kind: "auth", retryable: true }],
      [403, "UnrecognizedClientException", "who", { kind: "auth" }],
      [403, "InvalidSignatureException", "sig", { kind: "auth" }],
      [403, "ExpiredTokenException", "old", { kind: "auth" }],
      [404, "ResourceNotFoundException", "where", { kind: "auth" }],
      [400, "ValidationException", "The provided model identifier is invalid.", { kind: "auth" }],
      [
        400,
        "ValidationException",
        "User: arn:aws:iam::1:user/x is not authorized to invoke this API operation",
        { kind: "auth" },
      ],
      [
        400,
        "ValidationException",
        "The model returned the following errors: max_tokens: must be positive",
        {
          kind: "client_error",
          retryable: false,
          fields: { message: "max_tokens: must be positive", type: "invalid_request_error" },
        },
      ],
    ];
    for (const [status, type, message, reading] of table)
      expect(read(status, type, message), type).toMatchObject(reading);
  });

  it("reads the status when no x-amzn-ErrorType came (a proxy, a load balancer)", () => {
    expect(read(403, undefined, "x").kind).toBe("auth");
    expect(read(429, undefined, "x").kind).toBe("rate_limited");
    expect(read(502, undefined, "x")).toMatchObject({ kind: "failure", retryable: false });
    expect(read(400, undefined, "x").kind).toBe("client_error");
    expect(bedrockAdapter.error(500, new Headers(), "<html>").fields?.message).toBeUndefined();
  });

  it("asks to send a call refused for a beta once more, with only interleaved-thinking", () => {
    const reading = read(400, "ValidationException", "invalid beta flag");
    expect(reading.kind).toBe("client_error");
    const call = messagesCall(simple(), {
      "anthropic-beta": "context-1m-2025-08-07,interleaved-thinking-2025-05-14",
      "anthropic-version": "2023-06-01",
    });
    expect(reading.resend?.call(call).headers).toEqual({
      "anthropic-beta": "interleaved-thinking-2025-05-14",
      "anthropic-version": "2023-06-01",
    });
    const without = reading.resend?.call(messagesCall(simple(), { "anthropic-beta": "x" }));
    expect(without?.headers).toEqual({});
  });
});

describe("the relay sends a beta refusal once more, and only once", () => {
  function open(ch: ChannelRecord, headers: Record<string, string>) {
    const reports: AttemptResult[] = [];
    const resent: string[] = [];
    const opening = openUpstream([ch], () => messagesCall(simple(), headers), "claude-sonnet-4-5", {
      fetch: fetchUpstream(),
      connectTimeoutMs: 5_000,
      headerTimeoutMs: () => 5_000,
      retries: 0,
      timing: new Timing(performance.now()),
      adapterContext: role(),
      report: (_, result) => reports.push(result),
      onResend: (_, why) => resent.push(why),
    });
    return { opening, reports, resent };
  }
  const betas = "context-1m-2025-08-07,interleaved-thinking-2025-05-14,future-beta-2099-01-01";
  // The channel allows a beta this Bedrock does not serve.
  const lax = () => channel({ config: { region: REGION, betas } });

  it("answers with the call sent again without the refused betas", async () => {
    const before = upstream.requests.length;
    const { opening, resent, reports } = open(lax(), { "anthropic-beta": betas });
    const opened = await opening;
    expect(opened.late).toBeUndefined();
    if (!opened.late) expect(opened.response.status).toBe(200);
    const sent = upstream.requests
      .slice(before)
      .map((r) => (r.body as Record<string, unknown>).anthropic_beta);
    expect(sent).toEqual([betas.split(","), ["interleaved-thinking-2025-05-14"]]);
    expect(resent).toHaveLength(1);
    expect(reports).toEqual([{ ok: true }]);
  });

  it("gives the client the refusal when the second try is refused too", async () => {
    upstream.enqueue({ status: 400, message: "invalid beta flag" });
    upstream.enqueue({ status: 400, message: "invalid beta flag" });
    const before = upstream.requests.length;
    const { opening, resent } = open(lax(), { "anthropic-beta": betas });
    await expect(opening).rejects.toMatchObject({ kind: "client_error" });
    expect(upstream.requests.length - before).toBe(2);
    expect(resent).toHaveLength(1);
  });
});

describe("the bedrock adapter's probe, test call and CountTokens", () => {
  it("probes with an empty InvokeModel: refused credentials read as auth, taken ones not", async () => {
    const taken = await send(bedrockAdapter.probe(channel(), role()) as UpstreamHttpRequest);
    const text = await taken.text();
    expect(taken.status).toBe(400);
    expect(bedrockAdapter.error(taken.status, taken.headers, text).kind).toBe("client_error");
    const refused = await send(bedrockAdapter.probe(channel(), forged) as UpstreamHttpRequest);
    expect(bedrockAdapter.error(refused.status, refused.headers, await refused.text()).kind).toBe(
      "auth",
    );
    expect(bedrockAdapter.probe(channel({ models: [] }), role())).toBeUndefined();
  });

  it("tests a channel with a one-token Messages call", async () => {
    const call = bedrockAdapter.testCall("claude-sonnet-4-5", PROFILE_ID);
    const response = await send(bedrockAdapter.request(channel(), call, role()));
    const message = (await response.json()) as { usage: { output_tokens: number } };
    expect(response.status).toBe(200);
    expect(message.usage.output_tokens).toBeLessThanOrEqual(1);
  });

  it("counts a Messages body's tokens on the profile's base model, as InvokeModel counts them", async () => {
    expect(countTokensModel(PROFILE_ID)).toBe(BASE_ID);
    expect(countTokensModel("global.anthropic.claude-opus-4-5-20251101-v1:0")).toBe(
      "anthropic.claude-opus-4-5-20251101-v1:0",
    );
    expect(countTokensModel(BASE_ID)).toBe(BASE_ID);
    expect(
      countTokensModel("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc"),
    ).toBeUndefined();

    // count_tokens bodies carry no max_tokens.
    const body = `{"model":"claude-sonnet-4-5","system":"Be brief.","messages":[{"role":"user","content":"How many tokens is this?"}]}`;
    const http = bedrockCountTokensRequest(channel(), messagesCall(body), role());
    expect(http?.url).toBe(`${upstream.origin}/model/${encodeURIComponent(BASE_ID)}/count-tokens`);
    const response = await send(http as UpstreamHttpRequest);
    expect(response.status).toBe(200);
    const counted = countTokensAnswer(await response.json());

    const invoked = await send(
      bedrockAdapter.request(
        channel(),
        messagesCall(body.replace("{", '{"max_tokens":5,')),
        role(),
      ),
    );
    const usage = ((await invoked.json()) as { usage: { input_tokens: number } }).usage;
    expect(counted).toEqual({ input_tokens: usage.input_tokens });
    expect(countTokensAnswer({ inputTokens: -1 })).toBeUndefined();
  });
});

describe("a bedrock channel's config", () => {
  it("needs an AWS region name, and takes a betas list", () => {
    const problem = (config: Record<string, string>) => {
      const found = bedrockConfigProblem(config);
      return found && renderEn(found);
    };
    expect(problem({})).toMatch(/config.region/);
    for (const region of ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1"])
      expect(bedrockConfigProblem({ region }), region).toBeUndefined();
    for (const region of ["us-east", "US-EAST-1", "us-east-1/x", "http://x"])
      expect(problem({ region }), region).toMatch(/not an AWS region/);
    expect(bedrockConfigProblem({ region: "us-east-1", betas: "a-1, computer-use-*" })).toBe(
      undefined,
    );
    expect(bedrockConfigProblem({ region: "us-east-1", betas: "none" })).toBeUndefined();
    expect(problem({ region: "us-east-1", betas: "a b;c" })).toMatch(/betas/);
  });
});
