import type { KeyPrincipal } from "../auth/authenticate";
import { requireOneLineCovered } from "../batches/afford";
import { BATCH_ENDPOINTS, batchObject } from "../batches/batch-object";
import { MOVES } from "../batches/lifecycle";
import { startBatch } from "../batches/start";
import { Conflict, InvalidRequest, NotFound } from "../errors";
import { isObject, readJsonObject, requireString } from "../http/body";
import { json } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { BatchRecord } from "../store/batches";
import { cursorParam, intParam } from "./files-api";

/**
 * POST /v1/batches. sluice runs the batch itself, for any upstream: the answer is
 * `validating`; the worker then checks the file and runs its lines, billed at the batch
 * discount (none by default). An owner whose balance cannot cover one line is refused.
 */
export const createBatch = keyRoute("POST", "/v1/batches", async (call) => {
  const body = readJsonObject(call.request);
  const inputFileId = requireString(body, "input_file_id");
  const endpoint = requireString(body, "endpoint");
  if (!(BATCH_ENDPOINTS as readonly string[]).includes(endpoint)) {
    throw new InvalidRequest(
      `'endpoint' must be one of ${BATCH_ENDPOINTS.join(", ")}.`,
      "endpoint",
    );
  }
  if (requireString(body, "completion_window") !== "24h") {
    throw new InvalidRequest("'completion_window' must be 24h.", "completion_window");
  }
  const metadata = batchMetadata(body.metadata);
  const file = await call.services.files.find(
    inputFileId,
    call.principal.user.id,
    call.services.clock.seconds(),
  );
  if (!file) throw new InvalidRequest(`No such File object: ${inputFileId}`, "input_file_id");
  if (file.purpose !== "batch")
    throw new InvalidRequest(
      "The input file must have been uploaded with purpose batch.",
      "input_file_id",
    );
  await requireOneLineCovered(call.services, call.principal, endpoint, file);

  const batch = await startBatch(call.services, {
    userId: call.principal.user.id,
    keyId: call.principal.key.id,
    endpoint,
    inputFileId,
    metadata,
    outputTtlSeconds: outputTtl(
      body.output_expires_after,
      call.services.settings.files.outputTtlSeconds,
    ),
  });
  return json(200, batchObject(batch));
});

/** GET /v1/batches/{id} */
export const retrieveBatch = keyRoute("GET", "/v1/batches/:id", async (call) => {
  return json(200, batchObject(await ownBatch(call)));
});

/** GET /v1/batches: newest first, a cursor page (after, limit 1–100, default 20). */
export const listBatches = keyRoute("GET", "/v1/batches", async (call) => {
  const { query } = call.request;
  const { batches, hasMore } = await call.services.batches.list(call.principal.user.id, {
    limit: intParam(query.get("limit"), 20, 1, 100, "limit"),
    after: cursorParam(query, "after"),
    now: call.services.clock.seconds(),
  });
  return json(200, {
    object: "list",
    data: batches.map(batchObject),
    first_id: batches[0]?.id ?? null,
    last_id: batches.at(-1)?.id ?? null,
    has_more: hasMore,
  });
});

/**
 * POST /v1/batches/{id}/cancel: `cancelling` at once; no new line starts; the worker then
 * writes what finished and the batch becomes `cancelled`.
 */
export const cancelBatch = keyRoute("POST", "/v1/batches/:id/cancel", async (call) => {
  const batch = await ownBatch(call);
  if (batch.status === "cancelling" || batch.status === "cancelled")
    return json(200, batchObject(batch));
  const cancelling = await call.services.batches.transition(batch.id, MOVES.cancel, {
    cancellingAt: call.services.clock.seconds(),
  });
  if (!cancelling) {
    const current = (await call.services.batches.get(batch.id)) ?? batch;
    throw new Conflict(`Cannot cancel a batch with status ${current.status}.`, "id");
  }
  // The finalize step waits for running chunks; a batch with none is finished at once.
  await call.services.queue.send({ type: "batch.finalize", batchId: batch.id });
  return json(200, batchObject(cancelling));
});

async function ownBatch(call: Call<KeyPrincipal>): Promise<BatchRecord> {
  const id = call.params.id as string;
  const batch = await call.services.batches.find(
    id,
    call.principal.user.id,
    call.services.clock.seconds(),
  );
  if (!batch) throw new NotFound(`No such Batch object: ${id}`, "id");
  return batch;
}

/** Up to 16 pairs; keys up to 64 characters, values up to 512. */
function batchMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value))
    throw new InvalidRequest("'metadata' must be an object of strings.", "metadata");
  const entries = Object.entries(value);
  if (entries.length > 16)
    throw new InvalidRequest("'metadata' can have at most 16 keys.", "metadata");
  for (const [key, item] of entries) {
    if (key.length > 64)
      throw new InvalidRequest("metadata keys can be at most 64 characters.", "metadata");
    if (typeof item !== "string" || item.length > 512) {
      throw new InvalidRequest(
        "metadata values must be strings of at most 512 characters.",
        "metadata",
      );
    }
  }
  return value as Record<string, string>;
}

/** output_expires_after can shorten the output files' life, not lengthen it. */
function outputTtl(value: unknown, retention: number): number {
  if (value === undefined || value === null) return retention;
  if (!isObject(value) || value.anchor !== "created_at" || typeof value.seconds !== "number") {
    throw new InvalidRequest(
      "'output_expires_after' must be {anchor: created_at, seconds}.",
      "output_expires_after",
    );
  }
  if (value.seconds < 3_600 || value.seconds > 2_592_000) {
    throw new InvalidRequest(
      "output_expires_after.seconds must be from 3600 to 2592000.",
      "output_expires_after.seconds",
    );
  }
  return Math.min(value.seconds, retention);
}
