import { describe, expect, it } from "vitest";
import { chatToMessages } from "../../shared/relay/bridges/chat-to-messages/index";
import { BridgedCompletionRelay } from "../../shared/stream/bridged-completion-stream";
import { CompletionStreamRelay } from "../../shared/stream/completion-stream";
import { relaySse, type StreamOutcome } from "../../shared/stream/relay-stream";

/**
 * A bridged chat stream through the relay: the channel's Messages events converted by the
 * chat → Messages bridge, then handled by the chat face's own relay as a chat upstream's.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const event = (data: Record<string, unknown>) =>
  `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
const START = event({
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    content: [],
    model: "claude-x",
    usage: { input_tokens: 9, cache_read_input_tokens: 4, output_tokens: 1 },
  },
});
const TEXT = [
  event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } }),
  event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "lo" } }),
  event({ type: "content_block_stop", index: 0 }),
];
const END = [
  event({
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 2 },
  }),
  event({ type: "message_stop" }),
];

async function* upstream(parts: string[], failAtEnd = false): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield encoder.encode(part);
  if (failAtEnd) throw new Error("socket hang up");
}

async function run(
  parts: string[],
  { failAtEnd = false, ...options }: { stripUsage: boolean; reduce?: boolean; failAtEnd?: boolean },
) {
  const outcomes: StreamOutcome[] = [];
  const converter = chatToMessages.stream({ model: "alias", options: { includeUsage: true } });
  const chat = new CompletionStreamRelay({ kind: "chat", ...options }, (o) => outcomes.push(o));
  let text = "";
  const body = relaySse(
    upstream(parts, failAtEnd),
    new BridgedCompletionRelay(converter, chat),
    () => {},
  );
  for await (const chunk of body) text += decoder.decode(chunk);
  return { text, outcomes, chat, converter };
}

const dataOf = (text: string) =>
  text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice(6));

describe("BridgedCompletionRelay", () => {
  it("the usage chunk is removed unless the client asked; the text is recorded; billed from the events", async () => {
    const stripped = await run([START, ...TEXT, ...END], { stripUsage: true });
    expect(stripped.outcomes).toEqual(["completed"]);
    expect(stripped.text).not.toContain('"usage"');
    expect(stripped.text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(stripped.chat.deliveredText).toBe("Hello");
    expect(stripped.chat.began).toBe(true);
    expect(stripped.converter.metered()).toEqual({
      inputTokens: 9,
      cachedInputTokens: 4,
      outputTokens: 2,
    });
    const kept = await run([START, ...TEXT, ...END], { stripUsage: false });
    const usage = JSON.parse(dataOf(kept.text).at(-2) ?? "");
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 2 });
  });

  it("Reduce-Stream: each chunk is its choices' deltas", async () => {
    const { text } = await run([START, ...TEXT, ...END], { stripUsage: true, reduce: true });
    const data = dataOf(text);
    expect(data.at(-1)).toBe("[DONE]");
    expect(data.slice(0, -1).map((d) => JSON.parse(d))).toEqual([
      [{ role: "assistant", content: "" }],
      [{ content: "Hel" }],
      [{ content: "lo" }],
      [{}],
    ]);
  });

  it.each([
    ["ends", false],
    ["fails", true],
  ])(
    "an upstream that %s early gets the chat error chunk once, and the stream is interrupted",
    async (_, fails) => {
      const { text, outcomes, converter } = await run([START, ...TEXT], {
        stripUsage: true,
        failAtEnd: fails,
      });
      expect(outcomes).toEqual(["interrupted"]);
      expect(text.match(/"error"/g)).toHaveLength(1);
      expect(text).toContain('"code":"stream_interrupted"');
      expect(text).not.toContain("[DONE]");
      // No message_delta: the answer's count is unknown, and the relay estimates it.
      expect(converter.metered()).toBeUndefined();
    },
  );
});
