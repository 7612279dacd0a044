/**
 * The official openai SDK's Responses calls, unmodified (retries off), against the local stack:
 * `responses.create` plain and with `stream: true`, a function tool's round trip, structured
 * output (`text.format`), and the `responses.stream` helper (its events and `finalResponse()`),
 * each on a Responses-native channel (the demo upstream's /v1/responses, passed through) and on
 * chat-only channels reached through the Responses → chat bridge (`config.responses: bridge`):
 * the demo upstream's DeepSeek API (thinking mode, tool calls) and its plain OpenAI chat API
 * (structured outputs). Every call is checked in the usage log, by kind, at the provider
 * fixture's list price.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import { RESPONSES_BASH_TOOL } from "../fixtures/bash-tool";
import { textTokenPrice } from "../fixtures/provider/prices";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  createDeepSeekChannel,
  createUserWithKey,
  type DeepSeekChannel,
  expectResponsesUsageBilled,
  type Json,
  setPrices,
  settledLogLine,
  sluice,
} from "./support";

/** The provider fixture's list prices of this model are what the test's models cost here. */
const LISTED = "gpt-5-mini";
const PRICE = { ...textTokenPrice(LISTED), default_max_tokens: 128_000 };

const NATIVE = uniqueModel("gpt-5-sdk-native");
const DEEPSEEK = uniqueModel("gpt-5-sdk-deepseek");
const CHAT = uniqueModel("gpt-5-sdk-chat");
const NATIVE_KEY = "sk-sdk-native-61c0";
const DEEPSEEK_KEY = "sk-sdk-deepseek-2af9";

let demo: DemoUpstream;
let deepseek: DeepSeekChannel;
let user: Awaited<ReturnType<typeof createUserWithKey>>;

beforeAll(async () => {
  demo = await startDemoUpstream({ apiKey: NATIVE_KEY });
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "responses-native fixture (SDK)",
    base_url: demo.baseUrl,
    key: NATIVE_KEY,
    models: [NATIVE],
  });
  // The same fixture's chat completions, as a chat-only host: Responses bridged.
  await admin("POST", "/api/channel", {
    type: "openai",
    name: "chat fixture, responses bridged (SDK)",
    base_url: demo.baseUrl,
    key: NATIVE_KEY,
    models: [CHAT],
    config: { responses: "bridge" },
  });
  deepseek = await createDeepSeekChannel({
    key: DEEPSEEK_KEY,
    deepseek: uniqueModel("deepseek-v4-flash"),
    models: [DEEPSEEK],
    price: PRICE,
    name: "deepseek fixture, responses bridged (SDK)",
    // The fixture is not api.deepseek.com, where json_schema "auto" means "prompt" already.
    config: { responses: "bridge", json_schema: "prompt" },
  });
  await setPrices({ [NATIVE]: PRICE, [CHAT]: PRICE });
  user = await createUserWithKey();
});

afterAll(async () => {
  await demo?.close();
  await deepseek?.close();
});

/** The SDK as a user sets it up; `ids` gets the request id of every answer (a stream's too). */
function client(ids: string[] = []): OpenAI {
  return new OpenAI({
    baseURL: `${sluice.url}/v1`,
    apiKey: user.secret,
    maxRetries: 0,
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(url, init);
      ids.push(response.headers.get("x-request-id") ?? "");
      return response;
    },
  });
}

/**
 * The text of a response's messages (the SDK sets `output_text` on a created response, not on
 * a stream's final one).
 */
const textOf = (response: OpenAI.Responses.Response) =>
  response.output
    .flatMap((item) => (item.type === "message" ? item.content : []))
    .map((part) => (part.type === "output_text" ? part.text : ""))
    .join("");

/** The call's usage log line holds the usage the SDK read, by kind, at the listed price. */
async function expectBilled(requestId: string, model: string, usage: Json): Promise<void> {
  const line = await settledLogLine(user.accessToken, requestId);
  expectResponsesUsageBilled(line, { model, usage, listed: LISTED });
}

const bash = RESPONSES_BASH_TOOL;
/** Both fixtures call the Bash tool on this: the Responses one on "use the tool", DeepSeek's on USE_BASH. */
const TOOL_PROMPT = "USE_BASH: please use the tool";

const colour: OpenAI.Responses.ResponseFormatTextJSONSchemaConfig = {
  type: "json_schema",
  name: "colour",
  strict: true,
  schema: {
    type: "object",
    properties: { name: { type: "string" } },
    required: ["name"],
    additionalProperties: false,
  },
};

