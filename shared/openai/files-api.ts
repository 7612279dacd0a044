import type { KeyPrincipal } from "../auth/authenticate";
import { FileTooLarge, InvalidRequest } from "../errors";
import { noSuchFile, saveFile } from "../files/save-file";
import { attachment } from "../http/content-disposition";
import { formField, readMultipart } from "../http/multipart";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import { type FilePurpose, type FileRecord, UPLOAD_PURPOSES } from "../store/file-records";
import { fileObject } from "./file-object";

/**
 * POST /v1/files: multipart (file, purpose, optional expires_after). Files expire an hour
 * after upload (seed 000), or sooner when expires_after asks for it.
 */
export const createFile = keyRoute("POST", "/v1/files", async (call) => {
  const form = await readMultipart(call.request);
  const file = form.files.get("file");
  if (!file) throw new InvalidRequest("You must provide a file.", "file");
  const purpose = uploadPurpose(formField(form, "purpose"));
  const { maxBytes, uploadTtlSeconds } = call.services.settings.files;
  if (file.data.byteLength > maxBytes) throw new FileTooLarge(file.data.byteLength, maxBytes);
  if (file.data.byteLength === 0) throw new InvalidRequest("The file is empty.", "file");
  checkBatchFile(purpose, file.filename);
  const lifetime = expiresAfter(
    formField(form, "expires_after[anchor]"),
    formField(form, "expires_after[seconds]"),
    uploadTtlSeconds,
  );
  const record = await saveFile(call.services, {
    userId: call.principal.user.id,
    filename: file.filename,
    purpose,
    data: file.data,
    ttlSeconds: lifetime,
    counted: true,
  });
  return json(200, fileObject(record));
});

/** GET /v1/files: a cursor page (after, limit, order), optionally of one purpose. */
export const listFiles = keyRoute("GET", "/v1/files", async (call) => {
  const { query } = call.request;
  const limit = intParam(query.get("limit"), 10_000, 1, 10_000, "limit");
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc")
    throw new InvalidRequest("'order' must be asc or desc.", "order");
  const { files, hasMore } = await call.services.files.list(call.principal.user.id, {
    purpose: query.get("purpose") ?? undefined,
    limit,
    ascending: order === "asc",
    after: cursorParam(query, "after"),
    now: call.services.clock.seconds(),
  });
  return json(200, {
    object: "list",
    data: files.map(fileObject),
    first_id: files[0]?.id ?? null,
    last_id: files.at(-1)?.id ?? null,
    has_more: hasMore,
  });
});

/** GET /v1/files/{id} */
export const retrieveFile = keyRoute("GET", "/v1/files/:id", async (call) => {
  return json(200, fileObject(await ownFile(call)));
});

/** DELETE /v1/files/{id} */
export const deleteFile = keyRoute("DELETE", "/v1/files/:id", async (call) => {
  const file = await ownFile(call);
  await call.services.files.delete(file);
  await call.services.blobs.delete([file.blobKey]);
  return json(200, { id: file.id, object: "file", deleted: true });
});

/** GET /v1/files/{id}/content: the raw bytes, not JSON. */
export const retrieveFileContent = keyRoute("GET", "/v1/files/:id/content", async (call) => {
  const file = await ownFile(call);
  const body = await call.services.blobs.open(file.blobKey);
  if (!body) throw noSuchFile(file.id);
  return {
    status: 200,
    headers: {
      "content-type": "application/octet-stream",
      "content-disposition": attachment(file.filename),
    },
    body,
  };
});

/** The caller's own live file, or 404 as for a file that does not exist. */
async function ownFile(call: Call<KeyPrincipal>): Promise<FileRecord> {
  const id = call.params.id as string;
  const file = await call.services.files.find(
    id,
    call.principal.user.id,
    call.services.clock.seconds(),
  );
  if (!file) throw noSuchFile(id);
  return file;
}

export function uploadPurpose(value: string | undefined): FilePurpose {
  if (!value) throw new InvalidRequest("You must provide a purpose.", "purpose");
  if (!(UPLOAD_PURPOSES as readonly string[]).includes(value)) {
    throw new InvalidRequest(`'purpose' must be one of ${UPLOAD_PURPOSES.join(", ")}.`, "purpose");
  }
  return value as FilePurpose;
}

/** The longest file name kept (it is stored with the file's record and sent back in headers). */
const MAX_FILENAME_BYTES = 512;

/** The Batch API takes only JSONL files; any file's name must be short enough to keep. */
export function checkBatchFile(purpose: FilePurpose, filename: string): void {
  if (Buffer.byteLength(filename) > MAX_FILENAME_BYTES) {
    throw new InvalidRequest(`A file name can be at most ${MAX_FILENAME_BYTES} bytes.`, "filename");
  }
  if (purpose === "batch" && !filename.toLowerCase().endsWith(".jsonl")) {
    throw new InvalidRequest("Invalid file format for Batch API. Must be .jsonl", "file");
  }
}

/**
 * expires_after (anchor created_at, 3600 to 2592000 seconds) can only shorten sluice's own
 * retention, never lengthen it.
 */
export function expiresAfter(
  anchor: string | undefined,
  seconds: string | undefined,
  retention: number,
): number {
  if (anchor === undefined && seconds === undefined) return retention;
  if (anchor !== "created_at")
    throw new InvalidRequest("expires_after[anchor] must be created_at.", "expires_after.anchor");
  const value = Number(seconds);
  if (!Number.isInteger(value) || value < 3_600 || value > 2_592_000) {
    throw new InvalidRequest(
      "expires_after[seconds] must be a whole number from 3600 to 2592000.",
      "expires_after.seconds",
    );
  }
  return Math.min(value, retention);
}

/** A cursor that names an object (`after`): longer than any id sluice gives out is a 400. */
export function cursorParam(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  if (value === null || value === "") return undefined;
  if (Buffer.byteLength(value) > 256) throw new InvalidRequest(`'${name}' is not an id.`, name);
  return value;
}

export function intParam(
  raw: string | null,
  fallback: number,
  min: number,
  max: number,
  name: string,
): number {
  if (raw === null || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidRequest(`'${name}' must be a whole number from ${min} to ${max}.`, name);
  }
  return value;
}
