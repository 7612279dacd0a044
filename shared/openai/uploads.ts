import { createHash } from "node:crypto";
import type { KeyPrincipal } from "../auth/authenticate";
import { newId } from "../auth/secrets";
import { BUCKET_PREFIXES } from "../config/resources";
import { Conflict, FileTooLarge, InvalidRequest, NotFound } from "../errors";
import { saveFile } from "../files/save-file";
import { readJsonObject, requireString } from "../http/body";
import { readMultipart } from "../http/multipart";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { FileRecord } from "../store/file-records";
import type { UploadRecord } from "../store/uploads";
import { fileObject } from "./file-object";
import { checkBatchFile, expiresAfter, uploadPurpose } from "./files-api";

/** An upload takes parts for an hour (as OpenAI's do). */
const UPLOAD_WINDOW_SECONDS = 3_600;

/**
 * The Uploads API: a file sent in parts, each small enough for one request (a function URL
 * takes at most 6 MB), put together in the order `part_ids` gives at completion.
 */
export const createUpload = keyRoute("POST", "/v1/uploads", async (call) => {
  const body = readJsonObject(call.request);
  const filename = requireString(body, "filename");
  const purpose = uploadPurpose(requireString(body, "purpose"));
  if (requireString(body, "mime_type").length > 255)
    throw new InvalidRequest("'mime_type' can be at most 255 characters.", "mime_type");
  const bytes = body.bytes;
  if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes <= 0) {
    throw new InvalidRequest("'bytes' must be the file's size, a positive whole number.", "bytes");
  }
  const { maxBytes } = call.services.settings.files;
  if (bytes > maxBytes) throw new FileTooLarge(bytes, maxBytes);
  checkBatchFile(purpose, filename);
  const fileTtlSeconds = uploadExpiresAfter(
    body.expires_after,
    call.services.settings.files.uploadTtlSeconds,
  );
  const created = call.services.clock.seconds();
  const upload: UploadRecord = {
    id: newId("upload_", 24),
    userId: call.principal.user.id,
    filename,
    purpose,
    bytes,
    mimeType: String(body.mime_type),
    createdAt: created,
    expiresAt: created + UPLOAD_WINDOW_SECONDS,
    status: "pending",
    fileId: null,
    fileTtlSeconds,
  };
  await call.services.uploads.create(upload);
  return json(200, uploadObject(upload, null, call.services.clock.seconds()));
});

/** POST /v1/uploads/{id}/parts: one part, multipart field `data`. */
export const addUploadPart = keyRoute("POST", "/v1/uploads/:id/parts", async (call) => {
  const upload = await pendingUpload(call);
  const data = (await readMultipart(call.request)).files.get("data")?.data;
  if (!data || data.byteLength === 0)
    throw new InvalidRequest("You must provide the part's bytes as `data`.", "data");
  if (data.byteLength > upload.bytes) throw partTooLarge(upload);
  const part = {
    id: newId("part_", 24),
    uploadId: upload.id,
    bytes: data.byteLength,
    createdAt: call.services.clock.seconds(),
    blobKey: `${BUCKET_PREFIXES.batchWork}uploads/${upload.id}/${newId("", 16)}`,
  };
  await call.services.blobs.put(part.blobKey, data);
  if (!(await call.services.uploads.addPart(part, upload))) {
    // Refused: its bytes are not kept.
    await call.services.blobs.delete([part.blobKey]);
    throw partTooLarge(upload);
  }
  return json(200, {
    id: part.id,
    object: "upload.part",
    created_at: part.createdAt,
    upload_id: upload.id,
  });
});

