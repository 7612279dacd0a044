/**
 * sluice's own work per request, without any I/O: the real API (routing, auth, pricing,
 * hold, relay, settlement, usage log) called in-process, its DynamoDB and upstream replaced
 * by in-memory stand-ins that answer at once. What is left is the CPU of sluice's logic.
 */
import { createApi } from "../../shared/api";
import { loadSettings } from "../../shared/config/settings";
import { JobQueue } from "../../shared/queue/queue";
import type { UpstreamFetch } from "../../shared/relay/upstream";
import { createServices } from "../../shared/services";
import { Accounts } from "../../shared/store/accounts";
import { newApiKeyRecord } from "../../shared/store/api-keys";
import { Blobs } from "../../shared/store/blobs";
import { newChannelRecord } from "../../shared/store/channels";
import type { DynamoTransport } from "../../shared/store/dynamo-transport";
import { type Item, marshalItem, Table } from "../../shared/store/table";
import { newUserProfile } from "../../shared/store/users";

const KEY = `sk-${"a".repeat(48)}`;

export async function coreCpuPerRequest(requests = 20_000): Promise<{ cpuMicros: number }> {
  const key = newApiKeyRecord(KEY, { userId: "u", name: "bench" });
  const user = newUserProfile({ id: "u", name: "bench" });
  const account = { ...Accounts.create("u"), av: 1e12, bp: 1e12 };
  const items = new Map<string, Item>([
    [`KEY#${key.id}|KEY`, { ...key }],
    ["USER#u|PROFILE", { ...user, pk: "USER#u", sk: "PROFILE" }],
    ["USER#u|ACCOUNT", account],
  ]);
  const channel = newChannelRecord({
    id: "c",
    baseUrl: "http://upstream/v1",
    models: ["gpt-4o-mini"],
  });
  const dynamo: DynamoTransport = {
    async send(operation, input) {
      if (operation === "GetItem") {
        const key = input.Key as Record<string, { S: string }>;
        const item = items.get(`${key.pk?.S}|${key.sk?.S}`);
        return item ? { Item: marshalItem(item) } : {};
      }
      if (operation === "Query") {
        const pk = (input.ExpressionAttributeValues as Record<string, { S?: string }>)[":pk"]?.S;
        if (pk === "USER#u")
          return { Items: [...items.values()].filter((i) => i.pk === pk).map(marshalItem) };
        return { Items: [marshalItem({ ...channel })] };
      }
      if (operation === "UpdateItem") return { Attributes: marshalItem({ av: 1e12 }) };
      return {};
    },
  };
  const answer = JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4o-mini",
    choices: [
      { index: 0, message: { role: "assistant", content: "Hello there" }, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  });
  const upstream: UpstreamFetch = async () => ({
    status: 200,
    ok: true,
    headers: { get: () => "application/json" },
    body: null,
    text: async () => answer,
    arrayBuffer: async () => new TextEncoder().encode(answer).buffer as ArrayBuffer,
  });
  const unused = async (): Promise<never> => {
    throw new Error("not used by chat completions");
  };
  const api = createApi(
    createServices({
      table: new Table(dynamo, "bench"),
      logTable: new Table(dynamo, "bench-log"),
      blobs: new Blobs(unused, "bench"),
      queue: new JobQueue(unused, "bench"),
      settings: loadSettings({}),
      fetch: upstream,
    }),
  );
  const body = new TextEncoder().encode(
    JSON.stringify({
      model: "gpt-4o-mini",
      max_tokens: 16,
      messages: [{ role: "user", content: "Hi" }],
    }),
  );
  const once = async () => {
    const tasks: ((delivered: boolean) => Promise<unknown>)[] = [];
    const response = await api(
      {
        id: "req_bench",
        method: "POST",
        path: "/v1/chat/completions",
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body,
        receivedAt: performance.now(),
      },
      { afterResponse: (task) => tasks.push(task) },
    );
    await Promise.all(tasks.map((task) => task(true)));
    if (response.status !== 200) throw new Error(`the core answered ${response.status}`);
  };
  for (let i = 0; i < 2_000; i++) await once();
  const before = process.cpuUsage();
  for (let i = 0; i < requests; i++) await once();
  const used = process.cpuUsage(before);
  return { cpuMicros: (used.user + used.system) / requests };
}
