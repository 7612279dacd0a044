import { describe, expect, it } from "vitest";
import type { KeyPrincipal } from "../../shared/auth/authenticate";
import type { Call } from "../../shared/http/route";
import { afterKept, ResponseKeeper } from "../../shared/responses/stored";

/**
 * A native stream's `response.created` starts the write of its record; a background
 * response's id is there to be polled at once, so the event that gives it out waits for that
 * write, and a foreground one's does not (its first byte never waits for the store).
 */
function keeperWithSlowStore(body: Record<string, unknown>) {
  let saved!: () => void;
  const save = new Promise<void>((resolve) => {
    saved = resolve;
  });
  const call = {
    principal: { user: { id: "user_1" }, key: { id: "key_1" } },
    services: {
      clock: { seconds: () => 1_000 },
      settings: { responseRetentionDays: 30 },
      storedResponses: { save: () => save },
      log: { warn() {} },
    },
  } as unknown as Call<KeyPrincipal>;
  return { keeper: new ResponseKeeper(call, body, undefined), saved };
}

async function firstChunkBeforeSave(background: boolean) {
  const { keeper, saved } = keeperWithSlowStore({ model: "m", background, stream: true });
  const upstream = { channel: { id: "ch_1" }, upstreamModel: "m" } as never;
  async function* source() {
    keeper.watch(upstream, { type: "response.created", response: { id: "resp_1" } });
    yield new TextEncoder().encode("event: response.created\n\n");
  }
  const out = afterKept(source(), keeper)[Symbol.asyncIterator]();
  const first = out.next().then(() => "chunk" as const);
  const tick = new Promise((resolve) => setTimeout(() => resolve("waiting"), 20));
  const before = await Promise.race([first, tick]);
  saved();
  await first;
  return before;
}

describe("a passed-through stream's response.created", () => {
  it("waits for the record's write in a background response", async () => {
    expect(await firstChunkBeforeSave(true)).toBe("waiting");
  });

  it("goes out at once in a foreground one", async () => {
    expect(await firstChunkBeforeSave(false)).toBe("chunk");
  });
});
