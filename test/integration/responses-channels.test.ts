/**
 * Which channels speak the Responses API, found out without configuration: the official openai
 * SDK (retries off) against the local stack. An `openai` channel left to `responses: auto` on
 * the demo upstream's DeepSeek API (which, like api.deepseek.com, answers 404 with no body on
 * /responses) is found out on the first call, which is sent through the Responses → chat bridge
 * at once; the (channel, model) is remembered in the table (PROTOCOL_GAP) and later calls go
 * straight to /chat/completions. A Responses-native host's 404 about the request (an unknown
 * model, an input item not found) is the client's answer and marks nothing; a pinned channel
 * never probes. Azure OpenAI serves Responses on its v1 API.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { countTokens } from "../../shared/billing/tokens";
import { UNITS_PER_USD } from "../../shared/billing/units";
import { Users } from "../../shared/store/users";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  refusal,
  setPrices,
  settledAccount,
  settledLogLine,
  sluice,
  sluiceTable,
} from "./support";

const PRICE = { input: 2, output: 8 };
const DEEPSEEK_KEY = "sk-deepseek-detect-71c3";
const NATIVE_KEY = "sk-native-detect-2e90";

/** The fixture's DeepSeek model, and the client's names for it on each channel. */
const DEEPSEEK = uniqueModel("deepseek-chat");
const AUTO = uniqueModel("gpt-auto-chat-only");
const PINNED_NATIVE = uniqueModel("gpt-pinned-native");
const PINNED_BRIDGE = uniqueModel("gpt-pinned-bridge");
/** A model on a Responses-native host, left to auto. */
const NATIVE = uniqueModel("gpt-auto-native");

let deepseek: DemoUpstream;
let native: DemoUpstream;
const channels: Record<string, string> = {};
let user: Awaited<ReturnType<typeof createUserWithKey>>;

async function channel(name: string, fields: Record<string, unknown>): Promise<string> {
  const created = await admin("POST", "/api/channel", { type: "openai", name, ...fields });
  return created.id as string;
}

beforeAll(async () => {
  deepseek = await startDemoUpstream({ apiKey: DEEPSEEK_KEY, deepseekModels: [DEEPSEEK] });
  native = await startDemoUpstream({ apiKey: NATIVE_KEY });
  const onDeepseek = { base_url: `${deepseek.origin}/deepseek`, key: DEEPSEEK_KEY };
  channels.auto = await channel("deepseek, auto", {
    ...onDeepseek,
    models: [AUTO],
    model_mapping: { [AUTO]: DEEPSEEK },
  });
  channels.pinnedNative = await channel("deepseek, pinned native", {
    ...onDeepseek,
    models: [PINNED_NATIVE],
    model_mapping: { [PINNED_NATIVE]: DEEPSEEK },
    config: { responses: "native" },
  });
  channels.pinnedBridge = await channel("native host, pinned bridge", {
    base_url: native.baseUrl,
    key: NATIVE_KEY,
    models: [PINNED_BRIDGE],
    config: { responses: "bridge" },
  });
  channels.native = await channel("native host, auto", {
    base_url: native.baseUrl,
    key: NATIVE_KEY,
    models: [NATIVE],
  });
  await setPrices(
    Object.fromEntries(
      [AUTO, PINNED_NATIVE, PINNED_BRIDGE, NATIVE, DEEPSEEK].map((m) => [m, PRICE]),
    ),
  );
  user = await createUserWithKey();
});

afterAll(async () => {
  await deepseek?.close();
  await native?.close();
});

const requestsTo = (fixture: DemoUpstream, path: string) =>
  fixture.requests.filter((r) => r.path.split("?")[0] === path);

/** The usage log line of the user's call that got this answer, once settled. */
const settledLineOf = (response: Response) =>
  settledLogLine(user.accessToken, response.headers.get("x-request-id") as string);