describe.each([
  { channel: "a Responses-native channel", model: () => NATIVE },
  { channel: "a DeepSeek chat channel, bridged", model: () => DEEPSEEK },
])("the openai SDK on /v1/responses, $channel", ({ model: modelOf }) => {
  it("responses.create: the answer, its output_text, billed by kind", async () => {
    const model = modelOf();
    const { data, request_id } = await client()
      .responses.create({ model, input: "Say hello" })
      .withResponse();
    expect(data).toMatchObject({ object: "response", model, status: "completed" });
    expect(data.output_text).toBe("This is sluice's demo upstream. You said: Say hello");
    await expectBilled(request_id as string, model, data.usage);
  });

  it("responses.create({stream: true}): numbered events from response.created to response.completed, the text in deltas", async () => {
    const model = modelOf();
    const { data: stream, request_id } = await client()
      .responses.create({ model, input: "Stream a greeting", stream: true })
      .withResponse();
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.slice(0, 2).map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
    ]);
    const last = events.at(-1);
    if (last?.type !== "response.completed") throw new Error(`ended with ${last?.type}`);
    const deltas = events.flatMap((e) =>
      e.type === "response.output_text.delta" ? [e.delta] : [],
    );
    const done = events.find((e) => e.type === "response.output_text.done");
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe("This is sluice's demo upstream. You said: Stream a greeting");
    expect(done?.type === "response.output_text.done" && done.text).toBe(deltas.join(""));
    // One response id in every event that carries the response.
    const created = events[0]?.type === "response.created" ? events[0].response.id : "";
    expect(last.response.id).toBe(created);
    await expectBilled(request_id as string, model, last.response.usage);
  });

  it("responses.stream: a function call's events and finalResponse(), then the tool's output on the next turn", async () => {
    const model = modelOf();
    const ids: string[] = [];
    const first = client(ids).responses.stream({ model, input: TOOL_PROMPT, tools: [bash] });
    const argumentDeltas: string[] = [];
    let argumentsDone = "";
    for await (const event of first) {
      if (event.type === "response.function_call_arguments.delta") argumentDeltas.push(event.delta);
      if (event.type === "response.function_call_arguments.done") argumentsDone = event.arguments;
    }
    const one = await first.finalResponse();
    const call = one.output.find((item) => item.type === "function_call");
    if (call?.type !== "function_call") throw new Error("no function call");
    expect(call.name).toBe("Bash");
    expect(argumentDeltas.join("")).toBe(call.arguments);
    expect(argumentsDone).toBe(call.arguments);
    expect(JSON.parse(call.arguments)).toMatchObject({ command: expect.any(String) });
    expect(call.call_id).toBeTruthy();
    await expectBilled(ids[0] as string, model, one.usage);

    const second = client(ids).responses.stream({
      model,
      tools: [bash],
      input: [
        { role: "user", content: TOOL_PROMPT },
        ...(one.output as OpenAI.Responses.ResponseInputItem[]),
        { type: "function_call_output", call_id: call.call_id, output: "hello-from-tool" },
      ],
    });
    const two = await second.finalResponse();
    expect(textOf(two)).toMatch(/^(The tool said|tool done): hello-from-tool$/);
    await expectBilled(ids[1] as string, model, two.usage);
  });
});

describe.each([
  { channel: "a Responses-native channel", model: () => NATIVE },
  { channel: "a plain OpenAI chat channel, bridged", model: () => CHAT },
])("structured output through the openai SDK, $channel", ({ model: modelOf }) => {
  it("text.format json_schema: responses.create's output_text, and responses.stream's final message, are the schema's JSON", async () => {
    const model = modelOf();
    const { data, request_id } = await client()
      .responses.create({ model, input: "Name a colour", text: { format: colour } })
      .withResponse();
    expect(JSON.parse(data.output_text)).toEqual({ name: "Name a colour" });
    await expectBilled(request_id as string, model, data.usage);
    const ids: string[] = [];
    const stream = client(ids).responses.stream({
      model,
      input: "Name another",
      text: { format: colour },
    });
    const final = await stream.finalResponse();
    // Without a parse helper (zod) the SDK leaves output_parsed null: the JSON is the text.
    expect(JSON.parse(textOf(final))).toEqual({ name: "Name another" });
    await expectBilled(ids[0] as string, model, final.usage);
  });
});

describe("structured output on a DeepSeek chat channel, bridged", () => {
  it("text.format json_object is DeepSeek's JSON output; json_schema, which DeepSeek refuses, goes up as json_object with the schema in the system message", async () => {
    const json = await client().responses.create({
      model: DEEPSEEK,
      input: "Answer in json",
      text: { format: { type: "json_object" } },
    });
    expect(JSON.parse(json.output_text)).toEqual({ said: "Answer in json" });
    expect((deepseek.chatCalls().at(-1)?.body as Json | undefined)?.response_format).toEqual({
      type: "json_object",
    });
    const schema = await client().responses.create({
      model: DEEPSEEK,
      input: "Name a colour",
      text: { format: colour },
    });
    expect(JSON.parse(schema.output_text)).toEqual({ said: "Name a colour" });
    const sent = deepseek.chatCalls().at(-1)?.body as Json;
    expect(sent.response_format).toEqual({ type: "json_object" });
    expect(sent.messages[0]).toMatchObject({ role: "system" });
    expect(sent.messages[0].content).toContain(JSON.stringify(colour.schema));
  });
});
