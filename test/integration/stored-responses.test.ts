/**
 * Stored Responses API responses (shared/responses/stored.ts, stored-routes.ts), driven by the
 * official openai SDK (unmodified, retries off) against the local stack: a Responses-native
 * `openai` channel on the demo upstream (which stores responses, lists their input items,
 * refuses a cancel of a response not run in the background and continues
 * previous_response_id as OpenAI documents), and a DeepSeek-style chat channel reached through
 * the Responses → chat bridge, whose responses sluice keeps itself.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { UNITS_PER_USD } from "../../shared/billing/units";
import { clockOf } from "../../shared/clock";
import { storedResponseKey } from "../../shared/store/keys";
import { responseBlobKey } from "../../shared/store/stored-responses";
import { startSluiceInstance } from "../fixtures/core";
import { matchers, startDynamoFaultProxy } from "../fixtures/dynamo-fault-proxy";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createDeepSeekChannel,
  createUserWithKey,
  type DeepSeekChannel,
  eventually,
  type Json,
  openai,
  refusal,
  setPrices,
  settledLogLine,
  sluice,
} from "./support";

const NATIVE_KEY = "sk-stored-native-5d1c";
const DEEPSEEK_KEY = "sk-stored-deepseek-92ab";
const PRICE = { input: 2, cached_input: 0.5, output: 8, reasoning: 10, default_max_tokens: 4096 };

/** On a Responses-native channel. */
const NATIVE = uniqueModel("gpt-stored");
/** On a chat-only (DeepSeek-style) channel, bridged. */
const BRIDGED = uniqueModel("gpt-stored-bridged");
const DEEPSEEK = uniqueModel("deepseek-v4-flash");
/** Served by two native channels: the one that holds a response, and another. */
const TWICE = uniqueModel("gpt-stored-twice");

let native: DemoUpstream;
let deepseek: DeepSeekChannel;
let holder: DemoUpstream;
let other: DemoUpstream;
let holderChannel: string;
let user: Awaited<ReturnType<typeof createUserWithKey>>;
let attacker: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  native = await startDemoUpstream({ apiKey: NATIVE_KEY });
  holder = await startDemoUpstream({ apiKey: NATIVE_KEY });
  other = await startDemoUpstream({ apiKey: NATIVE_KEY });
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "stored: native",
    base_url: native.baseUrl,
    key: NATIVE_KEY,
    models: [NATIVE],
  });
  deepseek = await createDeepSeekChannel({
    key: DEEPSEEK_KEY,
    deepseek: DEEPSEEK,
    models: [BRIDGED],
    price: PRICE,
    name: "stored: deepseek, bridged",
    config: { responses: "bridge" },
  });
  // The holder is tried first; the other serves the model too, and must never get a follow-up.
  const created = await admin("POST", "/api/channel", {
    type: "openai",
    name: "stored: holder",
    base_url: holder.baseUrl,
    key: NATIVE_KEY,
    models: [TWICE],
    priority: 10,
  });
  holderChannel = String(created.id);
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "stored: other",
    base_url: other.baseUrl,
    key: NATIVE_KEY,
    models: [TWICE],
    priority: 0,
  });
  await setPrices({ [NATIVE]: PRICE, [TWICE]: PRICE });
  user = await createUserWithKey();
  attacker = await createUserWithKey();
});

afterAll(async () => {
  await native?.close();
  await deepseek?.close();
  await holder?.close();
  await other?.close();
});

const rejection = (promise: Promise<unknown>) =>
  refusal<InstanceType<typeof OpenAI.APIError>>(promise);

/** The 404 OpenAI answers for a response that is not the caller's to see. */
function expectNotFound(err: InstanceType<typeof OpenAI.APIError>, id: string) {
  expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  expect(err.status).toBe(404);
  expect(err.error).toMatchObject({ type: "invalid_request_error" });
  expect((err.error as Json).message).toContain(id);
}

/** The requests an upstream received for one response id (GET, DELETE, …). */
const askedAbout = (upstream: DemoUpstream, id: string) =>
  upstream.requests.filter((r) => r.path.includes(`/responses/${id}`));

/** The chat requests the DeepSeek fixture received, last first. */
const lastChat = () => deepseek.chatCalls().at(-1)?.body as Json;