/** The protocol gaps stored for a channel (relay/protocol-gaps.ts). */
async function gapsOf(channelId: string): Promise<Json[]> {
  return sluiceTable().queryAll<Json>({
    keyCondition: "pk = :pk AND begins_with(sk, :prefix)",
    values: { ":pk": "PROTOCOL_GAP", ":prefix": `${channelId}#` },
  });
}

/** One Responses call, plain or streamed: its text and request id. */
async function respond(
  model: string,
  input: string,
  stream: boolean,
): Promise<{ text: string; requestId: string; status: string | undefined }> {
  const client = openai(user.secret);
  if (!stream) {
    const { data, response } = await client.responses
      .create({ model, input, store: false })
      .withResponse();
    return {
      text: data.output_text,
      requestId: response.headers.get("x-request-id") as string,
      status: data.status,
    };
  }
  const { data: events, response } = await client.responses
    .create({ model, input, store: false, stream: true })
    .withResponse();
  let text = "";
  let status: string | undefined;
  for await (const event of events) {
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.completed") status = event.response.status;
  }
  return { text, requestId: response.headers.get("x-request-id") as string, status };
}

describe("an openai channel left to auto on a host without /responses", () => {
  it("a burst of first calls all succeed through the bridge, each billed once; the pair is remembered once", async () => {
    const before = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    const calls = 12;
    const answers = await Promise.all(
      Array.from({ length: calls }, (_, i) => respond(AUTO, `Burst ${i}`, i % 2 === 1)),
    );
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe("completed");
      expect(answer.text).toBe(`This is sluice's demo upstream. You said: Burst ${i}`);
    }
    // Each call asked /responses once (404, nothing processed), then chat once: never twice.
    expect(requestsTo(deepseek, "/deepseek/responses")).toHaveLength(calls);
    expect(requestsTo(deepseek, "/deepseek/chat/completions")).toHaveLength(calls);
    // Each billed once: one settled log line per call, its usage the chat answer's.
    const lines = await Promise.all(
      answers.map(({ requestId }) => settledLogLine(user.accessToken, requestId)),
    );
    for (const line of lines) {
      expect(line).toMatchObject({ model: AUTO, endpoint: "/v1/responses", outcome: "completed" });
      expect(line.quota).toBeGreaterThan(0);
    }
    const all = (await api(user.accessToken, "GET", "/api/log/self?size=100")).body.data as Json[];
    for (const { requestId } of answers)
      expect(all.filter((l) => l.request_id === requestId)).toHaveLength(1);
    // One hold per call, settled once: no hold left, the balance down by the lines' sum.
    await settledAccount(user.id);
    const after = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
    const billed = lines.reduce((sum: number, l: Json) => sum + l.quota, 0);
    expect(after.used_quota - before.used_quota).toBe(billed);
    expect((await new Users(sluiceTable()).get(user.id, true))?.account.available).toBe(
      after.total_quota,
    );
    // Remembered once, for this (channel, model) and protocol only.
    const gaps = await eventually(
      () => gapsOf(channels.auto as string),
      (found) => found.length > 0,
    );
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({
      channelId: channels.auto,
      model: AUTO,
      protocol: "responses",
      reason: "HTTP 404 on /responses",
    });
    expect(gaps[0].until).toBeGreaterThan(Date.now());
    expect(gaps[0].ttl).toBe(Math.ceil(gaps[0].until / 1000));
    // The admin sees it on the channel.
    const shown = await admin("GET", `/api/channel/${channels.auto}`);
    expect(shown.protocol_gaps).toEqual([
      {
        model: AUTO,
        protocol: "responses",
        reason: "HTTP 404 on /responses",
        since: Math.ceil(gaps[0].since / 1000),
        until: Math.ceil(gaps[0].until / 1000),
      },
    ]);
  });

  it("later calls go straight through the bridge: /responses is not asked again", async () => {
    const probes = requestsTo(deepseek, "/deepseek/responses").length;
    const chats = requestsTo(deepseek, "/deepseek/chat/completions").length;
    const answers = await Promise.all([
      respond(AUTO, "Again", false),
      respond(AUTO, "Again, streamed", true),
    ]);
    expect(answers.map((a) => a.status)).toEqual(["completed", "completed"]);
    expect(requestsTo(deepseek, "/deepseek/responses")).toHaveLength(probes);
    expect(requestsTo(deepseek, "/deepseek/chat/completions")).toHaveLength(chats + 2);
  });

  it("an admin saving the channel forgets what was found: the next call finds out again", async () => {
    await admin("PUT", `/api/channel/${channels.auto}`, { name: "deepseek, auto (edited)" });
    expect(await gapsOf(channels.auto as string)).toEqual([]);
    const probes = requestsTo(deepseek, "/deepseek/responses").length;
    const answer = await respond(AUTO, "After the edit", false);
    expect(answer.status).toBe("completed");
    expect(requestsTo(deepseek, "/deepseek/responses")).toHaveLength(probes + 1);
    // Remembered after the response, off its path.
    await eventually(
      () => gapsOf(channels.auto as string),
      (gaps) => gaps.length === 1,
    );
  });
});

