/**
 * OpenAI's Responses API on sluice, driven by the official openai SDK (retries off) and by
 * plain HTTP where the wire itself is the point, against the local stack with an `openai`
 * channel on the demo upstream's Responses endpoint (infra/local/demo-upstream/responses.ts:
 * named events, reasoning items, function calls, a prompt cache, and the bytes it received).
 */
import { request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { UNITS_PER_USD } from "../../shared/billing/units";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createKey,
  createUser,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  setPrices,
  sluice,
} from "./support";

const CHANNEL_KEY = "sk-responses-channel-8e21b7";
/**
 * $ per million tokens: reasoning priced apart from text output, to tell them apart. The
 * longest answer bounds a call without max_output_tokens, so sluice adds no limit of its own.
 */
const PRICE = { input: 2, cached_input: 0.5, output: 8, reasoning: 10, default_max_tokens: 4096 };
/** A price that names no longest answer: the site's default is held, and sent as the limit. */
const UNBOUNDED_PRICE = { input: 2, cached_input: 0.5, output: 8, reasoning: 10 };

const MODEL = uniqueModel("gpt-resp");
/** A client name the channel maps to MAPPED_UPSTREAM. */
const ALIAS = uniqueModel("gpt-resp-alias");
const MAPPED_UPSTREAM = uniqueModel("gpt-resp-upstream");
/** On a slow upstream of its own, for the burst. */
const BURST = uniqueModel("gpt-resp-burst");

let upstream: DemoUpstream;
let slow: DemoUpstream;
let user: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: CHANNEL_KEY });
  slow = await startDemoUpstream({ apiKey: CHANNEL_KEY, latencyMs: 400 });
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "responses fixture",
    base_url: upstream.baseUrl,
    key: CHANNEL_KEY,
    models: [MODEL, ALIAS],
    model_mapping: { [ALIAS]: MAPPED_UPSTREAM },
  });
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "slow responses fixture",
    base_url: slow.baseUrl,
    key: CHANNEL_KEY,
    models: [BURST],
  });
  await setPrices({
    [MODEL]: PRICE,
    [ALIAS]: PRICE,
    [MAPPED_UPSTREAM]: PRICE,
    [BURST]: UNBOUNDED_PRICE,
  });
  user = await createUserWithKey();
});

afterAll(async () => {
  await upstream?.close();
  await slow?.close();
});

/** The user's usage line for a request id, once settled. */
async function logLine(accessToken: string, requestId: string): Promise<Json> {
  const lines = await eventually(
    async () => (await api(accessToken, "GET", "/api/log/self?size=100")).body.data as Json[],
    (found) => found.some((line) => line.request_id === requestId),
    20_000,
  );
  return lines.find((line) => line.request_id === requestId);
}

/**
 * What OpenAI's documented rule charges for a ResponseUsage at PRICE, in quota units:
 * input_tokens include the cached ones, output_tokens the reasoning ones.
 */
function chargeOf(usage: Json): number {
  const cached = usage.input_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage.output_tokens_details?.reasoning_tokens ?? 0;
  const usd =
    ((usage.input_tokens - cached) * PRICE.input +
      cached * PRICE.cached_input +
      (usage.output_tokens - reasoning) * PRICE.output +
      reasoning * PRICE.reasoning) /
    1e6;
  return usd * UNITS_PER_USD;
}

/** The log line's kinds, as the reported usage splits them. */
function kindsOf(usage: Json) {
  const cached = usage.input_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage.output_tokens_details?.reasoning_tokens ?? 0;
  return {
    prompt_tokens: usage.input_tokens,
    input_tokens: usage.input_tokens - cached,
    output_tokens: usage.output_tokens - reasoning,
  };
}

async function rejection(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise;
  } catch (err) {
    return err as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error("the call succeeded");
}