describe("a response passed through to a Responses-native channel", () => {
  it("is kept as created: retrieve, input items, delete, then 404 (and gone upstream)", async () => {
    const client = openai(user.secret);
    const input = [
      { role: "user" as const, content: "first words" },
      { role: "user" as const, content: "second words" },
    ];
    const created = await client.responses.create({ model: NATIVE, input });
    expect(created.id).toMatch(/^resp/);

    const got = await client.responses.retrieve(created.id);
    expect(got.id).toBe(created.id);
    expect(got.output_text).toBe(created.output_text);
    expect(askedAbout(native, created.id).map((r) => r.method)).toEqual(["GET"]);

    const items = await client.responses.inputItems.list(created.id, { order: "asc" });
    expect(items.data.map((item) => (item as Json).content)).toEqual([
      "first words",
      "second words",
    ]);
    const newestFirst = await client.responses.inputItems.list(created.id, { limit: 1 });
    expect((newestFirst.data[0] as Json).content).toBe("second words");
    expect(newestFirst.has_more).toBe(true);

    await client.responses.delete(created.id);
    expect(askedAbout(native, created.id).map((r) => r.method)).toContain("DELETE");
    expectNotFound(await rejection(client.responses.retrieve(created.id)), created.id);
    // sluice's record went too: the 404 came without asking the upstream again.
    expect(askedAbout(native, created.id).filter((r) => r.method === "GET")).toHaveLength(3);
  });

  it("is kept before a stream's final event goes out", async () => {
    const client = openai(user.secret);
    const stream = await client.responses.create({
      model: NATIVE,
      input: "stream me",
      stream: true,
    });
    let id = "";
    for await (const event of stream) {
      if (event.type === "response.created") id = event.response.id;
      if (event.type === "response.completed") {
        // Asked while the stream is still open: the record is there already.
        expect((await client.responses.retrieve(id)).id).toBe(id);
      }
    }
    expect(id).toMatch(/^resp/);
  });

  it("store: false keeps nothing: sluice answers 404 without asking the upstream", async () => {
    const client = openai(user.secret);
    const created = await client.responses.create({ model: NATIVE, input: "forget", store: false });
    expectNotFound(await rejection(client.responses.retrieve(created.id)), created.id);
    expect(askedAbout(native, created.id)).toEqual([]);
  });

  it("previous_response_id continues it on its channel", async () => {
    const client = openai(user.secret);
    const first = await client.responses.create({ model: NATIVE, input: "my name is Ada" });
    const second = await client.responses.create({
      model: NATIVE,
      previous_response_id: first.id,
      input: "what did I say first?",
    });
    expect(second.output_text).toBe("You first said: my name is Ada");
    expect(second.previous_response_id).toBe(first.id);
    // The follow-up itself is stored: a third turn continues the chain.
    const third = await client.responses.create({
      model: NATIVE,
      previous_response_id: second.id,
      input: "what did I say first?",
    });
    expect(third.output_text).toBe("You first said: my name is Ada");
  });

  it("cancel is passed to the channel, whose refusal reaches the client", async () => {
    const client = openai(user.secret);
    const created = await client.responses.create({ model: NATIVE, input: "not in background" });
    const err = await rejection(client.responses.cancel(created.id));
    expect(err.status).toBe(400);
    expect(err.message).toContain("background");
    expect(askedAbout(native, created.id).map((r) => r.method)).toContain("POST");
  });

  it("a follow-up whose channel is gone is refused, and no other channel gets it", async () => {
    const client = openai(user.secret);
    const first = await client.responses.create({ model: TWICE, input: "held here" });
    expect(holder.requests.some((r) => r.path.endsWith("/responses"))).toBe(true);
    await admin("DELETE", `/api/channel/${holderChannel}`);
    const before = other.requests.length;
    const err = await rejection(
      client.responses.create({ model: TWICE, previous_response_id: first.id, input: "more" }),
    );
    expect(err.status).toBe(503);
    expect(err.code).toBe("previous_response_unavailable");
    expect(other.requests.length).toBe(before);
    // Without previous_response_id the model is still served, by the other channel.
    await client.responses.create({ model: TWICE, input: "fresh" });
    expect(other.requests.length).toBe(before + 1);
    // Its GET cannot reach it either; DELETE forgets sluice's record, and then it is a 404.
    expect((await rejection(client.responses.retrieve(first.id))).status).toBe(503);
    await client.responses.delete(first.id);
    expectNotFound(await rejection(client.responses.retrieve(first.id)), first.id);
    expect(askedAbout(other, first.id)).toEqual([]);
  });
});

