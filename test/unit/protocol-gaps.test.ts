/**
 * What sluice remembers of the protocols a (channel, model) does not serve (relay/protocol-gaps.ts)
 * on DynamoDB in memory (held to DynamoDB Local's answers by fixtures/dynamo-contract.ts), and
 * how a host's 404 is read: "no such path" (a host without /responses) or a fault of the
 * request (adapters/openai/errors.ts saysNoSuchPath).
 */
import { describe, expect, it } from "vitest";
import { clockOf } from "../../shared/clock";
import { createLogger } from "../../shared/observability";
import { saysNoSuchPath } from "../../shared/relay/adapters/openai/errors";
import { ProtocolGaps } from "../../shared/relay/protocol-gaps";
import { type ProtocolGap, ProtocolGapStore } from "../../shared/store/protocol-gaps";
import { Table } from "../../shared/store/table";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";

const HOUR = 3_600_000;
const log = createLogger({ level: "ERROR" });

/** A store that counts the writes that changed the table, over DynamoDB in memory. */
class CountingStore extends ProtocolGapStore {
  wrote = 0;
  tried = 0;
  override async record(gap: ProtocolGap): Promise<boolean> {
    this.tried++;
    const wrote = await super.record(gap);
    if (wrote) this.wrote++;
    return wrote;
  }
}

function setup() {
  const table = new Table(new MemoryDynamo(), "sluice");
  let now = Date.parse("2026-12-01T00:00:00Z");
  const clock = clockOf(() => now);
  /** One instance of sluice: its own cache, the shared table. */
  const instance = () => {
    const store = new CountingStore(table);
    const gaps = new ProtocolGaps(store, { recheckMs: 24 * HOUR, cacheTtlMs: 60_000 }, log, clock);
    return { store, gaps };
  };
  return { table, instance, advance: (ms: number) => (now += ms) };
}

describe("protocol gaps", () => {
  it("a burst of calls finding one gap on one instance writes it once", async () => {
    const { instance } = setup();
    const { store, gaps } = instance();
    await Promise.all(
      Array.from({ length: 25 }, () =>
        gaps.learn("ch1", "m", "responses", "HTTP 404 on /responses"),
      ),
    );
    expect(store.tried).toBe(1);
    expect(store.wrote).toBe(1);
    expect((await gaps.known()).lacks("ch1", "m", "responses")).toBe(true);
    // Another model, another channel, another protocol: not known.
    const known = await gaps.known();
    expect(known.lacks("ch1", "other", "responses")).toBe(false);
    expect(known.lacks("ch2", "m", "responses")).toBe(false);
    expect(known.lacks("ch1", "m", "chat")).toBe(false);
  });

  it("instances finding the same gap at once change the table once; each is told", async () => {
    const { instance } = setup();
    const many = Array.from({ length: 6 }, instance);
    await Promise.all(many.map(({ gaps }) => gaps.learn("ch1", "m", "responses", "HTTP 404")));
    expect(many.reduce((n, { store }) => n + store.wrote, 0)).toBe(1);
    // A seventh instance, loading afresh, reads it from the table.
    const fresh = instance();
    expect((await fresh.gaps.known()).lacks("ch1", "m", "responses")).toBe(true);
    expect(await fresh.gaps.current()).toHaveLength(1);
  });

  it("expires, so a host that adds the path is tried again; then it may be learned anew", async () => {
    const { instance, advance } = setup();
    const first = instance();
    await first.gaps.learn("ch1", "m", "responses", "HTTP 404");
    advance(24 * HOUR - 1);
    expect((await instance().gaps.known()).lacks("ch1", "m", "responses")).toBe(true);
    advance(1);
    const later = instance();
    expect((await later.gaps.known()).lacks("ch1", "m", "responses")).toBe(false);
    // The expired item is still in the table (DynamoDB's TTL is lazy): it is written over.
    await later.gaps.learn("ch1", "m", "responses", "HTTP 404 again");
    expect(later.store.wrote).toBe(1);
    const [gap] = await later.gaps.current();
    expect(gap?.reason).toBe("HTTP 404 again");
    expect((await later.gaps.known()).lacks("ch1", "m", "responses")).toBe(true);
  });

  it("is known to the next call while its write is still on its way", async () => {
    // The cache reloads on every read (a TTL of 0), and the write waits until released: a
    // list read in between has not got the gap yet.
    const table = new Table(new MemoryDynamo(), "sluice");
    let land = () => {};
    const landed = new Promise<void>((resolve) => {
      land = resolve;
    });
    const store = new (class extends ProtocolGapStore {
      override async record(gap: ProtocolGap): Promise<boolean> {
        await landed;
        return super.record(gap);
      }
    })(table);
    const gaps = new ProtocolGaps(store, { recheckMs: 24 * HOUR, cacheTtlMs: 0 }, log);
    const learning = gaps.learn("ch1", "m", "chat", "only supported in v1/responses");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await store.list()).toEqual([]);
    expect((await gaps.known()).lacks("ch1", "m", "chat")).toBe(true);
    land();
    await learning;
    expect((await gaps.known()).lacks("ch1", "m", "chat")).toBe(true);
    expect(await store.list()).toHaveLength(1);
  });

  it("is stored with a TTL at its recheck, and forgotten with its channel", async () => {
    const { table, instance } = setup();
    const { gaps } = instance();
    await gaps.learn("ch1", "m", "responses", "HTTP 404");
    await gaps.learn("ch1", "m2", "responses", "HTTP 404");
    await gaps.learn("ch10", "m", "responses", "HTTP 404");
    const item = await table.get<Record<string, number>>({
      pk: "PROTOCOL_GAP",
      sk: "ch1#responses#m",
    });
    expect(item?.ttl).toBe(Math.ceil((item?.until ?? 0) / 1000));
    await gaps.clearChannel("ch1");
    const known = await gaps.known();
    expect(known.lacks("ch1", "m", "responses")).toBe(false);
    expect(known.lacks("ch1", "m2", "responses")).toBe(false);
    // A channel whose id begins with the other's keeps its own.
    expect(known.lacks("ch10", "m", "responses")).toBe(true);
  });
});

