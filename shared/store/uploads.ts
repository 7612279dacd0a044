import { randomUUID } from "node:crypto";
import { PART_PREFIX, uploadPartKey as partKey, TTL, uploadKey, uploadPartition } from "./keys";
import { Schedule } from "./schedule";
import { ConditionFailed, type Item, type Table } from "./table";

/** An upload in parts (the OpenAI Uploads API), for files larger than one request may carry. */
export interface UploadRecord {
  id: string;
  userId: string;
  filename: string;
  purpose: string;
  /** The size the finished file must have. */
  bytes: number;
  mimeType: string;
  createdAt: number;
  expiresAt: number;
  status: "pending" | "completed" | "cancelled";
  fileId: string | null;
  /** How long the finished file is kept (expires_after, or the default retention). */
  fileTtlSeconds?: number;
}

export interface UploadPartRecord {
  id: string;
  uploadId: string;
  bytes: number;
  createdAt: number;
  blobKey: string;
}

export class Uploads {
  constructor(private readonly table: Table) {}

  /** Records a new upload, and puts its expiry on the janitor's agenda in the same write. */
  async create(upload: UploadRecord): Promise<void> {
    await this.table.transact([
      {
        put: { ...uploadKey(upload.id), ttl: TTL.afterExpiry(upload.expiresAt), ...upload },
        condition: "attribute_not_exists(pk)",
      },
      Schedule.entry({ due: upload.expiresAt, kind: "upload.expire", id: upload.id }),
    ]);
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    const item = await this.table.get<UploadRecord & Item>(uploadKey(id), true);
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ttl: _ttl, finishedBy: _f, ...upload } = item;
    return upload as UploadRecord;
  }

  /**
   * Records a part and adds its bytes to the upload's `received`, in one transaction, only
   * while the upload is pending and the parts stay within its declared size: parts sent at
   * once cannot pass it together. False when refused.
   */
  async addPart(part: UploadPartRecord, upload: UploadRecord): Promise<boolean> {
    try {
      await this.table.transact([
        {
          key: uploadKey(upload.id),
          update: "ADD received :bytes",
          condition: "#status = :pending AND (attribute_not_exists(received) OR received <= :room)",
          names: { "#status": "status" },
          values: {
            ":bytes": part.bytes,
            ":pending": "pending",
            ":room": upload.bytes - part.bytes,
          },
        },
        {
          put: {
            ...partKey(part.uploadId, part.id),
            ttl: TTL.afterExpiry(upload.expiresAt),
            ...part,
          },
        },
      ]);
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }

  async parts(uploadId: string): Promise<UploadPartRecord[]> {
    const items = await this.table.queryAll<UploadPartRecord & Item>({
      keyCondition: "pk = :pk AND begins_with(sk, :part)",
      values: { ":pk": uploadPartition(uploadId), ":part": PART_PREFIX },
      consistent: true,
    });
    return items.map(({ id, uploadId: u, bytes, createdAt, blobKey }) => ({
      id,
      uploadId: u,
      bytes,
      createdAt,
      blobKey,
    }));
  }

  /** Moves a pending upload to completed or cancelled; false if it was not pending. */
  async finish(
    id: string,
    status: "completed" | "cancelled",
    fileId: string | null,
  ): Promise<boolean> {
    // Its own id: a retry whose first attempt landed (its answer lost) finds it finished.
    const finishedBy = randomUUID();
    try {
      await this.table.update(uploadKey(id), {
        update: "SET #status = :status, fileId = :file, finishedBy = :by",
        condition: "#status = :pending",
        names: { "#status": "status" },
        values: { ":status": status, ":file": fileId, ":pending": "pending", ":by": finishedBy },
        explainFailure: true,
      });
      return true;
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      return err.item?.finishedBy === finishedBy;
    }
  }
}
