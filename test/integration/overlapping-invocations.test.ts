/**
 * One handler instance serving many streamed invocations at once, as an execution
 * environment on Lambda Managed Instances does: the local stack's API is one process running
 * one handler, and here 32 calls, each from its own user and key with a prompt of its own
 * length, are all in flight before any of them ends. Each must settle its own hold, with
 * its own usage: the same as the same call made alone.
 */
import { describe, expect, it } from "vitest";
import { gate } from "../fixtures/upstream";
import {
  admin,
  createFixtureChannel,
  createKey,
  createUser,
  eventually,
  type Json,
  openai,
  settledAccount,
} from "./support";

const CALLS = 32;
const prompt = (i: number) => `${"word ".repeat(i + 1)}end`;

/** A streamed call read to its end: its text, and the request id sluice gave it. */
async function streamed(secret: string, model: string, i: number) {
  const { data: stream, request_id } = await openai(secret)
    .chat.completions.create({
      model,
      stream: true,
      messages: [{ role: "user", content: prompt(i) }],
    })
    .withResponse();
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
  return { text, requestId: request_id };
}

async function onlyLine(userId: string): Promise<Json> {
  const lines: Json[] = await eventually(
    () => admin("GET", `/api/log/?user_id=${userId}&type=consume`),
    (found: Json[]) => found.length >= 1,
  );
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe("one handler instance, many overlapping streamed invocations", () => {
  it("settles each call's own hold with its own usage, as if it had run alone", async () => {
    const { upstream, model } = await createFixtureChannel();
    const callers = [];
    for (let i = 0; i < CALLS; i++) {
      const user = await createUser({ paidUsd: 1 });
      callers.push({ user, key: await createKey(user, { name: `overlap-${i}` }) });
    }

    // Every stream stops after its first chunk until all of them have started.
    const allStarted = gate();
    upstream.enqueue(
      ...Array.from({ length: CALLS * 2 }, () => ({
        pauseAfterChunks: 1,
        resume: allStarted.promise,
      })),
    );
    const before = upstream.requests.length;
    const calls = callers.map(({ key }, i) => streamed(key.secret, model, i));
    // (Counted by prompt: a slow upstream connection may be tried twice.)
    const started = async () =>
      new Set(upstream.requests.slice(before).map((request) => JSON.stringify(request.body))).size;
    await eventually(started, (count) => count === CALLS, 30_000);
    allStarted.open();
    const replies = await Promise.all(calls);
    expect(replies.every((reply) => reply.text.length > 0 && reply.requestId)).toBe(true);

    // The same calls alone, one after another, by one reference user.
    const reference = await createUser({ paidUsd: 10 });
    const referenceKey = await createKey(reference, { name: "alone" });
    const alone: Json[] = [];
    for (let i = 0; i < CALLS; i++) {
      const { requestId } = await streamed(referenceKey.secret, model, i);
      const lines: Json[] = await eventually(
        () => admin("GET", `/api/log/?user_id=${reference.id}&type=consume`),
        (found: Json[]) => found.some((line) => line.request_id === requestId),
      );
      alone.push(lines.find((line) => line.request_id === requestId));
    }

    for (const [i, { user }] of callers.entries()) {
      const account = await settledAccount(user.id);
      const line = await onlyLine(user.id);
      // Its own request, its own key, and the usage of its own prompt.
      expect(line.request_id).toBe(replies[i]?.requestId);
      expect(line.key_name).toBe(`overlap-${i}`);
      expect(line.prompt_tokens, `call ${i}`).toBe(alone[i].prompt_tokens);
      expect(line.completion_tokens, `call ${i}`).toBe(alone[i].completion_tokens);
      expect(line.quota, `call ${i}`).toBe(alone[i].quota);
      // Charged exactly that, nothing held.
      const balances: Json = await admin("GET", `/api/user/${user.id}`);
      expect(balances.used_quota).toBe(line.quota);
      expect(Object.keys(account).some((name) => name.startsWith("h_"))).toBe(false);
    }
    // The prompts differ in length, so no two calls could have swapped their usage unseen.
    const promptTokens = alone.map((line) => line.prompt_tokens);
    expect(new Set(promptTokens).size).toBe(CALLS);
  }, 180_000);
});
