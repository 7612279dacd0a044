import { describe, expect, it } from "vitest";
import { drained, readToEnd } from "../../shared/stream/drained";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A source of `count` chunks, recording how many were read from it. */
function counted(count: number, failAt?: number) {
  const read: number[] = [];
  async function* source() {
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (i === failAt) throw new Error("upstream cut");
      read.push(i);
      yield encoder.encode(`${i};`);
    }
  }
  return { source: source(), read };
}

describe("drained: a stream read to its end whoever reads it", () => {
  it("gives the client every chunk in order", async () => {
    const { source } = counted(20);
    let text = "";
    for await (const chunk of drained(source).client) text += decoder.decode(chunk);
    expect(text).toBe(Array.from({ length: 20 }, (_, i) => `${i};`).join(""));
  });

  it("goes on reading the source after the client leaves", async () => {
    const { source, read } = counted(20);
    const { client, done } = drained(source);
    for await (const _chunk of client) break;
    await done;
    expect(read).toHaveLength(20);
  });

  it("passes the source's failure to a client still reading", async () => {
    const { source, read } = counted(20, 5);
    const { client, done } = drained(source);
    const reading = (async () => {
      for await (const _chunk of client) {
        // read on
      }
    })();
    await expect(reading).rejects.toThrow("upstream cut");
    await done;
    expect(read).toHaveLength(5);
  });

  it("readToEnd reads a source nobody is given", async () => {
    const { source, read } = counted(7);
    await readToEnd(source);
    expect(read).toHaveLength(7);
  });
});
