/**
 * The input-items page of a stored response (shared/responses/input-items.ts), as OpenAI's
 * list endpoints page: newest first by default, `after` for the next page, `before` for the
 * previous one, `limit` 1 to 100.
 */
import { describe, expect, it } from "vitest";
import { InvalidRequest } from "../../shared/errors";
import { itemsPage, pageParams } from "../../shared/responses/input-items";

const items = Array.from({ length: 5 }, (_, i) => ({ id: `msg_${i}`, type: "message" }));
const page = (query: string) => itemsPage(items, pageParams(new URLSearchParams(query)));
const ids = (query: string) => page(query).data.map((item) => item.id);

describe("input items", () => {
  it("lists the newest first by default, 20 at most", () => {
    expect(ids("")).toEqual(["msg_4", "msg_3", "msg_2", "msg_1", "msg_0"]);
    expect(page("")).toMatchObject({
      object: "list",
      first_id: "msg_4",
      last_id: "msg_0",
      has_more: false,
    });
  });

  it("pages forward with after, and back with before, in either order", () => {
    expect(ids("order=asc&limit=2")).toEqual(["msg_0", "msg_1"]);
    expect(page("order=asc&limit=2").has_more).toBe(true);
    expect(ids("order=asc&limit=2&after=msg_1")).toEqual(["msg_2", "msg_3"]);
    expect(ids("order=asc&limit=2&after=msg_3")).toEqual(["msg_4"]);
    expect(page("order=asc&limit=2&after=msg_3").has_more).toBe(false);
    expect(ids("limit=2&after=msg_3")).toEqual(["msg_2", "msg_1"]);
    expect(ids("order=asc&limit=2&before=msg_3")).toEqual(["msg_1", "msg_2"]);
    expect(page("order=asc&limit=2&before=msg_3").has_more).toBe(true);
    expect(ids("order=asc&after=msg_0&before=msg_3")).toEqual(["msg_1", "msg_2"]);
  });

  it("lists nothing after or before an id it does not hold", () => {
    expect(page("after=msg_9")).toMatchObject({ data: [], first_id: null, has_more: false });
    expect(ids("before=msg_9")).toEqual([]);
  });

  it("refuses a limit out of 1-100 and an unknown order, naming the parameter", () => {
    for (const query of ["limit=0", "limit=101", "limit=2.5", "limit=x", "order=up"]) {
      expect(() => pageParams(new URLSearchParams(query))).toThrow(InvalidRequest);
    }
    expect(() => pageParams(new URLSearchParams("limit=101"))).toThrow(/limit/);
  });
});
