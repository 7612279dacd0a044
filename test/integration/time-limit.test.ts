import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upstreamHttpFetch } from "../../functions/adapters/upstream-http";
import { timeLimit } from "../../functions/api/function-url";
import { createApi } from "../../shared/api";
import { loadSettings } from "../../shared/config/settings";
import { isStreamBody } from "../../shared/http/types";
import { JobQueue } from "../../shared/queue/queue";
import { createServices } from "../../shared/services";
import { Blobs } from "../../shared/store/blobs";
import { gate, type UpstreamFixture } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  logTable,
  sluiceTable,
} from "./support";

/**
 * A stream still running when the API function's time is nearly up: the handler's time
 * limit aborts the request, and the core ends the stream itself and bills what was
 * delivered. Run in-process on the real table, with the functions' own upstream client.
 */
let upstream: UpstreamFixture;
let model: string;

beforeAll(async () => {
  ({ upstream, model } = await createFixtureChannel());
});
afterAll(() => upstream.close());

const unused = async (): Promise<never> => {
  throw new Error("not used by chat completions");
};

describe("a stream at the function's time limit", () => {
  it("ends with an error event that says so, and bills what was delivered", async () => {
    const user = await createUserWithKey();
    const core = createApi(
      createServices({
        table: sluiceTable(),
        logTable: logTable(),
        blobs: new Blobs(unused, "unused"),
        queue: new JobQueue(unused, "unused"),
        settings: { ...loadSettings({}), cacheTtlMs: 0 },
        fetch: upstreamHttpFetch(),
      }),
    );
    const stalled = gate();
    upstream.enqueue({ pauseAfterChunks: 3, resume: stalled.promise });
    const request = new AbortController();
    const tasks: ((delivered: boolean) => Promise<unknown>)[] = [];
    const response = await core(
      {
        id: "req_timelimit",
        method: "POST",
        path: "/v1/chat/completions",
        query: new URLSearchParams(),
        headers: { authorization: `Bearer ${user.secret}`, "content-type": "application/json" },
        body: new TextEncoder().encode(
          JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "Hi" }] }),
        ),
        receivedAt: performance.now(),
        signal: request.signal,
      },
      { afterResponse: (task) => tasks.push(task) },
    );
    expect(response.status).toBe(200);
    if (!isStreamBody(response.body)) throw new Error("expected a stream");
    let text = "";
    const decoder = new TextDecoder();
    let limited = false;
    for await (const chunk of response.body) {
      text += decoder.decode(chunk, { stream: true });
      if (limited) continue;
      limited = true;
      // The stream is under way and the upstream pauses: now the time runs out.
      const limit = timeLimit(10, 0);
      limit.signal.addEventListener("abort", () => request.abort(limit.signal.reason));
    }
    stalled.open();
    await Promise.all(tasks.map((task) => task(true)));

    const events = text.split("\n\n").filter(Boolean);
    expect(events.length).toBeGreaterThan(1);
    const last = JSON.parse((events.at(-1) as string).replace(/^data: /, ""));
    expect(last.error).toMatchObject({
      code: "stream_interrupted",
      message: "The response reached sluice's time limit of 0 s and is incomplete.",
    });
    const [line] = await eventually(
      async () =>
        (await api(user.accessToken, "GET", "/api/log/self")).body.data.filter(
          (l: Json) => l.type === "consume",
        ),
      (lines: Json[]) => lines.length === 1,
    );
    expect(line).toMatchObject({ outcome: "interrupted", request_id: "req_timelimit" });
    expect(line.completion_tokens).toBeGreaterThan(0);
    expect(line.quota).toBeGreaterThan(0);
  });
});
