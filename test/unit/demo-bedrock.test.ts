import { request as httpRequest } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BEDROCK_DEMO_API_KEY,
  BEDROCK_DEMO_CREDENTIALS,
  type DemoUpstream,
  startDemoUpstream,
} from "../../infra/local/demo-upstream";
import { BedrockStreamDecoder, type BedrockStreamPart } from "../../shared/aws/bedrock-stream";
import { signV4 } from "../../shared/aws/sigv4";
import { assertAnthropicStream, parseAnthropicSse } from "../fixtures/anthropic-stream";

/**
 * The Bedrock fixture, called as AWS's SDK calls it: SigV4-signed by @smithy/signature-v4
 * (and by sluice's own signer, which the Bedrock channel will use), or with a Bedrock API key.
 */

const MODEL_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const PROFILE_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const REGION = "eu-central-1";
const WITH_TOKEN = {
  accessKeyId: "ASIASLUICEDEMO000001",
  secretAccessKey: "sluice/demo/session/secret/000000000000",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//token==",
};
let upstream: DemoUpstream;

beforeAll(async () => {
  upstream = await startDemoUpstream({
    apiKey: "sk-ant-for-the-anthropic-routes",
    bedrock: { region: REGION, credentials: [BEDROCK_DEMO_CREDENTIALS, WITH_TOKEN] },
  });
});

