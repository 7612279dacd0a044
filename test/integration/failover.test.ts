import OpenAI, { type APIError } from "openai";
import { describe, expect, it } from "vitest";
import { gate, type UpstreamFault, uniqueModel } from "../fixtures/upstream";
import {
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  settledAccount,
} from "./support";

const hello = [{ role: "user" as const, content: "hi" }];

/** Two channels for one model: `first` is tried first (higher priority), `second` is the spare. */
async function twoChannels() {
  const model = uniqueModel("failover");
  const first = await createFixtureChannel({
    models: [model],
    channel: { priority: 10, name: "first" },
  });
  const second = await createFixtureChannel({
    models: [model],
    channel: { priority: 5, name: "second" },
  });
  return {
    model,
    first,
    second,
    close: async () => {
      await first.upstream.close();
      await second.upstream.close();
    },
  };
}

async function consumeLines(accessToken: string, count: number) {
  return eventually(
    async () =>
      (await api(accessToken, "GET", "/api/log/self?size=50")).body.data.filter(
        (l: Json) => l.type === "consume",
      ),
    (lines: Json[]) => lines.length >= count,
  );
}

describe("fail-over between channels", () => {
  const faults: [string, UpstreamFault][] = [
    ["answers 500", { status: 500 }],
    ["answers 429", { status: 429 }],
    ["does not answer in time", { delayMs: 3_000 }],
  ];
  for (const [what, fault] of faults) {
    it(`moves to the next channel when the first ${what}, and charges exactly once`, async () => {
      const pair = await twoChannels();
      try {
        const user = await createUserWithKey();
        pair.first.upstream.enqueue(fault);
        const completion = await openai(user.secret).chat.completions.create({
          model: pair.model,
          messages: hello,
        });
        expect(completion.choices[0]?.message.content).toContain("You said: hi");
        expect(pair.first.upstream.requests).toHaveLength(1);
        expect(pair.second.upstream.requests).toHaveLength(1);
        const lines = await consumeLines(user.accessToken, 1);
        await new Promise((resolve) => setTimeout(resolve, 200)); // a second line would show by now
        const again = (await api(user.accessToken, "GET", "/api/log/self")).body.data.filter(
          (l: Json) => l.type === "consume",
        );
        expect(again).toHaveLength(1);
        await settledAccount(user.id);
        const self = (await api(user.accessToken, "GET", "/api/user/self")).body.data;
        expect(self.used_quota).toBe(lines[0].quota);
        expect(self.request_count).toBe(1);
      } finally {
        await pair.close();
      }
    });
  }

  it("fails over a stream before its first byte", async () => {
    const pair = await twoChannels();
    try {
      const user = await createUserWithKey();
      pair.first.upstream.enqueue({ status: 503 });
      let text = "";
      for await (const chunk of await openai(user.secret).chat.completions.create({
        model: pair.model,
        messages: hello,
        stream: true,
      })) {
        text += chunk.choices[0]?.delta.content ?? "";
      }
      expect(text).toBe("This is sluice's demo upstream. You said: hi");
      expect(pair.second.upstream.requests).toHaveLength(1);
    } finally {
      await pair.close();
    }
  });

  it("does not fail over when the request itself is at fault (400)", async () => {
    const pair = await twoChannels();
    try {
      const user = await createUserWithKey();
      const error = await openai(user.secret)
        .chat.completions.create({ model: pair.model, messages: [] })
        .catch((e: APIError) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(pair.second.upstream.requests).toHaveLength(0);
    } finally {
      await pair.close();
    }
  });

  it("does not fail over once the first byte has gone out: the stream ends with an error event", async () => {
    const pair = await twoChannels();
    try {
      const user = await createUserWithKey();
      // Cut once the client has the first three chunks (they could be lost behind the cut).
      const delivered = gate();
      pair.first.upstream.enqueue({
        pauseAfterChunks: 3,
        resume: delivered.promise,
        cutAfterChunks: 3,
      });
      const stream = await openai(user.secret).chat.completions.create({
        model: pair.model,
        messages: hello,
        stream: true,
      });
      const received: string[] = [];
      const error = await (async () => {
        for await (const chunk of stream) {
          received.push(chunk.choices[0]?.delta.content ?? "");
          if (received.length === 3) delivered.open();
        }
      })().catch((e: APIError) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(received.join("")).toBe("This is");
      expect(pair.second.upstream.requests).toHaveLength(0);
      const [line] = await consumeLines(user.accessToken, 1);
      expect(line).toMatchObject({ outcome: "interrupted" });
      expect(line.quota).toBeGreaterThan(0);
    } finally {
      await pair.close();
    }
  });

  it("answers 502 when every attempt fails, and charges nothing", async () => {
    const pair = await twoChannels();
    try {
      const user = await createUserWithKey();
      // Three attempts (the default: one try and two retries), alternating the two channels.
      pair.first.upstream.enqueue({ status: 500 }, { status: 500 });
      pair.second.upstream.enqueue({ status: 502 });
      const error = await openai(user.secret)
        .chat.completions.create({ model: pair.model, messages: hello })
        .catch((e: APIError) => e);
      expect((error as APIError).status).toBe(502);
      expect(pair.first.upstream.requests).toHaveLength(2);
      expect(pair.second.upstream.requests).toHaveLength(1);
      const [line] = await consumeLines(user.accessToken, 1);
      expect(line).toMatchObject({ quota: 0, outcome: "failed" });
      expect((await api(user.accessToken, "GET", "/api/user/self")).body.data.used_quota).toBe(0);
    } finally {
      await pair.close();
    }
  });
});
