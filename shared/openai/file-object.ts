import type { FileRecord } from "../store/file-records";

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
