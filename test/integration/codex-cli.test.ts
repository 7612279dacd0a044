import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type DemoUpstream, startDemoUpstream } from "../../infra/local/demo-upstream";
import {
  CODEX_VERSION,
  type CodexCli,
  codexCli,
  codexEnv,
  codexHome,
  installedOrSkip,
  runCodex,
} from "../fixtures/cli-cache";
import { listenOnLoopback } from "../fixtures/loopback-server";
import { textTokenPrice } from "../fixtures/provider/prices";
import { type Recorded, recordingProxy } from "../fixtures/recording-proxy";
import { uniqueModel } from "../fixtures/upstream";
import {
  admin,
  createUserWithKey,
  expectResponsesUsageBilled,
  type Json,
  setPrices,
  settledLogLine,
  sluice,
} from "./support";

/**
 * The real Codex CLI, installed from npm at a pinned version outside the project's dependencies
 * (test/fixtures/cli-cache.ts): that it installs and runs here, offline, and that the fixture's
 * config makes `codex exec` send its turn to `{base_url}/responses` with the key as Bearer, and
 * nothing anywhere else; then whole Codex sessions through sluice with only a model provider
 * block: to a Responses-native channel (passed through byte for byte) and to a DeepSeek-style
 * chat-only one (through the Responses → chat bridge).
 */

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body?: { model?: string; stream?: boolean; input?: unknown[] };
}

/**
 * The least of the Responses API that `codex exec` needs, recording every request: a POST to
 * `/v1/responses` streams one message in the documented event sequence (created, in_progress,
 * the item and its text part, completed with usage); a WebSocket upgrade gets 426; a proxy's
 * CONNECT (an outside call, when Codex is told to use this as its proxy) gets 403.
 */
