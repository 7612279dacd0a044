import { describe, expect, it } from "vitest";
import { startDemoUpstream } from "../../infra/local/demo-upstream";
import { UNITS_PER_USD } from "../../shared/billing/units";
import {
  CLAUDE_CODE_VERSION,
  claudeCodeCli,
  claudeCodeEnv,
  claudeCodeHome,
  installedOrSkip,
  runClaudeCode,
} from "../fixtures/cli-cache";
import { recordingProxy } from "../fixtures/recording-proxy";
import { uniqueModel } from "../fixtures/upstream";
import { admin, api, createUserWithKey, eventually, type Json, setPrices, sluice } from "./support";

/**
 * The real Claude Code CLI, installed from npm at a pinned version outside the project's
 * dependencies (test/fixtures/cli-cache.ts): that it installs and runs here, offline and quiet,
 * that the Anthropic fixture takes what it really sends, and a session through sluice's
 * Messages API to an anthropic channel.
 */

describe("Claude Code CLI", () => {
  it(`installs ${CLAUDE_CODE_VERSION} (or reuses it) and runs offline`, {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, claudeCodeCli);
    const home = await claudeCodeHome();
    try {
      const run = await runClaudeCode(cli, ["--version"], {
        env: claudeCodeEnv({
          home: home.home,
          baseUrl: "http://127.0.0.1:9",
          authToken: "sk-unused",
        }),
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(`${CLAUDE_CODE_VERSION} (Claude Code)`);
      // Reused, not installed again.
      expect(await claudeCodeCli()).toEqual(cli);
    } finally {
      await home.remove();
    }
  });

  it("runs a plain turn, and a thinking tool turn continued, against the Anthropic fixture directly", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, claudeCodeCli);
    const upstream = await startDemoUpstream({ apiKey: "sk-ant-cli" });
    const home = await claudeCodeHome();
    try {
      const env = claudeCodeEnv({
        home: home.home,
        baseUrl: upstream.origin,
        authToken: "sk-ant-cli",
      });
      const run = async (...args: string[]) => {
        const result = await runClaudeCode(cli, [...args, "--output-format", "json"], { env });
        expect(result.code, result.stderr).toBe(0);
        return JSON.parse(result.stdout) as {
          result: string;
          is_error: boolean;
          usage: Record<string, number>;
        };
      };
      const plain = await run("-p", "say hi");
      expect(plain).toMatchObject({
        is_error: false,
        result: "This is sluice's demo upstream. You said: say hi",
      });
      const tool = await run("-p", "THINK, then USE_BASH", "--allowedTools", "Bash");
      expect(tool.result).toBe("tool done: hello-from-tool");
      const more = await run("-p", "and now?", "--continue");
      expect(more).toMatchObject({ is_error: false, result: expect.stringContaining("and now?") });
      // Every call went to /v1/messages?beta=true (a plain turn, the tool turn and its result,
      // the continued turn). The last two carried back the thinking blocks Claude Code asked to
      // see without their text (display: omitted), signed, and the fixture verified each.
      const posts = upstream.requests.filter((r) => r.method === "POST");
      expect(posts.map((r) => r.path)).toEqual(Array(4).fill("/v1/messages?beta=true"));
      const signed = { type: "thinking", thinking: "", signature: expect.any(String) };
      const thinkingSent = posts.map((post) =>
        (post.body as { messages: { role: string; content: unknown }[] }).messages
          .filter((m) => m.role === "assistant")
          .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
          .filter((b: { type?: string }) => b.type === "thinking"),
      );
      // The tool turn's answer thought too: the continued turn sends both back.
      expect(thinkingSent).toEqual([[], [], [signed], [signed, signed]]);
      // Claude Code's last breakpoint caches the whole prompt: a later turn reads the earlier.
      expect(more.usage.cache_read_input_tokens).toBeGreaterThan(1024);
    } finally {
      await home.remove();
      await upstream.close();
    }
  });

  it("works through sluice: an anthropic channel, the key as Bearer or x-api-key, a thinking tool turn continued, every turn billed", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, claudeCodeCli);
    // A model of this test's own (Claude Code runs any name; a claude- one keeps its ways).
    const model = uniqueModel("claude-sonnet-4-5");
    const upstream = await startDemoUpstream({ apiKey: "sk-ant-sluice", anthropicModels: [model] });
    const home = await claudeCodeHome();
    // Claude Code talks to sluice through a proxy that keeps the bytes it sends.
    const proxy = await recordingProxy(sluice.url);
    /** The usage Claude Code reported at the end of each run (what the upstream told it). */
    const reported: Record<string, number>[] = [];
    try {
      await admin("POST", "/api/channel", {
        type: "anthropic",
        name: "anthropic for Claude Code",
        base_url: upstream.origin,
        key: "sk-ant-sluice",
        models: [model],
      });
      await setPrices({
        [model]: { input: 3, cached_input: 0.3, cache_write: 3.75, cache_write_1h: 6, output: 15 },
      });
      const user = await createUserWithKey();
      const run = async (key: { authToken?: string; apiKey?: string }, ...args: string[]) => {
        const env = claudeCodeEnv({
          home: home.home,
          baseUrl: proxy.url,
          ...key,
          extra: { ANTHROPIC_MODEL: model, ANTHROPIC_SMALL_FAST_MODEL: model },
        });
        const result = await runClaudeCode(cli, [...args, "--output-format", "json"], { env });
        expect(result.code, result.stderr).toBe(0);
        const answer = JSON.parse(result.stdout) as {
          result: string;
          is_error: boolean;
          usage: Record<string, number>;
        };
        reported.push(answer.usage);
        return answer;
      };
      const plain = await run({ authToken: user.secret }, "-p", "say hi");
      expect(plain).toMatchObject({
        is_error: false,
        result: "This is sluice's demo upstream. You said: say hi",
      });
      const tool = await run(
        { apiKey: user.secret },
        "-p",
        "THINK, then USE_BASH",
        "--allowedTools",
        "Bash",
      );
      // The fixture echoes the tool's result, to which Claude Code may add a reminder of its own.
      expect(tool.result).toMatch(/^tool done: hello-from-tool/);
      const more = await run({ authToken: user.secret }, "-p", "and now?", "--continue");
      expect(more).toMatchObject({ is_error: false, result: expect.stringContaining("and now?") });
      // Each call reached the fixture with sluice's channel key, never the user's.
      const posts = upstream.requests.filter((r) => r.method === "POST");
      expect(posts.length).toBe(4);
      for (const post of posts) {
        expect(post.headers["x-api-key"]).toBe("sk-ant-sluice");
        expect(JSON.stringify(post.headers)).not.toContain(user.secret);
      }
      // The signed thinking blocks went back through sluice untouched: the fixture verified them.
      const thinkingSent = posts.map(
        (post) =>
          (post.body as { messages: { role: string; content: unknown }[] }).messages
            .filter((m) => m.role === "assistant")
            .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
            .filter((b: { type?: string }) => b.type === "thinking").length,
      );
      expect(thinkingSent).toEqual([0, 0, 1, 2]);
      // What the fixture received is, byte for byte, what Claude Code sent.
      const sent = proxy.requests.filter(
        (r) => r.method === "POST" && r.path.startsWith("/v1/messages?"),
      );
      expect(sent.map((r) => r.raw.toString("base64")).sort()).toEqual(
        posts.map((r) => r.raw.toString("base64")).sort(),
      );
      // Every turn is a line of the usage log; the continued turn read the prompt cache.
      const lines = await eventually(
        async () =>
          (
            (await api(user.accessToken, "GET", "/api/log/self?size=20")).body.data as Json[]
          ).filter((line) => line.endpoint === "/v1/messages"),
        (found) => found.length === 4,
        20_000,
      );
      for (const line of lines)
        expect(line).toMatchObject({ model, status: 200, outcome: "completed" });
      expect(Math.max(...lines.map((line) => line.cached_input_tokens ?? 0))).toBeGreaterThan(1024);
      // The log's tokens of each kind, summed, are what the upstream reported to Claude Code
      // (input, cache reads, cache writes, output), and each line costs its kinds at the price.
      const logged = (field: string) => lines.reduce((sum, line) => sum + (line[field] ?? 0), 0);
      const told = (field: string) => reported.reduce((sum, usage) => sum + (usage[field] ?? 0), 0);
      expect({
        input: logged("input_tokens"),
        read: logged("cached_input_tokens"),
        written: logged("cache_write_tokens") + logged("cache_write_1h_tokens"),
        output: logged("output_tokens"),
      }).toEqual({
        input: told("input_tokens"),
        read: told("cache_read_input_tokens"),
        written: told("cache_creation_input_tokens"),
        output: told("output_tokens"),
      });
      expect(logged("cache_write_tokens") + logged("cache_write_1h_tokens")).toBeGreaterThan(0);
      for (const line of lines) {
        const usd =
          ((line.input_tokens ?? 0) * 3 +
            (line.cached_input_tokens ?? 0) * 0.3 +
            (line.cache_write_tokens ?? 0) * 3.75 +
            (line.cache_write_1h_tokens ?? 0) * 6 +
            (line.output_tokens ?? 0) * 15) /
          1e6;
        expect(Math.abs(line.quota - usd * UNITS_PER_USD)).toBeLessThanOrEqual(1);
      }
    } finally {
      await home.remove();
      await upstream.close();
      await proxy.close();
    }
  });

  it("works through sluice on an OpenAI-compatible (DeepSeek) channel: a tool turn with thinking continued, every call billed as the fixture charged it", {
    timeout: 600_000,
  }, async (context) => {
    const cli = await installedOrSkip(context, claudeCodeCli);
    // Claude Code's own model names, which the channel maps to the fixture's DeepSeek model.
    const sonnet = uniqueModel("claude-sonnet-4-5");
    const haiku = uniqueModel("claude-haiku-4-5");
    const deepseek = uniqueModel("deepseek-v4-flash");
    const fixture = { apiKey: "sk-deepseek-cli", deepseekModels: [deepseek] };
    const upstream = await startDemoUpstream(fixture);
    const home = await claudeCodeHome();
    const price = { input: 2, cached_input: 0.2, output: 8 };
    try {
      await admin("POST", "/api/channel", {
        type: "openai",
        name: "deepseek for Claude Code",
        base_url: `${upstream.origin}/deepseek`,
        key: fixture.apiKey,
        models: [sonnet, haiku],
        model_mapping: { [sonnet]: deepseek, [haiku]: deepseek },
      });
      await setPrices({ [sonnet]: price, [haiku]: price });
      const user = await createUserWithKey();
      const env = claudeCodeEnv({
        home: home.home,
        baseUrl: sluice.url,
        apiKey: user.secret,
        extra: { ANTHROPIC_MODEL: sonnet, ANTHROPIC_SMALL_FAST_MODEL: haiku },
      });
      const run = async (...args: string[]) => {
        const result = await runClaudeCode(cli, [...args, "--output-format", "json"], { env });
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        return JSON.parse(result.stdout) as { result: string; is_error: boolean };
      };
      const plain = await run("-p", "say hi");
      expect(plain).toMatchObject({
        is_error: false,
        result: "This is sluice's demo upstream. You said: say hi",
      });
      const tool = await run("-p", "THINK, then USE_BASH", "--allowedTools", "Bash");
      expect(tool.result).toMatch(/^tool done: hello-from-tool/);
      // The fixture refuses a tool turn's history without its reasoning passed back (400).
      const more = await run("-p", "and now?", "--continue");
      expect(more.is_error).toBe(false);
      expect(more.result).toContain("and now?");

      const posts = upstream.requests.filter((r) => r.path.endsWith("/chat/completions"));
      expect(posts.length).toBe(4);
      for (const post of posts) {
        expect(post.headers.authorization).toBe(`Bearer ${fixture.apiKey}`);
        expect(JSON.stringify(post.headers)).not.toContain(user.secret);
        expect((post.body as Json).model).toBe(deepseek);
      }
      // The continued turn carried the tool turn's reasoning back, on each of its assistant turns.
      const continued = (posts[3] as { body: Json }).body.messages as Json[];
      const assistants = continued.filter((m) => m.role === "assistant");
      expect(assistants.length).toBeGreaterThanOrEqual(2);
      for (const m of assistants) expect(typeof m.reasoning_content).toBe("string");
      expect(assistants.some((m) => m.reasoning_content.length > 0)).toBe(true);

      // The fixture's own usage for each call: the same requests, in order, to a fresh twin.
      const twin = await startDemoUpstream(fixture);
      const usages: Json[] = [];
      try {
        for (const post of posts) {
          const answer = await fetch(`${twin.origin}${post.path}`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${fixture.apiKey}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({ ...(post.body as Json), stream: false }),
          });
          usages.push(((await answer.json()) as Json).usage);
        }
      } finally {
        await twin.close();
      }
      const lines = await eventually(
        async () =>
          (
            (await api(user.accessToken, "GET", "/api/log/self?size=20")).body.data as Json[]
          ).filter((line) => line.endpoint === "/v1/messages"),
        (found) => found.length === 4,
        20_000,
      );
      // Each call's line, found by its prompt's size (each call's prompt is longer than the last;
      // lines written in the same second have no order).
      const sizes = usages.map((usage) => usage.prompt_tokens);
      expect(new Set(sizes).size).toBe(4);
      for (const usage of usages) {
        const line = lines.find((l) => l.prompt_tokens === usage.prompt_tokens);
        const hit = usage.prompt_cache_hit_tokens;
        expect(line).toMatchObject({
          model: sonnet,
          status: 200,
          outcome: "completed",
          completion_tokens: usage.completion_tokens,
        });
        expect(line.cached_input_tokens ?? 0).toBe(hit);
        const usd =
          ((usage.prompt_tokens - hit) * price.input +
            hit * price.cached_input +
            usage.completion_tokens * price.output) /
          1e6;
        expect(Math.abs(line.quota - usd * UNITS_PER_USD)).toBeLessThanOrEqual(1);
      }
      // Claude Code's long system prompt and tools are the same each call: the cache is read.
      expect(Math.max(...lines.map((line) => line.cached_input_tokens ?? 0))).toBeGreaterThan(1024);
    } finally {
      await home.remove();
      await upstream.close();
    }
  });
});
