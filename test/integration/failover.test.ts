import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI, { type APIError } from "openai";
import { describe, expect, it } from "vitest";
import { gate, type UpstreamFault, uniqueModel } from "../fixtures/upstream";
import {
  admin,
  api,
  createFixtureChannel,
  createUserWithKey,
  eventually,
  type Json,
  openai,
  setPrices,
  settledAccount,
  TEST_PRICE,
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

/** A base URL on which nothing listens: connections to it are refused. */
async function refusingBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

async function expectChargedOnce(user: { id: string; accessToken: string }) {
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
}

describe("fail-over between channels: only what the upstream did not process", () => {
  const faults: [string, UpstreamFault][] = [
    ["answers 429", { status: 429 }],
    ["answers 503 with Retry-After", { status: 503, headers: { "retry-after": "1" } }],
    ["answers 529 (overloaded)", { status: 529 }],
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
        await expectChargedOnce(user);
      } finally {
        await pair.close();
      }
    });
  }

  it("moves to the next channel when the first refuses the connection, and charges exactly once", async () => {
    const model = uniqueModel("failover");
    const dead = await admin("POST", "/api/channel", {
      name: "refusing",
      base_url: await refusingBaseUrl(),
      models: [model],
      priority: 10,
    });
    const spare = await createFixtureChannel({ models: [model], channel: { priority: 5 } });
    try {
      const user = await createUserWithKey();
      const completion = await openai(user.secret).chat.completions.create({
        model,
        messages: hello,
      });
      expect(completion.choices[0]?.message.content).toContain("You said: hi");
      expect(spare.upstream.requests).toHaveLength(1);
      await expectChargedOnce(user);
    } finally {
      await spare.upstream.close();
      await admin("DELETE", `/api/channel/${dead.id}`);
    }
  });

  it("fails over a stream before its first byte", async () => {
    const pair = await twoChannels();
    try {
      const user = await createUserWithKey();
      pair.first.upstream.enqueue({ status: 503, headers: { "retry-after": "1" } });
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

  const afterSending: [string, UpstreamFault][] = [
    ["500", { status: 500 }],
    ["502", { status: 502 }],
    ["503 without Retry-After", { status: 503 }],
  ];
  for (const [what, fault] of afterSending) {
    it(`does not send a request again after a ${what}: 502, and charges nothing`, async () => {
      const pair = await twoChannels();
      try {
        const user = await createUserWithKey();
        pair.first.upstream.enqueue(fault);
        const error = await openai(user.secret)
          .chat.completions.create({ model: pair.model, messages: hello })
          .catch((e: APIError) => e);
        expect((error as APIError).status).toBe(502);
        expect(pair.first.upstream.requests).toHaveLength(1);
        expect(pair.second.upstream.requests).toHaveLength(0);
        const [line] = await consumeLines(user.accessToken, 1);
        expect(line).toMatchObject({ quota: 0, outcome: "failed" });
        expect((await api(user.accessToken, "GET", "/api/user/self")).body.data.used_quota).toBe(0);
      } finally {
        await pair.close();
      }
    });
  }

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

  it("answers 502 when no channel can be reached, and charges nothing", async () => {
    const model = uniqueModel("failover");
    await setPrices({ [model]: TEST_PRICE });
    const dead = await Promise.all(
      [10, 5].map(async (priority) =>
        admin("POST", "/api/channel", {
          name: "refusing",
          base_url: await refusingBaseUrl(),
          models: [model],
          priority,
        }),
      ),
    );
    try {
      const user = await createUserWithKey();
      const error = await openai(user.secret)
        .chat.completions.create({ model, messages: hello })
        .catch((e: APIError) => e);
      expect((error as APIError).status).toBe(502);
      const [line] = await consumeLines(user.accessToken, 1);
      expect(line).toMatchObject({ quota: 0, outcome: "failed" });
      expect((await api(user.accessToken, "GET", "/api/user/self")).body.data.used_quota).toBe(0);
    } finally {
      for (const channel of dead) await admin("DELETE", `/api/channel/${channel.id}`);
    }
  });
});