describe("a first call the bridge cannot express", () => {
  it("is refused with the bridge's 400, not a 502; nothing is remembered until a call is bridged", async () => {
    const model = uniqueModel("gpt-auto-refused");
    const channelId = await channel("deepseek, auto, second", {
      base_url: `${deepseek.origin}/deepseek`,
      key: DEEPSEEK_KEY,
      models: [model],
      model_mapping: { [model]: DEEPSEEK },
    });
    await setPrices({ [model]: PRICE });
    const probes = requestsTo(deepseek, "/deepseek/responses").length;
    const chats = requestsTo(deepseek, "/deepseek/chat/completions").length;
    const refused = await refusal<InstanceType<typeof OpenAI.APIError>>(
      openai(user.secret).responses.create({
        model,
        input: "continue",
        // A conversation a chat host cannot hold (previous_response_id is sluice's own now).
        conversation: "conv_0123456789abcdef",
      }),
    );
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused.param).toBe("conversation");
    expect(requestsTo(deepseek, "/deepseek/responses")).toHaveLength(probes + 1);
    expect(requestsTo(deepseek, "/deepseek/chat/completions")).toHaveLength(chats);
    expect(await gapsOf(channelId)).toEqual([]);
    // The channel is not failing: the next call is bridged, and then remembered.
    const answer = await respond(model, "Now plainly", false);
    expect(answer.status).toBe("completed");
    await eventually(
      () => gapsOf(channelId),
      (gaps) => gaps.length === 1,
    );
  });
});

describe("pinned channels never probe", () => {
  it("`native`: the host's 404 is the client's answer, nothing is bridged or remembered", async () => {
    const chats = requestsTo(deepseek, "/deepseek/chat/completions").length;
    const errors = await Promise.all(
      Array.from({ length: 4 }, () =>
        refusal<InstanceType<typeof OpenAI.APIError>>(
          openai(user.secret).responses.create({ model: PINNED_NATIVE, input: "hi" }),
        ),
      ),
    );
    for (const error of errors) expect(error.status).toBe(404);
    expect(requestsTo(deepseek, "/deepseek/chat/completions")).toHaveLength(chats);
    expect(await gapsOf(channels.pinnedNative as string)).toEqual([]);
  });

  it("`bridge`: /responses is never called, even on a host that has it", async () => {
    const answers = await Promise.all([
      respond(PINNED_BRIDGE, "Pinned", false),
      respond(PINNED_BRIDGE, "Pinned, streamed", true),
    ]);
    expect(answers.map((a) => a.text)).toEqual([
      "This is sluice's demo upstream. You said: Pinned",
      "This is sluice's demo upstream. You said: Pinned, streamed",
    ]);
    const bodies = native.requests.map((r) => r.body as Json);
    expect(bodies.filter((b) => b?.model === PINNED_BRIDGE && b.input !== undefined)).toEqual([]);
    expect(bodies.filter((b) => b?.model === PINNED_BRIDGE && b.messages)).toHaveLength(2);
  });
});