describe("a bridged response (a chat channel through the Responses → chat bridge)", () => {
  it("is kept whole under the one id every event carried", async () => {
    const client = openai(user.secret);
    const stream = await client.responses.create({
      model: BRIDGED,
      input: "stream through the bridge",
      stream: true,
    });
    const ids = new Set<string>();
    let final: Json;
    let keptBeforeFinal = false;
    for await (const event of stream) {
      const response = (event as Json).response;
      if (response?.id) ids.add(response.id);
      if (event.type === "response.completed") {
        final = event.response;
        // Asked the moment the final event arrives: sluice wrote it before letting it out.
        keptBeforeFinal = (await client.responses.retrieve(event.response.id)).id === final.id;
      }
    }
    expect(keptBeforeFinal).toBe(true);
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    // The bridge's id (rule 8): OpenAI's prefix, the same in the record as in every event.
    expect(id).toMatch(/^resp_[0-9a-f]{48}$/);
    const { output_text: _text, ...got } = await client.responses.retrieve(id as string);
    expect(got).toEqual(final);
    expect((got as Json).store).toBe(true);
    const items = await client.responses.inputItems.list(id as string);
    expect(items.data).toEqual([
      expect.objectContaining({
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "stream through the bridge" }],
      }),
    ]);
    expect((items as Json).body?.first_id ?? items.data[0]?.id).toBe(items.data[0]?.id);
  });

  it("previous_response_id rebuilds the chain into the chat request, without old instructions", async () => {
    const client = openai(user.secret);
    const first = await client.responses.create({
      model: BRIDGED,
      instructions: "Answer like a pirate.",
      input: "remember the word tangerine",
    });
    const retrieved = await client.responses.retrieve(first.id);
    expect(retrieved).toEqual(JSON.parse(JSON.stringify(first)));
    const second = await client.responses.create({
      model: BRIDGED,
      previous_response_id: first.id,
      input: "which word?",
    });
    expect(second.previous_response_id).toBe(first.id);
    const messages = lastChat().messages as Json[];
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(messages[0].content).toContain("remember the word tangerine");
    expect(messages[1].content).toBe(first.output_text);
    expect(messages[2].content).toContain("which word?");
    expect(JSON.stringify(messages)).not.toContain("pirate");

    // A third turn carries both earlier ones.
    await client.responses.create({
      model: BRIDGED,
      previous_response_id: second.id,
      input: "and now?",
    });
    expect((lastChat().messages as Json[]).map((m) => m.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);

    await client.responses.delete(second.id);
    expectNotFound(await rejection(client.responses.retrieve(second.id)), second.id);
    const err = await rejection(
      client.responses.create({ model: BRIDGED, previous_response_id: second.id, input: "x" }),
    );
    expect(err.status).toBe(404);
    expect(err.param).toBe("previous_response_id");
  });

  it("cannot be cancelled (it never ran in the background)", async () => {
    const client = openai(user.secret);
    const created = await client.responses.create({ model: BRIDGED, input: "quick" });
    const err = await rejection(client.responses.cancel(created.id));
    expect(err.status).toBe(400);
  });
});

describe("another user's responses", () => {
  it("are 404 on every route and as previous_response_id, in a burst, and stay intact", async () => {
    const owner = openai(user.secret);
    const nativeOne = await owner.responses.create({ model: NATIVE, input: "mine" });
    const bridgedOne = await owner.responses.create({ model: BRIDGED, input: "mine too" });
    const ids = [
      nativeOne.id,
      bridgedOne.id,
      "resp_0000",
      `${nativeOne.id.slice(0, -1)}0`,
      `resp_${"9".repeat(3000)}`,
    ];
    const thief = openai(attacker.secret);
    const nativeAsked = native.requests.length;
    const chatAsked = deepseek.upstream.requests.length;
    const balance = async () =>
      (await api(attacker.accessToken, "GET", "/api/user/self")).body.data.quota;
    const before = await balance();
    const attempts = ids.flatMap((id) => [
      thief.responses.retrieve(id),
      thief.responses.retrieve(id),
      thief.responses.delete(id),
      thief.responses.inputItems.list(id),
      thief.responses.cancel(id),
      thief.responses.create({ model: NATIVE, previous_response_id: id, input: "steal" }),
      thief.responses.create({ model: BRIDGED, previous_response_id: id, input: "steal" }),
    ]);
    const errors = await Promise.all(attempts.map(rejection));
    for (const err of errors) {
      expect(err.status).toBe(404);
      expect(err.error).toMatchObject({ type: "invalid_request_error" });
    }
    // Nothing reached an upstream, nothing was held or billed, and the owner still has both.
    expect(native.requests.length).toBe(nativeAsked);
    expect(deepseek.upstream.requests.length).toBe(chatAsked);
    expect(await balance()).toBe(before);
    expect((await owner.responses.retrieve(nativeOne.id)).id).toBe(nativeOne.id);
    expect((await owner.responses.retrieve(bridgedOne.id)).id).toBe(bridgedOne.id);
  });
});

