import { newId } from "../auth/secrets";
import { BUCKET_PREFIXES } from "../config/resources";
import { NotFound, StorageFull } from "../errors";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import type { FilePurpose, FileRecord } from "../store/file-records";

export function noSuchFile(id: string): NotFound {
  return new NotFound(msg("file_object_not_found", { id }), "id");
}

/**
 * Stores a file's bytes (S3) and record (DynamoDB). Batch outputs pass their own id, so a
 * retried finalize writes the same file again rather than a second one.
 */
export async function saveFile(
  services: Services,
  file: {
    userId: string;
    filename: string;
    purpose: FilePurpose;
    data: Uint8Array | string;
    ttlSeconds: number;
    id?: string;
    /** A user's upload: counted in their storage, and refused past its limits. */
    counted?: boolean;
  },
): Promise<FileRecord> {
  const now = services.clock.seconds();
  const id = file.id ?? newId("file-", 24);
  const prefix =
    file.purpose === "batch_output" ? BUCKET_PREFIXES.batchOutputs : BUCKET_PREFIXES.files;
  const bytes = typeof file.data === "string" ? Buffer.byteLength(file.data) : file.data.byteLength;
  const record: FileRecord = {
    id,
    userId: file.userId,
    filename: file.filename,
    purpose: file.purpose,
    bytes,
    createdAt: now,
    expiresAt: now + file.ttlSeconds,
    blobKey: `${prefix}${id}`,
  };
  const contentType = file.filename.endsWith(".jsonl")
    ? "application/jsonl"
    : "application/octet-stream";
  const { maxStoredFiles, maxStoredBytes } = services.settings.files;
  const limits = file.counted ? { maxFiles: maxStoredFiles, maxBytes: maxStoredBytes } : undefined;
  if (limits && bytes > limits.maxBytes) throw new StorageFull(limits);
  await services.blobs.put(record.blobKey, file.data, contentType);
  try {
    await services.files.create(record, limits);
  } catch (err) {
    if (!(err instanceof StorageFull)) throw err;
    // Nothing stays stored for a file that was refused. (Not on other errors: a batch output
    // written again under its own id finds its record there, and these bytes are its bytes.)
    await services.blobs.delete([record.blobKey]);
    throw err;
  }
  return record;
}