describe("a Responses-native host left to auto", () => {
  it("is never marked by a 404 about the request: the client gets it as the host said", async () => {
    const faults = [
      {
        status: 404,
        code: "model_not_found",
        message: `The model \`${NATIVE}\` does not exist or you do not have access to it.`,
      },
      {
        status: 404,
        param: "input",
        message:
          "Item with id 'rs_0a1b' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.",
      },
    ];
    const chats = requestsTo(native, "/v1/chat/completions").length;
    // A burst: each call takes one fault, in turn.
    native.enqueue(...faults, ...faults, ...faults);
    const errors = await Promise.all(
      Array.from({ length: 6 }, () =>
        refusal<InstanceType<typeof OpenAI.APIError>>(
          openai(user.secret).responses.create({ model: NATIVE, input: "hi" }),
        ),
      ),
    );
    for (const error of errors) expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const messages = errors.map((e) => e.message).join("\n");
    expect(messages).toContain("does not exist or you do not have access to it");
    expect(messages).toContain("Item with id 'rs_0a1b' not found");
    expect(errors.filter((e) => e.param === "input")).toHaveLength(3);
    // Not sent through the bridge, not remembered.
    expect(requestsTo(native, "/v1/chat/completions")).toHaveLength(chats);
    expect(await gapsOf(channels.native as string)).toEqual([]);
    // The next call goes to /responses as before.
    const responses = requestsTo(native, "/v1/responses").length;
    const answer = await respond(NATIVE, "Still native", false);
    expect(answer.text).toBe("This is sluice's demo upstream. You said: Still native");
    expect(requestsTo(native, "/v1/responses")).toHaveLength(responses + 1);
  });
});

