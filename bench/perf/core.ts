/**
 * sluice's own work per request, without any I/O: the real API (routing, auth, pricing,
 * hold, relay, settlement, usage log) called in-process (test/fixtures/core.ts), its DynamoDB
 * and upstream replaced by in-memory stand-ins that answer at once. What is left is the CPU of
 * sluice's logic.
 */
import { inProcessApi } from "../../test/fixtures/core";

export async function coreCpuPerRequest(requests = 20_000): Promise<{ cpuMicros: number }> {
  const api = inProcessApi(["gpt-4o-mini"], () => ({
    json: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-mini",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hello there" }, finish_reason: "stop" },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    },
  }));
  const body = {
    model: "gpt-4o-mini",
    max_tokens: 16,
    messages: [{ role: "user", content: "Hi" }],
  };
  const once = async () => {
    const response = await api.call("/v1/chat/completions", body);
    if (response.status !== 200) throw new Error(`the core answered ${response.status}`);
    api.logLines.length = 0;
  };
  for (let i = 0; i < 2_000; i++) await once();
  const before = process.cpuUsage();
  for (let i = 0; i < requests; i++) await once();
  const used = process.cpuUsage(before);
  return { cpuMicros: (used.user + used.system) / requests };
}
