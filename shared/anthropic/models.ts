import { InvalidRequest } from "../errors";
import type { JsonObject } from "../http/body";

/**
 * Anthropic's shape of a model (GET /v1/models for a caller that speaks Anthropic: Claude
 * Code's gateway model discovery). sluice knows no release dates: `created_at` is the epoch,
 * which Anthropic's docs allow when the date is unknown.
 */
export function anthropicModel(id: string): JsonObject {
  return { type: "model", id, display_name: id, created_at: "1970-01-01T00:00:00Z" };
}

/**
 * One page of the models, Anthropic's way: `limit` (1–1000, default 20), `after_id` or
 * `before_id`, with `has_more`, `first_id` and `last_id`.
 */
export function anthropicModelPage(ids: readonly string[], query: URLSearchParams): JsonObject {
  const limit = Number(query.get("limit") ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new InvalidRequest("limit: Input should be an integer from 1 to 1000.", "limit");
  }
  const after = query.get("after_id");
  const before = query.get("before_id");
  let page: readonly string[];
  let hasMore: boolean;
  if (before !== null && after === null) {
    const end = Math.max(0, ids.indexOf(before));
    const start = Math.max(0, end - limit);
    page = ids.slice(start, end);
    hasMore = start > 0;
  } else {
    const start = after === null ? 0 : ids.indexOf(after) + 1;
    page = ids.slice(start, start + limit);
    hasMore = start + limit < ids.length;
  }
  return {
    data: page.map(anthropicModel),
    has_more: hasMore,
    first_id: page[0] ?? null,
    last_id: page.at(-1) ?? null,
  };
}
