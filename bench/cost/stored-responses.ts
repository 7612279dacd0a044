/**
 * What keeping one Responses API response costs (shared/store/stored-responses.ts), measured
 * on the local stack's DynamoDB (ReturnConsumedCapacity, the user index included) and counted
 * S3 requests: a native response's record (the upstream keeps the body), and a bridged
 * response kept whole, small (in its item) and large (in S3). Each is written and read back as
 * `GET /v1/responses/{id}` reads it.
 */
import { randomBytes } from "node:crypto";
import { responsesToChat } from "../../shared/relay/bridges/responses-to-chat/index";
import { inputItemsOf } from "../../shared/responses/stored";
import type { Services } from "../../shared/services";
import type { Blobs } from "../../shared/store/blobs";
import { type StoredResponse, StoredResponses } from "../../shared/store/stored-responses";
import { Table } from "../../shared/store/table";

export interface StoredResponseCost {
  kind: string;
  /** Bytes of the stored content (0: a native response's record only). */
  contentBytes: number;
  writeUnits: number;
  readUnits: number;
  s3Puts: number;
  s3Gets: number;
}

const LABEL = "stored-responses";
const DAY = 86_400;

/** The stack's bucket, its requests counted. */
class CountedBlobs implements Pick<Blobs, "put" | "get" | "delete"> {
  puts = 0;
  gets = 0;
  constructor(private readonly blobs: Blobs) {}
  async put(key: string, body: Uint8Array | string, type?: string): Promise<void> {
    this.puts++;
    await this.blobs.put(key, body, type);
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    this.gets++;
    return this.blobs.get(key);
  }
  delete(keys: string[]): Promise<void> {
    return this.blobs.delete(keys);
  }
}

/** A bridged Response as the bridge writes it, for a chat answer of `words` words. */
function bridgedContent(id: string, input: string, words: number) {
  const completion = {
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: "deepseek-v4-flash",
    choices: [
      {
        index: 0,
        finish_reason: "stop",
        message: {
          role: "assistant",
          content: Array.from({ length: words }, (_, i) => `word${i}`).join(" "),
        },
      },
    ],
    usage: { prompt_tokens: 20, completion_tokens: words, total_tokens: 20 + words },
  };
  const request = { model: "gpt-5-codex", input, store: true };
  const response = responsesToChat.answer(completion, {
    model: "gpt-5-codex",
    request,
    responseId: id,
  });
  return { response, input: inputItemsOf(input) };
}

export async function measureStoredResponses(services: Services): Promise<StoredResponseCost[]> {
  const table = new Table(services.table.transport, services.table.name, LABEL);
  const blobs = new CountedBlobs(services.blobs);
  const store = new StoredResponses(table, blobs);
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    { kind: "native (record only)", content: false, input: "", words: 0 },
    { kind: "bridged, 30-word answer", content: true, input: "Say thirty words.", words: 30 },
    { kind: "bridged, 20 KB prompt", content: true, input: "x".repeat(20_000), words: 300 },
  ];
  const results: StoredResponseCost[] = [];
  const wasMeasuring = Table.measure;
  Table.measure = true;
  try {
    for (const c of cases) {
      const id = `resp_${randomBytes(24).toString("hex")}`;
      const record: StoredResponse = {
        id,
        userId: "bench-user",
        keyId: "bench-key",
        kind: c.content ? "bridged" : "native",
        channelId: "ch_bench",
        model: "gpt-5-codex",
        upstreamModel: "deepseek-v4-flash",
        createdAt: now,
        expiresAt: now + 30 * DAY,
      };
      const content = c.content ? bridgedContent(id, c.input, c.words) : undefined;
      delete Table.capacity[LABEL];
      blobs.puts = 0;
      blobs.gets = 0;
      await store.save(record, content);
      const written = Table.capacity[LABEL]?.write ?? 0;
      const found = await store.find(id, record.userId, now);
      if (found && content) await store.content(found);
      results.push({
        kind: c.kind,
        contentBytes: content ? Buffer.byteLength(JSON.stringify(content)) : 0,
        writeUnits: written,
        readUnits: Table.capacity[LABEL]?.read ?? 0,
        s3Puts: blobs.puts,
        s3Gets: blobs.gets,
      });
      if (found) await store.delete(found);
    }
  } finally {
    Table.measure = wasMeasuring;
    delete Table.capacity[LABEL];
  }
  return results;
}
