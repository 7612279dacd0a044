import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, demoTokens, startDemoUpstream } from "../../infra/local/demo-upstream";

const KEY = "sk-demo-test";
let upstream: DemoUpstream;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: KEY });
});

afterAll(() => upstream.close());

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by `expect`
type Loose = any;

function post(body: unknown, key = KEY) {
  return fetch(`${upstream.baseUrl}/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The named events of a Responses stream: each block's `event:` and its parsed `data:`. */
function namedEvents(text: string): { event: string; data: Loose }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const [eventLine = "", dataLine = ""] = block.split("\n");
      return { event: eventLine.slice("event: ".length), data: JSON.parse(dataLine.slice(6)) };
    });
}

describe("demo upstream: Responses API", () => {
  it("answers a plain response with usage whose total adds up", async () => {
    const res = await post({ model: "gpt-4o-mini", input: "hello there" });
    expect(res.status).toBe(200);
    const body: Loose = await res.json();
    expect(body.object).toBe("response");
    expect(body.id).toMatch(/^resp-/);
    expect(body.output[0].content[0].text).toContain("You said: hello there");
    const u = body.usage;
    expect(u.input_tokens_details.cached_tokens).toBe(0);
    expect(u.output_tokens_details.reasoning_tokens).toBe(0);
    expect(u.output_tokens).toBe(demoTokens(body.output[0].content[0].text).length);
    expect(u.total_tokens).toBe(u.input_tokens + u.output_tokens);
  });

  it("streams named events with a monotonic sequence_number and no [DONE]", async () => {
    const res = await post({
      model: "gpt-4o-mini",
      input: "stream me",
      stream: true,
      reasoning: { effort: "low" },
    });
    const text = await res.text();
    expect(text).not.toContain("[DONE]");
    const events = namedEvents(text);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    for (const e of events) expect(e.event).toBe(e.data.type);
    expect(events[0]?.event).toBe("response.created");
    const last = events.at(-1);
    expect(last?.event).toBe("response.completed");
    expect(last?.data.response.output.map((i: Loose) => i.type)).toEqual(["reasoning", "message"]);
    const deltas = events.filter((e) => e.event === "response.output_text.delta");
    const said = deltas.map((e) => e.data.delta).join("");
    expect(said).toBe(last?.data.response.output[1].content[0].text);
    const usage = last?.data.response.usage;
    expect(usage.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBe(usage.output_tokens_details.reasoning_tokens + deltas.length);
  });

  it("calls the function tool when asked, and quotes the tool's output after", async () => {
    const tools = [
      {
        type: "function",
        name: "lookup",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    ];
    const first: Loose = await (
      await post({ model: "gpt-4o-mini", input: "please use the tool", tools })
    ).json();
    const callItem = first.output[0];
    expect(callItem).toMatchObject({
      type: "function_call",
      name: "lookup",
      arguments: '{"city":"sluice"}',
    });
    const second: Loose = await (
      await post({
        model: "gpt-4o-mini",
        tools,
        input: [
          { role: "user", content: "please use the tool" },
          callItem,
          { type: "function_call_output", call_id: callItem.call_id, output: "sunny" },
        ],
      })
    ).json();
    expect(second.output[0].content[0].text).toBe("The tool said: sunny");
  });

  it("runs Codex's exec_command on USE_SHELL, answers a tool's output only in its own turn, and encrypts reasoning when included", async () => {
    const tools = [
      { type: "function", name: "write_stdin", parameters: { type: "object", properties: {} } },
      {
        type: "function",
        name: "exec_command",
        parameters: { type: "object", properties: { cmd: { type: "string" } } },
      },
    ];
    const ask = { role: "user", content: "USE_SHELL now" };
    const first: Loose = await (
      await post({
        model: "gpt-5-codex",
        input: [ask],
        tools,
        include: ["reasoning.encrypted_content"],
      })
    ).json();
    const [reasoning, call] = first.output;
    expect(reasoning.type).toBe("reasoning");
    expect(typeof reasoning.encrypted_content).toBe("string");
    expect(call).toMatchObject({
      type: "function_call",
      name: "exec_command",
      arguments: JSON.stringify({ cmd: "echo hello-from-tool" }),
    });
    const output = { type: "function_call_output", call_id: call.call_id, output: "hi" };
    const answered: Loose = await (
      await post({ model: "gpt-4o-mini", tools, input: [ask, call, output] })
    ).json();
    expect(answered.output[0].content[0].text).toBe("The tool said: hi");
    // A later user message is answered itself, the earlier tool turn being history.
    const later: Loose = await (
      await post({
        model: "gpt-4o-mini",
        tools,
        input: [ask, call, output, { role: "user", content: "and now?" }],
      })
    ).json();
    expect(later.output[0].content[0].text).toBe(
      "This is sluice's demo upstream. You said: and now?",
    );
    // Without the include, no encrypted_content.
    const plain: Loose = await (await post({ model: "gpt-5-codex", input: "hi" })).json();
    expect(plain.output[0]).not.toHaveProperty("encrypted_content");
  });

  it("reports a repeated long prefix as cached tokens", async () => {
    const long = Array.from({ length: 1200 }, (_, i) => `w${i}`).join(" ");
    const first: Loose = await (await post({ model: "gpt-4o", input: long })).json();
    const again: Loose = await (await post({ model: "gpt-4o", input: `${long} more` })).json();
    expect(first.usage.input_tokens_details.cached_tokens).toBe(0);
    expect(again.usage.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024);
  });

  it("stores responses for GET and DELETE, refuses a wrong key, fails on request", async () => {
    const made: Loose = await (await post({ model: "gpt-4o-mini", input: "keep me" })).json();
    const url = `${upstream.baseUrl}/responses/${made.id}`;
    const headers = { authorization: `Bearer ${KEY}` };
    expect(await (await fetch(url, { headers })).json()).toEqual(made);
    const deleted: Loose = await (await fetch(url, { method: "DELETE", headers })).json();
    expect(deleted.deleted).toBe(true);
    expect((await fetch(url, { headers })).status).toBe(404);
    expect((await post({ model: "gpt-4o-mini", input: "x" }, "sk-wrong")).status).toBe(401);
    const failed = await post({ model: "gpt-4o-mini", input: "please fail with 400" });
    expect(failed.status).toBe(400);
    expect(((await failed.json()) as Loose).error.type).toBe("invalid_request_error");
  });
});