describe("a 404 read as 'no such path'", () => {
  const openAiError = (message: string, code: string | null = null, param: string | null = null) =>
    JSON.stringify({ error: { message, type: "invalid_request_error", param, code } });

  it("is what hosts without the path answer", () => {
    // DeepSeek: no body at all.
    expect(saysNoSuchPath(404, "")).toBe(true);
    // GLM (a Spring gateway), FastAPI, Express, nginx, OpenAI's own unknown URL.
    expect(
      saysNoSuchPath(
        404,
        '{"timestamp":"2026-07-25T07:03:07.620+00:00","status":404,"error":"Not Found","path":"/api/paas/v4/responses"}',
      ),
    ).toBe(true);
    expect(saysNoSuchPath(404, '{"detail":"Not Found"}')).toBe(true);
    expect(saysNoSuchPath(404, "Cannot POST /v1/responses")).toBe(true);
    expect(saysNoSuchPath(404, "<html><body><h1>404 Not Found</h1></body></html>")).toBe(true);
    expect(saysNoSuchPath(404, openAiError("Invalid URL (POST /v1/responses)"))).toBe(true);
    expect(saysNoSuchPath(404, openAiError("Not Found", "invalid_request_error"))).toBe(true);
    // A path that has no POST (a gateway's 405).
    expect(saysNoSuchPath(405, "<html><title>405</title></html>")).toBe(true);
  });

  it("is not what a host answers about something the request named", () => {
    // OpenAI's unknown model, vLLM's (old and new shapes), Ollama's.
    expect(
      saysNoSuchPath(
        404,
        openAiError(
          "The model `gpt-9` does not exist or you do not have access to it.",
          "model_not_found",
        ),
      ),
    ).toBe(false);
    expect(
      saysNoSuchPath(
        404,
        '{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}',
      ),
    ).toBe(false);
    expect(
      saysNoSuchPath(404, '{"error":"model \\"llama9\\" not found, try pulling it first"}'),
    ).toBe(false);
    // OpenAI's 404 for an input item that was not stored (Codex with store: false).
    expect(
      saysNoSuchPath(
        404,
        openAiError(
          "Item with id 'rs_123' not found. Items are not persisted when `store` is set to false.",
          null,
          "input",
        ),
      ),
    ).toBe(false);
    expect(
      saysNoSuchPath(
        404,
        openAiError("Previous response not found.", "previous_response_not_found"),
      ),
    ).toBe(false);
    // Azure's deployment not found.
    expect(
      saysNoSuchPath(
        404,
        JSON.stringify({
          error: {
            code: "DeploymentNotFound",
            message: "The API deployment for this resource does not exist.",
          },
        }),
      ),
    ).toBe(false);
    // Other statuses are never about the path.
    expect(saysNoSuchPath(400, "")).toBe(false);
    expect(saysNoSuchPath(500, "")).toBe(false);
  });
});
