import { InvalidRequest } from "../errors";
import type { JsonObject } from "../http/body";

/*
 * A response's input items as OpenAI lists them (GET /v1/responses/{id}/input_items): a cursor
 * page of `data`, `first_id`, `last_id`, `has_more`, by `after` / `before` (item ids), `limit`
 * (1 to 100, 20 by default) and `order` (`desc` by default: the newest item first).
 */

export interface PageParams {
  limit: number;
  order: "asc" | "desc";
  after?: string;
  before?: string;
}

/** OpenAI's list parameters: limit 1 to 100 (20 by default), order desc by default. */
export function pageParams(query: URLSearchParams): PageParams {
  const rawLimit = query.get("limit");
  const limit = rawLimit === null ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new InvalidRequest("'limit' must be a whole number from 1 to 100.", "limit");
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc")
    throw new InvalidRequest("'order' must be asc or desc.", "order");
  return {
    limit,
    order,
    after: query.get("after") ?? undefined,
    before: query.get("before") ?? undefined,
  };
}

/**
 * One page of a response's input items (`stored` in the order they were given): ordered as
 * asked, then those after `after` (the next page: its first `limit`) and before `before` (the
 * previous page: the `limit` just before it). An unknown cursor lists nothing.
 */
export function itemsPage(stored: JsonObject[], page: PageParams) {
  const items = page.order === "asc" ? stored : [...stored].reverse();
  const at = (id: string | undefined) => (id ? items.findIndex((item) => item.id === id) : -1);
  const afterAt = at(page.after);
  const beforeAt = at(page.before);
  const start = page.after ? (afterAt < 0 ? items.length : afterAt + 1) : 0;
  const end = page.before ? (beforeAt < 0 ? 0 : beforeAt) : items.length;
  const window = items.slice(start, Math.max(start, end));
  const data = page.before && !page.after ? window.slice(-page.limit) : window.slice(0, page.limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: window.length > data.length,
  };
}
