import { type Agent, request } from "node:http";

export interface Target {
  name: string;
  url: string;
  key?: string;
}

export interface Timing {
  /** When the request was sent, in ms since the epoch (performance's clock, shared by processes). */
  sentAt: number;
  /** ms to the first body byte, and to the end of the response. */
  ttfb: number;
  total: number;
  /** 0 when no answer came. */
  status: number;
  ok: boolean;
}

/**
 * One chat completion, timed to its first body byte and to its end with sub-millisecond
 * precision (autocannon counts whole milliseconds).
 */
export function timedRequest(target: Target, stream: boolean, agent: Agent): Promise<Timing> {
  const url = new URL(`${target.url}/chat/completions`);
  const body = JSON.stringify({
    model: "gpt-4o-mini",
    stream,
    max_tokens: 16,
    messages: conversation(),
  });
  return new Promise((resolve) => {
    const start = performance.now();
    const sentAt = performance.timeOrigin + start;
    let ttfb = 0;
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(target.key ? { authorization: `Bearer ${target.key}` } : {}),
        },
      },
      (res) => {
        res.on("data", () => {
          if (ttfb === 0) ttfb = performance.now() - start;
        });
        res.on("end", () =>
          resolve({
            sentAt,
            ttfb,
            total: performance.now() - start,
            status: res.statusCode ?? 0,
            ok: res.statusCode === 200,
          }),
        );
      },
    );
    req.on("error", (err) => {
      if (process.env.BENCH_DEBUG) console.error(err);
      resolve({ sentAt, ttfb: 0, total: performance.now() - start, status: 0, ok: false });
    });
    req.end(body);
  });
}

/**
 * The call's messages: "Hi", or with BENCH_BODY_KB=<n> a conversation of about n KB (turns of
 * some 1 KB of prose each), as a coding agent's calls carry their context.
 */
function conversation(): { role: string; content: string }[] {
  if (messagesOnce) return messagesOnce;
  const kb = Number(process.env.BENCH_BODY_KB ?? 0);
  if (!(kb > 0)) return [{ role: "user", content: "Hi" }];
  const turn = "The function reads the file, splits it into lines and counts the words in each. ";
  const messages = [];
  for (let size = 0; size < kb * 1024; size += 1024)
    messages.push({ role: messages.length % 2 ? "assistant" : "user", content: turn.repeat(12) });
  if (messages.length % 2 === 0) messages.push({ role: "user", content: "Hi" });
  messagesOnce = messages;
  return messages;
}
let messagesOnce: { role: string; content: string }[] | undefined;