/** POST /v1/uploads/{id}/complete: the parts in `part_ids` order become one file. */
export const completeUpload = keyRoute("POST", "/v1/uploads/:id/complete", async (call) => {
  const upload = await pendingUpload(call);
  const body = readJsonObject(call.request);
  const partIds = body.part_ids;
  if (
    !Array.isArray(partIds) ||
    partIds.length === 0 ||
    partIds.some((id) => typeof id !== "string")
  ) {
    throw new InvalidRequest("'part_ids' must list the upload's parts, in order.", "part_ids");
  }
  const parts = new Map(
    (await call.services.uploads.parts(upload.id)).map((part) => [part.id, part]),
  );
  const ordered = (partIds as string[]).map((id) => {
    const part = parts.get(id);
    if (!part) throw new InvalidRequest(`No part ${id} in this upload.`, "part_ids");
    return part;
  });
  if (new Set(partIds).size !== partIds.length)
    throw new InvalidRequest("'part_ids' lists a part twice.", "part_ids");
  const total = ordered.reduce((sum, part) => sum + part.bytes, 0);
  if (total !== upload.bytes) {
    throw new InvalidRequest(
      `The parts add up to ${total} bytes, but the upload was created with ${upload.bytes}.`,
      "part_ids",
    );
  }
  const chunks: Uint8Array[] = [];
  for (const part of ordered) {
    const data = await call.services.blobs.get(part.blobKey);
    if (!data) throw new Conflict(`Part ${part.id} is no longer available; start a new upload.`);
    chunks.push(data);
  }
  const data = Buffer.concat(chunks);
  if (
    typeof body.md5 === "string" &&
    body.md5 !== "" &&
    createHash("md5").update(data).digest("hex") !== body.md5.toLowerCase()
  ) {
    throw new InvalidRequest("The parts' MD5 does not match 'md5'.", "md5");
  }
  const file = await saveFile(call.services, {
    userId: upload.userId,
    filename: upload.filename,
    purpose: uploadPurpose(upload.purpose),
    data,
    ttlSeconds: upload.fileTtlSeconds ?? call.services.settings.files.uploadTtlSeconds,
    counted: true,
  });
  if (!(await call.services.uploads.finish(upload.id, "completed", file.id))) {
    // A cancel or another complete won the race: the file made here must not linger.
    await call.services.blobs.delete([file.blobKey]);
    await call.services.files.delete(file);
    throw new Conflict("The upload was completed or cancelled meanwhile.");
  }
  // Every part, listed or not: the file holds the listed ones now.
  await call.services.blobs.delete([...parts.values()].map((part) => part.blobKey));
  return json(
    200,
    uploadObject(
      { ...upload, status: "completed", fileId: file.id },
      file,
      call.services.clock.seconds(),
    ),
  );
});

function partTooLarge(upload: UploadRecord): InvalidRequest {
  return new InvalidRequest(
    `This part would make the upload more than the ${upload.bytes} bytes it was created with (or the upload is no longer pending).`,
    "data",
  );
}

/** expires_after as JSON ({anchor, seconds}), as on /v1/files; it can only shorten retention. */
function uploadExpiresAfter(value: unknown, retention: number): number {
  if (value === undefined || value === null) return retention;
  if (typeof value !== "object" || Array.isArray(value))
    throw new InvalidRequest(
      "expires_after must be an object with anchor and seconds.",
      "expires_after",
    );
  const { anchor, seconds } = value as Record<string, unknown>;
  return expiresAfter(
    typeof anchor === "string" ? anchor : String(anchor),
    typeof seconds === "number" ? String(seconds) : undefined,
    retention,
  );
}

/** POST /v1/uploads/{id}/cancel: no more parts; the parts are deleted. */
export const cancelUpload = keyRoute("POST", "/v1/uploads/:id/cancel", async (call) => {
  const upload = await pendingUpload(call);
  if (!(await call.services.uploads.finish(upload.id, "cancelled", null))) {
    throw new Conflict("The upload was completed or cancelled meanwhile.");
  }
  const parts = await call.services.uploads.parts(upload.id);
  await call.services.blobs.delete(parts.map((part) => part.blobKey));
  return json(
    200,
    uploadObject({ ...upload, status: "cancelled" }, null, call.services.clock.seconds()),
  );
});

/** The caller's upload, still taking parts; 404 for someone else's, 400 when finished or expired. */
async function pendingUpload(call: Call<KeyPrincipal>): Promise<UploadRecord> {
  const id = call.params.id as string;
  const upload = await call.services.uploads.get(id);
  if (!upload || upload.userId !== call.principal.user.id) {
    throw new NotFound(`No such Upload object: ${id}`, "id");
  }
  const status = uploadStatus(upload, call.services.clock.seconds());
  if (status !== "pending")
    throw new InvalidRequest(`The upload is ${status}: it takes no more parts.`, "id");
  return upload;
}

function uploadStatus(upload: UploadRecord, now: number): UploadRecord["status"] | "expired" {
  return upload.status === "pending" && upload.expiresAt <= now ? "expired" : upload.status;
}

function uploadObject(upload: UploadRecord, file: FileRecord | null, now: number) {
  return {
    id: upload.id,
    object: "upload",
    bytes: upload.bytes,
    created_at: upload.createdAt,
    expires_at: upload.expiresAt,
    filename: upload.filename,
    purpose: upload.purpose,
    status: uploadStatus(upload, now),
    file: file ? fileObject(file) : null,
  };
}
