import { newId } from "../auth/secrets";
import { BUCKET_PREFIXES } from "../config/resources";
import { ApiError, notFound } from "../http/errors";
import type { Services } from "../services";
import { type FilePurpose, type FileRecord, StorageFull } from "../store/file-records";

/** The OpenAI File object. `status` is deprecated but required; ready files are "processed". */
export function fileObject(file: FileRecord) {
  return {
    id: file.id,
    object: "file",
    bytes: file.bytes,
    created_at: file.createdAt,
    expires_at: file.expiresAt,
    filename: file.filename,
    purpose: file.purpose,
    status: "processed",
    status_details: null,
  };
}

export function noSuchFile(id: string): ApiError {
  return notFound(`No such File object: ${id}`, "id");
}

export function fileTooLarge(bytes: number, limit: number): ApiError {
  return new ApiError(
    413,
    `The file is ${bytes} bytes; files can be at most ${limit} bytes (${(limit / 1024 / 1024).toFixed(0)} MB).`,
    "invalid_request_error",
    "file_too_large",
    "file",
  );
}

function storageFull(err: StorageFull): ApiError {
  return new ApiError(403, err.message, "invalid_request_error", "storage_limit_exceeded", "file");
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
  now = Math.floor(Date.now() / 1000),
): Promise<FileRecord> {
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
  if (limits && bytes > limits.maxBytes) throw storageFull(new StorageFull(limits));
  await services.blobs.put(record.blobKey, file.data, contentType);
  try {
    await services.files.create(record, limits);
  } catch (err) {
    if (!(err instanceof StorageFull)) throw err;
    // Nothing stays stored for a file that was refused. (Not on other errors: a batch output
    // written again under its own id finds its record there, and these bytes are its bytes.)
    await services.blobs.delete([record.blobKey]);
    throw storageFull(err);
  }
  return record;
}
