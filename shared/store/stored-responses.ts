import { BUCKET_PREFIXES } from "../config/resources";
import type { Blobs } from "./blobs";
import { byCreation, INDEX, storedResponseKey, TTL } from "./keys";
import type { Item, Table } from "./table";

/**
 * A stored Responses API response, by its `resp_` id. `native`: the channel's upstream holds
 * the response (sluice keeps only whose it is and where); `bridged`: sluice minted it through
 * the Responses → chat bridge and keeps it whole (`content`).
 */
export interface StoredResponse {
  id: string;
  userId: string;
  /** The API key that created it (its id). */
  keyId: string;
  kind: "native" | "bridged";
  channelId: string;
  /** The model the client asked for, and the channel's name for it. */
  model: string;
  upstreamModel: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds: from then on it is gone for the API (404), before TTL drops the item. */
  expiresAt: number;
  /** The response it continued (bridged: the chain sluice rebuilds). */
  previousResponseId?: string;
}

/** A stored response as read: where its content is, if it has any (bridged). */
export interface FoundResponse extends StoredResponse {
  content?: { inline?: string; blobKey?: string };
}

/** What sluice keeps of a bridged response: the Response object and its own input items. */
export interface StoredContent {
  response: Record<string, unknown>;
  input: Record<string, unknown>[];
}

/**
 * Content up to this many bytes is kept in the item, larger in S3: a DynamoDB write unit is
 * a KB ($0.625 per million) and an S3 PUT costs as much as 8 of them ($5 per million), so
 * beyond 8 KB an object is cheaper to write, and far cheaper to keep ($0.023 against $0.25 a
 * GB-month). DynamoDB's 400 KB item limit is never near.
 */
export const INLINE_CONTENT_BYTES = 8 * 1024;

type ResponseItem = StoredResponse & Item & { content?: string; blobKey?: string };

/** The S3 key of a stored response's content (its prefix has a lifecycle rule, infra/). */
export const responseBlobKey = (id: string) => `${BUCKET_PREFIXES.responses}${id}.json`;

export class StoredResponses {
  constructor(
    private readonly table: Table,
    private readonly blobs: Pick<Blobs, "put" | "get" | "delete">,
  ) {}

  /**
   * Keeps a response (a later save of the same id, a bridged stream's whole Response after
   * its first record, replaces it). Its TTL follows its expiry.
   */
  async save(record: StoredResponse, content?: StoredContent): Promise<void> {
    const { content: _found, ...fields } = record as FoundResponse;
    const text = content && JSON.stringify(content);
    let placed: { content?: string; blobKey?: string } = {};
    if (text !== undefined) {
      if (Buffer.byteLength(text) <= INLINE_CONTENT_BYTES) placed = { content: text };
      else {
        const blobKey = responseBlobKey(record.id);
        await this.blobs.put(blobKey, text, "application/json");
        placed = { blobKey };
      }
    }
    await this.table.put({
      ...storedResponseKey(record.id),
      gsi1pk: INDEX.userResponses(record.userId),
      gsi1sk: byCreation(record.createdAt, record.id),
      ttl: TTL.afterExpiry(record.expiresAt),
      ...fields,
      ...placed,
    });
  }

  /**
   * The user's own live response; undefined for one that is not there, is someone else's or
   * has expired, alike (the API answers all three with the same 404).
   */
  async find(id: string, userId: string, now: number): Promise<FoundResponse | undefined> {
    const item = await this.table.get<ResponseItem>(storedResponseKey(id), true);
    if (!item || item.userId !== userId || item.expiresAt <= now) return undefined;
    return toRecord(item);
  }

  /**
   * A found bridged response's content (from its item as read, or S3); undefined when it has
   * none (a native one) or its object is gone.
   */
  async content(found: FoundResponse): Promise<StoredContent | undefined> {
    let text = found.content?.inline;
    if (text === undefined && found.content?.blobKey) {
      const bytes = await this.blobs.get(found.content.blobKey);
      text = bytes && Buffer.from(bytes).toString("utf8");
    }
    return text === undefined ? undefined : (JSON.parse(text) as StoredContent);
  }

  /** Forgets a found response: its item and its S3 object. */
  async delete(found: FoundResponse): Promise<void> {
    await this.table.delete(storedResponseKey(found.id));
    if (found.content?.blobKey) await this.blobs.delete([found.content.blobKey]);
  }
}

function toRecord(item: ResponseItem): FoundResponse {
  const { id, userId, keyId, kind, channelId, model, upstreamModel, createdAt, expiresAt } = item;
  return {
    id,
    userId,
    keyId,
    kind,
    channelId,
    model,
    upstreamModel,
    createdAt,
    expiresAt,
    ...(typeof item.previousResponseId === "string" && {
      previousResponseId: item.previousResponseId,
    }),
    ...((item.content !== undefined || item.blobKey !== undefined) && {
      content: { inline: item.content, blobKey: item.blobKey },
    }),
  };
}
