/**
 * The tokenizer stays off the path of every call whose upstream reports usage: its module is
 * imported, and an encoding's ranks read, only when a call must be estimated. The module of
 * split patterns and the reading of files are wrapped so that the test sees when (and whether)
 * each happens; the calls run through the whole API in-process.
 */
import { describe, expect, it, vi } from "vitest";

const imported = vi.hoisted(() => ({ patterns: 0, o200k: 0, cl100k: 0 }));

vi.mock("gpt-tokenizer/encodingParams/constants", async (original) => {
  imported.patterns++;
  return await original();
});
vi.mock("node:fs/promises", async (original) => {
  const fs = await original<typeof import("node:fs/promises")>();
  const readFile = ((path: string, ...rest: never[]) => {
    const ranks = /(o200k|cl100k)_base\.tiktoken$/.exec(String(path));
    if (ranks) imported[ranks[1] as "o200k" | "cl100k"]++;
    return (fs.readFile as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFile;
  return { ...fs, readFile, default: { ...fs, readFile } };
});

const REPLY = "Holds are released by the janitor once their deadline has passed.";

const completion = (usage: boolean) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: REPLY }, finish_reason: "stop" }],
  ...(usage && { usage: { prompt_tokens: 11, completion_tokens: 13, total_tokens: 24 } }),
});

const chunk = (fields: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", ...fields })}\n\n`;

const stream = (usage: boolean) => [
  chunk({
    choices: [{ index: 0, delta: { role: "assistant", content: REPLY }, finish_reason: null }],
  }),
  chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
  ...(usage
    ? [
        chunk({
          choices: [],
          usage: { prompt_tokens: 11, completion_tokens: 13, total_tokens: 24 },
        }),
      ]
    : []),
  "data: [DONE]\n\n",
];

const request = (streamed: boolean) => ({
  model: "gpt-4o-mini",
  stream: streamed,
  messages: [{ role: "user", content: "Who releases expired holds?" }],
});

describe("the tokenizer is imported only for a call that needs an estimate", () => {
  it("is not imported by calls whose upstream reports usage, plain or streamed, and is by the first that does not", async () => {
    // Test files in a worker share modules (vitest.config.ts): one before this may have loaded
    // the tokenizer already. A fresh module graph sees this test's imports only.
    vi.resetModules();
    const { inProcessApi } = await import("../fixtures/core");
    let withUsage = true;
    const api = inProcessApi(["gpt-4o-mini"], (body) =>
      body.stream ? { events: stream(withUsage) } : { json: completion(withUsage) },
    );
    for (const streamed of [false, true, false, true]) {
      const response = await api.call("/v1/chat/completions", request(streamed));
      expect(response.status).toBe(200);
    }
    expect(api.logLines.map((l) => [l.promptTokens, l.completionTokens])).toEqual(
      new Array(4).fill([11, 13]),
    );
    expect(imported).toEqual({ patterns: 0, o200k: 0, cl100k: 0 });

    withUsage = false;
    for (const streamed of [false, true]) {
      const response = await api.call("/v1/chat/completions", request(streamed));
      expect(response.status).toBe(200);
    }
    // Loaded once, for the model's family (o200k_base), and the estimate is the real count
    // (gpt-tokenizer's): the cookbook's 3 per message + role + content, and 3 priming the reply.
    expect(imported).toEqual({ patterns: 1, o200k: 1, cl100k: 0 });
    const { encode } = await vi.importActual<typeof import("gpt-tokenizer/encoding/o200k_base")>(
      "gpt-tokenizer/encoding/o200k_base",
    );
    const prompt = 3 + encode("user").length + encode("Who releases expired holds?").length + 3;
    expect(api.logLines.slice(4).map((l) => [l.promptTokens, l.completionTokens])).toEqual([
      [prompt, encode(REPLY).length],
      [prompt, encode(REPLY).length],
    ]);
    // Importing the API's modules afresh takes seconds on a busy machine.
  }, 60_000);
});