describe("POST /v1/responses over an openai channel", () => {
  it("answers a plain response, billed from its usage", async () => {
    const { data, response, request_id } = await openai(user.secret)
      .responses.create({ model: MODEL, input: "Say hello" })
      .withResponse();
    expect(data.object).toBe("response");
    expect(data.model).toBe(MODEL);
    expect(data.output_text).toContain("You said: Say hello");
    expect(request_id).toBe(response.headers.get("x-request-id"));
    expect(upstream.requests.at(-1)?.path).toBe("/v1/responses");
    expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${CHANNEL_KEY}`);
    const line = await logLine(user.accessToken, request_id as string);
    expect(line).toMatchObject({
      model: MODEL,
      endpoint: "/v1/responses",
      stream: false,
      outcome: "completed",
      completion_tokens: data.usage?.output_tokens,
      ...kindsOf(data.usage),
    });
    expect(Math.abs(line.quota - chargeOf(data.usage))).toBeLessThanOrEqual(1);
  });

  it("passes the client's bytes to the upstream unchanged, and the answer back unchanged", async () => {
    // Spacing, key order and a field sluice does not know: all must arrive as sent.
    const body = `{ "input" : "bytes as sent",\n "model":"${MODEL}", "metadata": {"z":"1","a":"2"}, "x_future_field": [1, 2.50] }`;
    const response = await fetch(`${sluice.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const received = upstream.requests.at(-1);
    expect(received?.raw.toString("utf8")).toBe(body);
    // The fixture's answer is compact JSON: passed through, it is still exactly that.
    expect(text).toBe(JSON.stringify(JSON.parse(text)));

    // A model whose price names no longest answer: what is held goes as the limit, spliced.
    const unbounded = `{"model":"${BURST}", "input" : "bounded by the hold"}`;
    const bounded = await fetch(`${sluice.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
      body: unbounded,
    });
    expect(bounded.status).toBe(200);
    await bounded.arrayBuffer();
    const limited = slow.requests.at(-1);
    const sentBody: Json = limited?.body;
    const limit = sentBody.max_output_tokens;
    expect(limit).toBeGreaterThan(0);
    expect(limited?.raw.toString("utf8")).toBe(
      unbounded.replace("}", `,"max_output_tokens":${limit}}`),
    );
  });

  it("streams every event through (named, numbered, no [DONE]); finalResponse() is the answer, billed from response.completed", async () => {
    // A user of its own: its one log line is this stream's.
    const own = await createUserWithKey();
    const stream = openai(own.secret).responses.stream({ model: MODEL, input: "Stream to me" });
    const types: string[] = [];
    const sequence: number[] = [];
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
    }
    const final = await stream.finalResponse();
    const message = final.output.find((item) => item.type === "message");
    const said = message?.type === "message" ? message.content : [];
    expect(said[0]).toMatchObject({
      type: "output_text",
      text: expect.stringContaining("You said: Stream to me"),
    });
    expect(final.status).toBe("completed");
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(sequence).toEqual(sequence.map((_, i) => i));
    const [line] = await eventually(
      // The call's own line (the user's top-up has one too, written before it).
      async () =>
        (await api(own.accessToken, "GET", "/api/log/self?size=10&type=consume")).body
          .data as Json[],
      (found) => found.length > 0,
      20_000,
    );
    expect(line).toMatchObject({ stream: true, endpoint: "/v1/responses" });
    expect(line).toMatchObject({ outcome: "completed", ...kindsOf(final.usage) });
    expect(Math.abs(line.quota - chargeOf(final.usage))).toBeLessThanOrEqual(1);
  });

  it("bills cached and reasoning tokens by their kinds (a repeated long prefix, a reasoning request)", async () => {
    const client = openai(user.secret);
    const context = Array.from({ length: 1400 }, (_, i) => `w${i}`).join(" ");
    await client.responses.create({ model: MODEL, input: context });
    const { data, request_id } = await client.responses
      .create({ model: MODEL, input: `${context} and more`, reasoning: { effort: "low" } })
      .withResponse();
    const usage = data.usage as Json;
    expect(usage.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024);
    expect(usage.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    const line = await logLine(user.accessToken, request_id as string);
    expect(line).toMatchObject({
      ...kindsOf(usage),
      cached_input_tokens: usage.input_tokens_details.cached_tokens,
      reasoning_tokens: usage.output_tokens_details.reasoning_tokens,
    });
    expect(Math.abs(line.quota - chargeOf(usage))).toBeLessThanOrEqual(1);
  });

  it("relays a function call and the tool's output on the next turn", async () => {
    const client = openai(user.secret);
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: "function",
        name: "lookup_weather",
        description: "The weather in a city",
        parameters: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
          additionalProperties: false,
        },
        strict: true,
      },
    ];
    const first = await client.responses.create({
      model: MODEL,
      input: "please use the tool",
      tools,
    });
    const call = first.output.find((item) => item.type === "function_call");
    expect(call).toMatchObject({ name: "lookup_weather", arguments: '{"city":"sluice"}' });
    if (call?.type !== "function_call") throw new Error("no function call");
    const second = await client.responses.create({
      model: MODEL,
      tools,
      input: [
        { role: "user", content: "please use the tool" },
        call,
        { type: "function_call_output", call_id: call.call_id, output: "sunny, 21 °C" },
      ],
    });
    expect(second.output_text).toBe("The tool said: sunny, 21 °C");
  });

  it("passes structured output (text.format json_schema) through", async () => {
    const answer = await openai(user.secret).responses.create({
      model: MODEL,
      input: "Name a colour",
      text: {
        format: {
          type: "json_schema",
          name: "colour",
          strict: true,
          schema: {
            type: "object",
            properties: { name: { type: "string" }, words: { type: "integer" } },
            required: ["name", "words"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(JSON.parse(answer.output_text)).toEqual({ name: "Name a colour", words: 3 });
    const sent: Json = upstream.requests.at(-1)?.body;
    expect(sent.text.format.type).toBe("json_schema");
  });

  it("reports a mapped model under the client's name, whole and streamed, every other byte the upstream's", async () => {
    const whole = await openai(user.secret).responses.create({ model: ALIAS, input: "mapped" });
    expect(whole.model).toBe(ALIAS);
    const sent: Json = upstream.requests.at(-1)?.body;
    expect(sent.model).toBe(MAPPED_UPSTREAM);
    const response = await fetch(`${sluice.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: ALIAS, input: "mapped", stream: true }),
    });
    const events = (await response.text())
      .split("\n\n")
      .filter((b) => b.startsWith("event:"))
      .map((b) => JSON.parse(b.split("\n")[1]?.slice(6) ?? "{}"));
    const carrying = events.filter((e) => e.response);
    expect(carrying.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.completed",
    ]);
    for (const e of carrying) expect(e.response.model).toBe(ALIAS);
    expect(JSON.stringify(events)).not.toContain(MAPPED_UPSTREAM);
  });

  it("lowers max_output_tokens by splicing when the balance covers less, every other byte the client's", async () => {
    // $0.001 covers some hundred answer tokens at $8-10/M after the prompt's bound.
    const poor = await createUser({ paidUsd: 0.001 });
    const key = await createKey(poor);
    const before = upstream.requests.length;
    const original = JSON.stringify({ model: MODEL, input: "short", max_output_tokens: 64_000 });
    const response = await fetch(`${sluice.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: original,
    });
    expect(response.status).toBe(200);
    const lowered = Number(response.headers.get("x-sluice-max-tokens"));
    expect(lowered).toBeGreaterThan(0);
    expect(lowered).toBeLessThan(64_000);
    const sent = upstream.requests[before];
    expect(sent?.raw.toString()).toBe(original.replace("64000", String(lowered)));
  });

  it("400 in OpenAI's envelope for what sluice bills on, before any upstream call", async () => {
    const before = upstream.requests.length;
    const bodies = [
      { input: "no model" },
      { model: MODEL, input: "x", max_output_tokens: 0 },
      { model: MODEL, input: "x", max_output_tokens: "many" },
      { model: MODEL, input: "x", stream: "yes" },
    ];
    const answers = await Promise.all(
      bodies.map((body) =>
        fetch(`${sluice.url}/v1/responses`, {
          method: "POST",
          headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json })),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body.error.type).toBe("invalid_request_error");
    }
    expect(answers.map((a) => a.body.error.param)).toEqual([
      "model",
      "max_output_tokens",
      "max_output_tokens",
      "stream",
    ]);
    expect(upstream.requests.length).toBe(before);
  });

  it("relays the upstream's 400 in OpenAI's envelope", async () => {
    const err = await rejection(
      openai(user.secret).responses.create({ model: MODEL, input: "please fail with 400" }),
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.error).toMatchObject({
      type: "invalid_request_error",
      message: expect.stringContaining("Failed on request (400)"),
    });
  });

  it("ends a stream the upstream cut with a response.failed event, which the SDK raises, billed as far as delivered", async () => {
    // Cut after two text deltas: no final event, so no usage reported.
    upstream.enqueue({ cutAfterChunks: 6 });
    const response = await fetch(`${sluice.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, input: "cut me off", stream: true }),
    });
    const blocks = (await response.text()).split("\n\n").filter((b) => b.startsWith("event:"));
    const last = blocks.at(-2) ?? "";
    expect(last.startsWith("event: response.failed\n")).toBe(true);
    expect(blocks.at(-1)?.startsWith("event: error\n")).toBe(true);
    const data = JSON.parse(last.split("\n")[1]?.slice(6) ?? "{}");
    expect(data.response.status).toBe("failed");
    expect(data.response.error.code).toBe("server_error");
    const created = JSON.parse(blocks[0]?.split("\n")[1]?.slice(6) ?? "{}");
    expect(data.response.id).toBe(created.response.id);
    expect(data.sequence_number).toBe(blocks.length - 2);
    // Two deltas were sent before the cut; what sluice had not read when the connection broke
    // is lost with it (fetch discards a broken body's unread bytes), never made up.
    const deltas = blocks.filter((b) => b.startsWith("event: response.output_text.delta\n"));
    expect(deltas.length).toBeLessThanOrEqual(2);
    const line = await logLine(user.accessToken, response.headers.get("x-request-id") as string);
    expect(line.outcome).toBe("interrupted");
    // The prompt as the tokenizer counts it, the answer at least what was delivered.
    expect(line.prompt_tokens).toBeGreaterThan(0);
    expect(line.completion_tokens).toBeGreaterThanOrEqual(deltas.length);
    expect(line.quota).toBeGreaterThan(0);

    upstream.enqueue({ cutAfterChunks: 4 });
    const stream = openai(user.secret).responses.stream({ model: MODEL, input: "cut me off" });
    await expect(stream.finalResponse()).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it("426 for GET /v1/responses with Upgrade: websocket (Codex falls back to HTTP), 404 without", async () => {
    const url = new URL(`${sluice.url}/v1/responses`);
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(url, {
        method: "GET",
        headers: {
          authorization: `Bearer ${user.secret}`,
          upgrade: "websocket",
          connection: "Upgrade",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-version": "13",
        },
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, body: "" });
      });
      req.on("error", reject);
      req.end();
    });
    expect(status.status).toBe(426);
    expect(JSON.parse(status.body).error.type).toBe("invalid_request_error");
    const plain = await fetch(url, { headers: { authorization: `Bearer ${user.secret}` } });
    expect(plain.status).toBe(404);
  });

  it("429 for a burst past the key's concurrency, in OpenAI's envelope, and no upstream call for a refused one", async () => {
    const limited = await createUser();
    const key = await createKey(limited);
    await admin("PUT", `/api/token/${key.id}`, { rate_limits: { concurrency: 2, rpm: 100 } });
    const before = slow.requests.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${sluice.url}/v1/responses`, {
          method: "POST",
          headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
          body: JSON.stringify({ model: BURST, input: "burst", max_output_tokens: 20 }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok.length + refused.length).toBe(20);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(slow.requests.length - before).toBe(ok.length);
    for (const r of refused) expect(r.body.error).toMatchObject({ type: expect.any(String) });
  });
});