/** The usage log line of a call, once settled: its kinds are the usage the upstream reported. */
async function expectBilledAs(requestId: string | null, usage: Json) {
  const line = await settledLogLine(user.accessToken, String(requestId));
  const cached = usage.input_tokens_details.cached_tokens;
  const reasoning = usage.output_tokens_details.reasoning_tokens;
  expect(line).toMatchObject({
    outcome: "completed",
    prompt_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens - reasoning,
  });
  expect(line.reasoning_tokens ?? 0).toBe(reasoning);
  const usd =
    ((usage.input_tokens - cached) * PRICE.input +
      cached * PRICE.cached_input +
      (usage.output_tokens - reasoning) * PRICE.output +
      reasoning * PRICE.reasoning) /
    1e6;
  expect(Math.abs(line.quota - usd * UNITS_PER_USD)).toBeLessThanOrEqual(1);
}

describe("a background response (native)", () => {
  it("plain: answered at once with the queued Response, read to its end by sluice, billed from the upstream's usage", async () => {
    const client = openai(user.secret);
    native.enqueue({ chunkDelayMs: 40 });
    const { data, request_id } = await client.responses
      .create({ model: NATIVE, input: "Tell me a long story, later", background: true })
      .withResponse();
    expect(data).toMatchObject({ object: "response", status: "queued", model: NATIVE });
    // The one change to the client's body: sluice reads the response as a stream.
    expect(native.requests.at(-1)?.body).toMatchObject({ background: true, stream: true });
    const done = await eventually(
      () => client.responses.retrieve(data.id),
      (found) => found.status === "completed",
    );
    await expectBilledAs(request_id, done.usage as unknown as Json);
  });

  it("streamed: a client that leaves after the first event is billed the whole response all the same", async () => {
    const client = openai(user.secret);
    native.enqueue({ chunkDelayMs: 40 });
    const { data: stream, request_id } = await client.responses
      .create({
        model: NATIVE,
        input: "Another long story, streamed",
        background: true,
        stream: true,
      })
      .withResponse();
    let id = "";
    for await (const event of stream) {
      if (event.type === "response.created") {
        expect(event.response.status).toBe("queued");
        id = event.response.id;
        break; // the client leaves; the upstream goes on, and so does sluice's reading
      }
    }
    const done = await eventually(
      () => client.responses.retrieve(id),
      (found) => found.status === "completed",
    );
    expect(done.usage?.output_tokens).toBeGreaterThan(5);
    await expectBilledAs(request_id, done.usage as unknown as Json);
  });

  it("a burst of plain background calls: each answered queued, each billed once from its own usage", async () => {
    const client = openai(user.secret);
    const calls = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.responses
          .create({ model: NATIVE, input: `Background story number ${i}`, background: true })
          .withResponse(),
      ),
    );
    for (const { data, request_id } of calls) {
      expect(data.status).toBe("queued");
      const done = await eventually(
        () => client.responses.retrieve(data.id),
        (found) => found.status === "completed",
      );
      await expectBilledAs(request_id, done.usage as unknown as Json);
    }
    const ids = new Set(calls.map(({ request_id }) => request_id));
    const lines = (await api(user.accessToken, "GET", "/api/log/self?size=100")).body
      .data as Json[];
    expect(lines.filter((line) => ids.has(line.request_id))).toHaveLength(6);
  });

  it("cancel is passed to the channel that runs it", async () => {
    const client = openai(user.secret);
    native.enqueue({ chunkDelayMs: 200 });
    const queued = await client.responses.create({
      model: NATIVE,
      input: "A story to stop",
      background: true,
    });
    const cancelled = await client.responses.cancel(queued.id);
    expect(cancelled).toMatchObject({ id: queued.id, status: "cancelled" });
    expect(askedAbout(native, queued.id).map((r) => r.path)).toContain(
      `/v1/responses/${queued.id}/cancel`,
    );
  });
});

