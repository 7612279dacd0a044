/**
 * A call leaves nothing reachable once it is over: a Lambda environment serves calls for hours,
 * and at 128 MB a few kilobytes kept per call run it out of memory after some thousands. The
 * calls go through the whole API in-process (test/fixtures/core.ts), each with a signal of its
 * own as the function URL's handler gives it (the invocation's time limit); the upstream's
 * answers are held weakly, and collected after a full garbage collection.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { eitherAborts } from "../../shared/relay/relay";
import { inProcessApi } from "../fixtures/core";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function collect() {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
}

const MODEL = "gpt-4o-mini";
const EVENTS = [
  'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n',
  'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
  'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}\n\n',
  "data: [DONE]\n\n",
];

describe("a relayed call, once over", () => {
  it.each([true, false])("keeps none of its answer reachable (streamed: %s)", async (stream) => {
    const sluice = inProcessApi([MODEL], () =>
      stream
        ? { events: EVENTS }
        : {
            json: {
              id: "c",
              object: "chat.completion",
              model: MODEL,
              choices: [{ index: 0, message: { role: "assistant", content: "Hi" } }],
              usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
            },
          },
    );
    // Each call in a frame of its own, which is gone once it has answered.
    const call = async () => {
      const limit = new AbortController();
      const response = await sluice.call(
        "/v1/chat/completions",
        { model: MODEL, stream, messages: [{ role: "user", content: "hi" }] },
        { signal: limit.signal },
      );
      expect(response.status).toBe(200);
    };
    for (let i = 0; i < 20; i++) await call();
    expect(sluice.logLines).toHaveLength(20);
    await collect();
    const answers = sluice.upstreamAnswers.slice(0, 20);
    expect(answers).toHaveLength(20);
    expect(answers.flatMap((answer, i) => (answer.deref() ? [i] : []))).toEqual([]);
  });
});

describe("eitherAborts", () => {
  it("aborts with either signal's reason, and at once when one has", () => {
    const [a, b] = [new AbortController(), new AbortController()];
    const either = eitherAborts(a.signal, b.signal);
    b.abort(new Error("b's"));
    expect(either.aborted).toBe(true);
    expect((either.reason as Error).message).toBe("b's");
    a.abort(new Error("a's"));
    expect((either.reason as Error).message).toBe("b's");
    expect(eitherAborts(a.signal, new AbortController().signal)).toBe(a.signal);
  });

  it("is collected with its listeners, which AbortSignal.any is not (Node keeps it)", async () => {
    const held = (combine: (a: AbortSignal, b: AbortSignal) => AbortSignal) => {
      const refs: WeakRef<object>[] = [];
      for (let i = 0; i < 50; i++) {
        const state = { call: i };
        combine(new AbortController().signal, new AbortController().signal).addEventListener(
          "abort",
          () => state,
        );
        refs.push(new WeakRef(state));
      }
      return refs;
    };
    const ours = held(eitherAborts);
    const nodes = held((a, b) => AbortSignal.any([a, b]));
    await collect();
    expect(ours.filter((ref) => ref.deref()).length).toBe(0);
    // Why eitherAborts exists: should Node stop keeping these, this says so.
    expect(nodes.filter((ref) => ref.deref()).length).toBe(50);
  });
});
