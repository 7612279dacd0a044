import { describe, expect, it } from "vitest";
import { type SseEvent, SseParser } from "../../shared/stream/sse";

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `parts` one network chunk at a time and collects every event. */
function parse(...parts: (string | Uint8Array)[]): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (const part of parts)
    events.push(...parser.push(typeof part === "string" ? bytes(part) : part));
  events.push(...parser.end());
  return events;
}

describe("SseParser", () => {
  it("reads data with and without the space after the colon", () => {
    expect(parse('data: {"a":1}\n\ndata:{"b":2}\n\n').map((e) => e.data)).toEqual([
      '{"a":1}',
      '{"b":2}',
    ]);
  });

  it("joins several events that arrive in one network chunk", () => {
    const events = parse("data: one\n\ndata: two\n\ndata: [DONE]\n\n");
    expect(events.map((e) => e.data)).toEqual(["one", "two", "[DONE]"]);
  });

  it("reassembles an event split across network chunks, at any byte", () => {
    const text = 'data: {"content":"héllo"}\n\ndata: [DONE]\n\n';
    const all = bytes(text);
    for (let cut = 1; cut < all.length; cut++) {
      const events = parse(all.subarray(0, cut), all.subarray(cut));
      expect(events.map((e) => e.data)).toEqual(['{"content":"héllo"}', "[DONE]"]);
    }
  });

  it("decodes a multi-byte character split between chunks", () => {
    const all = bytes("data: 你好\n\n");
    const events = parse(all.subarray(0, 8), all.subarray(8));
    expect(events[0]?.data).toBe("你好");
  });

  it("ignores comments but keeps them in the raw text, so keep-alives pass through", () => {
    const events = parse(": keep-alive\n\ndata: x\n: note\n\n");
    expect(events).toEqual([
      { raw: ": keep-alive\n\n" },
      { data: "x", raw: "data: x\n: note\n\n" },
    ]);
  });

  it("joins multi-line data with newlines and reads event and id fields", () => {
    const [event] = parse("event: error\nid: 7\ndata: line one\ndata: line two\n\n");
    expect(event).toEqual({
      event: "error",
      id: "7",
      data: "line one\nline two",
      raw: "event: error\nid: 7\ndata: line one\ndata: line two\n\n",
    });
  });

  it("accepts CRLF and CR line endings, including a CRLF split between chunks", () => {
    expect(parse("data: a\r\n\r\ndata: b\r\rdata: c\n\n").map((e) => e.data)).toEqual([
      "a",
      "b",
      "c",
    ]);
    expect(parse("data: a\r", "\n\r\n").map((e) => e.data)).toEqual(["a"]);
  });

  it("keeps each event's raw text exactly as received", () => {
    const text = 'data: {"x": 1}\r\n\r\ndata:[DONE]\n\n';
    expect(
      parse(text)
        .map((e) => e.raw)
        .join(""),
    ).toBe(text);
  });

  it("recognises [DONE] exactly", () => {
    expect(parse("data: [DONE]\n\n")[0]?.data).toBe("[DONE]");
  });

  it("flushes a final event that was not followed by a blank line", () => {
    expect(parse("data: one\n\ndata: [DONE]").map((e) => e.data)).toEqual(["one", "[DONE]"]);
    expect(parse("data: one\n\ndata: last\n").map((e) => e.data)).toEqual(["one", "last"]);
  });

  it("returns nothing for an event that is not complete yet", () => {
    const parser = new SseParser();
    expect(parser.push(bytes("data: partial"))).toEqual([]);
    expect(parser.push(bytes("\n"))).toEqual([]);
    expect(parser.push(bytes("\n"))).toEqual([{ data: "partial", raw: "data: partial\n\n" }]);
  });
});
