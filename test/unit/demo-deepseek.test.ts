import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";

/** The DeepSeek fixture, driven by the official openai SDK as DeepSeek's docs show it. */

const KEY = "sk-deepseek-demo";
let upstream: DemoUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startDemoUpstream({
    apiKey: KEY,
    deepseekModels: ["deepseek-v4-flash", "deepseek-chat", "kimi-k2-demo"],
  });
  client = new OpenAI({ apiKey: KEY, baseURL: `${upstream.origin}/deepseek`, maxRetries: 0 });
});

afterAll(() => upstream.close());

const BASH: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "Bash",
    description: "Runs a command.",
    parameters: { type: "object", properties: { command: { type: "string" } } },
  },
};

/** The raw chunks of a streamed call, and whether [DONE] ended it. */
async function streamed(body: Record<string, unknown>) {
  const response = await fetch(`${upstream.origin}/deepseek/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ stream: true, stream_options: { include_usage: true }, ...body }),
  });
  const data = (await response.text())
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice(6));
  return {
    done: data.at(-1) === "[DONE]",
    chunks: data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d)),
  };
}

async function rejection(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

describe("DeepSeek's chat API", () => {
  it("streams reasoning_content before content, an empty finish delta, then a choices:[] usage chunk and [DONE]", async () => {
    const { chunks, done } = await streamed({
      model: "deepseek-v4-flash",
      messages: [{ role: "user", content: "Hi there" }],
    });
    expect(done).toBe(true);
    const deltas = chunks.slice(0, -1).map((c) => c.choices[0].delta);
    const firstContent = deltas.findIndex((d) => typeof d.content === "string" && d.content !== "");
    const lastReasoning = deltas.findLastIndex(
      (d) => typeof d.reasoning_content === "string" && d.reasoning_content !== "",
    );
    expect(lastReasoning).toBeGreaterThan(0);
    expect(firstContent).toBeGreaterThan(lastReasoning);
    const finish = chunks.at(-2);
    expect(finish.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({
      prompt_tokens: expect.any(Number),
      prompt_cache_hit_tokens: 0,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: expect.any(Number) },
    });
    expect(usage.usage.prompt_cache_miss_tokens).toBe(usage.usage.prompt_tokens);
    expect(usage.usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("thinks only when asked on deepseek-chat, and not when disabled", async () => {
    const plain = await client.chat.completions.create({
      model: "deepseek-chat",
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(plain.choices[0]?.message).not.toHaveProperty("reasoning_content");
    const asked = await client.chat.completions.create({
      model: "deepseek-chat",
      messages: [{ role: "user", content: "Hi" }],
      thinking: { type: "enabled" },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(asked.choices[0]?.message).toHaveProperty("reasoning_content");
    const off = await client.chat.completions.create({
      model: "deepseek-v4-flash",
      messages: [{ role: "user", content: "Hi" }],
      thinking: { type: "disabled" },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(off.choices[0]?.message).not.toHaveProperty("reasoning_content");
  });

  it("streams parallel tool calls with interleaved fragments that only their index tells apart", async () => {
    const { chunks } = await streamed({
      model: "deepseek-v4-flash",
      tools: [BASH],
      messages: [{ role: "user", content: "PARALLEL" }],
    });
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    const order = fragments.map((f: { index: number }) => f.index);
    // Both calls open before either's arguments, and the fragments alternate.
    expect(order.slice(0, 2)).toEqual([0, 1]);
    expect(order.slice(2, 4)).toEqual([0, 1]);
    const args = [0, 1].map((i) =>
      fragments
        .filter((f: { index: number }) => f.index === i)
        .map((f: { function: { arguments: string } }) => f.function.arguments)
        .join(""),
    );
    expect(args.map((a) => JSON.parse(a))).toEqual([
      { command: "echo one" },
      { command: "echo 'twó 😀'" },
    ]);
    expect(fragments[0].id).toMatch(/^call_00_/);
    expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
  });

  it("gives Kimi's tool ids for a kimi model", async () => {
    const answer = await client.chat.completions.create({
      model: "kimi-k2-demo",
      tools: [BASH],
      messages: [{ role: "user", content: "USE_BASH" }],
    });
    expect(answer.choices[0]?.message.tool_calls?.[0]?.id).toBe("functions.Bash:0");
  });

  it("wants reasoning_content back on every assistant message of a tool-calling turn", async () => {
    const first = await client.chat.completions.create({
      model: "deepseek-v4-flash",
      tools: [BASH],
      messages: [{ role: "user", content: "USE_BASH" }],
    });
    const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage & {
      reasoning_content: string;
    };
    const call = message.tool_calls?.[0] as OpenAI.ChatCompletionMessageToolCall;
    const history = (assistant: Record<string, unknown>) => [
      { role: "user", content: "USE_BASH" },
      assistant,
      { role: "tool", tool_call_id: call.id, content: "hello-from-tool" },
    ];
    const withIt = await client.chat.completions.create({
      model: "deepseek-v4-flash",
      tools: [BASH],
      messages: history(message as never) as never,
    });
    expect(withIt.choices[0]?.message.content).toBe("tool done: hello-from-tool");
    const { reasoning_content: _, ...without } = message;
    const refused = await rejection(
      client.chat.completions.create({
        model: "deepseek-v4-flash",
        tools: [BASH],
        messages: history(without) as never,
      }),
    );
    expect(refused.status).toBe(400);
    expect(refused.message).toContain(
      "The `reasoning_content` in the thinking mode must be passed back to the API.",
    );
    // An empty string is passed back too; a turn without tool calls needs none.
    expect(
      (
        await client.chat.completions.create({
          model: "deepseek-v4-flash",
          tools: [BASH],
          messages: history({ ...without, reasoning_content: "" }) as never,
        })
      ).choices,
    ).toHaveLength(1);
    expect(
      (
        await client.chat.completions.create({
          model: "deepseek-v4-flash",
          messages: [
            { role: "user", content: "a" },
            { role: "assistant", content: "b" },
            { role: "user", content: "c" },
          ],
        })
      ).choices,
    ).toHaveLength(1);
    // Not in non-thinking mode.
    expect(
      (
        await client.chat.completions.create({
          model: "deepseek-chat",
          tools: [BASH],
          messages: history(without) as never,
        })
      ).choices,
    ).toHaveLength(1);
  });

  it("calls a named tool on CALL <tool>: <text>, and Codex's exec_command on USE_SHELL and PARALLEL", async () => {
    const tool = (name: string, property: string): OpenAI.ChatCompletionTool => ({
      type: "function",
      function: {
        name,
        parameters: { type: "object", properties: { [property]: { type: "string" } } },
      },
    });
    const tools = [tool("exec_command", "cmd"), tool("apply_patch", "input")];
    const callsOf = async (content: string) => {
      const answer = await client.chat.completions.create({
        model: "deepseek-v4-flash",
        messages: [{ role: "user", content }],
        tools,
      });
      return (answer.choices[0]?.message.tool_calls ?? []).map((c) =>
        c.type === "function" ? [c.function.name, JSON.parse(c.function.arguments)] : [],
      );
    };
    expect(await callsOf('CALL apply_patch: *** Begin\n+"x"')).toEqual([
      ["apply_patch", { input: '*** Begin\n+"x"' }],
    ]);
    expect(await callsOf("USE_SHELL")).toEqual([["exec_command", { cmd: "echo hello-from-tool" }]]);
    expect(await callsOf("PARALLEL")).toEqual([
      ["exec_command", { cmd: "echo one" }],
      ["exec_command", { cmd: "echo 'twó 😀'" }],
    ]);
    // A tool it was not offered is not called.
    expect(await callsOf("CALL nowhere: x")).toEqual([]);
  });

  it("answers response_format as DeepSeek does: json_object (with 'json' in the prompt), never json_schema", async () => {
    const json = await client.chat.completions.create({
      model: "deepseek-v4-flash",
      messages: [{ role: "user", content: "Reply in JSON" }],
      response_format: { type: "json_object" },
    });
    expect(JSON.parse(json.choices[0]?.message.content ?? "")).toEqual({ said: "Reply in JSON" });
    const unsaid = await rejection(
      client.chat.completions.create({
        model: "deepseek-v4-flash",
        messages: [{ role: "user", content: "Reply" }],
        response_format: { type: "json_object" },
      }),
    );
    expect(unsaid.status).toBe(400);
    expect(unsaid.message).toContain("must contain the word 'json'");
    const schema = await rejection(
      client.chat.completions.create({
        model: "deepseek-v4-flash",
        messages: [{ role: "user", content: "Reply in JSON" }],
        response_format: {
          type: "json_schema",
          json_schema: { name: "a", schema: { type: "object", properties: {} } },
        },
      }),
    );
    expect(schema.status).toBe(400);
    expect(schema.message).toContain("This response_format type is unavailable now");
  });

  it("refuses cache_control, names the model it does not know, and checks the key", async () => {
    const marked = await rejection(
      client.chat.completions.create({
        model: "deepseek-v4-flash",
        messages: [
          {
            role: "user",
            content: [
              {
                type: "text",
                text: "hi",
                cache_control: { type: "ephemeral", ttl: "1h" },
              } as never,
            ],
          },
        ],
      }),
    );
    expect([marked.status, marked.message]).toEqual([
      422,
      expect.stringContaining("messages[0].content[0]: unknown field `cache_control`"),
    ]);
    const unknown = await rejection(
      client.chat.completions.create({
        model: "deepseek-v9",
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    expect([unknown.status, unknown.message]).toEqual([
      400,
      expect.stringContaining("Model Not Exist"),
    ]);
    const key = await rejection(
      new OpenAI({
        apiKey: "sk-wrong",
        baseURL: `${upstream.origin}/deepseek`,
        maxRetries: 0,
      }).chat.completions.create({
        model: "deepseek-chat",
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    expect(key.status).toBe(401);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([
      "deepseek-v4-flash",
      "deepseek-chat",
      "kimi-k2-demo",
    ]);
  });

  it("reads a repeated prefix from its cache in 64-token units", async () => {
    const context = Array.from({ length: 400 }, (_, i) => `fact${i}`).join(" ");
    const ask = (question: string) =>
      client.chat.completions.create({
        model: "deepseek-chat",
        messages: [
          { role: "system", content: context },
          { role: "user", content: question },
        ],
      });
    const first = (await ask("first")).usage as unknown as Record<string, number>;
    expect(first.prompt_cache_hit_tokens).toBe(0);
    const usage = (await ask("second question")).usage;
    const second = usage as unknown as Record<string, number>;
    const hit = second.prompt_cache_hit_tokens as number;
    expect(hit).toBeGreaterThan(0);
    expect(hit % 64).toBe(0);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(hit);
    expect(hit + (second.prompt_cache_miss_tokens as number)).toBe(second.prompt_tokens);
  });
});
