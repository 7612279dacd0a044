import { StorageFull, type StorageLimits } from "../errors";
import { byCreation, fileKey, fileUsageKey, INDEX, TTL } from "./keys";
import { Schedule } from "./schedule";
import { ConditionFailed, type Item, type Table } from "./table";

export const UPLOAD_PURPOSES = [
  "assistants",
  "batch",
  "fine-tune",
  "vision",
  "user_data",
  "evals",
] as const;
export type FilePurpose = (typeof UPLOAD_PURPOSES)[number] | "batch_output";

/** A file's metadata; its bytes are in S3 under `blobKey`. */
export interface FileRecord {
  id: string;
  userId: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  /** Unix seconds. */
  createdAt: number;
  expiresAt: number;
  blobKey: string;
  /** Counted in its owner's stored files (their uploads are; batch outputs are not). */
  counted?: boolean;
}

/**
 * A user's stored files, counted: one item beside their profile, moved in the same
 * transaction as each counted file's record, so the count can never pass the limit and a
 * file is counted out exactly once (by whichever delete, or the janitor's expiry, removes it).
 */
const usageKey = fileUsageKey;

/** Tests read a file's item by it. */
export { fileKey };

const indexKey = (file: FileRecord) => byCreation(file.createdAt, file.id);

export class Files {
  constructor(private readonly table: Table) {}

  /**
   * Stores a new file's record and puts its expiry on the janitor's agenda. With `limits`
   * the file is counted in its owner's storage, and refused (StorageFull) past the limits.
   */
  async create(file: FileRecord, limits?: StorageLimits): Promise<void> {
    const counted = limits !== undefined;
    if (limits && file.bytes > limits.maxBytes) throw new StorageFull(limits);
    try {
      await this.table.transact([
        {
          put: {
            ...fileKey(file.id),
            gsi1pk: INDEX.userFiles(file.userId),
            gsi1sk: indexKey(file),
            ttl: TTL.afterExpiry(file.expiresAt),
            ...file,
            ...(counted && { counted: true }),
          },
          condition: "attribute_not_exists(pk)",
        },
        Schedule.entry({ due: file.expiresAt, kind: "file.expire", id: file.id }),
        ...(limits
          ? [
              {
                key: usageKey(file.userId),
                update: "ADD fileCount :one, fileBytes :bytes",
                condition:
                  "attribute_not_exists(fileCount) OR (fileCount < :maxFiles AND fileBytes <= :room)",
                values: {
                  ":one": 1,
                  ":bytes": file.bytes,
                  ":maxFiles": limits.maxFiles,
                  ":room": limits.maxBytes - file.bytes,
                },
              },
            ]
          : []),
      ]);
    } catch (err) {
      if (limits && err instanceof ConditionFailed && err.reasons[2] === "ConditionalCheckFailed")
        throw new StorageFull(limits);
      throw err;
    }
  }

  /** The user's counted files and their bytes. */
  async usage(userId: string): Promise<{ files: number; bytes: number }> {
    const item = await this.table.get<Item>(usageKey(userId), true);
    return { files: Number(item?.fileCount ?? 0), bytes: Number(item?.fileBytes ?? 0) };
  }

  /** A file the user can still see: theirs and not expired. */
  async find(id: string, userId: string, now: number): Promise<FileRecord | undefined> {
    const file = await this.get(id);
    return file && file.userId === userId && file.expiresAt > now ? file : undefined;
  }

  async get(id: string): Promise<FileRecord | undefined> {
    const item = await this.table.get<FileRecord & Item>(fileKey(id), true);
    return item ? toRecord(item) : undefined;
  }

  /**
   * A page of the user's live files, by creation time, after the file `after` (a cursor as
   * the OpenAI SDK pages: the last id of the previous page).
   */
  async list(
    userId: string,
    options: { purpose?: string; limit: number; ascending: boolean; after?: string; now: number },
  ): Promise<{ files: FileRecord[]; hasMore: boolean }> {
    let startKey: Item | undefined;
    if (options.after) {
      const after = await this.get(options.after);
      if (!after || after.userId !== userId) return { files: [], hasMore: false };
      startKey = { ...fileKey(after.id), gsi1pk: INDEX.userFiles(userId), gsi1sk: indexKey(after) };
    }
    const page = await this.table.keptItems<FileRecord & Item>(
      {
        index: "gsi1",
        keyCondition: "gsi1pk = :pk",
        values: { ":pk": INDEX.userFiles(userId) },
        ascending: options.ascending,
        startKey,
      },
      options.limit,
      (file) =>
        file.expiresAt > options.now &&
        (options.purpose === undefined || file.purpose === options.purpose),
    );
    return { files: page.items.map(toRecord), hasMore: page.hasMore };
  }

  /**
   * Deletes a file's record and counts it out of its owner's storage, in one transaction;
   * false when it was already gone (another delete or the janitor counted it out).
   */
  async delete(file: FileRecord): Promise<boolean> {
    try {
      await this.table.transact([
        { delete: fileKey(file.id), condition: "attribute_exists(pk)" },
        ...(file.counted
          ? [
              {
                key: usageKey(file.userId),
                update: "ADD fileCount :minus, fileBytes :bytes",
                values: { ":minus": -1, ":bytes": -file.bytes },
              },
            ]
          : []),
      ]);
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }
}

function toRecord(item: FileRecord & Item): FileRecord {
  const { id, userId, filename, purpose, bytes, createdAt, expiresAt, blobKey, counted } = item;
  return {
    id,
    userId,
    filename,
    purpose,
    bytes,
    createdAt,
    expiresAt,
    blobKey,
    ...(counted && { counted }),
  };
}
