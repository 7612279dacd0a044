import { describe, expect, it, vi } from "vitest";
import { CompletionStreamRelay } from "../../shared/stream/completion-stream";
import { relayBytes } from "../../shared/stream/relay-bytes";
import { relaySse, type StreamOutcome } from "../../shared/stream/relay-stream";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function* upstream(parts: string[], failAtEnd = false): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield encoder.encode(part);
  if (failAtEnd) throw new Error("socket hang up");
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of body) text += decoder.decode(chunk);
  return text;
}

const chunk = (fields: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", model: "up", ...fields })}\n\n`;
const content = (text: string) =>
  chunk({ choices: [{ index: 0, delta: { content: text }, finish_reason: null }] });
const finish = chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
const usage = chunk({
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});

function relay(options: Partial<ConstructorParameters<typeof CompletionStreamRelay>[0]> = {}) {
  const outcomes: StreamOutcome[] = [];
  const r = new CompletionStreamRelay({ kind: "chat", stripUsage: false, ...options }, (outcome) =>
    outcomes.push(outcome),
  );
  return { relay: r, outcomes };
}

describe("relaySse with CompletionStreamRelay", () => {
  it("passes unchanged events through byte for byte and records usage and text", async () => {
    const parts = [content("Hel"), `${content("lo")}${finish}`, usage, "data: [DONE]\n\n"];
    const { relay: r, outcomes } = relay();
    expect(await collect(relaySse(upstream(parts), r, () => {}))).toBe(parts.join(""));
    expect(r.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(r.deliveredText).toBe("Hello");
    expect(outcomes).toEqual(["completed"]);
  });

  it("removes the usage-only chunk the client did not ask for", async () => {
    const { relay: r } = relay({ stripUsage: true });
    const out = await collect(
      relaySse(upstream([content("a"), finish, usage, "data: [DONE]\n\n"]), r, () => {}),
    );
    expect(out).toBe(`${content("a")}${finish}data: [DONE]\n\n`);
    expect(r.usage?.total_tokens).toBe(5);
  });

  it("reports the client's model name in every chunk when the channel mapped it", async () => {
    const { relay: r } = relay({ reportModel: "alias" });
    const out = await collect(relaySse(upstream([content("a"), "data: [DONE]\n\n"]), r, () => {}));
    expect(out).toContain('"model":"alias"');
    expect(out).not.toContain('"model":"up"');
  });

  it("ends a stream cut before [DONE] with an error event", async () => {
    const { relay: r, outcomes } = relay();
    const out = await collect(relaySse(upstream([content("a")]), r, () => {}));
    const last = out.trim().split("\n\n").at(-1) as string;
    expect(JSON.parse(last.slice("data: ".length))).toEqual({
      error: {
        message: expect.any(String),
        type: "upstream_error",
        param: null,
        code: "stream_interrupted",
      },
    });
    expect(outcomes).toEqual(["interrupted"]);
  });

  it("ends with an error event when the upstream connection fails mid-stream", async () => {
    const { relay: r, outcomes } = relay();
    const out = await collect(relaySse(upstream([content("a")], true), r, () => {}));
    expect(out).toContain('"code":"stream_interrupted"');
    expect(outcomes).toEqual(["interrupted"]);
  });

  it("passes malformed chunks through without failing, and counts what it can", async () => {
    const parts = [
      "data: null\n\n",
      chunk({ choices: [null, { index: 0, delta: { content: "ok", tool_calls: [null] } }] }),
      chunk({ choices: [{ index: 0, delta: null }] }),
      finish,
      "data: [DONE]\n\n",
    ];
    const { relay: r, outcomes } = relay();
    expect(await collect(relaySse(upstream(parts), r, () => {}))).toBe(parts.join(""));
    expect(r.deliveredText).toBe("ok");
    expect(outcomes).toEqual(["completed"]);
  });

  it("adds [DONE] for upstreams that finish without it", async () => {
    const { relay: r, outcomes } = relay();
    const out = await collect(relaySse(upstream([content("a"), finish]), r, () => {}));
    expect(out.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(outcomes).toEqual(["completed"]);
  });

  it("aborts the upstream and reports client_closed when the client goes away", async () => {
    const abort = vi.fn();
    const { relay: r, outcomes } = relay();
    const body = relaySse(upstream([content("a"), content("b"), "data: [DONE]\n\n"]), r, abort);
    const iterator = body[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.return?.();
    expect(abort).toHaveBeenCalledOnce();
    expect(outcomes).toEqual(["client_closed"]);
    expect(r.deliveredText).toBe("a");
  });

  it("still reports client_closed when the client leaves before reading anything", async () => {
    const abort = vi.fn();
    const { relay: r, outcomes } = relay();
    const body = relaySse(upstream([content("a"), "data: [DONE]\n\n"]), r, abort);
    await body[Symbol.asyncIterator]().return?.();
    expect(abort).toHaveBeenCalledOnce();
    expect(outcomes).toEqual(["client_closed"]);
  });
});

describe("relayBytes", () => {
  it("reports client_closed when the client leaves before the first chunk", async () => {
    const outcomes: StreamOutcome[] = [];
    const body = relayBytes(
      upstream(["abc"]),
      () => {},
      (outcome) => outcomes.push(outcome),
    );
    await body[Symbol.asyncIterator]()
      .throw?.(new Error("client gone"))
      .catch(() => {});
    expect(outcomes).toEqual(["client_closed"]);
  });

  it("reports completed once after relaying every chunk", async () => {
    const outcomes: StreamOutcome[] = [];
    const body = relayBytes(
      upstream(["ab", "c"]),
      () => {},
      (outcome) => outcomes.push(outcome),
    );
    expect(await collect(body)).toBe("abc");
    expect(outcomes).toEqual(["completed"]);
  });
});

describe("Reduce-Stream (seed 002)", () => {
  it("turns chat chunks into arrays of the choices' deltas, as the seed shows", async () => {
    const delta = (d: Record<string, unknown>, finish: string | null = null) =>
      chunk({ choices: [{ index: 0, delta: d, finish_reason: finish }] });
    const parts = [
      delta({ role: "assistant" }),
      delta({ content: "花开" }),
      delta({ content: "花谢" }),
      delta({}, "stop"),
      usage,
      "data: [DONE]\n\n",
    ];
    const { relay: r } = relay({ reduce: true, stripUsage: true });
    const out = await collect(relaySse(upstream(parts), r, () => {}));
    expect(out).toBe(
      'data: [{"role":"assistant"}]\n\ndata: [{"content":"花开"}]\n\ndata: [{"content":"花谢"}]\n\ndata: [{}]\n\ndata: [DONE]\n\n',
    );
    expect(r.usage?.total_tokens).toBe(5);
  });

  it("leaves out chunks without choices, even a usage chunk the client asked for", async () => {
    const parts = [
      chunk({ choices: [], prompt_filter_results: [{ prompt_index: 0 }] }),
      content("hi"),
      usage,
      "data: [DONE]\n\n",
    ];
    const { relay: r } = relay({ reduce: true, stripUsage: false });
    const out = await collect(relaySse(upstream(parts), r, () => {}));
    expect(out).toBe('data: [{"content":"hi"}]\n\ndata: [DONE]\n\n');
    expect(r.usage?.total_tokens).toBe(5);
  });

  it("turns completion chunks into arrays of texts", async () => {
    const text = (t: string) =>
      `data: ${JSON.stringify({ id: "cmpl-1", object: "text_completion", choices: [{ text: t, index: 0, logprobs: null, finish_reason: null }] })}\n\n`;
    const r = new CompletionStreamRelay({ kind: "text", stripUsage: true, reduce: true });
    const out = await collect(
      relaySse(upstream([text("\n"), text("\n"), text(""), "data: [DONE]\n\n"]), r, () => {}),
    );
    // The seed's example, exactly.
    expect(out).toBe('data: ["\\n"]\n\ndata: ["\\n"]\n\ndata: [""]\n\ndata: [DONE]\n\n');
    expect(r.deliveredText).toBe("\n\n");
  });
});

describe("idle upstreams", () => {
  it("ends a stream whose upstream goes silent with an error event, and aborts it", async () => {
    let abort!: () => void;
    const silent = (async function* () {
      yield encoder.encode(content("a"));
      await new Promise((_, reject) => {
        abort = () => reject(new Error("aborted"));
      });
    })();
    const { relay: r, outcomes } = relay();
    const out = await collect(relaySse(silent, r, () => abort(), { idleMs: 50 }));
    expect(out).toContain("sent nothing for 0.05 s");
    expect(outcomes).toEqual(["interrupted"]);
  });

  it("counts the idle limit from each chunk: a stream longer than it, never silent as long, is whole", async () => {
    const parts = Array.from({ length: 15 }, (_, i) => content(String(i)));
    let aborted = false;
    const steady = (async function* () {
      for (const part of parts) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (aborted) throw new Error("aborted");
        yield encoder.encode(part);
      }
      yield encoder.encode(finish);
      yield encoder.encode("data: [DONE]\n\n");
    })();
    const { relay: r, outcomes } = relay();
    const started = performance.now();
    const out = await collect(
      relaySse(
        steady,
        r,
        () => {
          aborted = true;
        },
        { idleMs: 200 },
      ),
    );
    // Longer than one idle limit in all, so the limit was moved at each chunk.
    expect(performance.now() - started).toBeGreaterThan(200);
    expect(out.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(outcomes).toEqual(["completed"]);
  });
});

describe("upstreams that reason before they answer", () => {
  /** Sends `before`, stays silent for `silentMs`, then sends `after`; fails when aborted. */
  function reasoner(before: string[], silentMs: number, after: string[]) {
    let abort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      abort = () => reject(new Error("aborted"));
    });
    aborted.catch(() => {});
    const source = (async function* () {
      for (const part of before) yield encoder.encode(part);
      await Promise.race([new Promise((resolve) => setTimeout(resolve, silentMs)), aborted]);
      for (const part of after) yield encoder.encode(part);
    })();
    return { source, abort: () => abort() };
  }
  const role = chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] });

  it("is not idle while it has not begun: keep-alive comments go out, then the answer", async () => {
    const { source, abort } = reasoner([role], 200, [content("Hi"), finish, "data: [DONE]\n\n"]);
    const { relay: r, outcomes } = relay();
    const out = await collect(
      relaySse(source, r, abort, { idleMs: 50, firstTokenMs: 5_000, keepAliveMs: 20 }),
    );
    expect(out.startsWith(role)).toBe(true);
    expect(out.slice(role.length, out.indexOf("data: ", role.length))).toMatch(
      /^(: keep-alive\n\n)+$/,
    );
    expect(out.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(outcomes).toEqual(["completed"]);
    expect(r.firstTokenAt).toBeDefined();
  });

  it("is cut off when its first token does not come in time, and says so", async () => {
    const { source, abort } = reasoner([role], 10_000, [content("late")]);
    const { relay: r, outcomes } = relay();
    const out = await collect(relaySse(source, r, abort, { idleMs: 5_000, firstTokenMs: 50 }));
    expect(out).toContain("did not begin its answer within 0.05 s");
    expect(outcomes).toEqual(["interrupted"]);
    expect(r.firstTokenAt).toBeUndefined();
  });

  it("once it has begun, the idle limit applies", async () => {
    const { source, abort } = reasoner([content("a")], 10_000, [content("b")]);
    const { relay: r, outcomes } = relay();
    const out = await collect(relaySse(source, r, abort, { idleMs: 50, firstTokenMs: 60_000 }));
    expect(out).toContain("sent nothing for 0.05 s");
    expect(outcomes).toEqual(["interrupted"]);
  });

  it("records reasoning sent as text apart from the answer", async () => {
    const thinking = chunk({
      choices: [{ index: 0, delta: { reasoning_content: "Let me think." }, finish_reason: null }],
    });
    const { relay: r } = relay();
    await collect(relaySse(upstream([thinking, content("Yes."), finish]), r, () => {}));
    expect(r.deliveredReasoning).toBe("Let me think.");
    expect(r.deliveredText).toBe("Yes.");
  });
});
