import type { BatchRecord } from "../store/batches";

/** The endpoints a batch may target. */
export const BATCH_ENDPOINTS = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
] as const;

/**
 * The OpenAI Batch object. Every key is always present, null when not set, as OpenAI's own
 * answers are; `errors` is set only for a batch that failed validation.
 */
export function batchObject(batch: BatchRecord) {
  return {
    id: batch.id,
    object: "batch",
    endpoint: batch.endpoint,
    model: batch.model,
    errors: batch.errors ? { object: "list", data: batch.errors } : null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: batch.createdAt,
    in_progress_at: batch.inProgressAt,
    expires_at: batch.expiresAt,
    finalizing_at: batch.finalizingAt,
    completed_at: batch.completedAt,
    failed_at: batch.failedAt,
    expired_at: batch.expiredAt,
    cancelling_at: batch.cancellingAt,
    cancelled_at: batch.cancelledAt,
    request_counts: { total: batch.total, completed: batch.completed, failed: batch.failed },
    usage: {
      input_tokens: batch.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: batch.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: batch.inputTokens + batch.outputTokens,
    },
    metadata: batch.metadata,
  };
}
