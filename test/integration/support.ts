import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import OpenAI from "openai";
import { expect, inject, TestRunner } from "vitest";
import {
  type DemoUpstream,
  type RecordedRequest,
  startDemoUpstream,
} from "../../infra/local/demo-upstream";
import { UNITS_PER_USD } from "../../shared/billing/units";
import { accountKey } from "../../shared/store/accounts";
import { sdkTransport } from "../../shared/store/dynamo-transport";
import { Table } from "../../shared/store/table";
import { chargeUsd } from "../fixtures/provider/prices";
import { startUpstreamFixture, type UpstreamFixture } from "../fixtures/upstream";

export const sluice = inject("sluice");

/** API answers in tests are read loosely, field by field, and checked by assertions. */
// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
export type Json = any;

/** The official SDK pointed at sluice; retries off so every test sees the first answer. */
export function openai(
  apiKey: string,
  options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {},
): OpenAI {
  return new OpenAI({ baseURL: `${sluice.url}/v1`, apiKey, maxRetries: 0, ...options });
}

export interface ApiAnswer<T = Json> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls sluice's management API (or Json path) with a bearer token. */
export async function api<T = Json>(
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const response = await fetch(`${sluice.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** The same, as the local stack's admin; fails the test unless the call succeeds. */
export async function admin<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
  const answer = await api(sluice.adminToken, method, path, body);
  if (answer.status !== 200 || answer.body?.success !== true) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body.data as T;
}

export interface TestUser {
  id: string;
  accessToken: string;
}

/** A user of their own, with a balance in the paid bucket unless told otherwise. */
export async function createUser(
  options: {
    paidUsd?: number;
    freeUsd?: number;
    bonusUsd?: number;
    group?: string;
    role?: "user" | "admin";
    /** None by default: the user signs in with the access token only. */
    password?: string;
  } = {},
): Promise<TestUser> {
  const user = await admin("POST", "/api/user", {
    name: `test-${Math.random().toString(36).slice(2, 8)}`,
    group: options.group,
    role: options.role,
    password: options.password,
  });
  for (const bucket of ["free", "bonus", "paid"] as const) {
    const dollars = options[`${bucket}Usd`] ?? (bucket === "paid" ? 100 : 0);
    if (dollars > 0) await admin("POST", `/api/user/${user.id}/topup`, { dollars, bucket });
  }
  return { id: user.id, accessToken: user.access_token };
}

/** A key for `user` (created through the management API, as a user would). */
export async function createKey(user: TestUser, fields: Record<string, unknown> = {}) {
  const answer = await api(user.accessToken, "POST", "/api/token", { name: "test key", ...fields });
  if (answer.status !== 200)
    throw new Error(`POST /api/token answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return { secret: answer.body.data.key as string, id: answer.body.data.id as string };
}

export async function createUserWithKey(
  userOptions: Parameters<typeof createUser>[0] = {},
  keyFields: Record<string, unknown> = {},
): Promise<TestUser & { secret: string; keyId: string }> {
  const user = await createUser(userOptions);
  const key = await createKey(user, keyFields);
  return { ...user, secret: key.secret, keyId: key.id };
}

/** Test models cost like gpt-4o-mini unless a test says otherwise. */
export const TEST_PRICE = { input: 0.15, output: 0.6 };

/**
 * Edits the price list, retrying when a parallel test file changed it in between
 * (PUT /api/pricing with `version` refuses lost updates with 409).
 */
export async function editPricing(edit: (current: Json) => Record<string, unknown>): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await admin("GET", "/api/pricing");
    const answer = await api(sluice.adminToken, "PUT", "/api/pricing", {
      ...edit(current),
      version: current.version,
    });
    if (answer.status === 200) return;
    if (answer.status !== 409)
      throw new Error(`PUT /api/pricing answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  throw new Error("could not edit the price list: it kept changing");
}

/** Sets these models' prices, leaving every other one as it is (PATCH: no lost updates). */
export async function setPrices(models: Record<string, Record<string, unknown>>): Promise<void> {
  const answer = await api(sluice.adminToken, "PATCH", "/api/pricing", { models });
  if (answer.status !== 200)
    throw new Error(`PATCH /api/pricing answered ${answer.status}: ${JSON.stringify(answer.body)}`);
}

/** An upstream fixture behind a channel of its own, its models priced. */
export async function createFixtureChannel(
  options: {
    models?: string[];
    channel?: Record<string, unknown>;
    price?: Record<string, unknown> | null;
    /** How long the fixture takes to answer each request. */
    latencyMs?: number;
  } = {},
): Promise<{ upstream: UpstreamFixture; channelId: string; model: string }> {
  const upstream = await startUpstreamFixture({
    models: options.models,
    latencyMs: options.latencyMs,
  });
  // Azure channels take the resource's origin; OpenAI-compatible ones the /v1 base.
  const azure =
    typeof options.channel?.type === "string" && options.channel.type.startsWith("azure");
  const channel = await admin("POST", "/api/channel", {
    name: "fixture",
    base_url: azure ? new URL(upstream.baseUrl).origin : upstream.baseUrl,
    models: upstream.models,
    ...options.channel,
  });
  if (options.price !== null) {
    await setPrices(
      Object.fromEntries(upstream.models.map((m) => [m, options.price ?? TEST_PRICE])),
    );
  }
  return { upstream, channelId: channel.id, model: upstream.models[0] as string };
}

/** A chat-only channel on the demo upstream's DeepSeek API (infra/local/demo-upstream/deepseek.ts). */
export interface DeepSeekChannel {
  upstream: DemoUpstream;
  /** The chat requests the fixture received so far (a bridge sends nothing else). */
  chatCalls(): RecordedRequest[];
  /**
   * The usage the fixture reported for each chat request it received, by index: the same
   * requests sent, in order, non-streamed, to a fresh twin (so its prefix cache evolves as the
   * first one's); `undefined` where the fixture refused one.
   */
  fixtureUsages(): Promise<(Json | undefined)[]>;
  close(): Promise<void>;
}

/**
 * An `openai` channel on a DeepSeek fixture of its own serving `deepseek` (a thinking-mode
 * model unless its name says `chat`), the clients' `models` mapped to it, all priced at `price`;
 * `config` is the channel's (e.g. `{ responses: "bridge" }`).
 */
export async function createDeepSeekChannel(options: {
  key: string;
  deepseek: string;
  models: string[];
  price: Record<string, unknown>;
  name?: string;
  config?: Record<string, unknown>;
}): Promise<DeepSeekChannel> {
  const fixture = { apiKey: options.key, deepseekModels: [options.deepseek] };
  const upstream = await startDemoUpstream(fixture);
  await admin("POST", "/api/channel", {
    type: "openai",
    name: options.name ?? "deepseek fixture",
    base_url: `${upstream.origin}/deepseek`,
    key: options.key,
    models: options.models,
    model_mapping: Object.fromEntries(options.models.map((m) => [m, options.deepseek])),
    ...(options.config && { config: options.config }),
  });
  await setPrices(
    Object.fromEntries([...options.models, options.deepseek].map((m) => [m, options.price])),
  );
  const chatCalls = () => upstream.requests.filter((r) => r.path.endsWith("/chat/completions"));
  return {
    upstream,
    chatCalls,
    async fixtureUsages() {
      const twin = await startDemoUpstream(fixture);
      try {
        const usages: (Json | undefined)[] = [];
        for (const sent of chatCalls()) {
          const { stream_options: _, ...body } = sent.body as Json;
          const response = await fetch(`${twin.origin}${sent.path}`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${options.key}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({ ...body, stream: false }),
          });
          usages.push(response.ok ? ((await response.json()) as Json).usage : undefined);
        }
        return usages;
      } finally {
        await twin.close();
      }
    },
    close: () => upstream.close(),
  };
}

/** The usage log line of a request, once settled (settlement follows the response). */
export async function settledLogLine(accessToken: string, requestId: string): Promise<Json> {
  const lines = await eventually(
    async () => (await api(accessToken, "GET", "/api/log/self?size=100")).body.data as Json[],
    (found) => found.some((line) => line.request_id === requestId),
    20_000,
  );
  return lines.find((line) => line.request_id === requestId);
}

/**
 * A `/v1/responses` usage log line holds this Responses usage by kind (cached input and
 * reasoning apart) and charges it at the provider fixture's list price of `listed`.
 */
export function expectResponsesUsageBilled(
  line: Json,
  billed: { model: string; usage: Json; listed: string },
): void {
  const { model, usage } = billed;
  const cached = usage.input_tokens_details.cached_tokens;
  const reasoning = usage.output_tokens_details.reasoning_tokens;
  expect(line).toMatchObject({
    model,
    endpoint: "/v1/responses",
    outcome: "completed",
    prompt_tokens: usage.input_tokens,
    input_tokens: usage.input_tokens - cached,
    output_tokens: usage.output_tokens - reasoning,
  });
  expect(line.cached_input_tokens ?? 0).toBe(cached);
  expect(line.reasoning_tokens ?? 0).toBe(reasoning);
  const usd = chargeUsd(billed.listed, {
    inputTokens: usage.input_tokens - cached,
    cachedInputTokens: cached,
    outputTokens: usage.output_tokens - reasoning,
    reasoningTokens: reasoning,
  });
  expect(Math.abs(line.quota - usd * UNITS_PER_USD)).toBeLessThanOrEqual(1);
}

/** The error a call was refused with; the test fails if the call succeeded. */
export async function refusal<E>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return err as E;
  }
  throw new Error("the call succeeded");
}

/** A price of each kind Anthropic bills, USD per 1M tokens. */
export interface AnthropicPrice {
  input: number;
  cached_input: number;
  cache_write: number;
  cache_write_1h: number;
  output: number;
}

/**
 * What Anthropic's documented rule charges for a Messages usage at `price`, in quota units:
 * `input_tokens` exclude the cache's reads and writes, and the writes are 5-minute or 1-hour.
 */
export function anthropicCharge(usage: Json, price: AnthropicPrice): number {
  const write1h = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  const write5m = (usage.cache_creation_input_tokens ?? 0) - write1h;
  const usd =
    (usage.input_tokens * price.input +
      (usage.cache_read_input_tokens ?? 0) * price.cached_input +
      write5m * price.cache_write +
      write1h * price.cache_write_1h +
      usage.output_tokens * price.output) /
    1e6;
  return usd * UNITS_PER_USD;
}

/**
 * Polls until `read` returns a value `done` accepts (settlement finishes after the
 * response), and fails the test with the last value if none does in time.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`not reached in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const tables = new Map<string, Table>();

/** sluice's table, opened from the test process (DynamoDB Local, real SDK client). */
export function sluiceTable(name = sluice.tableName): Table {
  let table = tables.get(name);
  if (!table) {
    table = new Table(
      sdkTransport(
        new DynamoDBClient({
          endpoint: sluice.dynamoEndpoint,
          region: "us-east-1",
          credentials: { accessKeyId: "local", secretAccessKey: "local" },
        }),
      ),
      name,
    );
    tables.set(name, table);
  }
  return table;
}

/** The usage log's table. */
export function logTable(): Table {
  return sluiceTable(sluice.logTableName);
}

/**
 * The user's account item once every hold on it is settled (a settlement writes the call's
 * log line first and moves the account after, so the lines can be there before it).
 */
export async function settledAccount(userId: string): Promise<Record<string, unknown>> {
  const item = await eventually(
    () => sluiceTable().get<Record<string, unknown>>(accountKey(userId), true),
    (account) =>
      account !== undefined && Object.keys(account).every((name) => !name.startsWith("h_")),
  );
  return item as Record<string, unknown>;
}

/**
 * What the stack logged for the running test's own requests so far (test/stack-log.ts), each
 * JSON line parsed: what an operator reading the function's log would see of them.
 */
export async function stackLogOfTest(): Promise<Json[]> {
  const test = TestRunner.getCurrentTest()?.id;
  if (!test) throw new Error("stackLogOfTest is called from a test");
  const response = await fetch(`${sluice.stackLogUrl}/?test=${encodeURIComponent(test)}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as string[]).map((line) => JSON.parse(line));
}