describe("requests sluice cannot serve", () => {
  it("background: true on a chat channel is the bridge's 400 naming the field", async () => {
    const err = await rejection(
      openai(user.secret).responses.create({ model: BRIDGED, input: "later", background: true }),
    );
    expect(err.status).toBe(400);
    expect(err.param).toBe("background");
  });

  it("input_items refuses a limit out of 1-100", async () => {
    const client = openai(user.secret);
    const created = await client.responses.create({ model: BRIDGED, input: "limits" });
    const err = await rejection(client.responses.inputItems.list(created.id, { limit: 101 }));
    expect(err.status).toBe(400);
    expect(err.param).toBe("limit");
  });
});

describe("retention", () => {
  it("a response is 404 from its expiry, whatever TTL has not swept yet; large bodies go to S3", async () => {
    let offsetMs = 0;
    const instance = await startSluiceInstance(sluice, {
      env: { SLUICE_RESPONSE_RETENTION_DAYS: "1" },
      clock: clockOf(() => Date.now() + offsetMs),
    });
    try {
      const client = new OpenAI({
        baseURL: `${instance.url}/v1`,
        apiKey: user.secret,
        maxRetries: 0,
      });
      const nativeOne = await client.responses.create({ model: NATIVE, input: "keep a day" });
      const large = "x".repeat(20_000);
      const bridgedOne = await client.responses.create({ model: BRIDGED, input: large });
      const { table, blobs } = instance.services;
      const item = await table.get<Json>(storedResponseKey(bridgedOne.id), true);
      expect(item.expiresAt - item.createdAt).toBeGreaterThanOrEqual(86_400);
      expect(item.ttl).toBe(item.expiresAt + 86_400);
      expect(item.content).toBeUndefined();
      expect(await blobs.get(responseBlobKey(bridgedOne.id))).toBeDefined();
      const items = await client.responses.inputItems.list(bridgedOne.id);
      expect((items.data[0] as Json).content[0].text).toBe(large);

      offsetMs = 86_400_000 + 120_000;
      for (const id of [nativeOne.id, bridgedOne.id]) {
        expectNotFound(await rejection(client.responses.retrieve(id)), id);
        expect((await rejection(client.responses.inputItems.list(id))).status).toBe(404);
        const err = await rejection(
          client.responses.create({ model: NATIVE, previous_response_id: id, input: "x" }),
        );
        expect(err.status).toBe(404);
      }
      // The item is still in the table (TTL sweeps later): only the API hides it.
      expect(await table.get(storedResponseKey(bridgedOne.id), true)).toBeDefined();
      offsetMs = 0;
      await client.responses.delete(bridgedOne.id);
      expect(await blobs.get(responseBlobKey(bridgedOne.id))).toBeUndefined();
    } finally {
      await instance.close();
    }
  });
});

describe("the store's write, slow or failing", () => {
  it("holds a stream's final event until the response is kept; a failed write loses only the record", async () => {
    const proxy = await startDynamoFaultProxy(sluice.dynamoEndpoint);
    const instance = await startSluiceInstance(sluice, { dynamoEndpoint: proxy.endpoint });
    try {
      const client = new OpenAI({
        baseURL: `${instance.url}/v1`,
        apiKey: user.secret,
        maxRetries: 0,
      });
      /** Streams one response; at its final event, whether a GET finds it already. */
      const streamed = async (model: string) => {
        const stream = await client.responses.create({ model, input: "slow store", stream: true });
        let found: boolean | undefined;
        let id = "";
        for await (const event of stream) {
          if (event.type === "response.completed") {
            id = event.response.id;
            found = await client.responses.retrieve(id).then(
              () => true,
              () => false,
            );
          }
        }
        return { id, found };
      };
      // Each record's write takes a second: far longer than the rest of either stream.
      const slowWrite = { kind: "delay", ms: 1_000 } as const;
      proxy.inject({ match: matchers.putInto("RESPONSE#"), fault: slowWrite, times: 2 });
      expect((await streamed(NATIVE)).found).toBe(true);
      expect((await streamed(BRIDGED)).found).toBe(true);

      // A write DynamoDB refuses: the client still gets its whole answer, and only a GET misses.
      const refused = { kind: "error", status: 400, type: "ValidationException" } as const;
      proxy.inject({ match: matchers.putInto("RESPONSE#"), fault: refused, times: 2 });
      for (const model of [NATIVE, BRIDGED]) {
        const { id, found } = await streamed(model);
        expect(id).not.toBe("");
        expect(found).toBe(false);
      }
    } finally {
      await instance.close();
      await proxy.close();
    }
  });
});