afterAll(() => upstream.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** node:http, so that every header (host included) goes as signed. */
function send(
  path: string,
  headers: Record<string, string>,
  body: string | Uint8Array,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${upstream.origin}${path}`, { method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

interface SignOptions {
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
  service?: string;
  date?: Date;
  /** Change the body after signing. */
  sendInstead?: string;
  stream?: boolean;
}

/** A request signed by the AWS SDK's signer, as @aws-sdk/client-bedrock-runtime signs it. */
async function signed(path: string, body: string, options: SignOptions = {}): Promise<Answer> {
  const url = new URL(`${upstream.origin}${path}`);
  const signer = new SignatureV4({
    credentials: options.credentials ?? BEDROCK_DEMO_CREDENTIALS,
    region: options.region ?? REGION,
    service: options.service ?? "bedrock",
    sha256: Sha256,
  });
  const request = await signer.sign(
    {
      method: "POST",
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: {
        host: url.host,
        "content-type": "application/json",
        accept: options.stream ? "application/vnd.amazon.eventstream" : "application/json",
      },
      body,
    },
    { signingDate: options.date ?? new Date() },
  );
  return send(path, request.headers, options.sendInstead ?? body);
}

const invokePath = (id = MODEL_ID, op = "invoke") => `/model/${encodeURIComponent(id)}/${op}`;

function body(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    anthropic_version: "bedrock-2023-05-31",
    max_tokens: 300,
    messages: [{ role: "user", content: "Hello Bedrock" }],
    ...fields,
  });
}

function json(answer: Answer) {
  return JSON.parse(answer.body.toString("utf8"));
}

function errorType(answer: Answer): string {
  return String(answer.headers["x-amzn-errortype"]).split(":")[0] as string;
}

/** The stream's parts, decoded by sluice's decoder from random pieces of the body. */
function parts(answer: Answer): BedrockStreamPart[] {
  const decoder = new BedrockStreamDecoder();
  const out: BedrockStreamPart[] = [];
  for (let at = 0; at < answer.body.length; ) {
    const size = 1 + Math.floor(Math.random() * 97);
    out.push(...decoder.push(answer.body.subarray(at, at + size)));
    at += size;
  }
  decoder.finish();
  return out;
}

function events(answer: Answer) {
  return parseAnthropicSse(
    parts(answer)
      .map((part) => (part.kind === "event" ? part.event.raw : ""))
      .join(""),
  );
}

describe("authentication", () => {
  it("accepts a request signed by the AWS SDK's signer, and one signed by sluice's", async () => {
    const sdk = await signed(invokePath(), body());
    expect(sdk.status).toBe(200);
    const url = new URL(`${upstream.origin}${invokePath()}`);
    const text = body();
    const headers = signV4(
      {
        method: "POST",
        url,
        headers: { "content-type": "application/json", accept: "application/json" },
        body: text,
      },
      { service: "bedrock", region: REGION, credentials: WITH_TOKEN },
    );
    const ours = await send(invokePath(), headers, text);
    expect(ours.status, ours.body.toString()).toBe(200);
    expect(url.pathname).toContain("%3A0");
  });

  it("refuses a wrong secret, key, scope, time, session token or body with AWS's exceptions", async () => {
    const cases: [string, () => Promise<Answer>, string, RegExp][] = [
      [
        "another secret",
        () =>
          signed(invokePath(), body(), {
            credentials: { ...BEDROCK_DEMO_CREDENTIALS, secretAccessKey: "other" },
          }),
        "InvalidSignatureException",
        /does not match the signature you provided/,
      ],
      [
        "an unknown key",
        () =>
          signed(invokePath(), body(), {
            credentials: { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" },
          }),
        "UnrecognizedClientException",
        /security token included in the request is invalid/,
      ],
      [
        "another region",
        () => signed(invokePath(), body(), { region: "us-east-1" }),
        "InvalidSignatureException",
        /scoped to a valid region/,
      ],
      [
        "another service",
        () => signed(invokePath(), body(), { service: "bedrock-runtime" }),
        "InvalidSignatureException",
        /scoped to correct service/,
      ],
      [
        "ten minutes ago",
        () => signed(invokePath(), body(), { date: new Date(Date.now() - 600_000) }),
        "InvalidSignatureException",
        /Signature expired/,
      ],
      [
        "a body changed after signing",
        () => signed(invokePath(), body(), { sendInstead: body({ max_tokens: 301 }) }),
        "InvalidSignatureException",
        /does not match/,
      ],
      [
        "a session key without its token",
        () =>
          signed(invokePath(), body(), {
            credentials: { ...WITH_TOKEN, sessionToken: undefined } as never,
          }),
        "UnrecognizedClientException",
        /invalid/,
      ],
      [
        "no signature",
        () => send(invokePath(), { "content-type": "application/json" }, body()),
        "MissingAuthenticationTokenException",
        /Missing Authentication Token/,
      ],
    ];
    for (const [label, call, type, message] of cases) {
      const answer = await call();
      expect(answer.status, label).toBe(403);
      expect(errorType(answer), label).toBe(type);
      const text = json(answer);
      expect(String(text.Message ?? text.message), label).toMatch(message);
    }
  });

  it("tells signed from forged in a parallel burst, and answers each exactly", async () => {
    const wrong = { ...BEDROCK_DEMO_CREDENTIALS, secretAccessKey: "guessed" };
    const before = upstream.requests.length;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        signed(invokePath(), body(), i % 3 === 0 ? {} : { credentials: wrong }),
      ),
    );
    expect(upstream.requests.length - before).toBe(30);
    expect(answers.map((a) => a.status)).toEqual(
      Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 200 : 403)),
    );
  });

  it("takes a Bedrock API key as Bearer", async () => {
    const bearer = (key: string) =>
      send(
        invokePath(),
        { "content-type": "application/json", authorization: `Bearer ${key}` },
        body(),
      );
    expect((await bearer(BEDROCK_DEMO_API_KEY)).status).toBe(200);
    const format = await bearer("sk-not-a-bedrock-key");
    expect(format.status).toBe(403);
    expect(json(format).message).toBe("Invalid API Key format: Must start with pre-defined prefix");
    const wrong = await bearer("ABSKwrongkey");
    expect([wrong.status, errorType(wrong)]).toEqual([403, "UnrecognizedClientException"]);
  });
});

describe("InvokeModel", () => {
  it("answers Anthropic's Message with Bedrock's id and headers", async () => {
    const answer = await signed(invokePath(PROFILE_ID), body());
    expect(answer.status).toBe(200);
    const message = json(answer);
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5-20250929",
      content: [{ type: "text", text: "This is sluice's demo upstream. You said: Hello Bedrock" }],
      stop_reason: "end_turn",
    });
    expect(message.id).toMatch(/^msg_bdrk_01/);
    expect(answer.headers["x-amzn-bedrock-input-token-count"]).toBe(
      String(message.usage.input_tokens),
    );
    expect(answer.headers["x-amzn-bedrock-output-token-count"]).toBe(
      String(message.usage.output_tokens),
    );
  });

  it("refuses what Bedrock refuses: model and stream keys, its version, betas, the billing header, unknown ids", async () => {
    const cases: [string, string, RegExp | string][] = [
      [
        invokePath(),
        JSON.stringify({ ...JSON.parse(body()), model: "claude-x" }),
        "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again.",
      ],
      [invokePath(), body({ stream: true }), /extraneous key \[stream\]/],
      [
        invokePath(),
        JSON.stringify({ max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
        /required key \[anthropic_version\] not found/,
      ],
      [
        invokePath(),
        body({ anthropic_version: "2023-06-01" }),
        /anthropic_version: 2023-06-01 is not a valid enum value/,
      ],
      [
        invokePath(),
        body({
          anthropic_beta: ["interleaved-thinking-2025-05-14", "advanced-tool-use-2025-11-20"],
        }),
        "invalid beta flag",
      ],
      [
        invokePath(),
        body({
          system: [
            { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.332; cch=abc;" },
          ],
        }),
        /billing-header/,
      ],
      [
        invokePath("anthropic.claude-nope-v1:0"),
        body(),
        "The provided model identifier is invalid.",
      ],
      [
        invokePath(),
        body({ messages: [{ role: "user", content: [{ type: "text", text: "" }] }] }),
        "messages: text content blocks must be non-empty",
      ],
      [invokePath(), "{nope", /Malformed input request/],
    ];
    for (const [path, text, message] of cases) {
      const answer = await signed(path, text);
      expect(answer.status, text).toBe(400);
      expect(errorType(answer), text).toBe("ValidationException");
      expect(json(answer).message, text).toMatch(message);
    }
    expect(
      (await signed(invokePath(), body({ anthropic_beta: ["interleaved-thinking-2025-05-14"] })))
        .status,
    ).toBe(200);
  });

  it("answers queued statuses with x-amzn-ErrorType", async () => {
    const cases: [number, string | undefined, string][] = [
      [429, undefined, "ThrottlingException"],
      [503, undefined, "ServiceUnavailableException"],
      [400, "ServiceQuotaExceededException", "ServiceQuotaExceededException"],
      [429, "ModelNotReadyException", "ModelNotReadyException"],
      [403, undefined, "AccessDeniedException"],
    ];
    for (const [status, type, expected] of cases) {
      upstream.enqueue({ status, ...(type && { errorType: type }) });
      const answer = await signed(invokePath(), body());
      expect([answer.status, errorType(answer)]).toEqual([status, expected]);
      expect(json(answer).message).toEqual(expect.any(String));
    }
  });
});

describe("InvokeModelWithResponseStream", () => {
  const stream = (fields: Record<string, unknown> = {}) =>
    signed(invokePath(MODEL_ID, "invoke-with-response-stream"), body(fields), { stream: true });

  it("streams the Anthropic events as event-stream frames, with invocation metrics last", async () => {
    const answer = await stream();
    expect(answer.headers["content-type"]).toBe("application/vnd.amazon.eventstream");
    const all = events(answer);
    const streamed = assertAnthropicStream(all);
    expect(streamed.content).toEqual([
      { type: "text", text: "This is sluice's demo upstream. You said: Hello Bedrock" },
    ]);
    const metrics = all.at(-1)?.data["amazon-bedrock-invocationMetrics"] as Record<string, number>;
    expect(metrics).toMatchObject({
      inputTokenCount: streamed.usage.input_tokens,
      outputTokenCount: streamed.usage.output_tokens,
      cacheReadInputTokenCount: 0,
      cacheWriteInputTokenCount: 0,
    });
    expect(metrics.invocationLatency).toEqual(expect.any(Number));
  });

  it("streams thinking and tools, and takes back a signature the Anthropic API issued", async () => {
    const tools = [
      {
        name: "Bash",
        description: "Runs a command.",
        input_schema: { type: "object", properties: { command: { type: "string" } } },
      },
    ];
    const thinking = { type: "enabled", budget_tokens: 1024 };
    const ask = [{ role: "user", content: "THINK then USE_BASH" }];
    const first = assertAnthropicStream(
      events(await stream({ max_tokens: 2000, thinking, tools, messages: ask })),
    );
    expect(first.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
    // Signatures are valid across the platforms: the fixture's Anthropic API issues this one.
    const anthropic = new Anthropic({
      apiKey: "sk-ant-for-the-anthropic-routes",
      baseURL: upstream.origin,
      maxRetries: 0,
    });
    const issued = await anthropic.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 2000,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: "THINK" }],
    });
    const thinkingBlock = issued.content[0] as Anthropic.ThinkingBlock;
    const tool = first.content[2] as { id: string };
    const next = (thought: unknown) =>
      stream({
        max_tokens: 2000,
        thinking,
        tools,
        messages: [
          ...ask,
          { role: "assistant", content: [thought, ...first.content.slice(1)] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: tool.id, content: "ok" }] },
        ],
      });
    expect(assertAnthropicStream(events(await next(thinkingBlock))).content.at(-1)).toEqual({
      type: "text",
      text: "tool done: ok",
    });
    const forged = await next({ ...thinkingBlock, signature: "Zm9yZ2Vk" });
    expect([forged.status, json(forged).message]).toEqual([
      400,
      "messages.1.content.0: Invalid `signature` in `thinking` block",
    ]);
  });

  it("sends an exception frame mid-stream on demand", async () => {
    upstream.enqueue({
      errorAfterChunks: 3,
      errorType: "throttlingException",
      message: "Too many tokens, please wait before trying again.",
    });
    const decoded = parts(await stream());
    expect(decoded.slice(0, 3).map((p) => p.kind)).toEqual(["event", "event", "event"]);
    const last = decoded.at(-1);
    expect(decoded).toHaveLength(4);
    expect(last?.kind === "exception" && last.exception).toMatchObject({
      exceptionType: "throttlingException",
      status: 429,
      message: "Too many tokens, please wait before trying again.",
    });
    const scripted = parts(
      await stream({ messages: [{ role: "user", content: "please fail mid-stream" }] }),
    ).at(-1);
    expect(scripted?.kind === "exception" && scripted.exception.status).toBe(503);
  });
});

describe("CountTokens", () => {
  it("counts an InvokeModel body as the Anthropic API counts the same request", async () => {
    const inner = body({
      system: "Be brief.",
      messages: [{ role: "user", content: "How many tokens is this?" }],
    });
    const answer = await signed(
      invokePath(MODEL_ID, "count-tokens"),
      JSON.stringify({ input: { invokeModel: { body: Buffer.from(inner).toString("base64") } } }),
    );
    expect(answer.status).toBe(200);
    const anthropic = new Anthropic({
      apiKey: "sk-ant-for-the-anthropic-routes",
      baseURL: upstream.origin,
      maxRetries: 0,
    });
    const counted = await anthropic.messages.countTokens({
      model: "claude-sonnet-4-5",
      system: "Be brief.",
      messages: [{ role: "user", content: "How many tokens is this?" }],
    });
    expect(json(answer)).toEqual({ inputTokens: counted.input_tokens });
    const profile = await signed(
      invokePath(PROFILE_ID, "count-tokens"),
      JSON.stringify({ input: { invokeModel: { body: Buffer.from(inner).toString("base64") } } }),
    );
    expect([profile.status, json(profile).message]).toEqual([
      400,
      "The provided model doesn't support counting tokens.",
    ]);
  });
});
