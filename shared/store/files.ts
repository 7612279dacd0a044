import { Schedule } from "./schedule";
import type { Item, Table } from "./table";

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
}

export const fileKey = (id: string) => ({ pk: `FILE#${id}`, sk: "FILE" });
const userFiles = (userId: string) => `USER#${userId}#FILES`;
const indexKey = (file: FileRecord) => `${String(file.createdAt).padStart(12, "0")}#${file.id}`;

/** A day after expiry DynamoDB drops the record; the API hides it from the moment it expires. */
const TTL_GRACE_SECONDS = 86_400;

export class Files {
  constructor(private readonly table: Table) {}

  /** Stores a new file's record and puts its expiry on the janitor's agenda. */
  async create(file: FileRecord): Promise<void> {
    await this.table.transact([
      {
        put: {
          ...fileKey(file.id),
          gsi1pk: userFiles(file.userId),
          gsi1sk: indexKey(file),
          ttl: file.expiresAt + TTL_GRACE_SECONDS,
          ...file,
        },
        condition: "attribute_not_exists(pk)",
      },
      Schedule.entry({ due: file.expiresAt, kind: "file.expire", id: file.id }),
    ]);
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
      startKey = { ...fileKey(after.id), gsi1pk: userFiles(userId), gsi1sk: indexKey(after) };
    }
    const page = await this.table.indexItems<FileRecord & Item>(
      {
        index: "gsi1",
        keyCondition: "gsi1pk = :pk",
        values: { ":pk": userFiles(userId) },
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

  async delete(id: string): Promise<void> {
    await this.table.delete(fileKey(id));
  }
}

function toRecord(item: FileRecord & Item): FileRecord {
  const { id, userId, filename, purpose, bytes, createdAt, expiresAt, blobKey } = item;
  return { id, userId, filename, purpose, bytes, createdAt, expiresAt, blobKey };
}
