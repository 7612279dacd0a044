import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, type TestContext } from "vitest";
import {
  CODEX_VERSION,
  type CodexCli,
  codexCli,
  codexEnv,
  codexHome,
  RegistryUnreachable,
  runCodex,
} from "../fixtures/cli-cache";

/**
 * The real Codex CLI, installed from npm at a pinned version outside the project's dependencies
 * (test/fixtures/cli-cache.ts): that it installs and runs here, offline, and that the fixture's
 * config makes `codex exec` send its turn to `{base_url}/responses` with the key as Bearer, and
 * nothing anywhere else.
 */

/** The CLI, or a skip that says why when npm's registry cannot be reached. */
async function cliOrSkip(context: TestContext): Promise<CodexCli> {
  try {
    return await codexCli();
  } catch (err) {
    if (err instanceof RegistryUnreachable) context.skip(err.message);
    throw err;
  }
}

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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
    const cli = await cliOrSkip(context);
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
    const cli = await cliOrSkip(context);
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
    const cli = await cliOrSkip(context);
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