describe("Azure OpenAI", () => {
  const AZURE_KEY = "azure-responses-key-5d1f";
  const MODEL = `${uniqueModel("gpt-azure")}-4.1`;
  let azure: DemoUpstream;

  beforeAll(async () => {
    azure = await startDemoUpstream({ apiKey: AZURE_KEY, models: [MODEL] });
    await admin("POST", "/api/channel", {
      type: "azure",
      name: "azure, responses",
      base_url: azure.origin,
      key: AZURE_KEY,
      models: [MODEL],
    });
    // A longest answer of its own, so the hold adds no max_output_tokens to the body.
    await setPrices({ [MODEL]: { ...PRICE, default_max_tokens: 32_768 } });
  });

  afterAll(async () => {
    await azure?.close();
  });

  it("serves Responses on Azure's v1 API: the deployment in the body, the key in api-key, usage read as at OpenAI", async () => {
    const deployment = MODEL.replaceAll(".", "");
    const body = `{"model": "${MODEL}", "input": "Hello Azure", "store": false, "x_extra": [1, 2.50]}`;
    const response = await fetch(`${sluice.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Json;
    expect(answer.model).toBe(MODEL);
    expect(answer.output.at(-1).content[0].text).toBe(
      "This is sluice's demo upstream. You said: Hello Azure",
    );
    const sent = azure.requests.at(-1);
    expect(sent?.method).toBe("POST");
    expect(sent?.path).toBe("/openai/v1/responses");
    expect(sent?.headers["api-key"]).toBe(AZURE_KEY);
    expect(sent?.headers.authorization).toBeUndefined();
    // The client's bytes, but the model: Azure's deployment name for it.
    expect(sent?.raw.toString("utf8")).toBe(body.replace(MODEL, deployment));
    const line = await settledLineOf(response);
    expect(line).toMatchObject({
      model: MODEL,
      endpoint: "/v1/responses",
      outcome: "completed",
      prompt_tokens: answer.usage.input_tokens,
      completion_tokens: answer.usage.output_tokens,
    });
    const usd =
      (answer.usage.input_tokens * PRICE.input + answer.usage.output_tokens * PRICE.output) / 1e6;
    expect(line.quota).toBeGreaterThan(0);
    expect(Math.abs(line.quota - usd * UNITS_PER_USD)).toBeLessThanOrEqual(1);
  });

  it("streams through the openai SDK, the final event's usage billed", async () => {
    const { data: events, response } = await openai(user.secret)
      .responses.create({ model: MODEL, input: "Stream from Azure", stream: true })
      .withResponse();
    let text = "";
    let usage: Json;
    for await (const event of events) {
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") usage = event.response.usage;
    }
    expect(text).toBe("This is sluice's demo upstream. You said: Stream from Azure");
    expect(azure.requests.at(-1)?.path).toBe("/openai/v1/responses");
    const line = await settledLineOf(response);
    expect(line).toMatchObject({
      stream: true,
      outcome: "completed",
      prompt_tokens: usage.input_tokens,
      completion_tokens: usage.output_tokens,
    });
  });
  it("keeps a stored response's holder: retrieve, input items and delete go to Azure's v1 API with its key", async () => {
    const client = openai(user.secret);
    const created = await client.responses.create({ model: MODEL, input: "Keep me on Azure" });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved.id).toBe(created.id);
    const items = await client.responses.inputItems.list(created.id);
    expect(items.data.length).toBeGreaterThan(0);
    const asked = azure.requests.filter((r) => r.path.includes(created.id));
    expect(asked.map((r) => [r.method, r.path.split("?")[0]])).toEqual([
      ["GET", `/openai/v1/responses/${created.id}`],
      ["GET", `/openai/v1/responses/${created.id}/input_items`],
    ]);
    for (const r of asked) {
      expect(r.headers["api-key"]).toBe(AZURE_KEY);
      expect(r.headers.authorization).toBeUndefined();
    }
    await client.responses.delete(created.id);
    expect(azure.requests.at(-1)).toMatchObject({
      method: "DELETE",
      path: `/openai/v1/responses/${created.id}`,
    });
    const after = await refusal<InstanceType<typeof OpenAI.APIError>>(
      client.responses.retrieve(created.id),
    );
    expect(after.status).toBe(404);
  });
});

describe("POST /v1/responses/input_tokens", () => {
  const input = `Count me. ${"The quick brown fox jumps over the lazy dog. ".repeat(40)}`;
  const instructions = "Answer in one line.";

  /** Log lines and used quota now, to show a count is never billed. */
  const ledgerOf = async (who: { accessToken: string }) => ({
    lines: ((await api(who.accessToken, "GET", "/api/log/self?size=100")).body.data as Json[])
      .length,
    used: (await api(who.accessToken, "GET", "/api/user/self")).body.data.used_quota,
  });

  it("is passed to a Responses-native channel, its answer relayed; never billed", async () => {
    const counter = await createUserWithKey();
    const before = await ledgerOf(counter);
    const counted = await openai(counter.secret).responses.inputTokens.count({
      model: NATIVE,
      input,
      instructions,
    });
    const sent = requestsTo(native, "/v1/responses/input_tokens").at(-1);
    expect(sent?.headers.authorization).toBe(`Bearer ${NATIVE_KEY}`);
    expect(JSON.parse(sent?.raw.toString("utf8") ?? "{}")).toEqual({
      model: NATIVE,
      input,
      instructions,
    });
    // The host's own count: what it bills a response to the same body.
    const made = await openai(counter.secret).responses.create({
      model: NATIVE,
      input,
      instructions,
    });
    expect(counted).toEqual({
      object: "response.input_tokens",
      input_tokens: made.usage?.input_tokens,
    });
    await settledLogLine(counter.accessToken, made._request_id as string);
    const after = await ledgerOf(counter);
    expect(after.lines).toBe(before.lines + 1);
    const line = (await api(counter.accessToken, "GET", "/api/log/self?size=100")).body.data[0];
    expect(after.used - before.used).toBe(line.quota);
  });

  it("is counted by sluice for a bridged channel, as the chat host would count the bridged request", async () => {
    const asked = requestsTo(deepseek, "/deepseek/chat/completions").length;
    const counted = await openai(user.secret).responses.inputTokens.count({
      model: AUTO,
      input,
      instructions,
    });
    expect(counted.object).toBe("response.input_tokens");
    // Nothing reached the chat host (it has no such endpoint), nor its /responses.
    expect(requestsTo(deepseek, "/deepseek/chat/completions")).toHaveLength(asked);
    expect(requestsTo(deepseek, "/deepseek/responses/input_tokens")).toEqual([]);
    // The same body, answered: the host's own count of the bridged chat request (o200k).
    const made = await openai(user.secret).responses.create({ model: AUTO, input, instructions });
    const reported = made.usage?.input_tokens as number;
    expect(reported).toBeGreaterThan(400);
    expect(Math.abs(counted.input_tokens - reported)).toBeLessThanOrEqual(reported * 0.05);
  });

  it("is counted by sluice when a native host has no such path (Azure's fake has none)", async () => {
    const model = `${uniqueModel("gpt-azure-count")}-4.1`;
    const azure = await startDemoUpstream({ apiKey: "azure-count-key", models: [model] });
    try {
      await admin("POST", "/api/channel", {
        type: "azure",
        name: "azure, count",
        base_url: azure.origin,
        key: "azure-count-key",
        models: [model],
      });
      await setPrices({ [model]: PRICE });
      const counted = await openai(user.secret).responses.inputTokens.count({ model, input });
      expect(azure.requests.at(-1)?.path).toBe("/openai/v1/responses/input_tokens");
      // The input's own tokens, and the few of the body's framing around them.
      const own = await countTokens(input, model);
      expect(counted.input_tokens).toBeGreaterThanOrEqual(own);
      expect(counted.input_tokens).toBeLessThanOrEqual(own + 10);
    } finally {
      await azure.close();
    }
  });

  it("counts against the key's requests per minute: a burst over it is refused before any upstream", async () => {
    const counter = await createUserWithKey();
    await admin("PUT", `/api/token/${counter.keyId}`, { rate_limits: { rpm: 3 } });
    const before = requestsTo(native, "/v1/responses/input_tokens").length;
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${sluice.url}/v1/responses/input_tokens`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${counter.secret}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ model: NATIVE, input: "hi" }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json })),
      ),
    );
    const counted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(counted.length + refused.length).toBe(8);
    // At most six fit in two minute windows, should a window end during the burst.
    expect(counted.length).toBeGreaterThan(0);
    expect(counted.length).toBeLessThanOrEqual(6);
    for (const { body } of refused) expect(body.error.code).toBe("rate_limit_exceeded");
    expect(requestsTo(native, "/v1/responses/input_tokens").length - before).toBe(counted.length);
  });

  it("refuses a body without a model, or not JSON, in OpenAI's envelope", async () => {
    const post = (body: string) =>
      fetch(`${sluice.url}/v1/responses/input_tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
        body,
      });
    const noModel = await post(JSON.stringify({ input: "hi" }));
    expect(noModel.status).toBe(400);
    expect(((await noModel.json()) as Json).error).toMatchObject({
      type: "invalid_request_error",
      param: "model",
    });
    const notJson = await post("{not json");
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as Json).error.type).toBe("invalid_request_error");
    const unknown = await refusal<InstanceType<typeof OpenAI.APIError>>(
      openai(user.secret).responses.inputTokens.count({ model: "no-such-model-here", input: "hi" }),
    );
    expect(unknown.status).toBe(404);
  });
});