async function responsesStub(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = raw ? JSON.parse(raw) : undefined;
    seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
    if (req.method !== "POST" || req.url !== "/v1/responses") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "not here", type: "invalid_request_error" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    let sequence = 0;
    const send = (type: string, data: object) =>
      res.write(
        `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`,
      );
    const prompt = lastUserText(body?.input ?? []);
    const text = `stub heard: ${prompt}`;
    const id = `resp_${randomUUID()}`;
    const response = (status: string, output: object[], usage: object | null) => ({
      id,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      status,
      model: body?.model,
      output,
      usage,
    });
    const part = { type: "output_text", text, annotations: [] };
    const item = {
      id: `msg_${randomUUID()}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [part],
    };
    const at = { item_id: item.id, output_index: 0, content_index: 0 };
    send("response.created", { response: response("in_progress", [], null) });
    send("response.in_progress", { response: response("in_progress", [], null) });
    send("response.output_item.added", {
      output_index: 0,
      item: { ...item, status: "in_progress", content: [] },
    });
    send("response.content_part.added", { ...at, part: { ...part, text: "" } });
    send("response.output_text.delta", { ...at, delta: text, logprobs: [] });
    send("response.output_text.done", { ...at, text, logprobs: [] });
    send("response.content_part.done", { ...at, part });
    send("response.output_item.done", { output_index: 0, item });
    send("response.completed", {
      response: response("completed", [item], {
        input_tokens: Math.ceil(raw.length / 4),
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 4,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: Math.ceil(raw.length / 4) + 4,
      }),
    });
    res.end();
  });
  // Node hands WebSocket upgrades and proxy CONNECTs to these events, not to the handler above.
  server.on("upgrade", (req, socket) => {
    socket.on("error", () => {});
    seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    socket.end("HTTP/1.1 426 Upgrade Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
  server.on("connect", (req, socket) => {
    socket.on("error", () => {});
    seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
  });
  return { ...(await listenOnLoopback(server)), seen };
}

/** The text of the last user message in a Responses `input`. */
function lastUserText(input: unknown[]): string {
  const users = input.filter(
    (item): item is { content: { type: string; text?: string }[] } =>
      (item as { role?: string }).role === "user",
  );
  const content = users.at(-1)?.content ?? [];
  return content.map((part) => part.text ?? "").join("");
}

/**
 * One `codex exec` turn against the stub, with the stub also as Codex's HTTP(S) proxy for every
 * host but 127.0.0.1: a call to anywhere else shows up there as a CONNECT.
 */
async function execTurn(cli: CodexCli, options: { supportsWebsockets: boolean; prompt: string }) {
  const stub = await responsesStub();
  const model = `sluice-test-${randomUUID().slice(0, 8)}`;
  const home = await codexHome({
    baseUrl: `${stub.url}/v1`,
    model,
    supportsWebsockets: options.supportsWebsockets,
  });
  const apiKey = `sk-codex-${randomUUID()}`;
  try {
    const run = await runCodex(
      cli,
      ["exec", "--skip-git-repo-check", "--strict-config", options.prompt],
      {
        env: codexEnv({
          home,
          apiKey,
          extra: {
            HTTPS_PROXY: stub.url,
            HTTP_PROXY: stub.url,
            NO_PROXY: "127.0.0.1,localhost",
          },
        }),
      },
    );
    return { run, seen: stub.seen, model, apiKey };
  } finally {
    await home.remove();
    await stub.close();
  }
}

describe("Codex CLI", () => {
  it(`installs ${CODEX_VERSION} (or reuses it) and runs offline`, {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, codexCli);
    const home = await codexHome({ baseUrl: "http://127.0.0.1:9/v1", model: "unused" });
    try {
      const run = await runCodex(cli, ["--version"], {
        env: codexEnv({ home, apiKey: "sk-unused" }),
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(`codex-cli ${CODEX_VERSION}`);
      // Reused, not installed again.
      expect(await codexCli()).toEqual(cli);
    } finally {
      await home.remove();
    }
  });

  it("sends one streamed POST {base_url}/responses with the key as Bearer, and nothing else anywhere", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, codexCli);
    const prompt = `say ${randomUUID()}`;
    const { run, seen, model, apiKey } = await execTurn(cli, { supportsWebsockets: false, prompt });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`stub heard: ${prompt}`);
    // Its home is where Codex can set up its helper binaries (it refuses the temporary directory).
    expect(run.stderr).not.toMatch(/WARNING/);
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/responses"]);
    const [post] = seen;
    expect(post?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(post?.headers.accept).toBe("text/event-stream");
    expect(post?.body).toMatchObject({ model, stream: true });
  });

  it("with supports_websockets, first asks to upgrade GET {base_url}/responses and, answered 426, falls back to the POST", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, codexCli);
    const prompt = `say ${randomUUID()}`;
    const { run, seen, model, apiKey } = await execTurn(cli, { supportsWebsockets: true, prompt });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`stub heard: ${prompt}`);
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v1/responses",
      "POST /v1/responses",
    ]);
    const [upgrade, post] = seen;
    expect(upgrade?.headers).toMatchObject({
      upgrade: "websocket",
      authorization: `Bearer ${apiKey}`,
    });
    expect(post?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(post?.body).toMatchObject({ model, stream: true });
  });
});

/**
 * The provider fixture's list prices of gpt-5-mini (test/fixtures/provider/prices.json): what
 * the test's models cost in sluice, and what the expected charges are computed at. Reasoning is
 * billed at the output rate, as sluice's price list does when a price sets none.
 */
const LISTED = "gpt-5-mini";
/**
 * The price names the model's longest answer (gpt-5-mini's 128,000 in sluice's own list): with
 * none, sluice would add a `max_output_tokens` of the site's default to a body that has none,
 * and the native channel would not get Codex's bytes unchanged.
 */
const PRICE = { ...textTokenPrice(LISTED), default_max_tokens: 128_000 };

/**
 * A chat-only DeepSeek-style channel at `origin` (the fixture, or a proxy before it) with
 * Responses bridged, serving `model` as the fixture's `deepseek`, at PRICE.
 */
async function bridgedDeepSeekChannel(
  name: string,
  to: { origin: string; key: string; model: string; deepseek: string },
): Promise<void> {
  await admin("POST", "/api/channel", {
    type: "openai",
    name,
    base_url: `${to.origin}/deepseek`,
    key: to.key,
    models: [to.model],
    model_mapping: { [to.model]: to.deepseek },
    config: { responses: "bridge" },
  });
  await setPrices({ [to.model]: PRICE });
}

/** The events of a Responses SSE answer, in order. */
function responsesEvents(answer: string): Json[] {
  return answer
    .split("\n\n")
    .map((block) => block.split("\n").find((line) => line.startsWith("data: ")))
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line.slice(6)));
}

/** The usage of the answer's final `response.completed` (what Codex read). */
function completedUsage(answer: string): Json {
  const final = responsesEvents(answer).at(-1);
  expect(final?.type).toBe("response.completed");
  return final.response.usage;
}

/**
 * Every call's usage log line, found by the request id sluice answered it with, holds the
 * usage's tokens of each kind and costs them at the listed price.
 */
async function expectBilled(
  accessToken: string,
  model: string,
  calls: { exchange: Recorded; usage: Json }[],
): Promise<void> {
  for (const { exchange, usage } of calls) {
    const requestId = exchange.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    const line = await settledLogLine(accessToken, requestId as string);
    expect(line.status).toBe(200);
    expectResponsesUsageBilled(line, { model, usage, listed: LISTED });
  }
  // Not a test that passes for want of a cache hit or of reasoning: Codex's long prompt is
  // read from the cache on later calls, and every answer reasons first.
  expect(calls.some(({ usage }) => usage.input_tokens_details.cached_tokens > 0)).toBe(true);
  for (const { usage } of calls)
    expect(usage.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
}

interface Session {
  plain: string;
  tool: string;
  resumed: string;
  /** The POSTs to /v1/responses Codex made through sluice, in order, with sluice's answers. */
  posts: Recorded[];
}

/**
 * Three `codex exec` runs through sluice (behind a recording proxy), with only the model
 * provider block of codexHome: a plain answer, a turn that runs a shell command through
 * `exec_command` and reads its output, and `codex exec resume --last` continuing that turn's
 * thread. Codex 0.171 sends `store: false` and never `previous_response_id` over HTTP: a
 * continued thread is the whole history sent again, the earlier turns' reasoning items
 * (`encrypted_content`) and tool calls with their outputs included.
 */
async function codexSession(cli: CodexCli, model: string, apiKey: string): Promise<Session> {
  const proxy = await recordingProxy(sluice.url);
  const home = await codexHome({ baseUrl: `${proxy.url}/v1`, model });
  try {
    const env = codexEnv({ home, apiKey });
    const exec = async (...args: string[]) => {
      const run = await runCodex(cli, ["exec", "--skip-git-repo-check", ...args], { env });
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      return run.stdout.trim();
    };
    const plain = await exec("say hi");
    const tool = await exec("USE_SHELL, then tell me what it printed");
    const resumed = await exec("resume", "--last", "and now?");
    const posts = proxy.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => `${r.path} ${r.status}`)).toEqual(Array(4).fill("/v1/responses 200"));
    return { plain, tool, resumed, posts };
  } finally {
    await home.remove();
    await proxy.close();
  }
}

const bodyOf = (exchange: { raw: Buffer }) => JSON.parse(exchange.raw.toString("utf8")) as Json;

/** The Responses input items of these types, in order. */
const itemsOf = (body: Json, type: string) =>
  (body.input as Json[]).filter((item) => item.type === type);

/** What is the same of a Codex session on either channel: the answers and the history sent. */
function expectSession(session: Session): void {
  expect(session.plain).toBe("This is sluice's demo upstream. You said: say hi");
  // The command ran on this machine, and the model was given what it printed.
  expect(session.tool).toContain("hello-from-tool");
  expect(session.resumed).toContain("and now?");
  const bodies = session.posts.map(bodyOf);
  for (const body of bodies) {
    expect(body).toMatchObject({ stream: true, store: false });
    expect(body).not.toHaveProperty("previous_response_id");
  }
  const [, call, output, resumed] = bodies;
  expect(itemsOf(call, "function_call")).toEqual([]);
  // The second call of the tool turn: the exec_command call and its output.
  const [fc] = itemsOf(output, "function_call");
  expect(fc).toMatchObject({ name: "exec_command" });
  expect(JSON.parse(fc.arguments)).toEqual({ cmd: "echo hello-from-tool" });
  const [out] = itemsOf(output, "function_call_output");
  expect(out.call_id).toBe(fc.call_id);
  expect(JSON.stringify(out.output)).toContain("hello-from-tool");
  // Resumed: the tool turn's history again, its reasoning items echoed with encrypted_content.
  expect(itemsOf(resumed, "function_call")).toEqual([fc]);
  expect(itemsOf(resumed, "function_call_output")).toEqual([out]);
  const reasoning = itemsOf(resumed, "reasoning");
  expect(reasoning.length).toBeGreaterThanOrEqual(2);
  for (const item of reasoning) expect(typeof item.encrypted_content).toBe("string");
}

describe("Codex CLI through sluice", () => {
  it("on a Responses-native channel: plain, a shell tool turn and a resumed thread, passed through byte for byte and billed by kind", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, codexCli);
    const model = uniqueModel("gpt-5-codex");
    const channelKey = `sk-native-codex-${randomUUID().slice(0, 8)}`;
    const upstream: DemoUpstream = await startDemoUpstream({ apiKey: channelKey });
    try {
      await admin("POST", "/api/channel", {
        type: "openai",
        name: "responses-native fixture for Codex",
        base_url: upstream.baseUrl,
        key: channelKey,
        models: [model],
      });
      await setPrices({ [model]: PRICE });
      const user = await createUserWithKey();
      const session = await codexSession(cli, model, user.secret);
      expectSession(session);
      expect(session.tool).toContain("The tool said:");
      const received = upstream.requests.filter((r) => r.method === "POST");
      expect(received.map((r) => r.path)).toEqual(Array(4).fill("/v1/responses"));
      for (const request of received) {
        expect(request.headers.authorization).toBe(`Bearer ${channelKey}`);
        expect(JSON.stringify(request.headers)).not.toContain(user.secret);
      }
      // What the fixture received is, byte for byte and in order, what Codex sent.
      expect(received.map((r) => r.raw.toString("base64"))).toEqual(
        session.posts.map((r) => r.raw.toString("base64")),
      );
      // The reasoning Codex sent back is the fixture's own, as the fixture encrypted it.
      const answered = session.posts.flatMap((post) =>
        responsesEvents(post.answer)
          .filter((e) => e.type === "response.output_item.done" && e.item.type === "reasoning")
          .map((e) => e.item.encrypted_content),
      );
      const echoed = itemsOf(bodyOf(session.posts[3] as Recorded), "reasoning").map(
        (item) => item.encrypted_content,
      );
      for (const sealed of echoed) expect(answered).toContain(sealed);
      await expectBilled(
        user.accessToken,
        model,
        session.posts.map((exchange) => ({ exchange, usage: completedUsage(exchange.answer) })),
      );
    } finally {
      await upstream.close();
    }
  });

  it("on a chat-only DeepSeek-style channel (bridged): the same session, the reasoning Codex echoes reaching DeepSeek as reasoning_content, billed as the fixture charged", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, codexCli);
    const model = uniqueModel("gpt-5-codex");
    const deepseek = uniqueModel("deepseek-v4-flash");
    const channelKey = `sk-deepseek-codex-${randomUUID().slice(0, 8)}`;
    const upstream = await startDemoUpstream({ apiKey: channelKey, deepseekModels: [deepseek] });
    // Between sluice and the fixture: what DeepSeek was sent and answered (its own usage).
    const wire = await recordingProxy(upstream.origin);
    try {
      await bridgedDeepSeekChannel("deepseek fixture for Codex, responses bridged", {
        origin: wire.url,
        key: channelKey,
        model,
        deepseek,
      });
      const user = await createUserWithKey();
      const session = await codexSession(cli, model, user.secret);
      expectSession(session);
      expect(session.tool).toContain("tool done:");
      const chats = wire.requests.filter((r) => r.method === "POST");
      expect(chats.map((r) => `${r.path} ${r.status}`)).toEqual(
        Array(4).fill("/deepseek/chat/completions 200"),
      );
      const sent = chats.map(bodyOf);
      for (const body of sent) expect(body.model).toBe(deepseek);
      // The fixture's reasoning on the tool call, streamed as reasoning_content deltas.
      const thought = chatChunks(chats[1] as Recorded)
        .map((c) => c.choices[0]?.delta?.reasoning_content ?? "")
        .join("");
      expect(thought).not.toBe("");
      // The tool turn's second call and the resumed thread carry it back on the assistant turn
      // that made the call (DeepSeek answers 400 without it), the reasoning item Codex echoed.
      for (const body of [sent[2], sent[3]]) {
        const calling = (body.messages as Json[]).filter(
          (m) => m.role === "assistant" && Array.isArray(m.tool_calls),
        );
        expect(calling).toHaveLength(1);
        expect(calling[0].reasoning_content).toBe(thought);
        expect(calling[0].tool_calls[0].function).toEqual({
          name: "exec_command",
          arguments: JSON.stringify({ cmd: "echo hello-from-tool" }),
        });
      }
      // Each call's usage as DeepSeek reported it, as Codex was told it, and as billed.
      const calls = session.posts.map((exchange, i) => {
        const deepseekUsage = chatChunks(chats[i] as Recorded).at(-1)?.usage;
        const usage = completedUsage(exchange.answer);
        expect(usage).toEqual({
          input_tokens: deepseekUsage.prompt_tokens,
          input_tokens_details: { cached_tokens: deepseekUsage.prompt_cache_hit_tokens },
          output_tokens: deepseekUsage.completion_tokens,
          output_tokens_details: {
            reasoning_tokens: deepseekUsage.completion_tokens_details.reasoning_tokens,
          },
          total_tokens: deepseekUsage.total_tokens,
        });
        return { exchange, usage };
      });
      await expectBilled(user.accessToken, model, calls);
    } finally {
      await wire.close();
      await upstream.close();
    }
  });
});

describe("Codex CLI through sluice with a catalog model", () => {
  it("gpt-5.5 on a chat-only channel: its apply_patch (a custom tool) and tool_search reach DeepSeek as functions, and the patch the host writes is applied by Codex", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, codexCli);
    // Codex picks its tools by the id: this one is in its bundled catalog. The stack is shared,
    // so this test alone serves (and prices) gpt-5.5.
    const model = "gpt-5.5";
    const deepseek = uniqueModel("deepseek-v4-flash");
    const channelKey = `sk-deepseek-codex-${randomUUID().slice(0, 8)}`;
    const upstream = await startDemoUpstream({ apiKey: channelKey, deepseekModels: [deepseek] });
    const wire = await recordingProxy(upstream.origin);
    const proxy = await recordingProxy(sluice.url);
    const home = await codexHome({ baseUrl: `${proxy.url}/v1`, model });
    try {
      await bridgedDeepSeekChannel("deepseek fixture for Codex's gpt-5.5, responses bridged", {
        origin: wire.url,
        key: channelKey,
        model,
        deepseek,
      });
      const user = await createUserWithKey();
      const patch = "*** Begin Patch\n*** Add File: hello.txt\n+héllo from the host\n*** End Patch";
      const run = await runCodex(
        cli,
        ["exec", "--skip-git-repo-check", `CALL apply_patch: ${patch}`],
        { env: codexEnv({ home, apiKey: user.secret }) },
      );
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      // Codex ran the patch in its working directory (its home here).
      expect(await readFile(join(home.home, "hello.txt"), "utf8")).toBe("héllo from the host\n");
      expect(run.stdout.trim()).toMatch(/^tool done: /);

      const [first, second] = proxy.requests.filter((r) => r.method === "POST").map(bodyOf);
      expect(proxy.requests.filter((r) => r.method === "POST")).toHaveLength(2);
      const kinds = (first.tools as Json[]).map((t) => `${t.type}:${t.name ?? ""}`);
      expect(kinds).toContain("custom:apply_patch");
      expect(kinds).toContain("tool_search:");
      // Codex got a custom_tool_call with the patch, and sent back its output.
      const [call] = itemsOf(second, "custom_tool_call");
      expect(call).toMatchObject({ name: "apply_patch", input: patch });
      const [output] = itemsOf(second, "custom_tool_call_output");
      expect(output.call_id).toBe(call.call_id);

      const chats = wire.requests.filter((r) => r.method === "POST");
      expect(chats.map((r) => r.status)).toEqual([200, 200]);
      const [sent, answered] = chats.map(bodyOf);
      const functions = (sent.tools as Json[]).map((t) => t.function.name);
      expect(functions).toContain("apply_patch");
      expect(functions).toContain("tool_search");
      const applyPatch = (sent.tools as Json[]).find((t) => t.function.name === "apply_patch");
      expect(applyPatch.function.parameters.properties).toEqual({
        input: expect.objectContaining({ type: "string" }),
      });
      // The call went back as the host made it, its reasoning with it, and the output as a tool message.
      const assistant = (answered.messages as Json[]).find((m) => m.role === "assistant");
      expect(assistant.tool_calls[0].function).toEqual({
        name: "apply_patch",
        arguments: JSON.stringify({ input: patch }),
      });
      expect(assistant.reasoning_content).not.toBe("");
      const tool = (answered.messages as Json[]).find((m) => m.role === "tool");
      expect(tool.tool_call_id).toBe(assistant.tool_calls[0].id);
      expect(tool.content).toContain("hello.txt");
    } finally {
      await home.remove();
      await proxy.close();
      await wire.close();
      await upstream.close();
    }
  });
});

/** The JSON chunks of a chat completions SSE answer, `[DONE]` left out. */
function chatChunks(exchange: Recorded): Json[] {
  return exchange.answer
    .split("\n\n")
    .map((block) => block.trim())
    .filter((block) => block.startsWith("data: ") && block !== "data: [DONE]")
    .map((block) => JSON.parse(block.slice(6)));
}
